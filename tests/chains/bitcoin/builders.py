"""Helpers for the Bitcoin tests: PSBTs assembled from parts (the code under test only parses), WIF keys, vectors.

The serializer here writes what BIP-174 describes and nothing clever: keys and values with CompactSize lengths,
maps ended by 0x00. It lets the tests turn the BIP-143 and BIP-341 vectors into PSBTs and damage PSBTs on purpose.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from coincurve import PrivateKey

from mamori.chains.bitcoin.script import p2wsh_script
from mamori.chains.bitcoin.sighash import SIGHASH_ALL, segwit_v0_sighash
from mamori.chains.bitcoin.transaction import (
    Transaction,
    TxIn,
    TxOut,
    compact_size,
    serialize_output,
    serialize_transaction,
    txid,
)
from mamori.chains.bitcoin.transaction import sha256d as _sha256d

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "bitcoin"
# The BIP-174 vectors of the shared data set (../shared/data/psbt), copied here so the tests run without it.
SHARED_BIP174 = Path(__file__).resolve().parents[4] / "shared" / "data" / "psbt" / "bip174_vectors.json"
MAGIC = b"psbt\xff"
Pair = tuple[bytes, bytes]
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text("utf-8"))


def load_bip174() -> Any:
    return load("bip174_vectors.json")


def pair(key: bytes, value: bytes) -> bytes:
    return compact_size(len(key)) + key + compact_size(len(value)) + value


def psbt_map(pairs: Iterable[Pair]) -> bytes:
    return b"".join(pair(key, value) for key, value in pairs) + b"\x00"


def build_psbt(
    global_pairs: Iterable[Pair], inputs: Sequence[Iterable[Pair]], outputs: Sequence[Iterable[Pair]]
) -> bytes:
    return MAGIC + psbt_map(global_pairs) + b"".join(map(psbt_map, inputs)) + b"".join(map(psbt_map, outputs))


def psbt_v0(
    tx: Transaction,
    inputs: Sequence[Iterable[Pair]] | None = None,
    outputs: Sequence[Iterable[Pair]] | None = None,
    extra_global: Iterable[Pair] = (),
) -> bytes:
    """A version 0 PSBT of ``tx`` (serialized without witness), with the given maps (empty ones by default)."""
    unsigned = Transaction(
        tx.version, tuple(txin._replace(script_sig=b"", witness=()) for txin in tx.inputs), tx.outputs, tx.locktime
    )
    ins = inputs if inputs is not None else [[] for _ in tx.inputs]
    outs = outputs if outputs is not None else [[] for _ in tx.outputs]
    return build_psbt([(b"\x00", serialize_transaction(unsigned, witness=False)), *extra_global], ins, outs)


def witness_utxo(output: TxOut) -> Pair:
    return b"\x01", serialize_output(output)


def key_origin(fingerprint: bytes, path: Sequence[int]) -> bytes:
    return fingerprint + b"".join(index.to_bytes(4, "little") for index in path)


def b58decode_check(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + _BASE58.index(char)
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    raw = b"\x00" * (len(text) - len(text.lstrip("1"))) + raw
    payload, checksum = raw[:-4], raw[-4:]
    if _sha256d(payload)[:4] != checksum:
        raise ValueError(f"bad base58 checksum in {text}")
    return payload


def wif_secret(wif: str) -> bytes:
    """The 32-byte secret of a WIF private key (compressed or not, any network)."""
    return b58decode_check(wif)[1:33]


# --- a 2-of-3 P2WSH cold wallet PSBT: one input, a payment and change (deterministic keys, RFC 6979 signatures) ---

SECRETS = [hashlib.sha256(f"mamori test key {n}".encode()).digest() for n in range(4)]
KEYS = [PrivateKey(secret) for secret in SECRETS]
PUBKEYS = [key.public_key.format() for key in KEYS]


def multisig_2of3(keys: list[bytes]) -> bytes:
    ordered = sorted(keys)
    return b"\x52" + b"".join(b"\x21" + key for key in ordered) + b"\x53\xae"


WITNESS_SCRIPT = multisig_2of3(PUBKEYS[:3])
FUNDING = Transaction(
    2,
    (TxIn(hashlib.sha256(b"funding").digest(), 0, b"", 0xFFFFFFFF),),
    (
        TxOut(50_000, bytes.fromhex("0014" + "33" * 20)),
        TxOut(1_000_000, p2wsh_script(hashlib.sha256(WITNESS_SCRIPT).digest())),
    ),
    0,
)
SPEND = Transaction(
    2,
    (TxIn(txid(FUNDING), 1, b"", 0xFFFFFFFD),),
    (
        TxOut(600_000, bytes.fromhex("0014" + "44" * 20)),
        TxOut(399_000, p2wsh_script(hashlib.sha256(multisig_2of3(PUBKEYS[1:])).digest())),
    ),
    0,
)


def sign_p2wsh(tx: Transaction, index: int, key: PrivateKey, hash_type: int = SIGHASH_ALL) -> bytes:
    digest = segwit_v0_sighash(tx, index, WITNESS_SCRIPT, 1_000_000, hash_type)
    return key.sign(digest, hasher=None) + bytes((hash_type,))


def multisig_psbt(
    signers: tuple[int, ...] = (0, 1),
    *,
    previous: Transaction | None = FUNDING,
    stated: TxOut | None = None,
    signatures: dict[bytes, bytes] | None = None,
) -> bytes:
    """A 2-of-3 P2WSH PSBT with one input and two outputs (payment and change), like a cold wallet's."""
    fields: list[tuple[bytes, bytes]] = []
    if previous is not None:
        fields.append((b"\x00", serialize_transaction(previous)))
    fields.append(witness_utxo(stated or FUNDING.outputs[1]))
    fields.append((b"\x05", WITNESS_SCRIPT))
    for number, pubkey in enumerate(PUBKEYS[:3]):
        fields.append(
            (
                b"\x06" + pubkey,
                key_origin(b"\x0f\x0e\x0d\x0c", [48 | 1 << 31, 1 << 31, 1 << 31, 2 | 1 << 31, 0, number]),
            )
        )
    sigs = signatures if signatures is not None else {PUBKEYS[n]: sign_p2wsh(SPEND, 0, KEYS[n]) for n in signers}
    fields += [(b"\x02" + pubkey, signature) for pubkey, signature in sigs.items()]
    change = [(b"\x01", multisig_2of3(PUBKEYS[1:]))]
    change += [(b"\x02" + pubkey, key_origin(b"\x0f\x0e\x0d\x0c", [1, n])) for n, pubkey in enumerate(PUBKEYS[1:])]
    return psbt_v0(SPEND, inputs=[fields], outputs=[[], change])
