"""Splitting, classifying, packing and recovering Safe owner signatures (checkNSignatures' rules)."""

from __future__ import annotations

import random

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from mamori.chains.evm.safe.hashes import eth_sign_digest
from mamori.chains.evm.safe.signatures import (
    APPROVED_HASH,
    CONTRACT,
    EOA,
    ETH_SIGN,
    SafeSignature,
    pack_signatures,
    recover_signer,
    split_signatures,
)
from mamori.errors import DecodeError

OWNER_A = bytes.fromhex("1F4EB0a903619ac168b19A82F1a6e2e426522211")
OWNER_B = bytes.fromhex("3Cc3A225769900e003E264dd4CB43E90896BC21A")


def _static(r: int, s: int, v: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((v,))


def _owner_word(owner: bytes) -> int:
    return int.from_bytes(owner, "big")


def _same_signature(a: SafeSignature, b: SafeSignature) -> bool:
    """Equal except for a contract signature's offset, which packing recomputes."""
    if a.kind != b.kind or a.v != b.v or a.r != b.r or a.contract_data != b.contract_data:
        return False
    return a.kind == CONTRACT or a.s == b.s


# --- classification ----------------------------------------------------------------------------------


def test_split_empty() -> None:
    assert split_signatures(b"") == ()


@pytest.mark.parametrize(("v", "kind"), [(27, EOA), (28, EOA), (31, ETH_SIGN), (32, ETH_SIGN)])
def test_split_ecdsa_kinds(v: int, kind: str) -> None:
    (item,) = split_signatures(_static(123, 456, v))
    assert (item.kind, item.v, item.r, item.s, item.contract_data) == (kind, v, 123, 456, b"")


def test_split_approved_hash_names_owner_in_r() -> None:
    (item,) = split_signatures(_static(_owner_word(OWNER_A), 0, 1))
    assert item.kind == APPROVED_HASH
    assert item.owner_in_r == OWNER_A


def test_split_contract_signature_with_dynamic_data() -> None:
    contract_data = b"\xca\xfe" * 40
    ecdsa = _static(7, 8, 27)
    packed = _static(_owner_word(OWNER_A), 130, 0) + ecdsa + len(contract_data).to_bytes(32, "big") + contract_data
    first, second = split_signatures(packed)
    assert first.kind == CONTRACT
    assert first.owner_in_r == OWNER_A
    assert first.s == 130
    assert first.contract_data == contract_data
    assert second.kind == EOA
    assert (second.r, second.s) == (7, 8)


def test_split_two_contract_signatures_share_the_dynamic_area() -> None:
    data_a, data_b = b"A" * 5, b"B" * 70
    offset_a = 130
    offset_b = offset_a + 32 + len(data_a)
    packed = (
        _static(_owner_word(OWNER_A), offset_a, 0)
        + _static(_owner_word(OWNER_B), offset_b, 0)
        + len(data_a).to_bytes(32, "big")
        + data_a
        + len(data_b).to_bytes(32, "big")
        + data_b
    )
    first, second = split_signatures(packed)
    assert (first.contract_data, second.contract_data) == (data_a, data_b)
    assert (first.owner_in_r, second.owner_in_r) == (OWNER_A, OWNER_B)


def test_contract_signature_with_empty_data() -> None:
    packed = _static(_owner_word(OWNER_A), 65, 0) + bytes(32)
    (item,) = split_signatures(packed)
    assert item.contract_data == b""


# --- malformed -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("packed", "reason_part"),
    [
        (b"\x00", "stray"),
        (bytes(64), "stray"),
        (_static(1, 2, 27) + b"\x00", "stray"),
        (_static(1, 2, 27) + bytes(64), "stray"),
        (_static(1, 2, 5), "v = 5"),
        (_static(1, 2, 2), "v = 2"),
        (_static(1, 2, 26), "v = 26"),
        (_static(1, 2, 29), "v = 29"),
        (_static(1, 2, 33), "v = 33"),
        (_static(1, 2, 255), "v = 255"),
        (_static(1 << 160, 0, 1), "20 bytes"),  # owner wider than an address
        (_static((1 << 160) | 5, 65, 0) + bytes(32), "20 bytes"),
        (_static(5, 0, 0), "offset"),  # offset into its own static part
        (_static(5, 64, 0) + bytes(32), "offset"),
        (_static(5, 65, 0), "offset"),  # no room for the length word
        (_static(5, 2**256 - 1, 0), "offset"),
        (_static(5, 65, 0) + (1).to_bytes(32, "big"), "past the end"),
        (_static(5, 65, 0) + (2**256 - 1).to_bytes(32, "big"), "past the end"),
    ],
)
def test_split_malformed_raises_decode_error(packed: bytes, reason_part: str) -> None:
    with pytest.raises(DecodeError) as info:
        split_signatures(packed)
    assert info.value.code == "SIGNATURE_ENCODING_INVALID"
    assert reason_part in info.value.details["reason"]


