"""Benchmark: paging a TAXII 2.1 collection of crypto-wallet indicators to the end, 1,000 objects a page — mamori's
hub (``mamori hub serve``) against the OASIS reference server, medallion 3.0.0 with its memory backend, loaded with
the same indicators; then mamori alone at larger sizes, to show the rate does not fall with the collection's size.

    .venv/bin/python bench/bench_taxii_paging.py [--peer-size 4000] [--sizes 100000,1000000]
        [--backend sqlite|postgresql|both] [--limit 1000] [--turn 20000] [--at-least 1000000] [--skip-peer]

The pager is the same for both servers (one HTTP client in this process; GET objects with ``limit``, then ``next``
until ``more`` is false; every page decoded, every object counted and its id checked once): objects/s is the
number of objects over the wall time of the walks, each after one warm-up request of one object. mamori's hubs of
every size are loaded and served at once, then walked page by page in turns of ``--turn`` objects each, until each
has paged ``--at-least`` objects in whole walks (a 4,000-object hub 250 times, a 1,000,000-object hub once), so
that this shared machine's slow minutes weigh on every size alike. medallion is walked once (one walk of 4,000 takes it
minutes). Each server runs in its
own process. medallion keeps its paging state in its process, and each of its pages costs time that grows with the
collection (quadratic overall), which is why the comparison is made at 4,000 indicators. docs/benchmarks.md has results.
"""

from __future__ import annotations

import argparse
import base64
import gc
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from mamori.intel.stix_forms import format_timestamp_us
from mamori.intel.tlp import TLP2_IDS, Audience, Tlp
from mamori.service.hub_collections import Rights, add_api_root, add_collection, grant
from mamori.service.hub_members import add_account, add_organisation
from mamori.service.hub_objects import add_objects
from mamori.store.database import create_engine, upgrade

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TAXII = "application/taxii+json;version=2.1"
T0 = 1_772_503_200_000_000
STAMP = "2026-03-03T01:00:00.000Z"
CHUNK = 20_000


def indicators(count: int) -> Iterator[dict[str, Any]]:
    """``count`` wallet indicators as the hub publishes them (TLP:CLEAR, OpenCTI's pattern form)."""
    for n in range(count):
        address = f"0x{n:040x}"
        yield {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, address)}",
            "created": STAMP,
            "modified": STAMP,
            "name": f"Sanctioned wallet {address}",
            "indicator_types": ["malicious-activity"],
            "pattern": f"[cryptocurrency-wallet:value = '{address}']",
            "pattern_type": "stix",
            "valid_from": STAMP,
            "object_marking_refs": [TLP2_IDS[Tlp.CLEAR]],
        }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def process(command: list[str], url: str, headers: dict[str, str]) -> Iterator[None]:
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url, headers=headers, timeout=5).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {server.stderr.read().decode() if server.stderr else ''}")
            time.sleep(0.2)
        yield
    finally:
        server.terminate()
        server.wait(30)


def page_all(objects_url: str, headers: dict[str, str], limit: int, expected: int) -> tuple[float, int]:
    """Walk the collection to the end; (seconds, objects). The pager's cyclic garbage collector is off during the
    walk: with a million ids in hand, its full collections (which visit every member of the set) cost the client
    more than a page costs the server, and would count as the server's time."""
    seen: set[str] = set()
    gc.collect()
    gc.disable()
    try:
        return _walk(objects_url, headers, limit, expected, seen)
    finally:
        gc.enable()


def _walk(objects_url: str, headers: dict[str, str], limit: int, expected: int, seen: set[str]) -> tuple[float, int]:
    with httpx.Client(headers={**headers, "Accept": TAXII}, timeout=600) as client:
        client.get(objects_url, params={"limit": 1}).raise_for_status()  # warm: connection, credentials, statements
        started = time.perf_counter()
        params: dict[str, Any] = {"limit": limit}
        while True:
            response = client.get(objects_url, params=params)
            response.raise_for_status()
            page = orjson.loads(response.content)
            for obj in page.get("objects", []):
                seen.add(obj["id"])
            if not page.get("more"):
                break
            params = {"limit": limit, "next": page["next"]}
    elapsed = time.perf_counter() - started
    if len(seen) != expected:
        raise AssertionError(f"paged {len(seen)} distinct objects, expected {expected}")
    return elapsed, len(seen)


