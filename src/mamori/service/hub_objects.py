"""The objects of the hub's collections: versions added with strictly increasing ``date_added``, and pages read
under TLP.

Adding runs under the collection's lock (an advisory lock on PostgreSQL; on SQLite the write transaction itself):
``date_added`` is the later of the clock and one microsecond after the collection's last, so it is distinct and
increasing in every collection whatever the number of server processes, and a TAXII page that ends at one instant
is continued exactly by ``added_after`` that instant (intel/taxii/query.py). TLP is enforced in the query itself,
on every read path, by the same rule as :func:`mamori.intel.tlp.may_read` (a test holds the two equal).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, and_, exists, false, func, insert, or_, select, update

from mamori.errors import InputError
from mamori.intel.stix_forms import timestamp_us
from mamori.intel.stix_validation import Problem, validate
from mamori.intel.taxii.query import Query
from mamori.intel.tlp import STANDARD_MARKINGS, Audience, Reader, Tlp, marking_refs, marking_tlp, object_tlp
from mamori.store.hub_models import SharingGroupMember, TaxiiCollection, TaxiiObject, TaxiiObjectReader

_O = TaxiiObject.__table__.c
_R = TaxiiObjectReader.__table__.c


@dataclass(frozen=True, slots=True)
class Stored:
    """An object version now in the collection (or there already: a repeat is a success, TAXII 2.1 §4.3.1)."""

    stix_id: str
    version_us: int
    date_added_us: int


@dataclass(frozen=True, slots=True)
class Refused:
    stix_id: str
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[dict[str, Any]]  # seq, stix_id, version_us, date_added_us, document
    more: bool


def add_objects(
    connection: Connection,
    collection: TaxiiCollection,
    objects: Sequence[Mapping[str, Any]],
    *,
    audience: Audience,
    account: str,
    now_us: int,
) -> list[Stored | Refused]:
    """Store each valid object of ``objects`` as a new version in ``collection`` (in the caller's transaction);
    refuse the others with their problems. ``audience``: who the producer shares them with (intel/tlp.py)."""
    _lock(connection, collection.id)
    markings = _known_markings(connection, collection.id, objects)
    last = connection.execute(
        select(func.max(_O.date_added_us)).where(_O.collection_id == collection.id)
    ).scalar_one_or_none()
    clock = max(now_us, (last or 0) + 1)
    outcomes: list[Stored | Refused] = []
    for obj in objects:
        stix_id = str(obj.get("id", "")) if isinstance(obj, Mapping) else ""
        problems = list(validate(obj))
        level = None
        if not problems and obj.get("type") == "marking-definition":
            try:
                marking_tlp(obj)  # a standard TLP id stating another level must never be stored
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
        version = _version_us(obj, clock)
        repeat = connection.execute(
            select(_O.date_added_us).where(
                _O.collection_id == collection.id, _O.stix_id == stix_id, _O.version_us == version
            )
        ).scalar_one_or_none()
        if repeat is not None:
            outcomes.append(Stored(stix_id, version, repeat))
            continue
        outcomes.append(_insert(connection, collection, obj, level, version, clock, audience, account))
        clock += 1
    return outcomes


def _insert(
    connection: Connection,
    collection: TaxiiCollection,
    obj: Mapping[str, Any],
    level: Tlp,
    version: int,
    date_added: int,
    audience: Audience,
    account: str,
) -> Stored:
    stix_id = str(obj["id"])
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
            date_added_us=date_added,
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
    return Stored(stix_id, version, date_added)


def visible_to(reader: Reader, collection: TaxiiCollection) -> Any:
    """The SQL condition under which ``reader`` may see a row of ``taxii_objects`` (intel/tlp.py's ``may_read``)."""
    named = exists().where(
        _R.object_seq == _O.seq,
        or_(
            and_(_R.kind == "account", _R.reader == reader.account),
            and_(_R.kind == "organisation", _R.reader == reader.organisation, _O.tlp <= _R.max_tlp),
        ),
    )
    in_group = (
        exists().where(
            SharingGroupMember.group_id == collection.sharing_group_id,
            SharingGroupMember.organisation_id == reader.organisation,
        )
        if collection.sharing_group_id is not None
        else false()
    )
    return or_(
        _O.tlp <= int(Tlp.GREEN),
        _O.producer_id == reader.organisation,
        named,
        and_(_O.tlp == int(Tlp.AMBER), in_group),
    )


def read_page(connection: Connection, collection: TaxiiCollection, query: Query, reader: Reader) -> Page:
    """One page of ``query`` over ``collection`` as ``reader`` may see it, in ``date_added`` order."""
    conditions = [_O.collection_id == collection.id, visible_to(reader, collection)]
    if query.after_us is not None:
        conditions.append(_O.date_added_us > query.after_us)
    if query.ids:
        conditions.append(_O.stix_id.in_(sorted(query.ids)))
    if query.types:
        conditions.append(_O.stix_type.in_(sorted(query.types)))
    if query.spec_versions and "2.1" not in query.spec_versions:
        conditions.append(false())  # the hub holds STIX 2.1 only
    versions = query.versions
    if not versions.all:
        chosen: list[ColumnElement[bool]] = []
        if versions.instants:
            chosen.append(_O.version_us.in_(sorted(versions.instants)))
        if versions.first:
            chosen.append(_O.is_first.is_(True))
        if versions.last:
            chosen.append(_O.is_last.is_(True))
        conditions.append(or_(*chosen) if chosen else false())
    statement = (
        select(_O.seq, _O.stix_id, _O.version_us, _O.date_added_us, _O.document)
        .where(*conditions)
        .order_by(_O.date_added_us)
        .limit(query.limit + 1)
    )
    rows = [dict(row._mapping) for row in connection.execute(statement)]
    return Page(rows[: query.limit], len(rows) > query.limit)


def _version_us(obj: Mapping[str, Any], date_added: int) -> int:
    for name in ("modified", "created"):
        value = obj.get(name)
        if isinstance(value, str):
            parsed = timestamp_us(value)
            if parsed is not None:
                return parsed
    return date_added  # an SCO: its version is when the hub received it (TAXII 2.1 §3.2)


def _known_markings(
    connection: Connection, collection_id: str, objects: Sequence[Mapping[str, Any]]
) -> dict[str, Tlp | None]:
    """Marking definitions the collection holds and those the envelope brings: id -> TLP level (None: not TLP)."""
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
                continue  # a TLP marking that states no level it may: objects referencing it are refused
    return known


def _lock(connection: Connection, collection_id: str) -> None:
    """Serialise additions to one collection across processes (SQLite: the write transaction already does)."""
    if connection.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(b"taxii:" + collection_id.encode()).digest()[:8], "big", signed=True)
        connection.execute(select(func.pg_advisory_xact_lock(key)))
