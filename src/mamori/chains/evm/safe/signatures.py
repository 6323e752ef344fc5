"""Safe owner signatures: splitting the packed ``signatures`` bytes, classifying each, recovering signers.

Mirrors ``checkNSignatures`` of the Safe contracts: each signature is a 65-byte ``r ‖ s ‖ v`` static part;
``v`` selects the scheme:

- ``v = 0``  contract signature (EIP-1271): ``r`` holds the owner, ``s`` the offset of its dynamic data;
- ``v = 1``  approved hash: ``r`` holds the owner, who approved on chain or is the executor;
- ``v > 30`` ``eth_sign``: the key signed the eth_sign digest of safeTxHash, with ``v - 4``;
- otherwise  an EIP-712 signature by an EOA over safeTxHash, ``v`` 27 or 28.
"""

from __future__ import annotations

from typing import NamedTuple

from mamori.chains.evm.crypto import recover_address
from mamori.errors import DecodeError

EOA = "eoa"
ETH_SIGN = "eth_sign"
APPROVED_HASH = "approved_hash"
CONTRACT = "contract"


class SafeSignature(NamedTuple):
    kind: str
    v: int
    r: int
    s: int
    contract_data: bytes = b""

    @property
    def owner_in_r(self) -> bytes:
        """The owner an approved-hash or contract signature names (checked to fit 20 bytes when split)."""
        return self.r.to_bytes(32, "big")[12:]

    def static_part(self, offset: int | None = None) -> bytes:
        s = self.s if offset is None else offset
        return self.r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((self.v,))


def split_signatures(packed: bytes) -> tuple[SafeSignature, ...]:
    """Split packed signatures into their static parts; contract signatures get their dynamic data.

    Raises :class:`DecodeError` (``SIGNATURE_ENCODING_INVALID``) where the contract would revert or read
    garbage: a partial 65-byte part, an unknown ``v``, an owner that does not fit 20 bytes, or a contract
    signature whose offset or length points outside the bytes or into the static parts.
    """
    signatures: list[SafeSignature] = []
    static_end = len(packed)  # the first dynamic part, once a contract signature names one
    position = 0
    while position < static_end:
        if position + 65 > static_end:
            raise DecodeError(
                "SIGNATURE_ENCODING_INVALID",
                reason=f"{static_end - position} stray byte(s) after signature {len(signatures)}",
            )
        r = int.from_bytes(packed[position : position + 32], "big")
        s = int.from_bytes(packed[position + 32 : position + 64], "big")
        v = packed[position + 64]
        index = len(signatures)
        if v in (0, 1) and r >> 160:
            raise DecodeError(
                "SIGNATURE_ENCODING_INVALID",
                reason=f"signature {index}: owner in r does not fit 20 bytes",
            )
        if v == 0:
            if s < position + 65 or s + 32 > len(packed):
                raise DecodeError(
                    "SIGNATURE_ENCODING_INVALID",
                    reason=f"signature {index}: contract data offset out of range",
                )
            length = int.from_bytes(packed[s : s + 32], "big")
            if length > len(packed) - s - 32:
                raise DecodeError(
                    "SIGNATURE_ENCODING_INVALID", reason=f"signature {index}: contract data runs past the end"
                )
            static_end = min(static_end, s)
            signatures.append(SafeSignature(CONTRACT, v, r, s, packed[s + 32 : s + 32 + length]))
        elif v == 1:
            signatures.append(SafeSignature(APPROVED_HASH, v, r, s))
        elif v in (31, 32):
            signatures.append(SafeSignature(ETH_SIGN, v, r, s))
        elif v in (27, 28):
            signatures.append(SafeSignature(EOA, v, r, s))
        else:
            raise DecodeError(
                "SIGNATURE_ENCODING_INVALID",
                reason=f"signature {index}: v = {v} is not a Safe signature type",
            )
        position += 65
    for item in signatures:
        if item.kind == CONTRACT and item.s < position:
            raise DecodeError("SIGNATURE_ENCODING_INVALID", reason="contract data offset points into the signatures")
    return tuple(signatures)


def recover_signer(signature: SafeSignature, safe_tx_hash: bytes, eth_sign_digest: bytes) -> bytes:
    """The EOA that made an ``eoa`` or ``eth_sign`` signature; raises DecodeError when nothing recovers."""
    if signature.kind == EOA:
        return recover_address(safe_tx_hash, signature.v - 27, signature.r, signature.s)
    if signature.kind == ETH_SIGN:
        return recover_address(eth_sign_digest, signature.v - 31, signature.r, signature.s)
    raise DecodeError("SIGNATURE_ENCODING_INVALID", reason=f"a {signature.kind} signature has no key to recover")


def pack_signatures(signatures: list[SafeSignature] | tuple[SafeSignature, ...]) -> bytes:
    """Pack signatures (already in owner order) as the contract expects, laying out contract data at the end."""
    static_size = 65 * len(signatures)
    static: list[bytes] = []
    dynamic: list[bytes] = []
    offset = static_size
    for item in signatures:
        if item.kind == CONTRACT:
            static.append(item.static_part(offset))
            chunk = len(item.contract_data).to_bytes(32, "big") + item.contract_data
            dynamic.append(chunk)
            offset += len(chunk)
        else:
            static.append(item.static_part())
    return b"".join(static) + b"".join(dynamic)
