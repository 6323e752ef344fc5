"""The lexical forms of STIX 2.1 that the hub's modules share: type names, identifiers and timestamps.

One definition each, so that what the validator accepts, what a TAXII filter may name and what the hub builds
cannot drift apart. Digits are ASCII only (``\\d`` would take any script's digits).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

# A type name (§2.13, §7.3.2.2): a-z, 0-9 and single hyphens, 3 to 250 characters; like the stix2 library and the
# identifier schema of stix2-validator, it begins with a letter, and it cannot end with a hyphen (in an id the next
# characters are "--").
TYPE_NAME = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*"
# An RFC 4122 UUID (§2.9): versions 1 to 5, the RFC 4122 variant.
UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
UUID_RE = re.compile(UUID)
ID_RE = re.compile(rf"({TYPE_NAME})--{UUID}")  # group 1: the type the identifier names
TYPE_RE = re.compile(TYPE_NAME)
# A timestamp (§2.14): RFC 3339 in UTC with "Z", any number of fractional digits.
TIMESTAMP_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?Z")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def is_type_name(text: str) -> bool:
    return 3 <= len(text) <= 250 and TYPE_RE.fullmatch(text) is not None


def id_type(text: str) -> str | None:
    """The type an identifier names, or None when ``text`` is not an identifier ``<type>--<UUID>`` (§2.9)."""
    match = ID_RE.fullmatch(text)
    if match is None or not 3 <= len(match.group(1)) <= 250:
        return None
    return match.group(1)


def timestamp_us(text: str, *, max_digits: int | None = None) -> int | None:
    """A STIX timestamp as microseconds since 1970 (UTC), or None when ``text`` is not one (or has more fractional
    digits than ``max_digits``). Digits beyond the sixth are dropped: the instant, not its spelling."""
    match = TIMESTAMP_RE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    if fraction is not None and max_digits is not None and len(fraction) > max_digits:
        return None
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    except ValueError:
        return None
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + int((fraction or "")[:6].ljust(6, "0"))


def format_timestamp_us(micros: int) -> str:
    """Microseconds since 1970 as TAXII writes a timestamp: six fractional digits and ``Z`` (TAXII 2.1 §2)."""
    seconds, fraction = divmod(micros, 1_000_000)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.{fraction:06d}Z"
