"""The bulk add path of service/hub_objects.py held equal to the simplest correct one: the objects added one at a
time, four statements each (the hub's first add path, kept here as the reference), over seeded random sequences of
envelopes — versions out of order, repeats within and across envelopes, SCOs (versioned by their date_added) and
SCOs with a stated ``created``, invalid objects, unknown markings, every TLP level and audience — with the chunk
sizes shrunk so that every statement runs over several chunks. Outcomes, rows (flags, date_added, documents) and
reader rows must be identical. On SQLite, and on PostgreSQL with ``MAMORI_TEST_DATABASE_URL``."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson
import pytest
from sqlalchemy import Connection, Engine, and_, func, insert, select, update

from mamori.errors import InputError
from mamori.intel.stix_forms import format_timestamp_us, timestamp_us
from mamori.intel.stix_validation import Problem, validate
from mamori.intel.tlp import STANDARD_MARKINGS, TLP2_IDS, Audience, Tlp, marking_refs, marking_tlp, object_tlp
from mamori.service import hub_objects
from mamori.service.hub_objects import Refused, Stored, add_objects
from mamori.store import upgrade
from mamori.store.hub_models import (
    HubOrganisation,
    SharingGroup,
    SharingGroupMember,
    TaxiiApiRoot,
    TaxiiCollection,
    TaxiiObject,
    TaxiiObjectReader,
)

T0 = 1_772_503_200_000_000  # 2026-03-03T02:00:00Z
ORGS = ("org-a", "org-b", "org-c", "org-d")
_O = TaxiiObject.__table__.c
_R = TaxiiObjectReader.__table__.c


def collection(collection_id: str) -> TaxiiCollection:
    return TaxiiCollection(
        id=collection_id, api_root="isac", title=collection_id, default_tlp=int(Tlp.AMBER), sharing_group_id="g",
        created_us=T0,
    )  # fmt: skip


BULK = collection("00000000-0000-4000-8000-00000000b01c")
REFERENCE = collection("00000000-0000-4000-8000-0000000000ef")


@pytest.fixture
def engine(database) -> Iterator[Engine]:
    engine = database.engine()
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(HubOrganisation),
            [{"id": o, "name": o, "identity_ref": f"identity--{uuid.uuid4()}", "created_us": T0} for o in ORGS],
        )
        connection.execute(
            insert(TaxiiApiRoot).values(name="isac", title="ISAC", description="", max_content_length=10**7)
        )
        connection.execute(insert(SharingGroup).values(id="g", name="exchanges"))
        connection.execute(insert(SharingGroupMember), [{"group_id": "g", "organisation_id": "org-b"}])
        for made in (BULK, REFERENCE):
            connection.execute(
                insert(TaxiiCollection).values(
                    id=made.id, api_root="isac", title=made.title, description="", alias=None,
                    default_tlp=made.default_tlp, sharing_group_id="g", created_us=T0,
                )
            )  # fmt: skip
    yield engine
    engine.dispose()


# --- the reference: one object at a time (the hub's first add path) -------------------------------------------


def reference_add(
    connection: Connection,
    target: TaxiiCollection,
    objects: Sequence[Mapping[str, Any]],
    *,
    audience: Audience,
    account: str,
    now_us: int,
) -> list[Stored | Refused]:
    markings = _reference_markings(connection, target.id, objects)
    last = connection.execute(select(func.max(_O.date_added_us)).where(_O.collection_id == target.id)).scalar()
    clock = max(now_us, (last or 0) + 1)
    outcomes: list[Stored | Refused] = []
    for obj in objects:
        stix_id = str(obj.get("id", "")) if isinstance(obj, Mapping) else ""
        problems = list(validate(obj))
        level = None
        if not problems and obj.get("type") == "marking-definition":
            try:
                marking_tlp(obj)
            except InputError as exc:
                problems.append(Problem("", exc.message_en, "TLP_MARKING_INVALID"))
        if not problems:
            level = object_tlp(obj, markings, default=Tlp(target.default_tlp))
            unknown = [ref for ref in marking_refs(obj) if ref not in markings and ref not in STANDARD_MARKINGS]
            if unknown:
                problems.append(Problem("object_marking_refs", f"unknown marking {unknown[0]}", "STIX_MARKING_INVALID"))
        if problems or level is None:
            outcomes.append(Refused(stix_id, tuple(problems)))
            continue
        version = _reference_version(obj, clock)
        repeat = connection.execute(
            select(_O.date_added_us).where(
                _O.collection_id == target.id, _O.stix_id == stix_id, _O.version_us == version
            )
        ).scalar_one_or_none()
        if repeat is not None:
            outcomes.append(Stored(stix_id, version, repeat))
            continue
        same = and_(_O.collection_id == target.id, _O.stix_id == stix_id)
        low, high = connection.execute(select(func.min(_O.version_us), func.max(_O.version_us)).where(same)).one()
        first, latest = low is None or version < low, high is None or version > high
        if first and low is not None:
            connection.execute(update(TaxiiObject).where(same, _O.is_first).values(is_first=False))
        if latest and high is not None:
            connection.execute(update(TaxiiObject).where(same, _O.is_last).values(is_last=False))
        seq = connection.execute(
            insert(TaxiiObject)
            .values(
                collection_id=target.id, date_added_us=clock, stix_id=stix_id, stix_type=str(obj["type"]),
                spec_version=str(obj.get("spec_version", "2.1")), version_us=version, is_first=first, is_last=latest,
                revoked=obj.get("revoked") is True, tlp=int(level), producer_id=audience.producer,
                submitted_by=account, document=orjson.dumps(obj, option=orjson.OPT_SORT_KEYS),
            )
            .returning(_O.seq)
        ).scalar_one()  # fmt: skip
        readers = [("organisation", org, int(Tlp.AMBER_STRICT)) for org in sorted(audience.named_organisations)]
        readers += [("account", account_id, int(Tlp.RED)) for account_id in sorted(audience.recipients)]
        if readers and level > Tlp.GREEN:
            connection.execute(
                insert(TaxiiObjectReader),
                [{"object_seq": seq, "kind": kind, "reader": who, "max_tlp": top} for kind, who, top in readers],
            )
        outcomes.append(Stored(stix_id, version, clock))
        clock += 1
    return outcomes


def _reference_version(obj: Mapping[str, Any], date_added: int) -> int:
    for name in ("modified", "created"):
        value = obj.get(name)
        if isinstance(value, str):
            parsed = timestamp_us(value)
            if parsed is not None:
                return parsed
    return date_added


def _reference_markings(
    connection: Connection, collection_id: str, objects: Sequence[Mapping[str, Any]]
) -> dict[str, Tlp | None]:
    known: dict[str, Tlp | None] = {}
    stored = select(_O.document).where(_O.collection_id == collection_id, _O.stix_type == "marking-definition")
    for (document,) in connection.execute(stored):
        definition = orjson.loads(document)
        known[definition["id"]] = marking_tlp(definition)
    for obj in objects:
        if isinstance(obj, Mapping) and obj.get("type") == "marking-definition" and not validate(obj):
            try:
                known[str(obj["id"])] = marking_tlp(obj)
            except InputError:
                continue
    return known


# --- random envelopes ------------------------------------------------------------------------------------------

# Versions and clocks drawn from overlapping instants, so that an SCO's date_added can equal a stated version.
INSTANTS = [T0 + step for step in (0, 1, 2, 1_000, 2_000, 3_000, 5_000)]
AUDIENCES = [
    Audience("org-a"),
    Audience("org-a", named_organisations=frozenset({"org-c"})),
    Audience("org-a", named_organisations=frozenset({"org-c", "org-d"}), recipients=frozenset({"org-d/analyst"})),
]
STATEMENT = {
    "type": "marking-definition",
    "spec_version": "2.1",
    "id": "marking-definition--3b1b5ad3-4a7a-4c5a-8f3e-2f3c0f6a2b11",
    "created": format_timestamp_us(T0),
    "definition_type": "statement",
    "definition": {"statement": "Copyright 2026, Example ISAC"},
}
UNKNOWN_MARKING = "marking-definition--0e1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def random_object(rng: random.Random, indicators: list[str], wallets: list[str]) -> Any:
    kind = rng.choices(
        ["indicator", "wallet", "wallet-created", "invalid", "unknown-marking", "statement", "not-an-object"],
        weights=[10, 4, 2, 1, 1, 1, 1],
    )[0]
    marking = rng.choice([None, *TLP2_IDS.values(), STATEMENT["id"]])
    if kind in {"indicator", "invalid", "unknown-marking"}:
        stamp = format_timestamp_us(rng.choice(INSTANTS))
        obj: dict[str, Any] = {
            "type": "indicator", "spec_version": "2.1", "id": rng.choice(indicators),
            "created": format_timestamp_us(T0), "modified": stamp, "name": f"wallet {rng.randrange(3)}",
            "pattern": "[cryptocurrency-wallet:value = '0x1']", "pattern_type": "stix",
            "valid_from": format_timestamp_us(T0),
        }  # fmt: skip
        if rng.random() < 0.3:
            obj["revoked"] = True
        if kind == "invalid":
            obj["valid_until"] = format_timestamp_us(T0 - 1)  # before valid_from
        if kind == "unknown-marking":
            marking = UNKNOWN_MARKING
    elif kind in ("wallet", "wallet-created"):
        obj = {"type": "cryptocurrency-wallet", "spec_version": "2.1", "id": rng.choice(wallets), "value": "0x1"}
        if kind == "wallet-created":
            obj["created"] = format_timestamp_us(rng.choice(INSTANTS))
    elif kind == "statement":
        return dict(STATEMENT)
    else:
        return rng.choice(["not an object", {"type": "indicator"}])
    if marking is not None:
        obj["object_marking_refs"] = [marking]
    return obj


def table(connection: Connection, collection_id: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every row of the collection but its seq and collection, in date_added order, and its reader rows."""
    columns = [c for c in TaxiiObject.__table__.columns if c.name not in ("seq", "collection_id")]
    rows = connection.execute(
        select(*columns).where(_O.collection_id == collection_id).order_by(_O.date_added_us)
    ).all()
    readers = connection.execute(
        select(_O.date_added_us, _R.kind, _R.reader, _R.max_tlp)
        .join(TaxiiObject, _O.seq == _R.object_seq)
        .where(_O.collection_id == collection_id)
        .order_by(_O.date_added_us, _R.kind, _R.reader)
    ).all()
    seqs = connection.execute(select(_O.seq).where(_O.collection_id == collection_id).order_by(_O.date_added_us))
    ordered = [seq for (seq,) in seqs]
    assert ordered == sorted(ordered)  # rows go in in date_added order
    return [tuple(row) for row in rows], [tuple(row) for row in readers]


