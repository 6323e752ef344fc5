"""The filters and paging of a TAXII 2.1 request, parsed and checked before anything is read (TAXII 2.1 §3.3-3.5).

Objects are listed in the order they were added, and every ``date_added`` in a collection is distinct and strictly
increasing (the store guarantees it), so a page ends at one instant and the next page starts strictly after it:
paging with ``next`` or with ``added_after`` never skips or repeats an object, whatever the number of server
processes. The ``next`` cursor therefore holds nothing but that instant and a digest of the filters it belongs to —
no state in any process — and a cursor presented with other filters is refused rather than silently misapplied.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

import orjson

from mamori.errors import InputError
from mamori.intel.stix_forms import id_type, is_type_name, timestamp_us

DEFAULT_PAGE = 1_000
MAX_PAGE = 10_000
_SPEC_VERSION = re.compile(r"[0-9]\.[0-9]")


class Endpoint(Enum):
    """The TAXII endpoints that take filters (§5.3-5.8)."""

    OBJECTS = "objects"
    MANIFEST = "manifest"
    OBJECT = "object"
    VERSIONS = "versions"
    DELETE = "delete"

    @property
    def match_fields(self) -> tuple[str, ...]:
        """The ``match[...]`` fields the endpoint defines."""
        return _MATCH_FIELDS[self]

    @property
    def pages(self) -> bool:
        return self is not Endpoint.DELETE


_MATCH_FIELDS = {
    Endpoint.OBJECTS: ("id", "type", "version", "spec_version"),
    Endpoint.MANIFEST: ("id", "type", "version", "spec_version"),
    Endpoint.OBJECT: ("version", "spec_version"),
    Endpoint.VERSIONS: ("spec_version",),
    Endpoint.DELETE: ("version", "spec_version"),
}


def parse_timestamp_us(text: str, *, parameter: str) -> int:
    """A TAXII timestamp (up to microseconds, §2) as microseconds since 1970 (UTC); anything else is refused."""
    micros = timestamp_us(text, max_digits=6)
    if micros is None:
        reason = f"{text!r} is not a calendar time like 2026-03-03T02:00:00.000Z (up to six fractional digits)"
        raise InputError("TAXII_QUERY_INVALID", parameter=parameter, reason=reason)
    return micros


@dataclass(frozen=True, slots=True)
class VersionFilter:
    """``match[version]``: the first and/or last version of each object, every version, or given ``modified``
    instants (any combination of first, last and instants; ``all`` alone)."""

    first: bool = False
    last: bool = True
    all: bool = False
    instants: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Query:
    """What one request asks for. ``after_us``: list objects added strictly after this instant (the later of
    ``added_after`` and the cursor's position); ``limit``: at most this many; empty id/type sets select all; an empty
    ``spec_versions`` means the latest spec version of each object (§3.4.1)."""

    endpoint: Endpoint
    after_us: int | None
    limit: int
    ids: frozenset[str]
    types: frozenset[str]
    versions: VersionFilter
    spec_versions: frozenset[str]
    digest: str  # the filters this query's pages share (not limit, not next): what a cursor is bound to

    def next_cursor(self, last_added_us: int) -> str:
        """The ``next`` value for the page that ends with an object added at ``last_added_us``."""
        document = orjson.dumps({"after": last_added_us, "filters": self.digest})
        return base64.urlsafe_b64encode(document).decode().rstrip("=")


def parse_query(parameters: Mapping[str, Sequence[str]], endpoint: Endpoint, *, max_page: int = MAX_PAGE) -> Query:
    """The filters of a request from its query parameters (each name with the values it was given). A filter given
    twice, an unknown value, a malformed timestamp or id, or a cursor of other filters is refused (400); ``match``
    fields this endpoint does not define are ignored, as §3.4 allows."""
    single = {name: _once(name, values) for name, values in parameters.items()}
    allowed = {f"match[{field}]" for field in endpoint.match_fields}
    matched = {name: value for name, value in single.items() if name in allowed}
    ids = frozenset(_listed(matched.get("match[id]"), "match[id]", _is_id, "a STIX id (type--UUID)"))
    types = frozenset(_listed(matched.get("match[type]"), "match[type]", is_type_name, "a STIX type name"))
    spec_versions = frozenset(
        _listed(matched.get("match[spec_version]"), "match[spec_version]", _is_spec_version, "a spec version like 2.1")
    )
    versions = _versions(matched.get("match[version]"), endpoint)
    added_after = single.get("added_after") if endpoint.pages else None
    after = parse_timestamp_us(added_after, parameter="added_after") if added_after is not None else None
    digest = _digest(endpoint, after, ids, types, versions, spec_versions)
    limit = _limit(single.get("limit"), max_page) if endpoint.pages else max_page
    cursor = single.get("next") if endpoint.pages else None
    if cursor is not None:
        position = _position(cursor, digest)
        after = position if after is None else max(after, position)
    return Query(endpoint, after, limit, ids, types, versions, spec_versions, digest)


def _once(name: str, values: Sequence[str]) -> str:
    if len(values) != 1:
        raise InputError("TAXII_QUERY_INVALID", parameter=name, reason="given more than once")
    return values[0]


def _is_id(text: str) -> bool:
    return id_type(text) is not None


def _is_spec_version(text: str) -> bool:
    return _SPEC_VERSION.fullmatch(text) is not None


def _listed(value: str | None, parameter: str, valid: Callable[[str], bool], expected: str) -> list[str]:
    if value is None:
        return []
    items = value.split(",")
    for item in items:
        if not valid(item):
            raise InputError("TAXII_QUERY_INVALID", parameter=parameter, reason=f"{item!r} is not {expected}")
    return items


def _versions(value: str | None, endpoint: Endpoint) -> VersionFilter:
    if value is None:
        # The versions endpoint lists every version; the others the last one (§3.4.2); DELETE as the objects do.
        return VersionFilter(last=False, all=True) if endpoint is Endpoint.VERSIONS else VersionFilter()
    items = value.split(",")
    if len(set(items)) != len(items):
        raise InputError("TAXII_QUERY_INVALID", parameter="match[version]", reason="a value is given twice")
    if "all" in items:
        if len(items) > 1:
            raise InputError("TAXII_QUERY_INVALID", parameter="match[version]", reason="'all' combined with others")
        return VersionFilter(last=False, all=True)
    instants = frozenset(
        parse_timestamp_us(item, parameter="match[version]") for item in items if item not in ("first", "last")
    )
    return VersionFilter(first="first" in items, last="last" in items, instants=instants)


def _limit(value: str | None, max_page: int) -> int:
    if value is None:
        return min(DEFAULT_PAGE, max_page)
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise InputError("TAXII_QUERY_INVALID", parameter="limit", reason=f"{value!r} is not a positive integer")
    return min(int(value), max_page)  # a server may return fewer than asked (§3.4)


def _digest(
    endpoint: Endpoint,
    after: int | None,
    ids: frozenset[str],
    types: frozenset[str],
    versions: VersionFilter,
    spec_versions: frozenset[str],
) -> str:
    document = [
        endpoint.value,
        after,
        sorted(ids),
        sorted(types),
        [versions.first, versions.last, versions.all, sorted(versions.instants)],
        sorted(spec_versions),
    ]
    return hashlib.sha256(orjson.dumps(document)).hexdigest()[:32]


def _position(cursor: str, digest: str) -> int:
    try:
        document = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise InputError("TAXII_QUERY_INVALID", parameter="next", reason="not a cursor this server issued") from exc
    position = document.get("after") if isinstance(document, dict) else None
    if not isinstance(position, int) or isinstance(position, bool) or document.get("filters") != digest:
        raise InputError("TAXII_QUERY_INVALID", parameter="next", reason="not a cursor of this request's filters")
    return position
