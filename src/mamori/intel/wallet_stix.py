"""Address lists as STIX 2.1 objects for the threat-intelligence hub, and the versions an update of a list needs.

Pure: no I/O and no clock; every time is a parameter and every id is derived from the data, so building the same
list twice gives the same objects. Per listed wallet (docs/intel-stix.md):

- a ``cryptocurrency-wallet`` SCO (OpenCTI's convention, declared by the ``new-sco`` extension
  :data:`WALLET_TYPE_EXTENSION`) whose ``value`` is the address and whose chain sits in the property extension
  :data:`WALLET_PROPERTIES_EXTENSION`; its id is a UUIDv5 over ``value`` and ``extensions`` (STIX 2.1 §2.9);
- an ``indicator`` with the pattern ``[cryptocurrency-wallet:value = '…']`` whose id is a UUIDv5 under
  :data:`MAMORI_ID_NAMESPACE` over (list name, value, chain), so a re-import maps to the same indicator;
- a ``based-on`` relationship from the indicator to the SCO.

Output is plain JSON-ready dicts. Inputs that the hub stored are parsed once into :class:`PublishedIndicator`.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from mamori.chains.addresses import Family
from mamori.errors import InputError
from mamori.gc_pause import collector_paused
from mamori.intel.lists import AddressList, ListEntry, ListSource
from mamori.intel.stix_forms import id_type
from mamori.intel.tlp import TLP2_IDS, Tlp

# STIX 2.1 §2.9: the namespace of deterministic SCO ids.
SCO_ID_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
# mamori's namespace for the ids it derives itself (indicators, relationships, bundles). A random UUID fixed once:
# changing it would give every published indicator a new id, so it never changes.
MAMORI_ID_NAMESPACE = uuid.UUID("ff1870ed-b5fd-4b42-b69f-454c0e011b35")
_SCO_NAMESPACE_BYTES, _MAMORI_NAMESPACE_BYTES = SCO_ID_NAMESPACE.bytes, MAMORI_ID_NAMESPACE.bytes
MAMORI_IDENTITY_ID = "identity--36419cce-4bda-4aae-9d27-f8d3ce6c28c7"
WALLET_TYPE_EXTENSION = "extension-definition--4bb98549-a34f-4edc-9333-98d5d47f25b6"
WALLET_PROPERTIES_EXTENSION = "extension-definition--243225c1-e82b-454f-9b8c-3c8e3b4707bf"
# Placeholder domain (RFC 2606 reserves .example): replace it before publishing, with a new extension version.
SCHEMA_BASE_URL = "https://mamori.example/stix/extensions"
TLP_CLEAR = TLP2_IDS[Tlp.CLEAR]
DEFAULT_INDICATOR_TYPES = ("malicious-activity",)

WALLET_TYPE = "cryptocurrency-wallet"
_DEFINITIONS_TIME = "2026-12-03T00:00:00.000Z"  # when the extension definitions were written; fixed with them


class WalletEntry(NamedTuple):
    """One listed wallet: a list's entries grouped by (value, chain), with every asset label they carry."""

    value: str
    chain: str
    asset_labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StixIdentity:
    """The organisation that publishes the indicators (``created_by_ref``)."""

    id: str
    name: str
    created: datetime
    identity_class: str = "organization"

    def __post_init__(self) -> None:
        _require_id(self.id, "identity")
        if not self.name.strip() or not self.identity_class.strip():
            raise InputError("STIX_OBJECT_INVALID", id=self.id, reason="name and identity_class must not be empty")
        stix_timestamp(self.created)  # rejects a naive time now rather than at first use

    def to_stix(self) -> dict[str, Any]:
        created = stix_timestamp(self.created)
        return {
            "type": "identity",
            "spec_version": "2.1",
            "id": self.id,
            "created": created,
            "modified": created,
            "name": self.name,
            "identity_class": self.identity_class,
        }


