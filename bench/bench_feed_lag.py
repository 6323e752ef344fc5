"""Benchmark: how long after an indicator commits does the guard's screening see it — the feed's incremental poll
(service/intel_feed.py) against its peer, a full rebuild of the overlay from the database, measured in the same run.

    .venv/bin/python bench/bench_feed_lag.py [--indicators 10000] [--trials 20] [--interval 1.0] [--database URL]

On PostgreSQL the run works in a schema of its own, dropped at the end.

A local collection holding ``--indicators`` wallet indicators; a feed started on it polling every ``--interval``
seconds in its thread, as ``mamori serve --feed`` runs it. Each trial commits one new indicator (add_objects, as
``mamori intel sync`` stores it) and times, from the commit's return, until the feed's screen answers the address
with that indicator: the lag a withdrawal can see. The peer is what a guard without incremental polling would do to
see the same change: rebuild the overlay from every row of the collection (timed after the trials, on all rows).
Without ``--database``: SQLite in a temporary folder.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from mamori.intel.tlp import Audience
from mamori.intel.wallet_stix import WALLET_PROPERTIES_EXTENSION
from mamori.service.hub_objects import add_objects
from mamori.service.intel_feed import IntelFeed
from mamori.service.intel_sync import _local_collection, remote_organisation_id
from mamori.store.database import create_engine, upgrade
from mamori.store.hub_models import TaxiiCollection

COLLECTION = "7c3e1f2a-9b8d-4c6e-a5f4-3b2a1c0d9e8f"
HUB = "https://hub.bench/taxii2/r/collections/c/"
T0 = 1_772_503_200_000_000


def indicator(number: int) -> tuple[str, dict[str, Any]]:
    address = "0x" + uuid.uuid5(uuid.NAMESPACE_OID, str(number)).hex + "00000000"
    stamp = "2026-03-03T02:00:00.000Z"
    return address, {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, str(number))}",
        "created": stamp,
        "modified": stamp,
        "indicator_types": ["malicious-activity"],
        "pattern": f"[cryptocurrency-wallet:value = '{address}']",
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": stamp,
        "extensions": {WALLET_PROPERTIES_EXTENSION: {"extension_type": "property-extension", "chain": "ethereum"}},
    }


def store(engine: Engine, collection: TaxiiCollection, objects: list[dict[str, Any]], now_us: int) -> None:
    with engine.begin() as connection:
        add_objects(
            connection,
            collection,
            objects,
            audience=Audience(remote_organisation_id(HUB)),
            account="bench",
            now_us=now_us,
        )


def measure(
    engine: Engine, collection: TaxiiCollection, options: argparse.Namespace, now_us: int
) -> tuple[float, list[float], list[float], list[float]]:
    feed = IntelFeed(engine, [COLLECTION], interval_s=options.interval, max_age_s=max(30.0, 2 * options.interval))
    started = time.perf_counter()
    feed.refresh()
    first_build = time.perf_counter() - started
    feed.start()
    lags = []
    for trial in range(options.trials):
        address, obj = indicator(options.indicators + trial)
        time.sleep((trial % 7) * options.interval / 7)  # commits land at every phase of the poll
        store(engine, collection, [obj], now_us)
        now_us += 1_000_000
        committed = time.perf_counter()
        while not feed.screen("eip155:1", address):
            time.sleep(0.0005)
        lags.append(time.perf_counter() - committed)
    feed.stop()
    rebuilds = []
    for _ in range(3):
        started = time.perf_counter()
        rebuilt = IntelFeed(engine, [COLLECTION])
        rebuilt.refresh()
        rebuilds.append(time.perf_counter() - started)
    if len(rebuilt.screen("eip155:1", indicator(0)[0])) != 1:
        raise SystemExit("the rebuilt overlay misses an indicator")
    incremental = []
    for trial in range(options.trials):
        _, obj = indicator(options.indicators + options.trials + trial)
        store(engine, collection, [obj], now_us)
        now_us += 1_000_000
        started = time.perf_counter()
        rebuilt.refresh()
        incremental.append(time.perf_counter() - started)
    return first_build, lags, rebuilds, incremental


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--indicators", type=int, default=10_000)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--database", default=None)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        schema = None
        if options.database and options.database.startswith("postgresql"):  # a schema of its own, dropped after
            schema = f"bench_feed_{uuid.uuid4().hex[:12]}"
            with create_engine(options.database).begin() as connection:
                connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        engine = create_engine(options.database or f"sqlite:///{Path(folder) / 'bench.db'}", schema=schema)
        upgrade(engine)
        with engine.begin() as connection:
            collection = _local_collection(
                connection, "https://hub.bench/taxii2/r/collections/c/", COLLECTION, None, T0
            )
        now_us = T0
        for start in range(0, options.indicators, 1_000):
            batch = [indicator(n)[1] for n in range(start, min(start + 1_000, options.indicators))]
            store(engine, collection, batch, now_us)
            now_us += 1_000_000
        first_build, lags, rebuilds, incremental = measure(engine, collection, options, now_us)
        engine.dispose()
        if schema is not None:
            with create_engine(options.database).begin() as connection:
                connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    rows = options.indicators + options.trials
    backend = (options.database or "sqlite").split(":")[0]
    print(f"feed lag, {backend}, {rows:,} indicators, poll every {options.interval} s, {options.trials} trials")
    print(
        f"  commit -> screening sees it: median {statistics.median(lags) * 1000:.1f} ms, max {max(lags) * 1000:.1f} ms"
    )
    poll = statistics.median(incremental)
    rebuild = statistics.median(rebuilds)
    print(f"  one incremental poll (1 new row): median {poll * 1000:.2f} ms")
    print(
        f"  peer, full rebuild of the overlay: median {rebuild * 1000:.0f} ms (first build {first_build * 1000:.0f} ms)"
    )
    print(f"  rebuild / incremental poll: {rebuild / poll:,.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
