"""keccak-256 and secp256k1 public-key recovery, the two primitives every EVM check rests on.

Libraries chosen by measurement (docs/benchmarks.md): safe-pysha3 for keccak, coincurve (libsecp256k1) for
recovery. Both are tested differentially against eth-hash / eth-keys in tests/chains/evm/test_crypto.py.
"""

from __future__ import annotations

from coincurve import PublicKey
from sha3 import keccak_256

from mamori.errors import DecodeError

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP256K1_HALF_N = SECP256K1_N // 2


def keccak256(data: bytes) -> bytes:
    """The Ethereum hash (original Keccak padding, not NIST SHA3-256)."""
    digest: bytes = keccak_256(data).digest()
    return digest


def recover_address(digest: bytes, y_parity: int, r: int, s: int) -> bytes:
    """The 20-byte address whose key produced (r, s, y_parity) over ``digest``.

    Raises :class:`DecodeError` when no key can be recovered (r or s out of range, point not on the curve),
    which is exactly when the EVM's ecrecover returns the zero address.
    """
    if len(digest) != 32:
        raise DecodeError("SIGNATURE_ENCODING_INVALID", reason="digest must be 32 bytes")
    if y_parity not in (0, 1):
        raise DecodeError("SIGNATURE_ENCODING_INVALID", reason=f"recovery id {y_parity} is not 0 or 1")
    if not (0 < r < SECP256K1_N and 0 < s < SECP256K1_N):
        raise DecodeError("SIGNATURE_ENCODING_INVALID", reason="r or s is outside the curve order")
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((y_parity,))
    try:
        public_key = PublicKey.from_signature_and_message(signature, digest, hasher=None)
    except Exception as exc:
        raise DecodeError("SIGNATURE_ENCODING_INVALID", reason="no public key recovers from it") from exc
    return keccak256(public_key.format(compressed=False)[1:])[12:]