@dataclass(frozen=True, slots=True)
class PublishedIndicator:
    """The latest stored version of an indicator this module built: what an update of its list starts from."""

    id: str
    list_name: str
    modified: datetime
    revoked: bool
    stix_json: bytes  # the whole object: its next version copies every property

    def __post_init__(self) -> None:
        _require_id(self.id, "indicator")
        _to_millisecond(self.modified)  # rejects a naive time: it could not be ordered against ``now``

    @classmethod
    def from_stix(cls, obj: Mapping[str, Any]) -> PublishedIndicator:
        """An indicator as :func:`wallet_objects` built it (or a later version of it), as the hub stored it."""
        ident = obj.get("id")
        if obj.get("type") != "indicator" or not isinstance(ident, str):
            raise InputError("STIX_OBJECT_INVALID", id=str(ident), reason="not an indicator")
        extensions = obj.get("extensions")
        properties = extensions.get(WALLET_PROPERTIES_EXTENSION) if isinstance(extensions, Mapping) else None
        list_name = properties.get("list_name") if isinstance(properties, Mapping) else None
        if not isinstance(list_name, str):
            raise InputError("STIX_OBJECT_INVALID", id=ident, reason="no list_name in its wallet properties extension")
        revoked = obj.get("revoked", False)
        if not isinstance(revoked, bool):
            raise InputError("STIX_OBJECT_INVALID", id=ident, reason="'revoked' is not a boolean")
        modified = _parse_timestamp(obj.get("modified"), ident)
        return cls(ident, list_name, modified, revoked, _dumps(obj, ident))

    @classmethod
    def from_json(cls, data: bytes | str) -> PublishedIndicator:
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise InputError("JSON_INVALID", reason=str(exc)) from exc
        if not isinstance(obj, dict):
            raise InputError("STIX_OBJECT_INVALID", id="(none)", reason="not a JSON object")
        return cls.from_stix(obj)


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """What an import of a list publishes: new versions of delisted indicators, objects for new entries."""

    revoked: tuple[dict[str, Any], ...]
    added: tuple[dict[str, Any], ...]  # SCO, indicator and relationship per newly listed wallet
    unchanged: tuple[str, ...]  # ids of indicators still listed: no new version

    @property
    def objects(self) -> list[dict[str, Any]]:
        return [*self.revoked, *self.added]


@dataclass(frozen=True, slots=True)
class _Publication:
    """What every object of one build shares, checked and formatted once."""

    source: ListSource
    author_id: str
    time: str
    marking: str
    indicator_types: tuple[str, ...]
    reference: Mapping[str, str]


# --- timestamps ----------------------------------------------------------------------------------------------


def stix_timestamp(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.sssZ`` in UTC: STIX's form, at the millisecond precision the hub stores."""
    utc = _to_millisecond(moment)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
        f".{utc.microsecond // 1000:03d}Z"
    )