class Walker:
    """The same pager, a page at a time, so that walks of collections of different sizes can be interleaved page by
    page: each walk restarts at the first page when it has seen the whole collection (every id once), and only the
    pages' own time counts (request, answer, decoding)."""

    def __init__(self, objects_url: str, headers: dict[str, str], limit: int, expected: int) -> None:
        self.objects_url, self.limit, self.expected = objects_url, limit, expected
        self.client = httpx.Client(headers={**headers, "Accept": TAXII}, timeout=600)
        self.seconds, self.objects, self.walks = 0.0, 0, 0
        self.seen: set[str] = set()
        self.params: dict[str, Any] | None = None

    def step(self, budget: int) -> None:
        """Page about ``budget`` objects (whole pages), going on from where the last step stopped."""
        done = 0
        while done < budget:
            if self.params is None:  # a new walk: warm the connection, untimed
                self.client.get(self.objects_url, params={"limit": 1}).raise_for_status()
                self.params, self.seen = {"limit": self.limit}, set()
            started = time.perf_counter()
            response = self.client.get(self.objects_url, params=self.params)
            response.raise_for_status()
            page = orjson.loads(response.content)
            for obj in page.get("objects", []):
                self.seen.add(obj["id"])
            self.seconds += time.perf_counter() - started
            done += len(page.get("objects", []))
            if page.get("more"):
                self.params = {"limit": self.limit, "next": page["next"]}
                continue
            if len(self.seen) != self.expected:
                raise AssertionError(f"paged {len(self.seen)} distinct objects, expected {self.expected}")
            self.objects += self.expected
            self.walks += 1
            self.params = None

    def close(self) -> None:
        self.client.close()


