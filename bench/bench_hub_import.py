"""Benchmark: importing a wallet list's STIX objects into an empty hub collection, against the one-object-at-a-time
path the hub had before (kept below as the peer), in the same run and the same database.

    .venv/bin/python bench/bench_hub_import.py [--count 100000] [--peer-count 5000] [--database-url URL] [--no-peer]

Input: ``--count`` synthetic Ethereum addresses (seed 2026) as one list, built into STIX by intel/wallet_stix.py:
per wallet a ``cryptocurrency-wallet`` SCO, an indicator and a ``based-on`` relationship (3 objects), plus mamori's
identity and extension definitions. Database: ``--database-url`` (default a new SQLite file in a temporary folder;
PostgreSQL: ``postgresql+psycopg://postgres@127.0.0.1:5432/test``, in a fresh schema dropped afterwards).
Measured, in one run:
  mamori   service/hub_objects.add_objects: the whole envelope in one call and one transaction, commit included
  peer     the earlier add path (four statements per object: repeat check, min/max versions, insert, readers),
           on ``--peer-count`` wallets into another empty collection; compared as objects per second
  also     the Python part alone (STIX validation of every object), to show where the time goes
Goal (issue 5): 100,000 wallets (300,000+ objects) in at most 20 s, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, and_, func, insert, select, text, update
from sqlalchemy.orm import Session

from mamori.chains.addresses import Family
from mamori.errors import InputError
from mamori.intel import wallet_stix
from mamori.intel.lists import AddressList, ListEntry, ListSource, LoadReport
from mamori.intel.stix_forms import timestamp_us
from mamori.intel.stix_validation import Problem, validate
from mamori.intel.tlp import STANDARD_MARKINGS, Audience, Tlp, marking_refs, marking_tlp, object_tlp
from mamori.service.hub_collections import add_api_root, add_collection
from mamori.service.hub_members import add_organisation
from mamori.service.hub_objects import Refused, Stored, add_objects
from mamori.store import create_engine, upgrade
from mamori.store.hub_models import TaxiiCollection, TaxiiObject, TaxiiObjectReader

NOW = datetime(2026, 12, 3, tzinfo=UTC)
NOW_US = 1_796_256_000_000_000  # 2026-12-03T00:00:00Z
PRODUCER = Audience("isac")
GOAL_S = 20.0


def synthetic_list(count: int, seed: int = 2026) -> AddressList:
    rng = random.Random(seed)
    addresses = ["0x" + rng.randbytes(20).hex() for _ in range(count)]
    source = ListSource("bench-synthetic", "2026-12-03", hashlib.sha256("\n".join(addresses).encode()).hexdigest())
    entries = tuple(ListEntry(a, "ETH", Family.EVM, a, "ethereum", ()) for a in addresses)
    report = LoadReport(source, (), count, {"evm": count}, {"ETH": count}, {}, (), (), 0)
    return AddressList(source, entries, report)


def wallet_bundle(count: int) -> list[dict[str, Any]]:
    author = wallet_stix.StixIdentity(wallet_stix.MAMORI_IDENTITY_ID, "mamori", NOW)
    objects = wallet_stix.wallet_objects(synthetic_list(count), author=author, now=NOW)
    return [*wallet_stix.definition_objects(), *objects]


@contextmanager
def database(url: str | None) -> Iterator[Engine]:
    """A migrated database holding one organisation and one API root; SQLite in a temporary folder by default,
    a fresh PostgreSQL schema (dropped afterwards) otherwise."""
    with tempfile.TemporaryDirectory(prefix="mamori-bench-") as folder:
        schema = None
        if url is None:
            url = f"sqlite:///{Path(folder) / 'hub.db'}"
        elif url.startswith("postgresql"):
            schema = f"bench_{uuid.uuid4().hex[:16]}"
            with create_engine(url).begin() as connection:
                connection.execute(text(f"CREATE SCHEMA {schema}"))
        engine = create_engine(url, schema=schema)
        try:
            upgrade(engine)
            with engine.begin() as connection:
                add_organisation(connection, "isac", "ISAC", f"identity--{uuid.uuid4()}", now_us=NOW_US)
                add_api_root(connection, "isac", "ISAC")
            yield engine
        finally:
            engine.dispose()
            if schema is not None:
                admin = create_engine(url)
                with admin.begin() as connection:
                    connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()


def new_collection(engine: Engine, title: str) -> TaxiiCollection:
    with engine.begin() as connection:
        collection_id = add_collection(connection, "isac", title, now_us=NOW_US, default_tlp=Tlp.AMBER)
        with Session(bind=connection) as session:
            found = session.get(TaxiiCollection, collection_id)
    assert found is not None  # noqa: S101 - just added
    return found


AddFunction = Callable[..., list[Stored | Refused]]


def import_into(engine: Engine, title: str, objects: list[dict[str, Any]], add: AddFunction) -> float:
    """Seconds to add ``objects`` to a new empty collection in one transaction, commit included."""
    collection = new_collection(engine, title)
    started = time.perf_counter()
    with engine.begin() as connection:
        outcomes = add(connection, collection, objects, audience=PRODUCER, account="cli-import", now_us=NOW_US)
    seconds = time.perf_counter() - started
    refused = [o for o in outcomes if isinstance(o, Refused)]
    if refused:
        raise SystemExit(f"{len(refused)} objects refused, first: {refused[0]}")
    with engine.connect() as connection:
        stored = connection.execute(
            select(func.count()).select_from(TaxiiObject).where(TaxiiObject.collection_id == collection.id)
        ).scalar_one()
    if stored != len(objects):
        raise SystemExit(f"{stored} rows stored for {len(objects)} objects")
    return seconds


# --- the peer: the add path as it was before the bulk path (one object at a time, four statements each) --------

_O = TaxiiObject.__table__.c


def peer_add_objects(
    connection: Connection,
    collection: TaxiiCollection,
    objects: Sequence[Mapping[str, Any]],
    *,
    audience: Audience,
    account: str,
    now_us: int,
) -> list[Stored | Refused]:
    if connection.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(b"taxii:" + collection.id.encode()).digest()[:8], "big", signed=True)
        connection.execute(select(func.pg_advisory_xact_lock(key)))
    markings = _peer_markings(connection, collection.id, objects)
    last = connection.execute(
        select(func.max(_O.date_added_us)).where(_O.collection_id == collection.id)
    ).scalar_one_or_none()
    clock = max(now_us, (last or 0) + 1)
    outcomes: list[Stored | Refused] = []
    for obj in objects:
        stix_id = str(obj.get("id", ""))
        problems = list(validate(obj))
        level = None
        if not problems and obj.get("type") == "marking-definition":
            try:
                marking_tlp(obj)
            except InputError as exc:
                problems.append(Problem("", exc.message_en, "TLP_MARKING_INVALID"))
        if not problems:
            level = object_tlp(obj, markings, default=Tlp(collection.default_tlp))
            unknown = [ref for ref in marking_refs(obj) if ref not in markings and ref not in STANDARD_MARKINGS]
            if unknown:
                problems.append(Problem("object_marking_refs", f"unknown marking {unknown[0]}", "STIX_MARKING_INVALID"))
        if problems or level is None:
            outcomes.append(Refused(stix_id, tuple(problems)))
            continue
        version = next(
            (
                parsed
                for name in ("modified", "created")
                if isinstance(obj.get(name), str) and (parsed := timestamp_us(obj[name])) is not None
            ),
            clock,
        )
        repeat = connection.execute(
            select(_O.date_added_us).where(
                _O.collection_id == collection.id, _O.stix_id == stix_id, _O.version_us == version
            )
        ).scalar_one_or_none()
        if repeat is not None:
            outcomes.append(Stored(stix_id, version, repeat))
            continue
        outcomes.append(_peer_insert(connection, collection, obj, level, _Placed(version, clock), audience, account))
        clock += 1
    return outcomes


@dataclass(frozen=True, slots=True)
class _Placed:
    version: int
    date_added: int


def _peer_insert(
    connection: Connection,
    collection: TaxiiCollection,
    obj: Mapping[str, Any],
    level: Tlp,
    placed: _Placed,
    audience: Audience,
    account: str,
) -> Stored:
    stix_id, version = str(obj["id"]), placed.version
    same = and_(_O.collection_id == collection.id, _O.stix_id == stix_id)
    low, high = connection.execute(select(func.min(_O.version_us), func.max(_O.version_us)).where(same)).one()
    first, last = low is None or version < low, high is None or version > high
    if first and low is not None:
        connection.execute(update(TaxiiObject).where(same, _O.is_first).values(is_first=False))
    if last and high is not None:
        connection.execute(update(TaxiiObject).where(same, _O.is_last).values(is_last=False))
    seq = connection.execute(
        insert(TaxiiObject)
        .values(
            collection_id=collection.id,
            date_added_us=placed.date_added,
            stix_id=stix_id,
            stix_type=str(obj["type"]),
            spec_version=str(obj.get("spec_version", "2.1")),
            version_us=version,
            is_first=first,
            is_last=last,
            revoked=obj.get("revoked") is True,
            tlp=int(level),
            producer_id=audience.producer,
            submitted_by=account,
            document=orjson.dumps(obj, option=orjson.OPT_SORT_KEYS),
        )
        .returning(_O.seq)
    ).scalar_one()
    readers = [("organisation", org, int(Tlp.AMBER_STRICT)) for org in sorted(audience.named_organisations)]
    readers += [("account", account_id, int(Tlp.RED)) for account_id in sorted(audience.recipients)]
    if readers and level > Tlp.GREEN:
        connection.execute(
            insert(TaxiiObjectReader),
            [{"object_seq": seq, "kind": kind, "reader": who, "max_tlp": top} for kind, who, top in readers],
        )
    return Stored(stix_id, version, placed.date_added)


def _peer_markings(
    connection: Connection, collection_id: str, objects: Sequence[Mapping[str, Any]]
) -> dict[str, Tlp | None]:
    known: dict[str, Tlp | None] = {}
    stored = select(_O.document).where(_O.collection_id == collection_id, _O.stix_type == "marking-definition")
    for (document,) in connection.execute(stored):
        definition = orjson.loads(document)
        known[definition["id"]] = marking_tlp(definition)
    for obj in objects:
        if obj.get("type") == "marking-definition" and not validate(obj):
            try:
                known[str(obj["id"])] = marking_tlp(obj)
            except InputError:
                continue
    return known


# --- the run ---------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="wallets in the bundle (3 objects each)")
    parser.add_argument("--peer-count", type=int, default=5_000, help="wallets imported by the peer")
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file in a temporary folder")
    parser.add_argument("--no-peer", action="store_true", help="skip the one-object-at-a-time peer")
    arguments = parser.parse_args()
    url = arguments.database_url
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, database {url or 'SQLite (temporary file)'}")
    started = time.perf_counter()
    objects = wallet_bundle(arguments.count)
    print(f"built {len(objects):,} objects for {arguments.count:,} wallets in {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    for obj in objects:
        validate(obj)
    validation = time.perf_counter() - started
    per_object = validation / len(objects) * 1e6
    print(f"  their STIX validation alone (part of every add): {validation:.2f} s ({per_object:.1f} µs/object)")
    with database(url) as engine:
        seconds = import_into(engine, "bulk", objects, add_objects)
        mamori_rate = len(objects) / seconds
        verdict = "met" if seconds <= GOAL_S else "MISSED"
        print(f"mamori add_objects: {len(objects):,} objects in {seconds:.2f} s = {mamori_rate:,.0f} objects/s")
        print(f"  goal <= {GOAL_S:.0f} s: {verdict}")
        if arguments.no_peer:
            return
        small = wallet_bundle(arguments.peer_count)
        small_seconds = import_into(engine, "bulk-small", small, add_objects)
        peer_seconds = import_into(engine, "peer", small, peer_add_objects)
        small_rate, peer_rate = len(small) / small_seconds, len(small) / peer_seconds
        print(f"on {len(small):,} objects ({arguments.peer_count:,} wallets):")
        print(f"  mamori add_objects             {small_seconds:8.2f} s {small_rate:>10,.0f} objects/s")
        print(f"  peer, one object at a time     {peer_seconds:8.2f} s {peer_rate:>10,.0f} objects/s")
        print(f"  ratio at {len(small):,} objects: {small_rate / peer_rate:.1f}x")
        print(f"  ratio, mamori at {len(objects):,} vs peer at {len(small):,}: {mamori_rate / peer_rate:.1f}x")


if __name__ == "__main__":
    main()
