"""Benchmark: from an indicator imported at the hub to a member's guard screening against it, end to end — the hub
(``mamori hub serve``), a member node pulling it (``mamori intel sync --every``) into its own database, and the
member's guard feed (service/intel_feed.py, as ``mamori serve --feed`` runs it) polling that database.

    .venv/bin/python bench/bench_intel_lag.py [--trials 10] [--sync-every 1.0] [--feed-interval 1.0]
        [--indicators 10000]

Both databases are SQLite files in a temporary folder; the hub and the sync loop run as processes of their own. The
hub first holds ``--indicators`` wallet indicators, pulled once. Each trial then imports one new wallet indicator
at the hub (add_objects, as ``mamori intel import`` stores it) and times, from that commit, until the feed's screen
answers the address: the delay before member withdrawals to that wallet are denied. Expected: at most the sync
interval plus the feed interval, plus one pull. Peer, in the same run: what a member without the loop and the live
feed pays to see the same change when it acts — a one-shot ``mamori intel sync`` and a rebuild of the feed from its
database (a restart), timed without the wait for someone to run them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench_taxii_paging import TAXII, free_port, process
from mamori.intel.tlp import TLP2_IDS, Audience, Tlp
from mamori.service.hub_collections import Rights, add_api_root, add_collection, grant
from mamori.service.hub_members import add_account, add_organisation
from mamori.service.hub_objects import add_objects
from mamori.service.intel_feed import IntelFeed
from mamori.store.database import create_engine, upgrade
from mamori.store.hub_models import TaxiiCollection

T0 = 1_772_503_200_000_000
STAMP = "2026-03-03T01:00:00.000Z"


def indicator(address: str) -> dict[str, Any]:
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, address)}",
        "created": STAMP, "modified": STAMP, "pattern": f"[cryptocurrency-wallet:value = '{address}']",
        "pattern_type": "stix", "valid_from": STAMP, "object_marking_refs": [TLP2_IDS[Tlp.GREEN]],
    }  # fmt: skip


def address(n: int) -> str:
    return f"0x{n:040x}"


class Hub:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        upgrade(self.engine)
        with self.engine.begin() as connection:
            add_organisation(connection, "isac", "ISAC", f"identity--{uuid.uuid4()}", now_us=T0, operator=True)
            add_organisation(connection, "member", "Member", f"identity--{uuid.uuid4()}", now_us=T0)
            add_api_root(connection, "isac", "ISAC")
            self.collection_id = add_collection(connection, "isac", "wallets", now_us=T0)
            grant(connection, self.collection_id, "isac", Rights(can_read=True, can_write=True))
            grant(connection, self.collection_id, "member", Rights(can_read=True, can_write=False))
            self.token = add_account(connection, "member", "member-node", now_us=T0)
        with self.engine.connect() as connection:
            row = connection.execute(
                TaxiiCollection.__table__.select().where(TaxiiCollection.id == self.collection_id)
            ).one()
        self.collection = TaxiiCollection(**row._mapping)

    def add(self, objects: list[dict[str, Any]]) -> None:
        with self.engine.begin() as connection:
            add_objects(connection, self.collection, objects, audience=Audience(producer="isac"), account="import",
                        now_us=time.time_ns() // 1000)  # fmt: skip


def sync_once(url: str, member: str, token: str) -> None:
    command = [sys.executable, "-m", "mamori.cli.main", "intel", "sync", url, "--database", member]
    subprocess.run(command, check=True, capture_output=True, env={**os.environ, "MAMORI_HUB_TOKEN": token})


def measure_lags(hub: Hub, feed: IntelFeed, trials: int, sync_every: float) -> list[float]:
    lags: list[float] = []
    for trial in range(trials):
        wallet = address(10**9 + trial)
        time.sleep(0.37 * sync_every)  # land at a different point of the loops each time
        hub.add([indicator(wallet)])
        committed = time.perf_counter()
        while not feed.screen("ethereum", wallet):
            if time.perf_counter() - committed > 30:
                raise RuntimeError("the member's guard never saw the indicator")
            time.sleep(0.005)
        lags.append(time.perf_counter() - committed)
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--sync-every", type=float, default=1.0)
    parser.add_argument("--feed-interval", type=float, default=1.0)
    parser.add_argument("--indicators", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mamori-bench-lag-") as temporary:
        folder = Path(temporary)
        hub = Hub(f"sqlite:///{folder / 'hub.db'}")
        hub.add([indicator(address(n)) for n in range(args.indicators)])
        member = f"sqlite:///{folder / 'member.db'}"
        port = free_port()
        base = f"http://127.0.0.1:{port}/taxii2/isac/"
        remote = f"{base}collections/{hub.collection_id}/"
        serve = [sys.executable, "-m", "mamori.cli.main", "hub", "serve", "--database", str(hub.engine.url),
                 "--port", str(port)]  # fmt: skip
        headers = {"Authorization": f"Bearer {hub.token}", "Accept": TAXII}
        with process(serve, base, headers):
            started = time.perf_counter()
            sync_once(remote, member, hub.token)
            first_pull = time.perf_counter() - started
            member_engine = create_engine(member)
            feed = IntelFeed(member_engine, [hub.collection_id], interval_s=args.feed_interval,
                             max_age_s=max(30.0, 3 * args.feed_interval))  # fmt: skip
            started = time.perf_counter()
            feed.refresh()
            rebuild = time.perf_counter() - started
            feed.start()
            loop = subprocess.Popen(
                [sys.executable, "-m", "mamori.cli.main", "intel", "sync", remote, "--database", member,
                 "--every", str(args.sync_every)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "MAMORI_HUB_TOKEN": hub.token},
            )  # fmt: skip
            try:
                lags = measure_lags(hub, feed, args.trials, args.sync_every)
            finally:
                loop.terminate()
                loop.wait(10)
                feed.stop()
            # The peer: a one-shot pull and a rebuild of the feed, as a restart-based member would run them.
            hub.add([indicator(address(2 * 10**9))])
            started = time.perf_counter()
            sync_once(remote, member, hub.token)
            peer_feed = IntelFeed(member_engine, [hub.collection_id])
            peer_feed.refresh()
            peer = time.perf_counter() - started
            member_engine.dispose()
    print(
        f"hub with {args.indicators:,} indicators; first pull {first_pull:.2f} s, feed built in {rebuild * 1000:.0f} ms"
    )
    print(f"import at the hub -> member guard screening sees it (sync every {args.sync_every} s, feed every"
          f" {args.feed_interval} s), {args.trials} trials: median {statistics.median(lags):.2f} s,"
          f" max {max(lags):.2f} s, min {min(lags):.2f} s; bound {args.sync_every + args.feed_interval:.1f} s"
          " + one pull")  # fmt: skip
    print(f"peer, one-shot sync + feed rebuild (a restart), once run: {peer:.2f} s of work, plus however long until"
          f" someone runs it; the loop's median lag = {statistics.median(lags) / peer:.2f}x that work")  # fmt: skip


if __name__ == "__main__":
    main()
