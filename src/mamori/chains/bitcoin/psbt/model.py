"""The PSBT as values: field names of each map (BIP-174, BIP-370) and the immutable records a parse produces.

The values are immutable NamedTuples rather than frozen dataclasses for speed (see ``transaction.py``).
"""

from __future__ import annotations

from typing import NamedTuple

from mamori.chains.bitcoin.transaction import Transaction, TxOut

MAGIC = b"psbt\xff"

GLOBAL_FIELDS = {
    0x00: "UNSIGNED_TX",
    0x01: "XPUB",
    0x02: "TX_VERSION",
    0x03: "FALLBACK_LOCKTIME",
    0x04: "INPUT_COUNT",
    0x05: "OUTPUT_COUNT",
    0x06: "TX_MODIFIABLE",
    0xFB: "VERSION",
    0xFC: "PROPRIETARY",
}
INPUT_FIELDS = {
    0x00: "NON_WITNESS_UTXO",
    0x01: "WITNESS_UTXO",
    0x02: "PARTIAL_SIG",
    0x03: "SIGHASH_TYPE",
    0x04: "REDEEM_SCRIPT",
    0x05: "WITNESS_SCRIPT",
    0x06: "BIP32_DERIVATION",
    0x07: "FINAL_SCRIPTSIG",
    0x08: "FINAL_SCRIPTWITNESS",
    0x09: "POR_COMMITMENT",
    0x0A: "RIPEMD160",
    0x0B: "SHA256",
    0x0C: "HASH160",
    0x0D: "HASH256",
    0x0E: "PREVIOUS_TXID",
    0x0F: "OUTPUT_INDEX",
    0x10: "SEQUENCE",
    0x11: "REQUIRED_TIME_LOCKTIME",
    0x12: "REQUIRED_HEIGHT_LOCKTIME",
    0x13: "TAP_KEY_SIG",
    0x14: "TAP_SCRIPT_SIG",
    0x15: "TAP_LEAF_SCRIPT",
    0x16: "TAP_BIP32_DERIVATION",
    0x17: "TAP_INTERNAL_KEY",
    0x18: "TAP_MERKLE_ROOT",
    0xFC: "PROPRIETARY",
}
OUTPUT_FIELDS = {
    0x00: "REDEEM_SCRIPT",
    0x01: "WITNESS_SCRIPT",
    0x02: "BIP32_DERIVATION",
    0x03: "AMOUNT",
    0x04: "SCRIPT",
    0x05: "TAP_INTERNAL_KEY",
    0x06: "TAP_TREE",
    0x07: "TAP_BIP32_DERIVATION",
    0xFC: "PROPRIETARY",
}


class KeyOrigin(NamedTuple):
    """Where a key comes from: the master key's 4-byte fingerprint and the BIP-32 path (hardened: bit 31 set)."""

    fingerprint: bytes
    path: tuple[int, ...]


class GlobalXpub(NamedTuple):
    """PSBT_GLOBAL_XPUB: a 78-byte serialized extended public key and its origin."""

    xpub: bytes
    origin: KeyOrigin


class Bip32Derivation(NamedTuple):
    pubkey: bytes
    origin: KeyOrigin


class PartialSig(NamedTuple):
    """A signature as it would be pushed (DER, then the sighash type byte) and the key it claims to be from."""

    pubkey: bytes
    signature: bytes


class Preimage(NamedTuple):
    """A hash (``digest``) and the data that hashes to it; the parser has checked that it does."""

    digest: bytes
    preimage: bytes


class TapScriptSig(NamedTuple):
    pubkey: bytes  # x-only
    leaf_hash: bytes
    signature: bytes  # 64 bytes, or 65 with the sighash type


class TapLeafScript(NamedTuple):
    control_block: bytes
    script: bytes
    leaf_version: int


class TapBip32Derivation(NamedTuple):
    pubkey: bytes  # x-only
    leaf_hashes: tuple[bytes, ...]
    origin: KeyOrigin


class TapTreeLeaf(NamedTuple):
    depth: int
    leaf_version: int
    script: bytes


class ProprietaryField(NamedTuple):
    identifier: bytes
    subtype: int
    key_data: bytes
    value: bytes


class UnknownField(NamedTuple):
    """A field of a type this parser does not define, kept as it was: the whole key (type and key data) and value."""

    key: bytes
    value: bytes


class PsbtInput(NamedTuple):
    non_witness_utxo: Transaction | None = None
    non_witness_utxo_txid: bytes | None = None  # its txid (internal byte order), computed while parsing
    witness_utxo: TxOut | None = None
    partial_sigs: tuple[PartialSig, ...] = ()
    sighash_type: int | None = None
    redeem_script: bytes | None = None
    witness_script: bytes | None = None
    bip32_derivations: tuple[Bip32Derivation, ...] = ()
    final_script_sig: bytes | None = None
    final_script_witness: tuple[bytes, ...] | None = None
    por_commitment: str | None = None
    ripemd160_preimages: tuple[Preimage, ...] = ()
    sha256_preimages: tuple[Preimage, ...] = ()
    hash160_preimages: tuple[Preimage, ...] = ()
    hash256_preimages: tuple[Preimage, ...] = ()
    previous_txid: bytes | None = None  # version 2; internal byte order, like TxIn.prev_txid
    output_index: int | None = None  # version 2
    sequence: int | None = None  # version 2; absent means 0xffffffff
    required_time_locktime: int | None = None  # version 2
    required_height_locktime: int | None = None  # version 2
    tap_key_sig: bytes | None = None
    tap_script_sigs: tuple[TapScriptSig, ...] = ()
    tap_leaf_scripts: tuple[TapLeafScript, ...] = ()
    tap_bip32_derivations: tuple[TapBip32Derivation, ...] = ()
    tap_internal_key: bytes | None = None
    tap_merkle_root: bytes | None = None
    proprietary: tuple[ProprietaryField, ...] = ()
    unknown: tuple[UnknownField, ...] = ()


class PsbtOutput(NamedTuple):
    redeem_script: bytes | None = None
    witness_script: bytes | None = None
    bip32_derivations: tuple[Bip32Derivation, ...] = ()
    amount: int | None = None  # version 2
    script: bytes | None = None  # version 2
    tap_internal_key: bytes | None = None
    tap_tree: tuple[TapTreeLeaf, ...] | None = None
    tap_bip32_derivations: tuple[TapBip32Derivation, ...] = ()
    proprietary: tuple[ProprietaryField, ...] = ()
    unknown: tuple[UnknownField, ...] = ()


class Psbt(NamedTuple):
    """A parsed PSBT: the global map's fields, then one map per input and per output.

    ``unsigned_tx`` is set for version 0 only; a version 2 PSBT carries the transaction's parts in ``tx_version``,
    ``fallback_locktime``, ``input_count``, ``output_count`` and the per-input and per-output fields
    (``unsigned_transaction`` assembles them).
    """

    version: int
    unsigned_tx: Transaction | None
    tx_version: int | None
    fallback_locktime: int | None
    input_count: int | None
    output_count: int | None
    tx_modifiable: int | None
    xpubs: tuple[GlobalXpub, ...]
    proprietary: tuple[ProprietaryField, ...]
    unknown: tuple[UnknownField, ...]
    inputs: tuple[PsbtInput, ...]
    outputs: tuple[PsbtOutput, ...]
