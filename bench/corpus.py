"""Deterministic corpora of Safe transactions for the benchmarks (never random between runs)."""

from __future__ import annotations

import random
from typing import Any

from mamori.chains.evm.encoding import to_checksum_address
from mamori.chains.evm.safe.hashes import safe_tx_hashes
from mamori.chains.evm.safe.model import SafeTx
from mamori.chains.evm.safe.multisend import MultiSendEntry, encode_multisend
from mamori.chains.evm.safe.versions import parse_safe_version
from mamori.verify import functions as fn

MULTISEND_CALL_ONLY_130 = bytes.fromhex("40A2aCCbd92BCA938b02010E17A5b8929b49130D")
VERSIONS = ("1.1.1", "1.3.0", "1.4.1")
SAFE_COUNT = 12


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _address_word(address: bytes) -> bytes:
    return bytes(12) + address


def _call(rng: random.Random, safe: bytes) -> tuple[int, bytes, int, bytes]:
    """(operation, to, value, data) of one realistic wallet operation."""
    kind = rng.random()
    to = rng.randbytes(20)
    if kind < 0.35:
        return 0, to, rng.randrange(1, 10**22), b""
    if kind < 0.75:
        data = fn.ERC20_TRANSFER.selector + _address_word(rng.randbytes(20)) + _word(rng.randrange(1, 10**24))
        return 0, to, 0, data
    if kind < 0.85:
        entries = [
            MultiSendEntry(
                0,
                rng.randbytes(20),
                0,
                fn.ERC20_TRANSFER.selector + _address_word(rng.randbytes(20)) + _word(rng.randrange(1, 10**20)),
            )
            for _ in range(3)
        ]
        packed = encode_multisend(entries)
        padding = -len(packed) % 32
        data = fn.MULTI_SEND.selector + _word(32) + _word(len(packed)) + packed + bytes(padding)
        return 1, MULTISEND_CALL_ONLY_130, 0, data
    if kind < 0.95:
        data = fn.ERC20_APPROVE.selector + _address_word(rng.randbytes(20)) + _word(rng.randrange(1, 10**24))
        return 0, to, 0, data
    data = fn.ADD_OWNER.selector + _address_word(rng.randbytes(20)) + _word(2)
    return 0, safe, 0, data


def safe_records(count: int, seed: int = 2025) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Safe Transaction Service-shaped proposals with the claimed safeTxHash, as a UI would submit them, and the
    Safe file (``--safes``) that states each Safe's version."""
    rng = random.Random(seed)
    # An exchange runs a handful of Safes (cold, warm, per chain), each at one version.
    safes = [(rng.randbytes(20), VERSIONS[i % len(VERSIONS)]) for i in range(SAFE_COUNT)]
    records = []
    for nonce in range(count):
        safe, version = safes[rng.randrange(SAFE_COUNT)]
        operation, to, value, data = _call(rng, safe)
        tx = SafeTx(safe, to, value, data, operation, rng.randrange(0, 200_000), 0, 0, bytes(20), bytes(20), nonce)
        claimed = safe_tx_hashes(tx, parse_safe_version(version), 1).safe_tx_hash
        records.append(
            {
                "safe": to_checksum_address(safe),
                "to": to_checksum_address(to),
                "value": str(value),
                "data": "0x" + data.hex() if data else None,
                "operation": operation,
                "gasToken": "0x0000000000000000000000000000000000000000",
                "safeTxGas": tx.safe_tx_gas,
                "baseGas": 0,
                "gasPrice": "0",
                "refundReceiver": "0x0000000000000000000000000000000000000000",
                "nonce": nonce,
                "safeTxHash": "0x" + claimed.hex(),
                "confirmations": [],
            }
        )
    book = {"safes": [{"address": to_checksum_address(a), "chain_id": 1, "version": v} for a, v in safes]}
    return records, book


def signed_records(count: int, seed: int = 2026) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The same kind of proposals, each signed by two of three owners (EIP-712, v 27/28), sorted by owner."""
    import coincurve

    from mamori.chains.evm.crypto import keccak256

    records, book = safe_records(count, seed)
    keys = [coincurve.PrivateKey(keccak256(bytes([i]) * 32)) for i in range(3)]
    owners = [keccak256(k.public_key.format(compressed=False)[1:])[12:] for k in keys]
    for record in records:
        digest = bytes.fromhex(record["safeTxHash"][2:])
        pair = sorted(zip(owners, keys, strict=True))[:2]
        packed = b""
        for _, key in pair:
            signature = key.sign_recoverable(digest, hasher=None)
            packed += signature[:64] + bytes((signature[64] + 27,))
        record["signatures"] = "0x" + packed.hex()
        record["confirmations"] = [
            {
                "owner": to_checksum_address(owner),
                "signature": "0x" + packed[65 * i : 65 * i + 65].hex(),
                "signatureType": "EOA",
            }
            for i, (owner, _) in enumerate(pair)
        ]
    for entry in book["safes"]:
        entry["owners"] = [to_checksum_address(owner) for owner in owners]
        entry["threshold"] = 2
    return records, book