def test_contract_offset_into_an_earlier_static_part_is_rejected() -> None:
    """The second signature's data offset points back at the first signature's static part."""
    packed = _static(9, 9, 27) + _static(_owner_word(OWNER_A), 0, 0) + bytes(32)
    with pytest.raises(DecodeError) as info:
        split_signatures(packed)
    assert "offset" in info.value.details["reason"]
    packed = _static(9, 9, 27) + _static(_owner_word(OWNER_A), 65, 0) + bytes(32)
    with pytest.raises(DecodeError) as info:
        split_signatures(packed)
    assert "offset" in info.value.details["reason"]


def test_contract_data_start_ends_the_static_parts() -> None:
    """Like the contract, bytes from the first data offset on are data, not further signatures."""
    packed = _static(_owner_word(OWNER_A), 65, 0) + _static(9, 9, 27) + bytes(32)
    (item,) = split_signatures(packed)
    assert item.kind == CONTRACT
    assert item.contract_data == bytes(9)  # length word = the r of the would-be second signature


# --- pack / split round trip ---------------------------------------------------------------------------------


def _random_signature(rng: random.Random) -> SafeSignature:
    kind = rng.choice([EOA, ETH_SIGN, APPROVED_HASH, CONTRACT])
    if kind == EOA:
        return SafeSignature(EOA, rng.choice([27, 28]), rng.getrandbits(256), rng.getrandbits(256))
    if kind == ETH_SIGN:
        return SafeSignature(ETH_SIGN, rng.choice([31, 32]), rng.getrandbits(256), rng.getrandbits(256))
    if kind == APPROVED_HASH:
        return SafeSignature(APPROVED_HASH, 1, rng.getrandbits(160), rng.choice([0, rng.getrandbits(256)]))
    return SafeSignature(CONTRACT, 0, rng.getrandbits(160), 0, rng.randbytes(rng.randrange(0, 200)))


def test_pack_signatures_round_trips_split_signatures() -> None:
    rng = random.Random(11)  # noqa: S311 - reproducible test data, not secrets
    for _ in range(500):
        items = [_random_signature(rng) for _ in range(rng.randrange(0, 6))]
        packed = pack_signatures(items)
        split = split_signatures(packed)
        assert len(split) == len(items)
        assert all(_same_signature(a, b) for a, b in zip(items, split, strict=True))
        assert pack_signatures(split) == packed
        static_size = 65 * len(items)
        for item in split:
            if item.kind == CONTRACT:
                assert item.s >= static_size


def test_pack_lays_out_contract_data_after_all_static_parts() -> None:
    contract = SafeSignature(CONTRACT, 0, _owner_word(OWNER_A), 0, b"\x01\x02\x03")
    eoa = SafeSignature(EOA, 27, 5, 6)
    packed = pack_signatures([contract, eoa])
    assert packed[:32] == bytes(12) + OWNER_A
    assert int.from_bytes(packed[32:64], "big") == 130
    assert packed[64] == 0
    assert packed[65:130] == _static(5, 6, 27)
    assert packed[130:162] == (3).to_bytes(32, "big")
    assert packed[162:] == b"\x01\x02\x03"


# --- recovery ------------------------------------------------------------------------------------------------------


def test_recover_signer_eoa_and_eth_sign_match_eth_account() -> None:
    rng = random.Random(12)  # noqa: S311 - reproducible test data, not secrets
    for _ in range(40):
        account = Account.create(extra_entropy=str(rng.random()))
        owner = bytes.fromhex(account.address[2:])
        safe_tx_hash = rng.randbytes(32)
        digest = eth_sign_digest(safe_tx_hash)

        typed = Account.unsafe_sign_hash(safe_tx_hash, account.key)
        (eoa,) = split_signatures(_static(typed.r, typed.s, typed.v))
        assert eoa.kind == EOA
        assert recover_signer(eoa, safe_tx_hash, digest) == owner

        personal = Account.sign_message(encode_defunct(primitive=safe_tx_hash), account.key)
        (eth_sign,) = split_signatures(_static(personal.r, personal.s, personal.v + 4))
        assert eth_sign.kind == ETH_SIGN
        assert recover_signer(eth_sign, safe_tx_hash, digest) == owner
        assert Account.recover_message(encode_defunct(primitive=safe_tx_hash), signature=personal.signature) == (
            account.address
        )

        # The same bytes under the other scheme recover to someone else.
        (as_eoa,) = split_signatures(_static(personal.r, personal.s, personal.v))
        assert recover_signer(as_eoa, safe_tx_hash, digest) != owner


@pytest.mark.parametrize("item", [SafeSignature(APPROVED_HASH, 1, 5, 0), SafeSignature(CONTRACT, 0, 5, 65, b"")])
def test_recover_signer_refuses_keyless_kinds(item: SafeSignature) -> None:
    with pytest.raises(DecodeError) as info:
        recover_signer(item, bytes(32), bytes(32))
    assert info.value.code == "SIGNATURE_ENCODING_INVALID"


def test_recover_signer_with_unrecoverable_r_raises_decode_error() -> None:
    item = SafeSignature(EOA, 27, 0, 1)
    with pytest.raises(DecodeError):
        recover_signer(item, bytes(32), bytes(32))