def _to_millisecond(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError("USAGE_INVALID", reason="STIX times must be timezone-aware datetimes")
    utc = moment.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def _parse_timestamp(text: object, ident: str) -> datetime:
    if not isinstance(text, str) or not text.endswith("Z"):
        raise InputError("STIX_OBJECT_INVALID", id=ident, reason="'modified' is not a STIX timestamp")
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError("STIX_OBJECT_INVALID", id=ident, reason=f"'modified' is not a STIX timestamp: {exc}") from exc


# --- ids -----------------------------------------------------------------------------------------------------


def _canonical_json(value: object) -> bytes:
    """RFC 8785 for what is hashed here (strings, lists, objects): sorted keys, no spaces, UTF-8.

    orjson escapes exactly as RFC 8785 does; the tests compare it with the stix2 library's canonicaliser.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as exc:
        raise InputError("FIELD_TYPE_INVALID", field="value", expected=f"Unicode text ({exc})") from exc


def _uuid5(namespace: bytes, value: object) -> str:
    """``str(uuid.uuid5(namespace, canonical JSON))``, written out: three times faster, and ids are most of the
    cost of a build (the tests compare it with :func:`uuid.uuid5`)."""
    digest = bytearray(hashlib.sha1(namespace + _canonical_json(value), usedforsecurity=False).digest())
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest[:16].hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _require_id(ident: str, object_type: str) -> None:
    if id_type(ident) != object_type:
        raise InputError("STIX_OBJECT_INVALID", id=ident, reason=f"not a {object_type} id (<type>--<UUID>)")


def wallet_extensions(chain: str) -> dict[str, Any]:
    """The SCO's ``extensions``: the type's declaration and the chain. Both contribute to the SCO's id."""
    return {
        WALLET_TYPE_EXTENSION: {"extension_type": "new-sco"},
        WALLET_PROPERTIES_EXTENSION: {"extension_type": "property-extension", "chain": chain},
    }


def wallet_id(value: str, chain: str) -> str:
    """STIX 2.1 §2.9 over the id-contributing properties ``value`` and ``extensions``: the address and its chain."""
    return f"{WALLET_TYPE}--{_uuid5(_SCO_NAMESPACE_BYTES, {'extensions': wallet_extensions(chain), 'value': value})}"


def indicator_id(list_name: str, value: str, chain: str) -> str:
    """The same wallet on the same list always gets this indicator id (until revoked: :func:`successor_id`)."""
    return f"indicator--{_uuid5(_MAMORI_NAMESPACE_BYTES, {'chain': chain, 'list': list_name, 'value': value})}"


def successor_id(revoked_id: str) -> str:
    """The id of a wallet listed again after its indicator was revoked: STIX allows no version after a revocation."""
    return f"indicator--{_uuid5(_MAMORI_NAMESPACE_BYTES, {'relisted_after': revoked_id})}"


def relationship_id(source_ref: str, target_ref: str) -> str:
    key = {"relationship_type": "based-on", "source_ref": source_ref, "target_ref": target_ref}
    return f"relationship--{_uuid5(_MAMORI_NAMESPACE_BYTES, key)}"


# --- patterns ------------------------------------------------------------------------------------------------


def wallet_pattern(values: Sequence[str]) -> str:
    """``[cryptocurrency-wallet:value = '…' OR …]``; quotes and backslashes escaped as the grammar requires."""
    if not values:
        raise InputError("USAGE_INVALID", reason="a wallet pattern needs at least one value")
    return "[" + " OR ".join(map(_comparison, values)) + "]"


def _comparison(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"{WALLET_TYPE}:value = '{escaped}'"


_WS = r"[ \t\n\r\f\v]*"
_STRING = r"'((?:[^'\\]|\\['\\])*)'"  # the grammar's StringLiteral: only \' and \\ are escapes
_COMPARISON = rf"{WALLET_TYPE}:value{_WS}={_WS}{_STRING}"
_OBSERVATION = rf"\[{_WS}{_COMPARISON}(?:{_WS}OR[ \t\n\r\f\v]+{_COMPARISON})*{_WS}\]"
_WALLET_PATTERN = re.compile(rf"{_WS}{_OBSERVATION}(?:{_WS}OR{_WS}{_OBSERVATION})*{_WS}")
_STRING_RE = re.compile(_STRING)
_UNESCAPE = re.compile(r"\\(['\\])")


def wallet_values_from_pattern(pattern: str) -> list[str] | None:
    """The values of a pattern that only ORs equality comparisons on ``cryptocurrency-wallet:value``, else None.

    Comparison ORs and observation ORs both mean "any of these wallets"; anything else (AND, other operators or
    objects, qualifiers, parentheses, comments) is not a plain wallet list, and the hub must not read it as one.
    """
    if not _WALLET_PATTERN.fullmatch(pattern):
        return None
    # Matched: the only quotes left are the string literals', so scanning them in order finds exactly the values.
    return [_UNESCAPE.sub(r"\1", literal) for literal in _STRING_RE.findall(pattern)]


# --- building ------------------------------------------------------------------------------------------------


def wallet_value(entry: ListEntry) -> str:
    """The SCO's ``value``: mamori's normalised form, except for family ``hash``, whose normalised form is a
    screening key (``p2pkh:<hash>``) that no wallet software would recognise: there, the address as listed."""
    return entry.listed_as if entry.family is Family.HASH else entry.normalised


def wallet_entries(address_list: AddressList) -> tuple[WalletEntry, ...]:
    """The list's wallets in list order; entries naming one wallet under several asset labels become one."""
    labels: dict[tuple[str, str], set[str]] = {}
    for entry in address_list.entries:
        found = labels.setdefault((wallet_value(entry), entry.chain), set())
        if entry.asset:
            found.add(entry.asset)
    return tuple(WalletEntry(value, chain, tuple(sorted(names))) for (value, chain), names in labels.items())


def wallet_objects(
    address_list: AddressList,
    *,
    author: StixIdentity,
    now: datetime,
    marking: str = TLP_CLEAR,
    source_url: str | None = None,
    indicator_types: Sequence[str] = DEFAULT_INDICATOR_TYPES,
) -> list[dict[str, Any]]:
    """SCO, indicator and relationship for every wallet of the list: a first import."""
    plan = plan_import(
        (),
        address_list,
        author=author,
        now=now,
        marking=marking,
        source_url=source_url,
        indicator_types=indicator_types,
    )
    return list(plan.added)


def plan_import(
    previous: Iterable[PublishedIndicator],
    current: AddressList,
    *,
    author: StixIdentity,
    now: datetime,
    marking: str = TLP_CLEAR,
    source_url: str | None = None,
    indicator_types: Sequence[str] = DEFAULT_INDICATOR_TYPES,
) -> ImportPlan:
    """Everything an import of ``current`` publishes, given the latest stored versions of its list's indicators.

    Wallets still listed keep their indicator (no new version); wallets no longer listed get a revoked version
    (:func:`revocations`); new wallets get new objects, under a successor id where an earlier indicator for the
    same wallet was revoked.
    """
    latest = _latest_by_id(previous, current.source.name)
    publication = _publication(current.source, author, now, marking, source_url, indicator_types)
    added: list[dict[str, Any]] = []
    unchanged: list[str] = []
    with collector_paused():
        resolved = _resolve_ids(wallet_entries(current), current.source.name, latest)
        for wallet, ident in resolved:
            if ident in latest:
                unchanged.append(ident)
            else:
                added += _wallet_objects(wallet, ident, publication)
    revoked = _revoked_versions(latest, {ident for _, ident in resolved}, now)
    return ImportPlan(tuple(revoked), tuple(added), tuple(unchanged))


def revocations(previous: Iterable[PublishedIndicator], current: AddressList, *, now: datetime) -> list[dict[str, Any]]:
    """A revoked new version (same id, ``modified`` = ``now``) of every live indicator of ``previous`` whose wallet
    ``current`` no longer lists, in id order. Raises ``STIX_VERSION_NOT_LATER`` unless ``now`` is strictly later,
    at millisecond precision, than each such indicator's ``modified``."""
    latest = _latest_by_id(previous, current.source.name)
    resolved = _resolve_ids(wallet_entries(current), current.source.name, latest)
    return _revoked_versions(latest, {ident for _, ident in resolved}, now)


def _latest_by_id(previous: Iterable[PublishedIndicator], list_name: str) -> dict[str, PublishedIndicator]:
    latest: dict[str, PublishedIndicator] = {}
    for indicator in previous:
        if indicator.list_name != list_name:
            # Another list's indicators would all look delisted and be revoked: refuse rather than guess.
            raise InputError("STIX_LIST_MISMATCH", id=indicator.id, found=indicator.list_name, expected=list_name)
        known = latest.get(indicator.id)
        if known is None or indicator.modified > known.modified:
            latest[indicator.id] = indicator
    return latest


def _resolve_ids(
    wallets: Iterable[WalletEntry], list_name: str, latest: Mapping[str, PublishedIndicator]
) -> list[tuple[WalletEntry, str]]:
    """Each wallet's indicator id: its derived id, or the first successor that is not revoked."""
    resolved = []
    for wallet in wallets:
        ident = indicator_id(list_name, wallet.value, wallet.chain)
        while ident in latest and latest[ident].revoked:
            ident = successor_id(ident)
        resolved.append((wallet, ident))
    return resolved


def _revoked_versions(
    latest: Mapping[str, PublishedIndicator], listed: set[str], now: datetime
) -> list[dict[str, Any]]:
    delisted = [latest[ident] for ident in sorted(latest) if ident not in listed and not latest[ident].revoked]
    if not delisted:
        return []
    moment = _to_millisecond(now)
    time = stix_timestamp(moment)
    versions = []
    for indicator in delisted:
        if moment <= indicator.modified:
            raise InputError(
                "STIX_VERSION_NOT_LATER", id=indicator.id, modified=indicator.modified.isoformat(), now=time
            )
        version = orjson.loads(indicator.stix_json)
        version["modified"], version["revoked"] = time, True
        versions.append(version)
    return versions


def _publication(
    source: ListSource,
    author: StixIdentity,
    now: datetime,
    marking: str,
    source_url: str | None,
    indicator_types: Sequence[str],
) -> _Publication:
    _require_id(marking, "marking-definition")
    if not indicator_types or not all(re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", t) for t in indicator_types):
        # Open vocabulary values are lower case with hyphens (STIX 2.1 §10): anything else is a caller's mistake.
        raise InputError("USAGE_INVALID", reason=f"indicator types must be lower-case-hyphenated: {indicator_types}")
    reference = {
        "source_name": source.name,
        "description": f"{source.name} version {source.version}; SHA-256 of the list files {source.sha256}",
    }
    if source_url is not None:
        reference["url"] = source_url
    return _Publication(source, author.id, stix_timestamp(now), marking, tuple(indicator_types), reference)


def _wallet_objects(wallet: WalletEntry, ident: str, publication: _Publication) -> list[dict[str, Any]]:
    wallet_ref = wallet_id(wallet.value, wallet.chain)
    sco = {
        "type": WALLET_TYPE,
        "spec_version": "2.1",
        "id": wallet_ref,
        "value": wallet.value,
        # Marked like its indicator: the address alone already tells that the list holds it.
        "object_marking_refs": [publication.marking],
        "extensions": wallet_extensions(wallet.chain),
    }
    return [sco, _indicator(wallet, ident, publication), _relationship(ident, wallet_ref, publication)]


def _indicator(wallet: WalletEntry, ident: str, publication: _Publication) -> dict[str, Any]:
    source, time = publication.source, publication.time
    plural = "s" if len(wallet.asset_labels) > 1 else ""
    labels = f", under asset label{plural} {', '.join(wallet.asset_labels)}" if wallet.asset_labels else ""
    properties: dict[str, Any] = {"extension_type": "property-extension", "chain": wallet.chain}
    if wallet.asset_labels:
        properties["asset_labels"] = list(wallet.asset_labels)
    properties["list_name"] = source.name
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": ident,
        "created_by_ref": publication.author_id,
        "created": time,
        "modified": time,
        "name": f"{source.name}: {wallet.value}",
        "description": f"Wallet {wallet.value} ({wallet.chain}) is on {source.name} version {source.version}{labels}.",
        "indicator_types": list(publication.indicator_types),
        "pattern": f"[{_comparison(wallet.value)}]",
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": time,
        "external_references": [dict(publication.reference)],
        "object_marking_refs": [publication.marking],
        "extensions": {WALLET_PROPERTIES_EXTENSION: properties},
    }


def _relationship(source_ref: str, target_ref: str, publication: _Publication) -> dict[str, Any]:
    return {
        "type": "relationship",
        "spec_version": "2.1",
        "id": relationship_id(source_ref, target_ref),
        "created_by_ref": publication.author_id,
        "created": publication.time,
        "modified": publication.time,
        "relationship_type": "based-on",
        "source_ref": source_ref,
        "target_ref": target_ref,
        "object_marking_refs": [publication.marking],
    }


# --- definitions and bundles ---------------------------------------------------------------------------------


def definition_objects() -> list[dict[str, Any]]:
    """mamori's identity and the two extension definitions the wallet objects use: published once by the hub."""
    common = {"spec_version": "2.1", "created": _DEFINITIONS_TIME, "modified": _DEFINITIONS_TIME}
    author = {"created_by_ref": MAMORI_IDENTITY_ID, "version": "1.0.0"}
    return [
        {
            "type": "identity",
            "id": MAMORI_IDENTITY_ID,
            **common,
            "name": "mamori",
            "description": "The mamori project: author of the cryptocurrency-wallet STIX extensions.",
            "identity_class": "organization",
        },
        {
            "type": "extension-definition",
            "id": WALLET_TYPE_EXTENSION,
            **common,
            **author,
            "name": "cryptocurrency-wallet",
            "description": "A cryptocurrency address as an SCO (OpenCTI's convention): 'value' is the address. "
            "Id-contributing properties: value, extensions.",
            "schema": f"{SCHEMA_BASE_URL}/cryptocurrency-wallet/1.0.0/schema.json",
            "extension_types": ["new-sco"],
        },
        {
            "type": "extension-definition",
            "id": WALLET_PROPERTIES_EXTENSION,
            **common,
            **author,
            "name": "mamori wallet properties",
            "description": "The chain of a cryptocurrency-wallet; on indicators also the list and its asset labels.",
            "schema": f"{SCHEMA_BASE_URL}/wallet-properties/1.0.0/schema.json",
            "extension_types": ["property-extension"],
        },
    ]


def bundle(objects: Iterable[Mapping[str, Any]], *, bundle_id: str | None = None) -> dict[str, Any]:
    """A STIX 2.1 bundle of ``objects`` (not copied). Without ``bundle_id`` its id is a UUIDv5 of the objects'
    ids and ``modified`` times, in any order: the same objects always travel in the same bundle."""
    items = list(objects)  # not copied: a bundle of 100,000 wallets holds 300,000 objects
    if bundle_id is None:
        versions = sorted(f"{_object_id(obj)}@{obj.get('modified', '')}" for obj in items)
        bundle_id = f"bundle--{_uuid5(_MAMORI_NAMESPACE_BYTES, versions)}"
    _require_id(bundle_id, "bundle")
    return {"type": "bundle", "id": bundle_id, "objects": items}


def _object_id(obj: Mapping[str, Any]) -> str:
    ident = obj.get("id")
    if not isinstance(ident, str):
        raise InputError("STIX_OBJECT_INVALID", id=str(ident), reason="an object in a bundle needs an id")
    return ident


def _dumps(obj: Mapping[str, Any], ident: str) -> bytes:
    try:
        return orjson.dumps(obj)
    except (orjson.JSONEncodeError, TypeError) as exc:
        raise InputError("STIX_OBJECT_INVALID", id=ident, reason=f"not JSON-serialisable: {exc}") from exc
