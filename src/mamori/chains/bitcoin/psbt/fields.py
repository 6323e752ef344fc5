"""The framing of a PSBT and the shapes of its keys and values: CompactSizes, maps, key origins, public keys,
signatures. Shared by the global, input and output parsers; each helper raises DecodeError (PSBT_*) with the place."""

from __future__ import annotations

import struct
from collections.abc import Iterator

from mamori.chains.bitcoin.psbt.model import (
    GLOBAL_FIELDS,
    INPUT_FIELDS,
    OUTPUT_FIELDS,
    KeyOrigin,
    ProprietaryField,
    UnknownField,
)
from mamori.chains.bitcoin.script import is_pubkey, is_xonly_pubkey
from mamori.chains.bitcoin.transaction import TxOut
from mamori.errors import DecodeError

MAX_TAP_TREE_DEPTH = 128
_PATH_FORMATS = tuple(struct.Struct(f"<{count}I") for count in range(16))  # BIP-32 paths of up to 15 steps


def read_compact_size(
    data: bytes,
    pos: int,
    end: int,
    where: str,
    what: str,
    *,
    truncated: str = "PSBT_TRUNCATED",
    non_minimal: str = "PSBT_VALUE_INVALID",
) -> tuple[int, int]:
    """The minimally encoded CompactSize at ``pos`` (ending by ``end``) and the offset after it.

    In the framing (key and value lengths) running out is PSBT_TRUNCATED; inside a key or value it makes that key or
    value invalid, and the caller says so with ``truncated``.
    """
    if pos >= end:
        raise DecodeError(truncated, where=where, reason=f"it ends where {what} should be")
    first = data[pos]
    if first < 0xFD:
        return first, pos + 1
    width = 2 if first == 0xFD else 4 if first == 0xFE else 8
    if pos + 1 + width > end:
        raise DecodeError(truncated, where=where, reason=f"it ends inside {what}")
    value = int.from_bytes(data[pos + 1 : pos + 1 + width], "little")
    if value < (0xFD if width == 2 else 0x10000 if width == 4 else 0x100000000):
        raise DecodeError(non_minimal, where=where, reason=f"{what} {value} is not minimally encoded")
    return value, pos + 1 + width


def inner_compact_size(data: bytes, pos: int, where: str, what: str, code: str) -> tuple[int, int]:
    """A CompactSize inside a key or value: running out, or a longer form than needed, makes it invalid."""
    return read_compact_size(data, pos, len(data), where, what, truncated=code, non_minimal=code)


def read_map(data: bytes, pos: int, end: int, where: str) -> tuple[list[tuple[bytes, bytes]], int]:
    """The keys and values of the map at ``pos`` up to its 0x00 separator; return them and the offset after it."""
    pairs: list[tuple[bytes, bytes]] = []
    seen: set[bytes] = set()
    while True:
        if pos >= end:
            raise DecodeError("PSBT_TRUNCATED", where=where, reason="the map has no 0x00 separator")
        first = data[pos]
        if first == 0:
            return pairs, pos + 1
        if first < 0xFD:
            pos += 1
            key_end = pos + first
        else:
            length, pos = read_compact_size(data, pos, end, where, "the key length", non_minimal="PSBT_KEY_INVALID")
            key_end = pos + length
        if key_end > end:
            raise DecodeError("PSBT_TRUNCATED", where=where, reason="a key runs past the end of the data")
        key = data[pos:key_end]
        if key in seen:
            raise DecodeError("PSBT_KEY_DUPLICATE", where=field_where(where, key), key=key.hex())
        seen.add(key)
        if key_end < end and data[key_end] < 0xFD:
            value_start = key_end + 1
            value_end = value_start + data[key_end]
        else:
            length, value_start = read_compact_size(data, key_end, end, field_where(where, key), "the value length")
            value_end = value_start + length
        if value_end > end:
            raise DecodeError(
                "PSBT_TRUNCATED", where=field_where(where, key), reason="the value runs past the end of the data"
            )
        pairs.append((key, data[value_start:value_end]))
        pos = value_end


def known_fields(
    pairs: list[tuple[bytes, bytes]], where: str, names: dict[int, str], unknown: list[UnknownField]
) -> Iterator[tuple[int, bytes, bytes, str]]:
    """The pairs of a map whose key type ``names`` knows, as (type, key, value, "where.NAME"); the others go to
    ``unknown`` in their order (a key type of 0xfd and up, which no field has, checked for minimal encoding first)."""
    for key, value in pairs:
        key_type = key[0]
        if key_type >= 0xFD:
            check_long_key_type(key, field_where(where, key))
        else:
            name = names.get(key_type)
            if name is not None:
                yield key_type, key, value, f"{where}.{name}"
                continue
        unknown.append(UnknownField(key, value))