# --- medallion ----------------------------------------------------------------------------------------------------
def medallion_rate(count: int, limit: int, folder: Path) -> float:
    objects = list(indicators(count))
    collection = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
    manifest = [
        {"id": o["id"], "date_added": format_timestamp_us(T0 + n), "version": STAMP,
         "media_type": "application/stix+json;version=2.1"}
        for n, o in enumerate(objects)
    ]  # fmt: skip
    data = {
        "/discovery": {"title": "bench", "api_roots": ["http://127.0.0.1/bench/"]},
        "bench": {
            "information": {"title": "bench", "versions": [TAXII], "max_content_length": 10**8},
            "status": [],
            "collections": [
                {"id": collection, "title": "wallets", "can_read": True, "can_write": True,
                 "media_types": ["application/stix+json;version=2.1"], "objects": objects, "manifest": manifest}
            ],
        },
    }  # fmt: skip
    (folder / "data.json").write_bytes(orjson.dumps(data))
    config = {
        "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                    "filename": str(folder / "data.json")},
        "users": {"bench": "bench-password"},
        "taxii": {"max_page_size": limit},
    }  # fmt: skip
    (folder / "config.json").write_bytes(orjson.dumps(config))
    port = free_port()
    headers = {"Authorization": "Basic " + base64.b64encode(b"bench:bench-password").decode()}
    command = [sys.executable, "-m", "medallion.scripts.run", "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "WARN", str(folder / "config.json")]  # fmt: skip
    base = f"http://127.0.0.1:{port}/bench/"
    with process(command, base, {**headers, "Accept": TAXII}):
        seconds, paged = page_all(f"{base}collections/{collection}/objects/", headers, limit, count)
    return paged / seconds


# --- mamori -------------------------------------------------------------------------------------------------------
@contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'hub-{uuid.uuid4().hex[:8]}.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def load_hub(url: str, count: int) -> tuple[str, str, float]:
    """A hub holding ``count`` indicators in one collection; (token, collection id, import seconds)."""
    engine = create_engine(url)
    upgrade(engine)
    with engine.begin() as connection:
        add_organisation(connection, "isac", "ISAC", f"identity--{uuid.uuid4()}", now_us=T0, operator=True)
        add_api_root(connection, "bench", "bench", max_content_length=10**8)
        collection = add_collection(connection, "bench", "wallets", now_us=T0, default_tlp=Tlp.AMBER)
        grant(connection, collection, "isac", Rights(can_read=True, can_write=True))
        token = add_account(connection, "isac", "bench", now_us=T0)
    from mamori.store.hub_models import TaxiiCollection

    with engine.connect() as connection:
        row = connection.execute(TaxiiCollection.__table__.select()).one()
    target = TaxiiCollection(**row._mapping)
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    clock = T0
    for obj in indicators(count):
        batch.append(obj)
        if len(batch) == CHUNK:
            clock = _add(engine, target, batch, clock)
            batch = []
    if batch:
        _add(engine, target, batch, clock)
    seconds = time.perf_counter() - started
    engine.dispose()
    return token, collection, seconds


def _add(engine: Any, collection: Any, batch: list[dict[str, Any]], clock: int) -> int:
    with engine.begin() as connection:
        outcomes = add_objects(connection, collection, batch, audience=Audience(producer="isac"), account="bench",
                               now_us=clock)  # fmt: skip
    refused = [o for o in outcomes if not hasattr(o, "date_added_us")]
    if refused:
        raise AssertionError(f"refused: {refused[:1]}")
    return clock + len(batch)


def mamori_rates(
    backend: str, sizes: list[int], limit: int, folder: Path, *, turn: int, at_least: int
) -> dict[int, tuple[float, float]]:
    """Size -> (objects/s over all its whole walks, import seconds): one hub per size, each served by its own
    process, all walked at once in turns of ``turn`` objects (see :class:`Walker`)."""
    with ExitStack() as stack:
        served: dict[int, tuple[str, dict[str, str], float]] = {}
        for size in sizes:
            url = stack.enter_context(database(backend, folder))
            token, collection, imported = load_hub(url, size)
            port = free_port()
            headers = {"Authorization": f"Bearer {token}"}
            command = [sys.executable, "-m", "mamori.cli.main", "hub", "serve", "--database", url, "--port", str(port)]
            base = f"http://127.0.0.1:{port}/taxii2/bench/"
            stack.enter_context(process(command, base, {**headers, "Accept": TAXII}))
            served[size] = (f"{base}collections/{collection}/objects/", headers, imported)
        walkers = {size: Walker(served[size][0], served[size][1], limit, size) for size in sizes}
        gc.collect()
        gc.disable()  # the pager's own collections (a million ids in hand) are not the server's time
        try:
            # Page by page, in turns of ``turn`` objects each, until every size has walked its collection whole at
            # least once and paged ``at_least`` objects: the machine's slow minutes fall on every size alike.
            while any(w.walks < 1 or w.objects < at_least or w.params is not None for w in walkers.values()):
                for walker in walkers.values():
                    if walker.walks < 1 or walker.objects < at_least or walker.params is not None:
                        walker.step(turn)
        finally:
            gc.enable()
            for walker in walkers.values():
                walker.close()
        return {size: (walkers[size].objects / walkers[size].seconds, served[size][2]) for size in sizes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer-size", type=int, default=4_000)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--limit", type=int, default=1_000)
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--turn", type=int, default=20_000, help="objects each size pages in its turn")
    parser.add_argument("--at-least", type=int, default=1_000_000, help="objects paged per size (whole walks)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size]
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory(prefix="mamori-bench-taxii-") as temporary:
        folder = Path(temporary)
        peer = None
        if not args.skip_peer:
            peer = medallion_rate(args.peer_size, args.limit, folder)
            print(f"medallion 3.0.0 (memory backend), {args.peer_size:,} indicators: {peer:,.0f} objects/s")
        for backend in backends:
            rates = mamori_rates(backend, [args.peer_size, *sizes], args.limit, folder, turn=args.turn,
                                 at_least=args.at_least)  # fmt: skip
            base, imported = rates[args.peer_size]
            against = f" = {base / peer:,.0f}x medallion" if peer else ""
            print(f"mamori on {backend}, {args.peer_size:,} indicators: {base:,.0f} objects/s{against}"
                  f" (import {imported:.2f} s)")  # fmt: skip
            for size in sizes:
                rate, imported = rates[size]
                print(f"mamori on {backend}, {size:,} indicators: {rate:,.0f} objects/s = {rate / base:.2f}x its"
                      f" {args.peer_size:,}-indicator rate (import {imported:.1f} s,"
                      f" {size / imported:,.0f}/s)")  # fmt: skip
            sys.stdout.flush()


if __name__ == "__main__":
    main()
