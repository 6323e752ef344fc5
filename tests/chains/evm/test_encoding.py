"""Strict parsing of hex, addresses and integers from JSON, and EIP-55 checksums (vs eth-utils)."""

from __future__ import annotations

import random

import pytest
from eth_utils import to_checksum_address as eth_utils_checksum

from mamori.chains.evm.encoding import (
    UINT256_MAX,
    ZERO_ADDRESS,
    hex0x,
    parse_address,
    parse_hash32,
    parse_hex,
    parse_uint,
    to_checksum_address,
)
from mamori.errors import DecodeError, InputError, MamoriError

# The test vectors of EIP-55 itself (all caps, all lower, and mixed-case "normal" addresses).
EIP55_VECTORS = [
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]


def _flip_one_letter_case(checksummed: str) -> str | None:
    body = checksummed[2:]
    for index, char in enumerate(body):
        if char.isalpha():
            flipped = char.lower() if char.isupper() else char.upper()
            candidate = body[:index] + flipped + body[index + 1 :]
            # Still mixed case, so the checksum rule applies.
            if candidate != candidate.lower() and candidate != candidate.upper():
                return "0x" + candidate
    return None


# --- EIP-55 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("address", EIP55_VECTORS)
def test_to_checksum_address_eip55_vectors(address: str) -> None:
    assert to_checksum_address(bytes.fromhex(address[2:])) == address


def test_to_checksum_address_matches_eth_utils_on_random_addresses() -> None:
    rng = random.Random(55)  # noqa: S311 - reproducible test data, not secrets
    for _ in range(3000):
        raw = rng.randbytes(20)
        assert to_checksum_address(raw) == eth_utils_checksum(raw), raw.hex()
    for raw in (ZERO_ADDRESS, b"\xff" * 20, b"\xaa" * 20, b"\x0a" * 20):
        assert to_checksum_address(raw) == eth_utils_checksum(raw)


def test_hex0x() -> None:
    assert hex0x(b"") == "0x"
    assert hex0x(b"\x00\xab") == "0x00ab"


# --- parse_address ----------------------------------------------------------------------------------


def test_parse_address_accepts_lower_upper_and_valid_checksum() -> None:
    rng = random.Random(1)  # noqa: S311 - reproducible test data, not secrets
    for _ in range(300):
        raw = rng.randbytes(20)
        checksummed = eth_utils_checksum(raw)
        assert parse_address(checksummed, field="to") == raw
        assert parse_address("0x" + raw.hex(), field="to") == raw
        assert parse_address("0x" + raw.hex().upper(), field="to") == raw


def test_parse_address_rejects_a_bad_checksum() -> None:
    rng = random.Random(2)  # noqa: S311 - reproducible test data, not secrets
    checked = 0
    for _ in range(300):
        tampered = _flip_one_letter_case(eth_utils_checksum(rng.randbytes(20)))
        if tampered is None:
            continue
        with pytest.raises(DecodeError) as info:
            parse_address(tampered, field="refundReceiver")
        assert info.value.code == "ADDRESS_CHECKSUM_INVALID"
        assert info.value.details["field"] == "refundReceiver"
        checked += 1
    assert checked > 250


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("0x" + "00" * 19, "ADDRESS_INVALID"),
        ("0x" + "00" * 21, "ADDRESS_INVALID"),
        ("00" * 21, "ADDRESS_INVALID"),  # 42 characters, but no 0x prefix
        ("0x" + "0g" * 20, "ADDRESS_INVALID"),
        ("0x" + " 0" * 20, "ADDRESS_INVALID"),
        ("0x" + "０" * 40, "ADDRESS_INVALID"),  # full-width digits
        ("", "ADDRESS_INVALID"),
        (12, "FIELD_TYPE_INVALID"),
        (b"\x00" * 20, "FIELD_TYPE_INVALID"),
        (["0x" + "00" * 20], "FIELD_TYPE_INVALID"),
        (None, "FIELD_MISSING"),
    ],
)
def test_parse_address_rejects_malformed_values(value: object, code: str) -> None:
    with pytest.raises(InputError) as info:
        parse_address(value, field="to")
    assert info.value.code == code
    assert info.value.details["field"] == "to"


def test_parse_address_none_allowed_is_zero_address() -> None:
    assert parse_address(None, field="gasToken", allow_none=True) == ZERO_ADDRESS