def field_where(where: str, key: bytes) -> str:
    names = GLOBAL_FIELDS if where == "global" else INPUT_FIELDS if where.startswith("input") else OUTPUT_FIELDS
    name = names.get(key[0]) if key and key[0] < 0xFD else None
    return f"{where}.{name}" if name else f"{where}.type 0x{key[:1].hex() or '00'}"


def check_long_key_type(key: bytes, where: str) -> None:
    """Check the CompactSize key type of a key whose first byte is 0xfd-0xff (no defined type is that large)."""
    width = 2 if key[0] == 0xFD else 4 if key[0] == 0xFE else 8
    if len(key) < 1 + width:
        raise DecodeError("PSBT_KEY_INVALID", where=where, reason="the key type runs past the end of the key")
    value = int.from_bytes(key[1 : 1 + width], "little")
    if value < (0xFD if width == 2 else 0x10000 if width == 4 else 0x100000000):
        raise DecodeError("PSBT_KEY_INVALID", where=where, reason=f"the key type {value} is not minimally encoded")


def no_key_data(key: bytes, where: str) -> None:
    if len(key) != 1:
        raise DecodeError(
            "PSBT_KEY_INVALID", where=where, reason=f"this type has no key data, found {len(key) - 1} byte(s)"
        )


def fixed_size(value: bytes, size: int, where: str) -> bytes:
    if len(value) != size:
        raise DecodeError("PSBT_VALUE_INVALID", where=where, reason=f"must be {size} bytes, found {len(value)}")
    return value


def uint32_value(value: bytes, where: str) -> int:
    return int.from_bytes(fixed_size(value, 4, where), "little")


def compact_value(value: bytes, where: str) -> int:
    """A value that is exactly one minimally encoded CompactSize (the version 2 input and output counts)."""
    count, end = inner_compact_size(value, 0, where, "the count", "PSBT_VALUE_INVALID")
    if end != len(value):
        raise DecodeError("PSBT_VALUE_INVALID", where=where, reason=f"{len(value) - end} byte(s) after the count")
    return count


def key_origin(value: bytes, where: str, start: int = 0) -> KeyOrigin:
    size = len(value) - start
    if size < 4 or size & 3:
        raise DecodeError(
            "PSBT_VALUE_INVALID",
            where=where,
            reason=f"a key origin is a 4-byte fingerprint and 4-byte path indexes, not {size} bytes",
        )
    count = (size >> 2) - 1
    path = _PATH_FORMATS[count] if count < len(_PATH_FORMATS) else struct.Struct(f"<{count}I")
    return KeyOrigin(value[start : start + 4], path.unpack_from(value, start + 4))


def pubkey_from_key(key: bytes, where: str) -> bytes:
    pubkey = key[1:]
    if not is_pubkey(pubkey):
        raise DecodeError(
            "PSBT_KEY_INVALID",
            where=where,
            reason=f"the key data must be a 33-byte compressed (02/03) or 65-byte uncompressed (04) public key, "
            f"found {len(pubkey)} byte(s) starting {pubkey[:1].hex() or 'with nothing'}",
        )
    return pubkey


def xonly_key(data: bytes, where: str, part: str) -> bytes:
    if not is_xonly_pubkey(data):
        code = "PSBT_KEY_INVALID" if part == "key" else "PSBT_VALUE_INVALID"
        raise DecodeError(code, where=where, reason=f"must be a 32-byte x-only public key, found {len(data)} byte(s)")
    return data


def txout_value(value: bytes, where: str) -> TxOut:
    if len(value) < 9:
        raise DecodeError(
            "PSBT_VALUE_INVALID", where=where, reason=f"an output takes at least 9 bytes, found {len(value)}"
        )
    length, start = inner_compact_size(value, 8, where, "the script length", "PSBT_VALUE_INVALID")
    if start + length != len(value):
        raise DecodeError(
            "PSBT_VALUE_INVALID", where=where, reason=f"the script is {length} bytes but {len(value) - start} follow"
        )
    return TxOut(int.from_bytes(value[:8], "little", signed=True), value[start:])


def schnorr_signature(value: bytes, where: str) -> bytes:
    if len(value) not in (64, 65):
        raise DecodeError(
            "PSBT_VALUE_INVALID", where=where, reason=f"a Schnorr signature is 64 or 65 bytes, found {len(value)}"
        )
    return value


def proprietary_field(key: bytes, value: bytes, where: str) -> ProprietaryField:
    length, pos = inner_compact_size(key, 1, where, "the identifier length", "PSBT_KEY_INVALID")
    if pos + length > len(key):
        raise DecodeError("PSBT_KEY_INVALID", where=where, reason="the identifier runs past the end of the key")
    identifier = key[pos : pos + length]
    subtype, pos = inner_compact_size(key, pos + length, where, "the subtype", "PSBT_KEY_INVALID")
    return ProprietaryField(identifier, subtype, key[pos:], value)
