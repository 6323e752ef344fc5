"""Benchmark: a velocity counter over a day of reservations — the buckets of service/velocity.py against the row scan
they replaced (one index range of the reservations table, summed in SQL: the guard's counter until this change).

    .venv/bin/python bench/bench_velocity.py [--sizes 1000,10000,100000] [--backend sqlite|postgresql|both]
        [--busy-every-ms 20]

For each size N: N reservations of one hot wallet spread evenly over the last 24 hours (as a wallet paying out
N withdrawals a day leaves them), their buckets filled as the guard fills them, then the 24-hour counter of that
wallet read many times at a time between two reservations, both ways. Both answers must be equal; the figures
are microseconds per counter and the ratio of the two, measured in the same run. docs/benchmarks.md has results.

PostgreSQL, busy scope: the buckets a wallet leaves with one withdrawal every ``--busy-every-ms`` for 24 hours
(millions of rows: at every level, every bucket in the day holds one), beside three quieter wallets, written
directly; then the 24-hour window's buckets read by the guard's statement (the runs as arrays, one range scan of
the primary key each) and by the peer, the form it replaced (one OR of the thirteen runs), both prepared with
generic plans as the server runs them. Both answers must be equal.
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


def _or_of_runs(connection: Connection, scope: str, since: int, until: int) -> list[tuple[int, int]]:
    """The peer: the window's runs of whole buckets in one WHERE (the form before the arrays), summed in SQL."""
    runs = [piece for piece in velocity.cover(since + 1, until + 1) if piece[0] != velocity.RAW]
    where = " OR ".join(
        f"(level = %(level_{i})s AND start_us >= %(first_{i})s AND start_us < %(last_{i})s)" for i in range(13)
    )
    sql = f"SELECT count(*), sum(count) FROM guard_velocity_buckets WHERE scope = %(scope)s AND ({where})"  # noqa: S608
    parameters: dict[str, object] = {"scope": scope}
    for i, (level, first, last) in enumerate([*runs, *([(velocity.RAW, 0, 0)] * (13 - len(runs)))]):
        parameters[f"level_{i}"], parameters[f"first_{i}"], parameters[f"last_{i}"] = level, first, last
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    return cursor.execute(sql, parameters, prepare=True).fetchall()  # type: ignore[no-any-return]


def busy_scope(url: str, every_ms: int) -> None:
    """PostgreSQL: the 24-hour window of a wallet whose buckets fill the day, by the guard's statement and the peer."""
    engine = create_engine(url)
    upgrade(engine)
    now = to_us(datetime.now(UTC))
    values = ("hot-busy",)
    scope = velocity.scope_of(("wallet",), values)
    with engine.begin() as connection:
        for number, (name, every) in enumerate([(scope, every_ms), *((f"{n:032x}", every_ms * 4) for n in range(3))]):
            for level, size in enumerate(velocity.LEVELS):
                connection.execute(
                    text(
                        "INSERT INTO guard_velocity_buckets (scope, level, start_us, asset, count, l0, l1, l2)"
                        " SELECT :scope, :level, g, 'ETH', :count, :count * 1000, 0, 0"
                        " FROM generate_series(:low, :high, :step) g"
                    ),
                    {
                        "scope": name,
                        "level": level,
                        "low": (now - DAY) // size * size,
                        "high": now // size * size,
                        "step": max(size, every * 1000),
                        "count": max(1, size // (every * 1000)),  # the withdrawals of one bucket
                    },
                )
            if number == 0:
                connection.execute(
                    text("INSERT INTO guard_velocity_scopes (per, registered_us) VALUES ('wallet', :now)"),
                    {"now": now},
                )
        rows = connection.execute(text("SELECT count(*) FROM guard_velocity_buckets")).scalar_one()
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()

        def guard(connection: Connection = connection) -> object:
            return velocity.window_totals(connection, ("wallet",), values, now - DAY, now)

        def peer(connection: Connection = connection) -> object:
            return _or_of_runs(connection, scope, now - DAY, now)

        peer_us, peer_answer = timed(peer, 200)
        guard_us, guard_answer = timed(guard, 200)
        connection.rollback()
    counted = cast(velocity.Totals, guard_answer).get("ETH", [0])[0]
    if counted != int(cast(list[tuple[int, int]], peer_answer)[0][1] or 0):
        raise SystemExit(f"the two reads disagree: {guard_answer} != {peer_answer}")
    print(f"\nPostgreSQL, busy scope: one withdrawal every {every_ms} ms for 24 h, {rows:,} bucket rows in all")
    print(f"  peer, one OR of the runs: {peer_us:>9,.0f} µs   guard, runs as arrays: {guard_us:>6,.0f} µs")
    print(f"  ratio: {peer_us / guard_us:,.1f}x   (the window counts {counted:,} withdrawals)")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--busy-every-ms", type=int, default=20)
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
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
            run(url, sizes, "PostgreSQL")
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{name}"')
            busy_scope(url, args.busy_every_ms)
        finally:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