@pytest.mark.parametrize("seed", range(30))
def test_bulk_add_is_the_one_at_a_time_add(engine: Engine, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    monkeypatch.setattr(hub_objects, "_ID_CHUNK", 2)
    monkeypatch.setattr(hub_objects, "_ROW_CHUNK", 3)
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    indicators = [f"indicator--{uuid.UUID(int=rng.getrandbits(128), version=4)}" for _ in range(4)]
    wallets = [f"cryptocurrency-wallet--{uuid.UUID(int=rng.getrandbits(128), version=4)}" for _ in range(3)]
    for _ in range(rng.randrange(1, 6)):
        envelope = [random_object(rng, indicators, wallets) for _ in range(rng.randrange(1, 14))]
        audience = rng.choice(AUDIENCES)
        now_us = rng.choice(INSTANTS)
        with engine.begin() as connection:
            bulk = add_objects(connection, BULK, envelope, audience=audience, account="org-a/bot", now_us=now_us)
            reference = reference_add(
                connection, REFERENCE, envelope, audience=audience, account="org-a/bot", now_us=now_us
            )
        assert bulk == reference, envelope
    with engine.connect() as connection:
        assert table(connection, BULK.id) == table(connection, REFERENCE.id)
        assert table(connection, BULK.id)[0]  # something was stored


def test_a_failure_leaves_nothing_written(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows are written before the reader rows: a failure there rolls back the whole envelope."""

    def broken(*_: Any) -> None:
        raise RuntimeError("the reader rows cannot be written")

    rng = random.Random(7)  # noqa: S311 - reproducible test data, not secrets
    envelope = [random_object(rng, [f"indicator--{uuid.uuid4()}"], [f"cryptocurrency-wallet--{uuid.uuid4()}"])]
    envelope += [{**envelope[0], "id": f"indicator--{uuid.uuid4()}"} for _ in range(5)]
    with engine.begin() as connection:
        kept = add_objects(connection, BULK, envelope[:1], audience=AUDIENCES[2], account="org-a/bot", now_us=T0)
    before = None
    with engine.connect() as connection:
        before = table(connection, BULK.id)
    monkeypatch.setattr(hub_objects, "_add_readers", broken)
    with pytest.raises(RuntimeError), engine.begin() as connection:
        add_objects(connection, BULK, envelope, audience=AUDIENCES[2], account="org-a/bot", now_us=T0)
    with engine.connect() as connection:
        assert table(connection, BULK.id) == before
    assert isinstance(kept[0], Stored | Refused)


def test_a_large_envelope_with_new_versions_of_stored_objects(engine: Engine) -> None:
    """Thousands of objects, then new versions of half of them (older and newer) with repeats: the same as one at
    a time, at the real chunk sizes."""
    ids = [f"indicator--{uuid.UUID(int=i, version=4)}" for i in range(3_000)]

    def version(stix_id: str, step: int) -> dict[str, Any]:
        return {
            "type": "indicator", "spec_version": "2.1", "id": stix_id, "created": format_timestamp_us(T0),
            "modified": format_timestamp_us(T0 + step), "pattern": "[cryptocurrency-wallet:value = '0x1']",
            "pattern_type": "stix", "valid_from": format_timestamp_us(T0),
        }  # fmt: skip

    first = [version(stix_id, 1_000) for stix_id in ids]
    second = [version(stix_id, step) for stix_id in ids[::2] for step in (2_000, 500, 1_000)]
    for envelope in (first, second):
        with engine.begin() as connection:
            bulk = add_objects(connection, BULK, envelope, audience=AUDIENCES[1], account="bot", now_us=T0)
            reference = reference_add(connection, REFERENCE, envelope, audience=AUDIENCES[1], account="bot", now_us=T0)
        assert bulk == reference
    with engine.connect() as connection:
        rows, readers = table(connection, BULK.id)
        assert (rows, readers) == table(connection, REFERENCE.id)
    assert len(rows) == 3_000 + 1_500 * 2 and len(readers) == len(rows)
