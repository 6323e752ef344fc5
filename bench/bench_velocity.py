"""Benchmark: a velocity counter over a day of reservations — the buckets of service/velocity.py against the row scan
they replaced (one index range of the reservations table, summed in SQL: the guard's counter until this change).

    .venv/bin/python bench/bench_velocity.py [--sizes 1000,10000,100000] [--backend sqlite|postgresql|both]

For each size N: N reservations of one hot wallet spread evenly over the last 24 hours (as a wallet paying out
N withdrawals a day leaves them), their buckets filled as the guard fills them, then the 24-hour counter of that
wallet read many times at a time between two reservations, both ways. Both answers must be equal; the figures
are microseconds per counter and the ratio of the two, measured in the same run. docs/benchmarks.md has results.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import psycopg
from sqlalchemy import Connection, Table, text

from mamori.service import velocity
from mamori.service.facts import to_us
from mamori.store.bulk import insert_rows
from mamori.store.database import create_engine, upgrade
from mamori.store.guard_models import Reservation, amount_limbs

DAY = 86_400_000_000
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def timed(function: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median of ``repeat`` calls, in microseconds, and the last answer."""
    answer = function()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = function()
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples), answer


def run(url: str, sizes: list[int], label: str) -> None:
    engine = create_engine(url)
    upgrade(engine)
    now = to_us(datetime.now(UTC))
    per, values = ("wallet",), ("hot-1",)
    print(f"\n{label}")
    print(f"  {'reservations in the window':>28} {'row scan (peer)':>16} {'buckets':>10} {'ratio':>8}")
    for size in sizes:
        step = DAY // size
        rows = [
            {
                "request_id": f"wd-{i}",
                "wallet": "hot-1",
                "asset": "ETH",
                "destination": f"0x{i:040x}",
                "initiator": "payout",
                "reserved_us": now - i * step - 7,
                "amount": str(10**16 + i),
            }
            for i in range(size)
        ]
        with engine.begin() as connection:
            for table in ("guard_velocity_buckets", "guard_velocity_scopes", "guard_reservations"):
                connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
            table = cast(Table, Reservation.__table__)
            insert_rows(connection, table, [row | amount_limbs(int(row["amount"])) for row in rows])
            velocity.ensure_registered(connection, per, set(), now_us=now)
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))  # as autovacuum (PostgreSQL) or a long-running server would have
            connection.commit()
            repeat = max(20, min(500, 2_000_000 // size))

            def scan(connection: Connection = connection) -> velocity.Totals:
                return velocity.scan_totals(connection, per, values, [(now - DAY + 1, now + 1)])

            def buckets(connection: Connection = connection) -> velocity.Totals:
                return velocity.window_totals(connection, per, values, now - DAY, now)

            scan_us, scanned = timed(scan, repeat)
            bucket_us, bucketed = timed(buckets, 500)
            connection.rollback()
        if scanned != bucketed:
            raise SystemExit(f"the two counters disagree: {scanned} != {bucketed}")
        print(f"  {size:>28,} {scan_us:>13,.0f} µs {bucket_us:>7,.0f} µs {scan_us / bucket_us:>7,.1f}x")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"velocity counter over 24 hours: buckets vs row scan; Python {sys.version.split()[0]}")
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as directory:
            run(f"sqlite:///{Path(directory) / 'velocity.db'}", sizes, "SQLite (WAL)")
    if args.backend in ("postgresql", "both"):
        name = "mamori_bench_velocity"
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            run(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", sizes, "PostgreSQL")
        finally:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
