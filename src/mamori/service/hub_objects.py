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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import orjson
from sqlalchemy import ColumnElement, Connection, and_, exists, false, func, or_, select

from mamori.errors import InputError, MamoriError
from mamori.gc_pause import collector_paused
from mamori.intel.stix_forms import timestamp_us
from mamori.intel.stix_validation import Problem, validate
from mamori.intel.taxii.query import Query
from mamori.intel.tlp import STANDARD_MARKINGS, Audience, Reader, Tlp, marking_refs, marking_tlp, object_tlp
from mamori.store import direct
from mamori.store.hub_models import SharingGroupMember, TaxiiCollection, TaxiiObject, TaxiiObjectReader

_O = TaxiiObject.__table__.c
_R = TaxiiObjectReader.__table__.c
_T = TypeVar("_T")


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
    rows: Sequence[Mapping[Any, Any]]  # seq, stix_id, version_us, date_added_us, document
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
    refuse the others with their problems. ``audience``: who the producer shares them with (intel/tlp.py).

    Set-based, so that an envelope of 300,000 objects takes seconds: every object is checked in Python first, the
    versions already stored for the envelope's ids are read in a few queries, repeats, ``date_added`` and the
    first/last flags are decided in memory in input order (exactly as adding the objects one at a time would), then
    the flags of earlier versions are cleared and the new rows written in bulk."""
    lock_collection(connection, collection.id)
    markings = _known_markings(connection, collection.id, objects)
    last = connection.execute(
        select(func.max(_O.date_added_us)).where(_O.collection_id == collection.id)
    ).scalar_one_or_none()
    start = clock = max(now_us, (last or 0) + 1)
    with collector_paused():
        checker = _Checker(markings, Tlp(collection.default_tlp), {}, {})
        checked = [checker.check(obj) for obj in objects]
        ids = {item.stix_id for item in checked if isinstance(item, _Valid)}
        # An empty collection holds no version of anything: nothing to read (a first import).
        stored = _stored_versions(connection, collection.id, ids) if last is not None else {}
        before: dict[str, tuple[int, int]] = {}  # id -> (first, last) version stored before this call
        for stix_id, version in stored:
            low, high = before.get(stix_id, (version, version))
            before[stix_id] = (min(low, version), max(high, version))
        bounds = dict(before)  # id -> (first, last) version once this call's rows are in
        outcomes: list[Stored | Refused] = []
        new: list[_NewRow] = []
        for obj, item in zip(objects, checked, strict=True):
            if not isinstance(item, _Valid):
                outcomes.append(item)
                continue
            stix_id = item.stix_id
            version = item.version if item.version is not None else clock  # an SCO's version is its date_added
            repeat = stored.get((stix_id, version))
            if repeat is not None:  # stored before, or earlier in this envelope
                outcomes.append(Stored(stix_id, version, repeat))
                continue
            stored[stix_id, version] = clock
            known = bounds.get(stix_id)
            bounds[stix_id] = (min(known[0], version), max(known[1], version)) if known else (version, version)
            new.append(_NewRow(obj, stix_id, version, clock, item.level))
            outcomes.append(Stored(stix_id, version, clock))
            clock += 1
        del checked
        if new:
            _clear_flags(connection, collection.id, before, bounds)
            _write_rows(connection, collection.id, new, bounds, audience.producer, account)
            _add_readers(connection, collection.id, start, audience)
    return outcomes


@dataclass(frozen=True, slots=True)
class _Valid:
    stix_id: str
    level: Tlp
    version: int | None  # its ``modified``, else ``created``; None: known once its date_added is (an SCO)


class _NewRow(NamedTuple):
    obj: Mapping[str, Any]
    stix_id: str
    version: int
    date_added: int
    level: Tlp


@dataclass(frozen=True, slots=True)
class _Checker:
    """Decides, object by object, whether it may be stored, at which TLP level and with which stated version."""

    markings: Mapping[str, Tlp | None]
    default: Tlp
    # The objects of one import share a few timestamps and markings: each is parsed or resolved once.
    times: dict[str, int | None]
    levels: dict[tuple[str, ...], tuple[Tlp, str | None]]

    def check(self, obj: Mapping[str, Any]) -> _Valid | Refused:
        stix_id = str(obj.get("id", "")) if isinstance(obj, Mapping) else ""
        problems = list(validate(obj))
        level = None
        if not problems and obj.get("type") == "marking-definition":
            try:
                marking_tlp(obj)  # a standard TLP id stating another level must never be stored
            except InputError as exc:
                problems.append(Problem("", exc.message_en, "TLP_MARKING_INVALID"))
        if not problems:
            level, unknown = self._level(obj)
            if unknown is not None:
                problems.append(Problem("object_marking_refs", f"unknown marking {unknown}", "STIX_MARKING_INVALID"))
        if problems or level is None:
            return Refused(stix_id, tuple(problems))
        return _Valid(stix_id, level, self._stated_version(obj))

    def _level(self, obj: Mapping[str, Any]) -> tuple[Tlp, str | None]:
        """Its TLP level and the first marking it references that the hub does not know (None: all known)."""
        refs = obj.get("object_marking_refs")
        if isinstance(obj.get("granular_markings"), list) or not isinstance(refs, list):
            return self._resolve(obj)
        # Object-level markings alone decide: the objects of one import mostly share theirs, resolved once.
        key = tuple(map(str, refs))
        found = self.levels.get(key)
        if found is None:
            found = self.levels[key] = self._resolve(obj)
        return found

    def _resolve(self, obj: Mapping[str, Any]) -> tuple[Tlp, str | None]:
        markings = self.markings
        level = object_tlp(obj, markings, default=self.default)
        unknown = [ref for ref in marking_refs(obj) if ref not in markings and ref not in STANDARD_MARKINGS]
        return level, unknown[0] if unknown else None

    def _stated_version(self, obj: Mapping[str, Any]) -> int | None:
        """Its ``modified``, else its ``created``; None for an SCO, whose version is when the hub received it (its
        ``date_added``, TAXII 2.1 §3.2)."""
        for name in ("modified", "created"):
            value = obj.get(name)
            if isinstance(value, str):
                if value in self.times:
                    parsed = self.times[value]
                else:
                    parsed = self.times[value] = timestamp_us(value)
                if parsed is not None:
                    return parsed
        return None


# Ids go as one parameter on either database (a JSON array on SQLite, an array on PostgreSQL), a chunk at a time
# to bound each statement's memory. Rows are serialised and sent a chunk at a time: only one chunk's documents are
# ever in memory as JSON.
_ID_CHUNK = 20_000
_ROW_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class _Statements:
    """The add path's statements in the driver's own SQL (store/direct.py): constant text, values as parameters."""

    versions: str  # (id, version, date_added) of the stored versions of a chunk of ids
    clear_first: str
    clear_last: str
    insert: str  # the new rows, in _rows' column order
    readers: str  # one reader for every row above GREEN added from ``start`` on


_SQL = {
    "sqlite": _Statements(
        versions="SELECT stix_id, version_us, date_added_us FROM taxii_objects "
        "WHERE collection_id = :collection AND stix_id IN (SELECT value FROM json_each(:ids))",
        clear_first="UPDATE taxii_objects SET is_first = false "
        "WHERE collection_id = :collection AND stix_id IN (SELECT value FROM json_each(:ids)) AND is_first",
        clear_last="UPDATE taxii_objects SET is_last = false "
        "WHERE collection_id = :collection AND stix_id IN (SELECT value FROM json_each(:ids)) AND is_last",
        insert="INSERT INTO taxii_objects (collection_id, date_added_us, stix_id, stix_type, spec_version, "
        "version_us, is_first, is_last, revoked, tlp, producer_id, submitted_by, document) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        readers="INSERT INTO taxii_object_readers (object_seq, kind, reader, max_tlp) "
        "SELECT seq, :kind, :reader, :top FROM taxii_objects "
        "WHERE collection_id = :collection AND date_added_us >= :start AND tlp > :green",
    ),
    "postgresql": _Statements(
        versions="SELECT stix_id, version_us, date_added_us FROM taxii_objects "
        "WHERE collection_id = %(collection)s AND stix_id = ANY(%(ids)s)",
        clear_first="UPDATE taxii_objects SET is_first = false "
        "WHERE collection_id = %(collection)s AND stix_id = ANY(%(ids)s) AND is_first",
        clear_last="UPDATE taxii_objects SET is_last = false "
        "WHERE collection_id = %(collection)s AND stix_id = ANY(%(ids)s) AND is_last",
        insert="COPY taxii_objects (collection_id, date_added_us, stix_id, stix_type, spec_version, version_us, "
        "is_first, is_last, revoked, tlp, producer_id, submitted_by, document) FROM STDIN (FORMAT BINARY)",
        readers="INSERT INTO taxii_object_readers (object_seq, kind, reader, max_tlp) "
        "SELECT seq, %(kind)s, %(reader)s, %(top)s FROM taxii_objects "
        "WHERE collection_id = %(collection)s AND date_added_us >= %(start)s AND tlp > %(green)s",
    ),
}


# The binary COPY's types, exactly the columns' (binary values are not converted): half the time of text COPY,
# which sends every document as hex.
_COPY_TYPES = ["varchar", "int8", "varchar", "varchar", "varchar", "int8", "bool", "bool", "bool", "int4", "varchar",
               "varchar", "bytea"]  # fmt: skip


def _statements(connection: Connection) -> _Statements:
    found = _SQL.get(connection.dialect.name)
    if found is None:
        raise MamoriError("INTERNAL_ERROR", reason=f"no hub statements for the {connection.dialect.name} dialect")
    return found


def _ids_parameter(connection: Connection, ids: list[str]) -> Any:
    return ids if connection.dialect.name == "postgresql" else orjson.dumps(ids).decode()


def _chunks(items: list[_T], size: int) -> Iterator[list[_T]]:
    for begin in range(0, len(items), size):
        yield items[begin : begin + size]


def _stored_versions(connection: Connection, collection_id: str, ids: set[str]) -> dict[tuple[str, int], int]:
    """(id, version) -> date_added of every version the collection holds of one of ``ids``."""
    sql = _statements(connection).versions
    found: dict[tuple[str, int], int] = {}
    for chunk in _chunks(sorted(ids), _ID_CHUNK):
        for stix_id, version, date_added in direct.run(
            connection, sql, {"collection": collection_id, "ids": _ids_parameter(connection, chunk)}
        ):
            found[stix_id, version] = date_added
    return found


def _clear_flags(
    connection: Connection,
    collection_id: str,
    before: Mapping[str, tuple[int, int]],
    bounds: Mapping[str, tuple[int, int]],
) -> None:
    """Clear ``is_first`` / ``is_last`` on the stored versions that a new one precedes / follows."""
    statements = _statements(connection)
    earlier = sorted(stix_id for stix_id, (low, _) in before.items() if bounds[stix_id][0] < low)
    later = sorted(stix_id for stix_id, (_, high) in before.items() if bounds[stix_id][1] > high)
    for sql, ids in ((statements.clear_first, earlier), (statements.clear_last, later)):
        for chunk in _chunks(ids, _ID_CHUNK):
            direct.execute(connection, sql, {"collection": collection_id, "ids": _ids_parameter(connection, chunk)})


def _write_rows(
    connection: Connection,
    collection_id: str,
    new: list[_NewRow],
    bounds: Mapping[str, tuple[int, int]],
    producer: str,
    account: str,
) -> None:
    """Insert the new versions in input order: ``executemany`` on SQLite (in-process, a C loop), binary ``COPY`` on
    PostgreSQL (psycopg writes the rows in C; an ``executemany`` costs tens of microseconds of Python per row)."""
    driver = connection.connection.driver_connection
    dialect = connection.dialect
    postgresql = dialect.name == "postgresql"
    sql = _statements(connection).insert
    cursor = driver.cursor()  # type: ignore[union-attr]
    try:
        if postgresql:
            with cursor.copy(sql) as copy:
                copy.set_types(_COPY_TYPES)
                for chunk in _chunks(new, _ROW_CHUNK):
                    for row in _rows(collection_id, chunk, bounds, producer, account):
                        copy.write_row(row)
        else:
            for chunk in _chunks(new, _ROW_CHUNK):
                cursor.executemany(sql, _rows(collection_id, chunk, bounds, producer, account))
    except dialect.dbapi.Error as exc:  # type: ignore[union-attr]
        raise direct.driver_error(connection, sql, None, exc) from exc
    finally:
        cursor.close()


def _rows(
    collection_id: str, chunk: list[_NewRow], bounds: Mapping[str, tuple[int, int]], producer: str, account: str
) -> list[tuple[Any, ...]]:
    rows = []
    for obj, stix_id, version, date_added, level in chunk:
        low, high = bounds[stix_id]
        rows.append(
            (
                collection_id,
                date_added,
                stix_id,
                str(obj["type"]),
                str(obj.get("spec_version", "2.1")),
                version,
                version == low,
                version == high,
                obj.get("revoked") is True,
                int(level),
                producer,
                account,
                orjson.dumps(obj, option=orjson.OPT_SORT_KEYS),
            )
        )
    return rows


def _add_readers(connection: Connection, collection_id: str, start: int, audience: Audience) -> None:
    """Reader rows for the objects above TLP:GREEN added by this call: those added at ``start`` or later (under
    the collection's lock, every earlier row is older than ``start``)."""
    readers = [("organisation", org, int(Tlp.AMBER_STRICT)) for org in sorted(audience.named_organisations)]
    readers += [("account", account_id, int(Tlp.RED)) for account_id in sorted(audience.recipients)]
    if not readers:
        return
    sql = _statements(connection).readers
    for kind, who, top in readers:
        values = {"kind": kind, "reader": who, "top": top, "collection": collection_id, "start": start}
        direct.execute(connection, sql, {**values, "green": int(Tlp.GREEN)})


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


def read_page(
    connection: Connection,
    collection: TaxiiCollection,
    query: Query,
    reader: Reader,
    *,
    documents: bool = True,
    producers: bool = False,
) -> Page:
    """One page of ``query`` over ``collection`` as ``reader`` may see it, in ``date_added`` order. Without
    ``documents`` (manifests, version lists) the objects themselves are not read; ``producers`` adds each row's
    ``producer_id`` (for the hub's own decisions, never served)."""
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
    columns = [_O.seq, _O.stix_id, _O.version_us, _O.date_added_us]
    columns += [_O.document] if documents else []
    columns += [_O.producer_id] if producers else []
    statement = select(*columns).where(*conditions).order_by(_O.date_added_us).limit(query.limit + 1)
    rows = list(connection.execute(statement).mappings().all())  # fetched at once: a dict per row costs 3x more
    return Page(rows[: query.limit], len(rows) > query.limit)


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


def lock_collection(connection: Connection, collection_id: str) -> None:
    """Serialise additions to one collection across processes (SQLite: the write transaction already does)."""
    if connection.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(b"taxii:" + collection_id.encode()).digest()[:8], "big", signed=True)
        connection.execute(select(func.pg_advisory_xact_lock(key)))
