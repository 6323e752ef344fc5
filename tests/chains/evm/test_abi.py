"""The strict ABI decoder, differentially against eth-abi, plus its strictness and canonical-form rules."""

from __future__ import annotations

from typing import Any

import eth_abi
import pytest
from eth_abi.exceptions import DecodingError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.chains.evm.abi import SUPPORTED_TYPES, decode_args
from mamori.errors import DecodeError, MamoriError

TYPES = ("address", "uint256", "uint8", "bool", "bytes32", "bytes")

_VALUE_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "address": st.binary(min_size=20, max_size=20),
    "uint256": st.one_of(st.integers(min_value=0, max_value=2**256 - 1), st.sampled_from([0, 1, 2**255, 2**256 - 1])),
    "uint8": st.integers(min_value=0, max_value=255),
    "bool": st.booleans(),
    "bytes32": st.binary(min_size=32, max_size=32),
    "bytes": st.one_of(st.binary(max_size=200), st.sampled_from([b"", b"\x00" * 32, b"\xff" * 33])),
}


@st.composite
def typed_values(draw: st.DrawFn) -> tuple[tuple[str, ...], list[Any]]:
    types = tuple(draw(st.lists(st.sampled_from(TYPES), max_size=7)))
    values = [draw(_VALUE_STRATEGIES[kind]) for kind in types]
    return types, values


def _normalize_eth_abi(types: tuple[str, ...], values: tuple[Any, ...]) -> tuple[Any, ...]:
    """eth-abi returns checksummed address strings; ours are 20 raw bytes."""
    return tuple(
        bytes.fromhex(value[2:]) if kind == "address" else value for kind, value in zip(types, values, strict=True)
    )


def _encode(types: tuple[str, ...], values: list[Any]) -> bytes:
    return eth_abi.encode(list(types), values)


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


# --- differential -----------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(typed_values())
def test_decode_args_roundtrips_eth_abi_encoding(case: tuple[tuple[str, ...], list[Any]]) -> None:
    types, values = case
    encoded = _encode(types, values)
    decoded = decode_args("f", types, encoded)
    assert decoded.canonical is True
    assert decoded.values == tuple(values)
    assert decoded.values == _normalize_eth_abi(types, eth_abi.decode(list(types), encoded))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed_values(), st.data())
def test_decode_args_agrees_with_eth_abi_on_mutated_encodings(
    case: tuple[tuple[str, ...], list[Any]], data: st.DataObject
) -> None:
    """Flip a byte, truncate or extend: the decoders agree whenever both accept, and neither accepts
    something the other finds structurally impossible in the canonical-and-clean case."""
    types, values = case
    encoded = bytearray(_encode(types, values))
    mutation = data.draw(st.sampled_from(["flip", "truncate", "extend", "word"]))
    if mutation == "flip" and encoded:
        index = data.draw(st.integers(0, len(encoded) - 1))
        encoded[index] ^= data.draw(st.integers(1, 255))
    elif mutation == "truncate" and encoded:
        del encoded[data.draw(st.integers(0, len(encoded) - 1)) :]
    elif mutation == "extend":
        encoded += data.draw(st.binary(min_size=1, max_size=64))
    elif mutation == "word" and types:
        slot = data.draw(st.integers(0, len(types) - 1))
        replacement = data.draw(st.sampled_from([0, 1, 2, 255, 256, 2**160, 2**256 - 1, 32, 64, 96, 10**6]))
        encoded[32 * slot : 32 * slot + 32] = _word(replacement)
    blob = bytes(encoded)

    try:
        ours = decode_args("f", types, blob)
    except DecodeError as exc:
        assert exc.code == "ABI_DECODE_FAILED"
        ours = None
    try:
        theirs = _normalize_eth_abi(types, eth_abi.decode(list(types), blob, strict=False))
    except (DecodingError, OverflowError):  # eth-abi overflows on lengths near 2**256
        theirs = None

    if ours is not None and theirs is not None:
        assert ours.values == theirs
    if ours is not None and ours.canonical:
        # Canonical and accepted by us: strict eth-abi accepts it too, with the same values.
        strict = _normalize_eth_abi(types, eth_abi.decode(list(types), blob, strict=True))
        assert strict == ours.values
    if ours is None and theirs is not None:
        # We refuse only what a Solidity contract could not read safely: dirty static words, a dynamic item
        # whose offset points into the head, or one that runs past the end (eth-abi's lax mode follows any
        # pointer and reads short data).
        assert _has_dirty_static(types, blob) or _has_offset_into_head(types, blob) or _has_bytes_past_end(types, blob)


def _has_dirty_static(types: tuple[str, ...], blob: bytes) -> bool:
    for index, kind in enumerate(types):
        value = int.from_bytes(blob[32 * index : 32 * index + 32], "big")
        if (kind == "address" and value >> 160) or (kind == "uint8" and value > 255) or (kind == "bool" and value > 1):
            return True
    return False


