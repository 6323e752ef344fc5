"""Strict RLP (Ethereum Yellow Paper, appendix B): canonical decoding only, and the encoder that matches it.

A signer must see exactly one meaning for a byte string, so every encoding that a lenient decoder would
accept but that no honest encoder produces is refused: a single byte below 0x80 wrapped as a string, the long
form for a payload under 56 bytes, a length with leading zero bytes, trailing bytes and truncation. Because
only canonical input is accepted, ``encode(decode(data)) == data`` always holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

from mamori.errors import DecodeError

# A decoded item: a byte string or a list of items.
RlpItem: TypeAlias = bytes | list["RlpItem"]
# What the encoder accepts: any sequence does as a list.
RlpEncodable: TypeAlias = bytes | Sequence["RlpEncodable"]

# Far deeper than any transaction nests (4 levels); the bound keeps hostile input from exhausting the stack.
MAX_DEPTH = 64
_SHORT_LIMIT = 56


def decode(data: bytes) -> RlpItem:
    """Decode one canonical RLP item that spans all of ``data``."""
    item, end = _decode_at(data, 0, len(data), 0)
    if end != len(data):
        raise DecodeError("RLP_INVALID", reason=f"{len(data) - end} trailing byte(s) after the item")
    return item


def encode(item: RlpEncodable) -> bytes:
    """The canonical RLP encoding of a byte string or a (nested) list of them."""
    if isinstance(item, bytes):
        if len(item) == 1 and item[0] < 0x80:
            return item
        return _length_prefix(len(item), 0x80) + item
    payload = b"".join(encode(child) for child in item)
    return _length_prefix(len(payload), 0xC0) + payload


def encode_uint(value: int) -> bytes:
    """Minimal big-endian bytes of a non-negative integer (zero is the empty string), as RLP integers are."""
    if value < 0:
        raise ValueError("RLP integers are non-negative")
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def decode_uint(item: RlpItem, *, field: str, bits: int = 256) -> int:
    """A canonical RLP integer: bytes without leading zeros (empty is 0), at most ``bits`` bits wide."""
    if not isinstance(item, bytes):
        raise DecodeError("TX_FIELDS_INVALID", reason=f"{field} must be an integer, not a list")
    if item[:1] == b"\x00":
        raise DecodeError("TX_FIELDS_INVALID", reason=f"{field} has leading zero bytes (non-canonical integer)")
    value = int.from_bytes(item, "big")
    if value >> bits:
        raise DecodeError("TX_FIELDS_INVALID", reason=f"{field} does not fit in {bits} bits")
    return value


def _length_prefix(length: int, offset: int) -> bytes:
    if length < _SHORT_LIMIT:
        return bytes((offset + length,))
    length_bytes = encode_uint(length)
    return bytes((offset + 55 + len(length_bytes),)) + length_bytes


def _decode_at(data: bytes, start: int, limit: int, depth: int) -> tuple[RlpItem, int]:
    """Decode the item at ``start`` that must end by ``limit``; return it and the offset just past it."""
    if start >= limit:
        raise DecodeError("RLP_INVALID", reason=f"truncated: expected an item at offset {start}")
    prefix = data[start]
    if prefix < 0x80:
        return data[start : start + 1], start + 1
    if prefix < 0xC0:
        payload_start, length = _payload_bounds(data, start, limit, prefix - 0x80)
        end = payload_start + length
        if length == 1 and data[payload_start] < 0x80:
            raise DecodeError(
                "RLP_INVALID",
                reason=f"non-canonical: single byte below 0x80 wrapped as a string at offset {start}",
            )
        return data[payload_start:end], end
    if depth >= MAX_DEPTH:
        raise DecodeError("RLP_INVALID", reason=f"lists nested deeper than {MAX_DEPTH} levels")
    payload_start, length = _payload_bounds(data, start, limit, prefix - 0xC0)
    end = payload_start + length
    items: list[RlpItem] = []
    offset = payload_start
    while offset < end:
        child, offset = _decode_at(data, offset, end, depth + 1)
        items.append(child)
    return items, end


def _payload_bounds(data: bytes, start: int, limit: int, short: int) -> tuple[int, int]:
    """Where the payload of the item at ``start`` begins and how long it is (``short`` = prefix - base)."""
    if short < _SHORT_LIMIT:
        length, payload_start = short, start + 1
    else:
        size = short - 55
        if start + 1 + size > limit:
            raise DecodeError("RLP_INVALID", reason=f"truncated: length of the item at offset {start} is cut off")
        length_bytes = data[start + 1 : start + 1 + size]
        if length_bytes[0] == 0:
            raise DecodeError("RLP_INVALID", reason=f"non-canonical: length with leading zero at offset {start}")
        length = int.from_bytes(length_bytes, "big")
        if length < _SHORT_LIMIT:
            raise DecodeError(
                "RLP_INVALID", reason=f"non-canonical: long form used for {length} bytes at offset {start}"
            )
        payload_start = start + 1 + size
    if payload_start + length > limit:
        raise DecodeError(
            "RLP_INVALID", reason=f"truncated: item at offset {start} declares {length} bytes, fewer remain"
        )
    return payload_start, length
