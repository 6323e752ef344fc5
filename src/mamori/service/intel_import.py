"""Importing threat intelligence into a hub collection: the OFAC SDN and FBI address lists as STIX (with the
revocations an update of a list needs), or the objects of a STIX 2.1 bundle.

A source is recognised by what it is, not by an option: a folder of ``sanctioned_addresses_<ASSET>`` files (or one
of those files: the snapshot is one list, so its whole folder is read — importing one asset alone would revoke the
others), the FBI's ``eth_addresses.txt`` / ``.csv``, or a JSON object of type ``bundle``. Sources are read whole
before anything is written; one that cannot be read or recognised is an error. Each import is one call of
:func:`mamori.service.hub_objects.add_objects` in the caller's transaction: an object the hub refuses never aborts
the others, and is reported with its first problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from mamori.errors import InputError, MamoriError
from mamori.intel import lists as loaders
from mamori.intel import wallet_stix
from mamori.intel.tlp import Audience
from mamori.service.hub_objects import Refused, Stored, add_objects, lock_collection
from mamori.store.hub_models import HubOrganisation, TaxiiCollection, TaxiiObject

IMPORT_ACCOUNT = "cli-import"  # ``submitted_by`` of what an import stores: no member account submitted it
REASONS_SHOWN = 5  # refusals reported with their reason; the others are counted

_O = TaxiiObject.__table__.c


@dataclass(frozen=True, slots=True)
class ListInput:
    """An address list read from files."""

    origin: str
    addresses: loaders.AddressList


@dataclass(frozen=True, slots=True)
class BundleInput:
    """The objects of a STIX bundle, as read (each is checked when it is added)."""

    origin: str
    bundle_id: str
    objects: tuple[Any, ...]


Source = ListInput | BundleInput


@dataclass(frozen=True, slots=True)
class ImportReport:
    origin: str
    kind: str  # "list" or "bundle"
    name: str  # the list's name, or the bundle's id
    version: str | None  # the list's version
    submitted: int  # objects given to the hub
    added: int  # new versions stored
    repeats: int  # versions the collection already held (a success, TAXII 2.1 §4.3.1)
    revoked: int  # of the added, revoked versions (a list: its delisted wallets' indicators)
    refused: int
    reasons: tuple[str, ...]  # the first refusals: "<id>: <code> at <property>: <reason>"

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.origin,
            "kind": self.kind,
            "name": self.name,
            "version": self.version,
            "submitted": self.submitted,
            "added": self.added,
            "repeats": self.repeats,
            "revoked": self.revoked,
            "refused": self.refused,
            "reasons": list(self.reasons),
        }


# --- reading -------------------------------------------------------------------------------------------------


def read_source(path: str | Path) -> Source:
    """The list or bundle at ``path``. Raises ``INPUT_UNREADABLE``, ``JSON_INVALID`` or ``INTEL_SOURCE_UNKNOWN``."""
    where = Path(path)
    if where.is_dir():
        return _folder(where)
    try:
        raw = where.read_bytes()
    except OSError as exc:
        raise InputError("INPUT_UNREADABLE", source=str(where), reason=exc.strerror or str(exc)) from exc
    if raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{":
        return _bundle(where, raw)
    if loaders.OFAC_FILE.fullmatch(where.name):
        return ListInput(str(where), loaders.load_ofac_directory(where.parent))
    if where.parent.name.startswith("fbi_") or where.name.lower() in ("eth_addresses.txt", "eth_addresses.csv"):
        return ListInput(str(where), _fbi(where))
    raise InputError("INTEL_SOURCE_UNKNOWN", source=str(where), reason="neither a known list file nor a JSON object")


def _folder(folder: Path) -> Source:
    try:
        names = {child.name for child in folder.iterdir()}
    except OSError as exc:
        raise InputError("INPUT_UNREADABLE", source=str(folder), reason=exc.strerror or str(exc)) from exc
    if any(loaders.OFAC_FILE.fullmatch(name) for name in names):
        return ListInput(str(folder), loaders.load_ofac_directory(folder))
    for name in ("eth_addresses.csv", "eth_addresses.txt"):  # the CSV carries the PSA's date
        if name in names:
            return ListInput(str(folder), _fbi(folder / name))
    raise InputError("INTEL_SOURCE_UNKNOWN", source=str(folder), reason="a folder holding no list file")


def _fbi(path: Path) -> loaders.AddressList:
    folder = path.parent
    if folder.name.startswith("fbi_"):
        return loaders.load_fbi_list(path, name=loaders.list_name_for(folder))
    return loaders.load_fbi_list(path)


def _bundle(path: Path, raw: bytes) -> BundleInput:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError("JSON_INVALID", reason=f"{path}: {exc}") from exc
    if not isinstance(document, dict) or document.get("type") != "bundle":
        raise InputError("INTEL_SOURCE_UNKNOWN", source=str(path), reason="a JSON object that is not a STIX bundle")
    objects = document.get("objects", [])
    if not isinstance(objects, list):
        raise InputError("INTEL_SOURCE_UNKNOWN", source=str(path), reason="the bundle's 'objects' is not a list")
    return BundleInput(str(path), str(document.get("id", "")), tuple(objects))


# --- importing -----------------------------------------------------------------------------------------------


def import_source(
    connection: Connection, source: Source, *, collection_id: str, organisation_id: str, now: datetime
) -> ImportReport:
    """Add ``source`` to the collection as ``organisation_id``'s (in the caller's transaction).

    A list: the collection's latest versions of the list's indicators are the previous import
    (:class:`mamori.intel.wallet_stix.PublishedIndicator`); the hub receives mamori's definition objects, a revoked
    version of each indicator whose wallet the list no longer holds, and the objects of each new wallet. A bundle:
    its objects. Raises ``NOT_FOUND`` for an unknown collection or organisation."""
    if now.tzinfo is None:
        raise InputError("USAGE_INVALID", reason="the import time must be timezone-aware")
    collection = _collection(connection, collection_id)
    author = _author(connection, organisation_id, collection_id)
    lock_collection(connection, collection.id)  # before reading what is published: nothing may be added meanwhile
    if isinstance(source, ListInput):
        address_list = source.addresses
        previous = _published(connection, collection.id, address_list.source.name)
        plan = wallet_stix.plan_import(previous, address_list, author=author, now=now)
        objects: Sequence[Mapping[str, Any]] = [*wallet_stix.definition_objects(), *plan.revoked, *plan.added]
        kind, name, version = "list", address_list.source.name, address_list.source.version
    else:
        objects, kind, name, version = source.objects, "bundle", source.bundle_id, None
    last = connection.execute(
        select(func.max(_O.date_added_us)).where(_O.collection_id == collection.id)
    ).scalar_one_or_none()
    outcomes = add_objects(
        connection,
        collection,
        objects,
        audience=Audience(producer=organisation_id),
        account=IMPORT_ACCOUNT,
        now_us=_microseconds(now),
    )
    # A repeat keeps the date_added it was first stored with: anything later was stored now.
    added = [
        obj
        for obj, outcome in zip(objects, outcomes, strict=True)
        if isinstance(outcome, Stored) and outcome.date_added_us > (last or 0)
    ]
    refused = [outcome for outcome in outcomes if isinstance(outcome, Refused)]
    return ImportReport(
        origin=source.origin,
        kind=kind,
        name=name,
        version=version,
        submitted=len(objects),
        added=len(added),
        repeats=len(outcomes) - len(added) - len(refused),
        revoked=sum(1 for obj in added if isinstance(obj, Mapping) and obj.get("revoked") is True),
        refused=len(refused),
        reasons=tuple(_reason(outcome) for outcome in refused[:REASONS_SHOWN]),
    )


def _collection(connection: Connection, collection_id: str) -> TaxiiCollection:
    with Session(bind=connection) as session:
        found = session.get(TaxiiCollection, collection_id)
    if found is None:
        raise MamoriError("NOT_FOUND", what="collection", id=collection_id)
    return found


def _author(connection: Connection, organisation_id: str, collection_id: str) -> wallet_stix.StixIdentity:
    """The organisation's STIX identity: the ``created_by_ref`` of the indicators it publishes."""
    row = connection.execute(
        select(HubOrganisation.identity_ref, HubOrganisation.name, HubOrganisation.created_us).where(
            HubOrganisation.id == organisation_id
        )
    ).one_or_none()
    if row is None:
        raise MamoriError("NOT_FOUND", what="member organisation", id=organisation_id)
    created = datetime.fromtimestamp(row.created_us / 1_000_000, UTC)
    try:
        return wallet_stix.StixIdentity(row.identity_ref, row.name, created)
    except InputError as exc:  # stored by the hub's set-up, which checks it: a damaged row
        raise MamoriError("INTERNAL_ERROR", reason=f"organisation {organisation_id}: {exc.message_en}") from exc


def _published(connection: Connection, collection_id: str, list_name: str) -> list[wallet_stix.PublishedIndicator]:
    """The latest version of every indicator of ``list_name`` in the collection. Indicators that no list import
    made (no wallet properties extension) and those of other lists are not this list's previous import."""
    statement = select(_O.document).where(
        _O.collection_id == collection_id, _O.stix_type == "indicator", _O.is_last.is_(True)
    )
    found = []
    for (document,) in connection.execute(statement):
        obj = orjson.loads(document)
        extensions = obj.get("extensions")
        properties = extensions.get(wallet_stix.WALLET_PROPERTIES_EXTENSION) if isinstance(extensions, dict) else None
        if isinstance(properties, dict) and properties.get("list_name") == list_name:
            found.append(wallet_stix.PublishedIndicator.from_stix(obj))
    return found


def _reason(refused: Refused) -> str:
    if not refused.problems:
        return f"{refused.stix_id or '(no id)'}: refused"
    problem = refused.problems[0]
    at = f" at {problem.path}" if problem.path else ""
    return f"{refused.stix_id or '(no id)'}: {problem.code}{at}: {problem.reason}"


def _microseconds(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
