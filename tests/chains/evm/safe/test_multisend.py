"""The packed transaction list of multiSend(bytes), checked against eth-abi's packed encoder."""

from __future__ import annotations

import random

import pytest
from eth_abi.packed import encode_packed

from mamori.chains.evm.safe.multisend import MultiSendEntry, decode_multisend, encode_multisend
from mamori.errors import DecodeError

HEADER = 1 + 20 + 32 + 32


def _reference_pack(entries: list[MultiSendEntry]) -> bytes:
    """How Safe's tooling builds the list: abi.encodePacked(uint8, address, uint256, uint256, bytes) per entry."""
    return b"".join(
        encode_packed(
            ["uint8", "address", "uint256", "uint256", "bytes"],
            [e.operation, e.to, e.value, len(e.data), e.data],
        )
        for e in entries
    )


def _random_entries(rng: random.Random) -> list[MultiSendEntry]:
    return [
        MultiSendEntry(
            rng.choice([0, 1, 0, 2, 255]),
            rng.randbytes(20),
            rng.choice([0, 1, rng.getrandbits(256), 2**256 - 1]),
            rng.randbytes(rng.choice([0, 0, 4, 36, 68, rng.randrange(0, 500)])),
        )
        for _ in range(rng.randrange(0, 8))
    ]


def _fields(entry: MultiSendEntry) -> tuple[int, bytes, int, bytes]:
    return (entry.operation, entry.to, entry.value, entry.data)


def test_decode_matches_eth_abi_packed_encoding() -> None:
    rng = random.Random(21)  # noqa: S311 - reproducible test data, not secrets
    for _ in range(500):
        entries = _random_entries(rng)
        packed = _reference_pack(entries)
        assert encode_multisend(entries) == packed
        decoded = decode_multisend(packed)
        assert [_fields(e) for e in decoded] == [_fields(e) for e in entries]


def test_empty_list() -> None:
    assert decode_multisend(b"") == ()
    assert encode_multisend([]) == b""


def test_entry_layout() -> None:
    entry = MultiSendEntry(1, b"\x22" * 20, 5, b"\xab\xcd")
    packed = encode_multisend([entry])
    assert packed[0] == 1
    assert packed[1:21] == b"\x22" * 20
    assert int.from_bytes(packed[21:53], "big") == 5
    assert int.from_bytes(packed[53:85], "big") == 2
    assert packed[85:] == b"\xab\xcd"
    assert len(packed) == HEADER + 2


@pytest.mark.parametrize("cut", [1, 20, 21, 52, 53, 84])
def test_truncated_header_raises(cut: int) -> None:
    packed = encode_multisend([MultiSendEntry(0, b"\x11" * 20, 0, b"")])
    with pytest.raises(DecodeError) as info:
        decode_multisend(packed[:cut])
    assert info.value.code == "ABI_DECODE_FAILED"
    assert info.value.details["function"] == "multiSend"
    assert "truncated" in info.value.details["reason"]


def test_truncated_second_entry_is_reported_with_its_index() -> None:
    entries = [MultiSendEntry(0, b"\x11" * 20, 0, b"abc"), MultiSendEntry(0, b"\x22" * 20, 0, b"defg")]
    packed = encode_multisend(entries)
    with pytest.raises(DecodeError) as info:
        decode_multisend(packed[:-1])
    assert "entry 1" in info.value.details["reason"]
    assert "past" in info.value.details["reason"]


@pytest.mark.parametrize("claimed", [1, 2**64, 2**256 - 1])
def test_data_length_past_the_list_raises(claimed: int) -> None:
    packed = bytes(1) + b"\x11" * 20 + bytes(32) + claimed.to_bytes(32, "big")
    with pytest.raises(DecodeError) as info:
        decode_multisend(packed)
    assert info.value.code == "ABI_DECODE_FAILED"


def test_every_prefix_either_decodes_to_whole_entries_or_raises() -> None:
    rng = random.Random(22)  # noqa: S311 - reproducible test data, not secrets
    for _ in range(50):
        entries = _random_entries(rng)
        packed = encode_multisend(entries)
        boundaries = {0}
        position = 0
        for entry in entries:
            position += HEADER + len(entry.data)
            boundaries.add(position)
        for cut in range(len(packed) + 1):
            if cut in boundaries:
                decoded = decode_multisend(packed[:cut])
                assert sum(HEADER + len(e.data) for e in decoded) == cut
            else:
                with pytest.raises(DecodeError):
                    decode_multisend(packed[:cut])