# --- parse_uint -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (1, 1),
        ("0", 0),
        ("30000000000000000000000", 30_000 * 10**18),
        (UINT256_MAX, UINT256_MAX),
        (str(UINT256_MAX), UINT256_MAX),
        ("0x" + "ff" * 32, UINT256_MAX),
        ("0x10", 16),
        ("0XAbC", 0xABC),
        ("007", 7),
    ],
)
def test_parse_uint_accepts_ints_decimal_and_hex_strings(value: object, expected: int) -> None:
    assert parse_uint(value, field="value") == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (1.0, "FIELD_TYPE_INVALID"),
        (1e18, "FIELD_TYPE_INVALID"),
        (float("nan"), "FIELD_TYPE_INVALID"),
        (True, "FIELD_TYPE_INVALID"),
        (False, "FIELD_TYPE_INVALID"),
        ([1], "FIELD_TYPE_INVALID"),
        ({"v": 1}, "FIELD_TYPE_INVALID"),
        (b"1", "FIELD_TYPE_INVALID"),
        (None, "FIELD_MISSING"),
        (-1, "INTEGER_OUT_OF_RANGE"),
        (UINT256_MAX + 1, "INTEGER_OUT_OF_RANGE"),
        (str(UINT256_MAX + 1), "INTEGER_OUT_OF_RANGE"),
        ("0x1" + "00" * 32, "INTEGER_OUT_OF_RANGE"),
        ("-1", "INTEGER_INVALID"),
        ("+1", "INTEGER_INVALID"),
        ("1.0", "INTEGER_INVALID"),
        ("1e18", "INTEGER_INVALID"),
        ("1_000", "INTEGER_INVALID"),
        ("", "INTEGER_INVALID"),
        ("0x", "INTEGER_INVALID"),
        ("0xg1", "INTEGER_INVALID"),
        ("0x-1", "INTEGER_INVALID"),
        ("１２", "INTEGER_INVALID"),  # full-width digits pass str.isdigit()
        ("١٢", "INTEGER_INVALID"),  # Arabic-Indic digits too
        ("²", "INTEGER_INVALID"),
        ("ten", "INTEGER_INVALID"),
    ],
)
def test_parse_uint_refuses_floats_bools_negatives_overflow_and_junk(value: object, code: str) -> None:
    with pytest.raises(InputError) as info:
        parse_uint(value, field="value")
    assert info.value.code == code
    assert info.value.details["field"] == "value"


@pytest.mark.parametrize(("bits", "largest"), [(8, 255), (32, 2**32 - 1), (64, 2**64 - 1)])
def test_parse_uint_respects_bit_width(bits: int, largest: int) -> None:
    assert parse_uint(largest, field="operation", bits=bits) == largest
    assert parse_uint(str(largest), field="operation", bits=bits) == largest
    with pytest.raises(InputError) as info:
        parse_uint(largest + 1, field="operation", bits=bits)
    assert info.value.code == "INTEGER_OUT_OF_RANGE"
    assert info.value.details["bits"] == bits


def test_parse_uint_none_allowed_is_zero() -> None:
    assert parse_uint(None, field="gasPrice", allow_none=True) == 0


def test_parse_uint_huge_decimal_string_raises_input_error_not_value_error() -> None:
    """Python's int() refuses decimal strings over 4300 digits with a bare ValueError."""
    with pytest.raises(InputError) as info:
        parse_uint("9" * 5000, field="value")
    assert info.value.code == "INTEGER_OUT_OF_RANGE"
    # Leading zeros do not make a number large.
    assert parse_uint("0" * 5000 + "7", field="value") == 7
    assert parse_uint("0x" + "0" * 5000 + "7", field="value") == 7


@pytest.mark.parametrize("digits", ["9" * 100, "0x" + "f" * 100], ids=["decimal", "hex"])
def test_parse_uint_overlong_string_reports_the_field_width(digits: str) -> None:
    with pytest.raises(InputError) as info:
        parse_uint(digits, field="operation", bits=8)
    assert info.value.code == "INTEGER_OUT_OF_RANGE"
    assert info.value.details["bits"] == 8
    assert "8-bit" in info.value.message_en


def test_parse_uint_huge_hex_string_is_out_of_range() -> None:
    with pytest.raises(InputError) as info:
        parse_uint("0x" + "f" * 5000, field="value")
    assert info.value.code == "INTEGER_OUT_OF_RANGE"


# --- parse_hex / parse_hash32 -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0x", b""), ("", b""), ("0x00", b"\x00"), ("0XABcd", b"\xab\xcd"), ("abcd", b"\xab\xcd")],
)
def test_parse_hex_accepts(value: str, expected: bytes) -> None:
    assert parse_hex(value, field="data") == expected


def test_parse_hex_none() -> None:
    assert parse_hex(None, field="data", allow_none=True) == b""
    with pytest.raises(InputError) as info:
        parse_hex(None, field="data")
    assert info.value.code == "FIELD_MISSING"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("0x0", "HEX_INVALID"),
        ("0xabc", "HEX_INVALID"),
        ("0xzz", "HEX_INVALID"),
        ("0x０１", "HEX_INVALID"),
        (17, "FIELD_TYPE_INVALID"),
        (b"\x00", "FIELD_TYPE_INVALID"),
        ([], "FIELD_TYPE_INVALID"),
    ],
)
def test_parse_hex_rejects(value: object, code: str) -> None:
    with pytest.raises(InputError) as info:
        parse_hex(value, field="data")
    assert info.value.code == code
    assert info.value.details["field"] == "data"


@pytest.mark.parametrize("value", ["0x00 11 ", " 0011 ", "0x0011\n\t", "0x\x0b0011\x0c"])
def test_parse_hex_rejects_embedded_whitespace(value: str) -> None:
    with pytest.raises(DecodeError) as info:
        parse_hex(value, field="data")
    assert info.value.code == "HEX_INVALID"


def test_parse_hash32() -> None:
    value = "0x" + "ab" * 32
    assert parse_hash32(value, field="safeTxHash") == b"\xab" * 32
    for bad in ("0x" + "ab" * 31, "0x" + "ab" * 33, "0x"):
        with pytest.raises(DecodeError) as info:
            parse_hash32(bad, field="safeTxHash")
        assert info.value.code == "HASH_INVALID"


def test_every_parse_error_is_a_mamori_error_with_a_bilingual_message() -> None:
    with pytest.raises(MamoriError) as info:
        parse_uint(1.5, field="value")
    body = info.value.to_dict()["error"]
    assert body["code"] == "FIELD_TYPE_INVALID"
    assert "value" in body["message"]["en"]
    assert "value" in body["message"]["ja"]
