"""The withdrawal guard: approvals of a withdrawal and the release attestation a signer checks before signing.

This package holds the pure pieces (no database, no HTTP, no clock): :mod:`mamori.guard.approval` (the digest an
approver signs, and its check) and :mod:`mamori.guard.attestation` (the signed release token). The helpers here
give every guard format the same text forms for hashes and times.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from mamori.errors import MamoriError

MAX_TEXT = 256
_HASH = re.compile(r"(?:0[xX])?([0-9a-fA-F]{64})")


class GuardError(MamoriError):
    """Root of the guard's errors: an approval or a release that must not be acted on."""


def normalise_signing_hash(value: object, *, field: str = "signing_hash") -> str:
    """A 32-byte hash (bytes, or hex with or without ``0x`` in any case) as ``0x`` + 64 lowercase hex digits.

    This is the form a signer's device shows (safeTxHash, EVM signing hash, PSBT unsigned txid), so it is the
    form bound in approvals and attestations. Anything else raises ``HASH_INVALID``.
    """
    if isinstance(value, bytes | bytearray) and len(value) == 32:
        return "0x" + bytes(value).hex()
    if isinstance(value, str):
        match = _HASH.fullmatch(value.strip())
        if match:
            return "0x" + match.group(1).lower()
    raise GuardError("HASH_INVALID", field=field)


def require_aware(moment: object, *, field: str) -> datetime:
    """``moment`` if it is a datetime with a time zone; naive times are ambiguous and refused."""
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise GuardError("FIELD_TYPE_INVALID", field=field, expected="a datetime with a time zone")
    return moment


def format_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``: ``2026-11-26T03:00:00Z``, or ``…03:00:00.250000Z`` when there are
    microseconds. One text per instant, so the canonical encodings that contain it are injective."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def require_text(value: object, *, field: str) -> str:
    """``value`` if it is printable text (no control characters, no lone surrogates) of 1 to 256 characters:
    text that is bound in a signature must have one UTF-8 form and must display as what it is."""
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT or not value.isprintable():
        raise GuardError("FIELD_TYPE_INVALID", field=field, expected=f"printable text of 1 to {MAX_TEXT} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise GuardError("FIELD_TYPE_INVALID", field=field, expected="valid Unicode text") from exc
    return value
