"""Encodings a signature check reads: strict DER ECDSA signatures (BIP-66) and the BIP-341 control block that
commits a tapscript leaf to an output key."""

from __future__ import annotations

from coincurve import PublicKeyXOnly

from mamori.chains.bitcoin.psbt import TapLeafScript
from mamori.chains.bitcoin.sighash import tagged_hash

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def commits(control: bytes, leaf: TapLeafScript, leaf_hash: bytes, output_key: bytes) -> bool:
    """Whether the control block proves the leaf is in the tree of ``output_key`` (BIP-341 script path check)."""
    if control[0] & 0xFE != leaf.leaf_version:
        return False
    node = leaf_hash
    for start in range(33, len(control), 32):
        sibling = control[start : start + 32]
        node = tagged_hash("TapBranch", node + sibling if node < sibling else sibling + node)
    internal = control[1:33]
    tweak = tagged_hash("TapTweak", internal + node)
    if int.from_bytes(tweak, "big") >= SECP256K1_N:
        return False
    try:
        key = PublicKeyXOnly(internal)
        key.tweak_add(tweak)
    except ValueError:
        return False
    return bool(key.format() == output_key and key.parity == bool(control[0] & 1))


def parse_der_signature(signature: bytes) -> tuple[int, int] | None:
    """(r, s) of a strict DER signature followed by its hash type byte (BIP-66 ``IsValidSignatureEncoding``)."""
    size = len(signature)
    if not 9 <= size <= 73 or signature[0] != 0x30 or signature[1] != size - 3:
        return None
    r_len = signature[3]
    if 5 + r_len >= size:
        return None
    s_len = signature[5 + r_len]
    if r_len + s_len + 7 != size:
        return None
    if signature[2] != 0x02 or r_len == 0 or signature[4] & 0x80:
        return None
    if r_len > 1 and signature[4] == 0 and not signature[5] & 0x80:
        return None
    if signature[r_len + 4] != 0x02 or s_len == 0 or signature[r_len + 6] & 0x80:
        return None
    if s_len > 1 and signature[r_len + 6] == 0 and not signature[r_len + 7] & 0x80:
        return None
    r = int.from_bytes(signature[4 : 4 + r_len], "big")
    s = int.from_bytes(signature[6 + r_len : 6 + r_len + s_len], "big")
    return r, s


def encode_der_signature(r: int, s: int) -> bytes:
    """The DER encoding of (r, s) without a hash type byte."""
    r_bytes = r.to_bytes((r.bit_length() + 8) // 8, "big")
    s_bytes = s.to_bytes((s.bit_length() + 8) // 8, "big")
    body = b"\x02" + bytes((len(r_bytes),)) + r_bytes + b"\x02" + bytes((len(s_bytes),)) + s_bytes
    return b"\x30" + bytes((len(body),)) + body
