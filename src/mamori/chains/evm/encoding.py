"""Strict parsing of the hex strings, addresses and integers that arrive in JSON, and EIP-55 checksums.

Everything here raises :class:`~mamori.errors.InputError` subclasses with the field name, never ValueError.
"""

from __future__ import annotations

from functools import lru_cache

from mamori.chains.evm.crypto import keccak256
from mamori.errors import DecodeError, InputError

ZERO_ADDRESS = bytes(20)
UINT256_MAX = (1 << 256) - 1
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def parse_hex(value: object, *, field: str, allow_none: bool = False) -> bytes:
    """Hex text (``0x`` prefix optional, even length) to bytes; ``None`` or ``"0x"`` give ``b""`` if allowed."""
    if value is None:
        if allow_none:
            return b""
        raise InputError("FIELD_MISSING", field=field)
    if not isinstance(value, str):
        raise InputError("FIELD_TYPE_INVALID", field=field, expected="a hex string")
    text = value[2:] if value[:2] in ("0x", "0X") else value
    if len(text) % 2:
        raise DecodeError("HEX_INVALID", field=field, reason="odd number of digits")
    try:
        raw = bytes.fromhex(text)
    except ValueError as exc:
        raise DecodeError("HEX_INVALID", field=field, reason="non-hex character") from exc
    if len(raw) * 2 != len(text):  # fromhex skips whitespace; strict hex has none
        raise DecodeError("HEX_INVALID", field=field, reason="whitespace inside hex")
    return raw


def parse_hash32(value: object, *, field: str) -> bytes:
    raw = parse_hex(value, field=field)
    if len(raw) != 32:
        raise DecodeError("HASH_INVALID", field=field)
    return raw


def parse_address(value: object, *, field: str, allow_none: bool = False) -> bytes:
    """A 0x-prefixed 40-digit address. Mixed case must pass EIP-55; all-lower and all-upper are accepted."""
    if value is None and allow_none:
        return ZERO_ADDRESS
    if value is None:
        raise InputError("FIELD_MISSING", field=field)
    if not isinstance(value, str):
        raise InputError("FIELD_TYPE_INVALID", field=field, expected="an address string")
    if len(value) != 42 or value[:2] not in ("0x", "0X"):
        raise DecodeError("ADDRESS_INVALID", field=field, reason="expected 0x followed by 40 hex digits")
    body = value[2:]
    try:
        raw = bytes.fromhex(body)
    except ValueError as exc:
        raise DecodeError("ADDRESS_INVALID", field=field, reason="non-hex character") from exc
    if len(raw) != 20:  # fromhex skips whitespace: " " inside the 40 characters shortens the result
        raise DecodeError("ADDRESS_INVALID", field=field, reason="non-hex character")
    if not (body.islower() or body.isupper() or body.isdigit()) and to_checksum_address(raw) != "0x" + body:
        raise DecodeError("ADDRESS_CHECKSUM_INVALID", field=field)
    return raw


def parse_uint(value: object, *, field: str, bits: int = 256, allow_none: bool = False) -> int:
    """A non-negative integer from a JSON int or a decimal string (the Safe API sends big values as strings).

    ``0x``-prefixed hex strings are accepted too. Floats and booleans are refused: amounts are never floats.
    """
    if type(value) is int and value >= 0 and not value >> bits:  # the common case, checked cheaply first
        return value
    if value is None:
        if allow_none:
            return 0
        raise InputError("FIELD_MISSING", field=field)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InputError("FIELD_TYPE_INVALID", field=field, expected="an integer or a decimal string")
    number = _parse_integer_text(value, field, bits) if isinstance(value, str) else value
    if number < 0 or number >> bits:
        raise InputError("INTEGER_OUT_OF_RANGE", field=field, bits=bits)
    return number


# Byte tables for a branch-free EIP-55: letters a-f may lose 0x20 (become upper case) where the hash nibble >= 8.
_LETTER_CASE_BIT = bytes(0x20 if chr(i) in "abcdef" else 0 for i in range(256))
_HASH_NIBBLE_HIGH = bytes(0xFF if chr(i) in "89abcdef" else 0 for i in range(256))


def _parse_integer_text(value: str, field: str, bits: int) -> int:
    text = value.strip()
    if text[:2] in ("0x", "0X"):
        digits, base = text[2:], 16
        ok = bool(digits) and _HEX_DIGITS.issuperset(digits)
    else:
        digits, base = text, 10
        ok = digits.isascii() and digits.isdigit()
    if not ok:
        raise InputError("INTEGER_INVALID", field=field, reason=f"{value[:80]!r} is not a number")
    significant = digits.lstrip("0")
    # Bound the text before int(): Python refuses (ValueError) decimal strings of over 4300 digits.
    if len(significant) > _MAX_DIGITS[base]:
        raise InputError("INTEGER_OUT_OF_RANGE", field=field, bits=bits)
    return int(significant or "0", base)


_MAX_DIGITS = {10: len(str(UINT256_MAX)), 16: 64}


@lru_cache(maxsize=65536)
def to_checksum_address(raw: bytes) -> str:
    """EIP-55 mixed-case form of a 20-byte address (differentially tested against eth-utils)."""
    lower = raw.hex().encode("ascii")
    digest = keccak256(lower).hex()[:40].encode("ascii")
    flip = int.from_bytes(lower.translate(_LETTER_CASE_BIT), "big") & int.from_bytes(
        digest.translate(_HASH_NIBBLE_HIGH), "big"
    )
    return "0x" + (int.from_bytes(lower, "big") - flip).to_bytes(40, "big").decode("ascii")


def hex0x(raw: bytes) -> str:
    return "0x" + raw.hex()