def _has_offset_into_head(types: tuple[str, ...], blob: bytes) -> bool:
    head = 32 * len(types)
    return any(
        kind == "bytes" and int.from_bytes(blob[32 * i : 32 * i + 32], "big") < head for i, kind in enumerate(types)
    )


def _has_bytes_past_end(types: tuple[str, ...], blob: bytes) -> bool:
    for index, kind in enumerate(types):
        if kind != "bytes":
            continue
        offset = int.from_bytes(blob[32 * index : 32 * index + 32], "big")
        if offset + 32 > len(blob) or offset + 32 + int.from_bytes(blob[offset : offset + 32], "big") > len(blob):
            return True
    return False


# --- strictness ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("types", "data", "reason_part"),
    [
        (("address",), b"\x01" + bytes(11) + b"\x22" * 20, "dirty"),
        (("address",), bytes(11) + b"\x01" + b"\x22" * 20, "dirty"),
        (("bool",), _word(2), "bool"),
        (("bool",), _word(2**255), "bool"),
        (("uint8",), _word(256), "uint8"),
        (("uint8",), _word(2**256 - 1), "uint8"),
        (("address", "uint256"), bytes(63), "shorter"),
        (("bytes",), b"", "shorter"),
        (("bytes",), _word(32), "offset"),  # points at the end: no room for the length word
        (("bytes",), _word(0) + _word(0), "offset"),  # points into the head
        (("uint256", "bytes"), _word(5) + _word(32) + _word(0), "offset"),  # into the head
        (("bytes",), _word(2**256 - 1) + _word(0), "offset"),
        (("bytes",), _word(32) + _word(1), "length"),  # claims 1 byte, none present
        (("bytes",), _word(32) + _word(2**256 - 1) + bytes(32), "length"),
        (("int256",), _word(1), "unsupported"),
    ],
)
def test_decode_args_strictness_raises_decode_error(types: tuple[str, ...], data: bytes, reason_part: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_args("approve(address,uint256)", types, data)
    assert info.value.code == "ABI_DECODE_FAILED"
    assert info.value.details["function"] == "approve(address,uint256)"
    assert reason_part in info.value.details["reason"]


def test_strictness_cases_are_also_rejected_by_strict_eth_abi() -> None:
    for types, data in (
        (["address"], b"\x01" + bytes(11) + b"\x22" * 20),
        (["bool"], _word(2)),
        (["uint8"], _word(256)),
    ):
        with pytest.raises(DecodingError):
            eth_abi.decode(types, data, strict=True)
        with pytest.raises(MamoriError):
            decode_args("f", tuple(types), data)


# --- canonical flag -------------------------------------------------------------------------------------


def test_canonical_false_for_trailing_bytes() -> None:
    encoded = _encode(("address", "uint256"), [b"\x11" * 20, 5])
    assert decode_args("f", ("address", "uint256"), encoded).canonical is True
    for extra in (b"\x00", bytes(32), b"\xde\xad"):
        decoded = decode_args("f", ("address", "uint256"), encoded + extra)
        assert decoded.canonical is False
        assert decoded.values == (b"\x11" * 20, 5)


def test_canonical_false_for_nonzero_padding_of_bytes() -> None:
    encoded = bytearray(_encode(("bytes",), [b"abc"]))
    encoded[-1] = 1  # inside the zero padding after "abc"
    decoded = decode_args("f", ("bytes",), bytes(encoded))
    assert decoded.values == (b"abc",)
    assert decoded.canonical is False


def test_canonical_false_for_missing_padding() -> None:
    # A 1-byte bytes value whose padding is cut off: Solidity reads it, but it is not the canonical form.
    blob = _word(32) + _word(1) + b"\x07"
    decoded = decode_args("f", ("bytes",), blob)
    assert decoded.values == (b"\x07",)
    assert decoded.canonical is False


def test_canonical_false_for_nonstandard_offset() -> None:
    # Offset 64 instead of 32 leaves a gap word that can smuggle data past a naive display.
    blob = _word(64) + b"\xee" * 32 + _word(2) + b"hi" + bytes(30)
    decoded = decode_args("f", ("bytes",), blob)
    assert decoded.values == (b"hi",)
    assert decoded.canonical is False


def test_canonical_false_for_swapped_dynamic_items() -> None:
    types = ("bytes", "bytes")
    encoded = _encode(types, [b"first", b"second"])
    first_offset, second_offset = encoded[0:32], encoded[32:64]
    swapped_heads = second_offset + first_offset + encoded[64:]
    decoded = decode_args("f", types, swapped_heads)
    assert decoded.values == (b"second", b"first")
    assert decoded.canonical is False


def test_two_bytes_arguments_canonical() -> None:
    types = ("bytes", "uint8", "bytes")
    values = [b"\x01" * 33, 7, b""]
    decoded = decode_args("f", types, _encode(types, values))
    assert decoded.values == tuple(values)
    assert decoded.canonical is True


def test_supported_types_are_the_ones_tested() -> None:
    assert set(TYPES) == set(SUPPORTED_TYPES)
