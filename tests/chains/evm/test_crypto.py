"""keccak256 and secp256k1 recovery, checked against independent implementations.

keccak256 is compared with eth-hash and pycryptodome; recover_address with eth-keys (including high-s
signatures, which ecrecover accepts, and random garbage (r, s) pairs, which must fail in both).
"""

from __future__ import annotations

import random

import pytest
from Crypto.Hash import keccak as pycryptodome_keccak
from eth_account import Account
from eth_hash.auto import keccak as eth_hash_keccak
from eth_keys import keys
from eth_keys.exceptions import BadSignature

from mamori.chains.evm.crypto import SECP256K1_HALF_N, SECP256K1_N, keccak256, recover_address
from mamori.errors import DecodeError, MamoriError


def _pycryptodome(data: bytes) -> bytes:
    return pycryptodome_keccak.new(digest_bits=256, data=data).digest()


def _eth_keys_recover(digest: bytes, y_parity: int, r: int, s: int) -> bytes | None:
    try:
        signature = keys.Signature(vrs=(y_parity, r, s))
        return signature.recover_public_key_from_msg_hash(digest).to_canonical_address()
    except (BadSignature, ValueError):
        return None


def _ours(digest: bytes, y_parity: int, r: int, s: int) -> bytes | None:
    try:
        return recover_address(digest, y_parity, r, s)
    except DecodeError as exc:
        assert exc.code == "SIGNATURE_ENCODING_INVALID"
        return None


# --- keccak256 ---------------------------------------------------------------------------------------


def test_keccak256_known_values() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    # Not NIST SHA3-256 (whose empty digest is a7ffc6f8...): the original Keccak padding.
    assert keccak256(b"").hex() != "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
    assert keccak256(b"transfer(address,uint256)")[:4].hex() == "a9059cbb"


@pytest.mark.parametrize("length", [0, 1, 31, 32, 33, 55, 56, 64, 135, 136, 137, 271, 272, 273, 1000, 4096])
def test_keccak256_matches_eth_hash_and_pycryptodome_at_block_boundaries(length: int) -> None:
    rng = random.Random(length)  # noqa: S311 - reproducible test data, not secrets
    data = rng.randbytes(length)
    ours = keccak256(data)
    assert ours == eth_hash_keccak(data)
    assert ours == _pycryptodome(data)
    assert len(ours) == 32


def test_keccak256_matches_references_on_random_inputs() -> None:
    rng = random.Random(20250221)  # noqa: S311 - reproducible test data, not secrets
    for _ in range(2000):
        data = rng.randbytes(rng.randrange(0, 600))
        ours = keccak256(data)
        assert ours == eth_hash_keccak(data), data.hex()
        assert ours == _pycryptodome(data), data.hex()


# --- recover_address -----------------------------------------------------------------------------------


def test_recover_address_matches_eth_account_and_eth_keys_for_real_signatures() -> None:
    rng = random.Random(7)  # noqa: S311 - reproducible test data, not secrets
    for _ in range(150):
        account = Account.from_key(rng.randbytes(32).rjust(32, b"\x01"))
        digest = rng.randbytes(32)
        signed = Account.unsafe_sign_hash(digest, account.key)
        y_parity = signed.v - 27
        expected = bytes.fromhex(account.address[2:])
        assert recover_address(digest, y_parity, signed.r, signed.s) == expected
        assert _eth_keys_recover(digest, y_parity, signed.r, signed.s) == expected


def test_recover_address_accepts_high_s_like_ecrecover() -> None:
    """ecrecover has no low-s rule; the malleable twin (N - s, flipped parity) recovers the same key."""
    rng = random.Random(8)  # noqa: S311 - reproducible test data, not secrets
    for _ in range(50):
        account = Account.from_key(rng.randbytes(32).rjust(32, b"\x01"))
        digest = rng.randbytes(32)
        signed = Account.unsafe_sign_hash(digest, account.key)
        assert signed.s <= SECP256K1_HALF_N
        twin_s, twin_parity = SECP256K1_N - signed.s, 1 - (signed.v - 27)
        expected = bytes.fromhex(account.address[2:])
        assert recover_address(digest, twin_parity, signed.r, twin_s) == expected
        assert _eth_keys_recover(digest, twin_parity, signed.r, twin_s) == expected


def test_recover_address_agrees_with_eth_keys_on_random_r_s() -> None:
    """About half of random r values are not x coordinates on the curve: both must fail on exactly those."""
    rng = random.Random(9)  # noqa: S311 - reproducible test data, not secrets
    failures = 0
    for _ in range(400):
        digest = rng.randbytes(32)
        r, s, y_parity = rng.randrange(1, SECP256K1_N), rng.randrange(1, SECP256K1_N), rng.randrange(2)
        ours = _ours(digest, y_parity, r, s)
        assert ours == _eth_keys_recover(digest, y_parity, r, s), (digest.hex(), y_parity, r, s)
        failures += ours is None
    assert 100 < failures < 300  # both outcomes were exercised


@pytest.mark.parametrize(
    ("digest", "y_parity", "r", "s"),
    [
        (bytes(31), 0, 1, 1),
        (bytes(33), 0, 1, 1),
        (bytes(32), 2, 1, 1),
        (bytes(32), -1, 1, 1),
        (bytes(32), 27, 1, 1),
        (bytes(32), 0, 0, 1),
        (bytes(32), 0, 1, 0),
        (bytes(32), 0, SECP256K1_N, 1),
        (bytes(32), 0, 1, SECP256K1_N),
        (bytes(32), 0, 2**256 - 1, 1),
    ],
)
def test_recover_address_rejects_out_of_range_inputs_with_decode_error(
    digest: bytes, y_parity: int, r: int, s: int
) -> None:
    with pytest.raises(DecodeError) as info:
        recover_address(digest, y_parity, r, s)
    assert info.value.code == "SIGNATURE_ENCODING_INVALID"
    assert isinstance(info.value, MamoriError)
