"""The strict RLP codec: published vectors, canonicality rules, and differential tests against pyrlp."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import rlp as pyrlp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mamori.chains.evm import rlp
from mamori.errors import DecodeError, MamoriError

VECTORS = json.loads((Path(__file__).parents[2] / "vectors" / "evm" / "rlp_vectors.json").read_text("utf-8"))


def _from_suite(value: Any) -> rlp.RlpItem:
    """The consensus suite's 'in' notation as bytes and lists."""
    if isinstance(value, list):
        return [_from_suite(child) for child in value]
    if isinstance(value, int):
        return rlp.encode_uint(value)
    if value.startswith("#"):
        return rlp.encode_uint(int(value[1:]))
    return bytes(value.encode("utf-8"))


def _hex(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


def _reason(exc: pytest.ExceptionInfo[DecodeError]) -> str:
    return str(exc.value.details["reason"])


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["name"])
def test_published_valid_vectors_round_trip(vector: dict[str, Any]) -> None:
    assert vector["provenance"]["repo"] == "ethereum/tests"
    expected = _from_suite(vector["in"])
    assert rlp.encode(expected) == _hex(vector["out"])
    assert rlp.decode(_hex(vector["out"])) == expected


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["name"])
def test_published_invalid_vectors_are_refused(vector: dict[str, Any]) -> None:
    with pytest.raises(DecodeError) as exc:
        rlp.decode(_hex(vector["out"]))
    assert exc.value.code == "RLP_INVALID"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "truncated"),
        (b"\x83do", "truncated"),
        (b"\xc2\x01", "truncated"),
        (b"\xc1\x82ab", "truncated"),  # the child runs past its list
        (b"\x80\x80", "trailing"),
        (b"\x81\x05", "single byte"),
        (b"\xb8\x05hello", "long form"),
        (b"\xf8\x01\x80", "long form"),
        (b"\xb9\x00\x38" + bytes(56), "leading zero"),
        (b"\xb8", "truncated"),
        (b"\xbb\xff\xff\xff\xff", "truncated"),
    ],
)
def test_non_canonical_or_malformed_input_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as exc:
        rlp.decode(data)
    assert exc.value.code == "RLP_INVALID"
    assert reason in _reason(exc)


def test_boundary_between_short_and_long_forms() -> None:
    assert rlp.encode(bytes(55))[:1] == b"\xb7"
    assert rlp.encode(bytes(56))[:2] == b"\xb8\x38"
    assert rlp.decode(rlp.encode(bytes(56))) == bytes(56)
    long_list = [b"a"] * 56
    assert rlp.encode(long_list)[:2] == b"\xf8\x38"
    assert rlp.decode(rlp.encode(long_list)) == long_list


def test_nesting_is_bounded_instead_of_exhausting_the_stack() -> None:
    deep: rlp.RlpItem = []
    for _ in range(rlp.MAX_DEPTH):
        deep = [deep]
    with pytest.raises(DecodeError) as exc:
        rlp.decode(rlp.encode(deep))
    assert "nested deeper" in _reason(exc)
    shallow: rlp.RlpItem = []
    for _ in range(rlp.MAX_DEPTH - 1):
        shallow = [shallow]
    assert rlp.decode(rlp.encode(shallow)) == shallow


def test_tuples_encode_like_lists() -> None:
    assert rlp.encode((b"dog", (b"cat",))) == rlp.encode([b"dog", [b"cat"]])


@pytest.mark.parametrize(("value", "encoded"), [(0, b""), (1, b"\x01"), (255, b"\xff"), (256, b"\x01\x00")])
def test_encode_uint_is_minimal(value: int, encoded: bytes) -> None:
    assert rlp.encode_uint(value) == encoded
    assert rlp.decode_uint(encoded, field="n") == value


def test_encode_uint_refuses_negative_numbers() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        rlp.encode_uint(-1)


@pytest.mark.parametrize(
    ("item", "bits", "reason"),
    [
        (b"\x00", 256, "leading zero"),
        (b"\x00\x01", 256, "leading zero"),
        ([b"\x01"], 256, "not a list"),
        (b"\x01" + bytes(8), 64, "64 bits"),
        (b"\x01" + bytes(32), 256, "256 bits"),
    ],
)
def test_decode_uint_refuses_non_canonical_or_oversized_integers(item: rlp.RlpItem, bits: int, reason: str) -> None:
    with pytest.raises(DecodeError) as exc:
        rlp.decode_uint(item, field="nonce", bits=bits)
    assert exc.value.code == "TX_FIELDS_INVALID"
    assert reason in _reason(exc)
    assert "nonce" in _reason(exc)


def test_decode_uint_accepts_the_largest_value() -> None:
    assert rlp.decode_uint(b"\xff" * 8, field="gas", bits=64) == (1 << 64) - 1


# --- differential against pyrlp -----------------------------------------------------------------------

structures = st.recursive(
    st.binary(max_size=70),
    lambda children: st.lists(children, max_size=6),
    max_leaves=25,
)


def _pyrlp_decode(data: bytes) -> Any:
    """pyrlp's strict decoding, or None when it refuses the bytes."""
    try:
        return pyrlp.decode(data, strict=True)
    except pyrlp.exceptions.DecodingError:
        return None


def _ours(data: bytes) -> rlp.RlpItem | None:
    try:
        return rlp.decode(data)
    except DecodeError as exc:
        assume("nested deeper" not in str(exc.details["reason"]))  # pyrlp has no depth bound
        return None


def _plain(item: Any) -> Any:
    """pyrlp returns lists and bytes; normalise for comparison."""
    return [_plain(child) for child in item] if isinstance(item, list | tuple) else bytes(item)


@settings(max_examples=400, deadline=None)
@given(structures)
def test_encoding_matches_pyrlp(structure: rlp.RlpItem) -> None:
    encoded = rlp.encode(structure)
    assert encoded == pyrlp.encode(structure)
    assert rlp.decode(encoded) == structure == _plain(pyrlp.decode(encoded))


@settings(max_examples=600, deadline=None)
@given(structures, st.data())
def test_decoding_mutated_encodings_agrees_with_pyrlp(structure: rlp.RlpItem, data: st.DataObject) -> None:
    encoded = bytearray(rlp.encode(structure))
    for _ in range(data.draw(st.integers(1, 3))):
        action = data.draw(st.sampled_from(["set", "insert", "delete", "truncate"]))
        position = data.draw(st.integers(0, max(len(encoded) - 1, 0)))
        if action == "set" and encoded:
            encoded[position] = data.draw(st.integers(0, 255))
        elif action == "insert":
            encoded.insert(position, data.draw(st.integers(0, 255)))
        elif action == "delete" and encoded:
            del encoded[position]
        elif action == "truncate":
            del encoded[position:]
    mutated = bytes(encoded)
    theirs = _pyrlp_decode(mutated)
    assert _ours(mutated) == (None if theirs is None else _plain(theirs))


@settings(max_examples=600, deadline=None)
@given(st.binary(max_size=120))
def test_decoding_arbitrary_bytes_agrees_with_pyrlp_and_raises_only_mamori_errors(data: bytes) -> None:
    try:
        ours: rlp.RlpItem | None = rlp.decode(data)
    except MamoriError as exc:
        assert isinstance(exc, DecodeError)
        assume("nested deeper" not in str(exc.details["reason"]))
        ours = None
    theirs = _pyrlp_decode(data)
    assert ours == (None if theirs is None else _plain(theirs))
