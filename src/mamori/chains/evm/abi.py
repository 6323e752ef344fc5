"""A strict decoder for the Solidity ABI argument types that wallet operations use.

We own this hot path for speed (eth-abi is ~10x slower per call, see docs/benchmarks.md); it is tested
differentially against eth-abi in tests/chains/evm/test_abi.py. Strict means: addresses and small integers
must have clean high bits, booleans are 0 or 1, and a dynamic ``bytes`` must lie inside the data. Whether the
encoding was *canonical* (exact length, zero padding, standard offsets) is reported separately, because
Solidity accepts some non-canonical encodings that a verifier should point out.
"""

from __future__ import annotations

from typing import NamedTuple

from mamori.errors import DecodeError

STATIC_TYPES = frozenset({"address", "uint256", "uint8", "bool", "bytes32"})
SUPPORTED_TYPES = STATIC_TYPES | {"bytes"}

AbiValue = bytes | int | bool


class DecodedArgs(NamedTuple):
    values: tuple[AbiValue, ...]
    canonical: bool


def decode_args(function: str, types: tuple[str, ...], data: bytes) -> DecodedArgs:
    """Decode ``data`` (the call data after the 4-byte selector) as a tuple of ``types``."""
    head_size = 32 * len(types)
    if len(data) < head_size:
        raise DecodeError("ABI_DECODE_FAILED", function=function, reason="call data shorter than its arguments")
    values: list[AbiValue] = []
    canonical = True
    expected_tail = head_size  # where the next dynamic item starts in a canonical encoding
    for index, kind in enumerate(types):
        word = data[32 * index : 32 * index + 32]
        if kind == "bytes":
            offset = int.from_bytes(word, "big")
            if offset + 32 > len(data) or offset < head_size:
                raise DecodeError("ABI_DECODE_FAILED", function=function, reason="bytes offset out of range")
            length = int.from_bytes(data[offset : offset + 32], "big")
            end = offset + 32 + length
            if end > len(data):
                raise DecodeError("ABI_DECODE_FAILED", function=function, reason="bytes length out of range")
            values.append(data[offset + 32 : end])
            padded_end = offset + 32 + -(-length // 32) * 32
            if offset != expected_tail or any(data[end:padded_end]):
                canonical = False
            expected_tail = padded_end
        else:
            values.append(_decode_static(function, kind, word))
    if len(data) != expected_tail:
        canonical = False
    return DecodedArgs(tuple(values), canonical)


def _decode_static(function: str, kind: str, word: bytes) -> AbiValue:
    if kind == "address":
        if any(word[:12]):
            raise DecodeError("ABI_DECODE_FAILED", function=function, reason="address with dirty high bits")
        return word[12:]
    if kind == "uint256":
        return int.from_bytes(word, "big")
    if kind == "bytes32":
        return word
    number = int.from_bytes(word, "big")
    if kind == "uint8":
        if number > 0xFF:
            raise DecodeError("ABI_DECODE_FAILED", function=function, reason="uint8 out of range")
        return number
    if kind == "bool":
        if number > 1:
            raise DecodeError("ABI_DECODE_FAILED", function=function, reason="bool is neither 0 nor 1")
        return number == 1
    raise DecodeError("ABI_DECODE_FAILED", function=function, reason=f"unsupported type {kind}")


def encode_static_word(value: int) -> bytes:
    return value.to_bytes(32, "big")
