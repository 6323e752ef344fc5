"""Partially Signed Bitcoin Transactions, versions 0 (BIP-174) and 2 (BIP-370), parsed into frozen values.

``parse_psbt`` reads the binary format and refuses every malformed PSBT with a stable code and the place
(``input[1].PARTIAL_SIG``): bad magic, truncation, duplicate keys, a key or value of the wrong shape for its type,
an unsigned transaction with scriptSigs or in witness serialization, fields of the other version, missing required
fields, fewer maps than the transaction needs and bytes after the last map. Fields are checked as far as their
encoding goes (sizes, public key encodings, key origins, hash preimages, taproot trees); whether signatures
verify, scripts match and UTXOs are honest is the verification layer's job (``signatures``), which reports
rather than refuses. Public keys are checked for encoding and coordinate range here; a compressed key's point is
decompressed (and so proven on the curve) only where it is used, because that costs a square root per key.

Unknown and proprietary fields are kept, in order. ``decode_psbt_text`` accepts what people paste: base64 (the
usual form), hex, or the raw bytes.

Modules: ``model`` (the values), ``parse`` (the global and output maps, text forms), ``parse_input`` (input maps),
``fields`` (framing and the shapes of keys and values), ``assemble`` (lock time, unsigned and final transactions).
"""

from __future__ import annotations

from mamori.chains.bitcoin.psbt.assemble import extract_transaction, locktime, unsigned_transaction, unsigned_txid
from mamori.chains.bitcoin.psbt.model import (
    GLOBAL_FIELDS,
    INPUT_FIELDS,
    MAGIC,
    OUTPUT_FIELDS,
    Bip32Derivation,
    GlobalXpub,
    KeyOrigin,
    PartialSig,
    Preimage,
    ProprietaryField,
    Psbt,
    PsbtInput,
    PsbtOutput,
    TapBip32Derivation,
    TapLeafScript,
    TapScriptSig,
    TapTreeLeaf,
    UnknownField,
)
from mamori.chains.bitcoin.psbt.parse import decode_psbt_text, parse_psbt, parse_psbt_text

__all__ = [
    "GLOBAL_FIELDS",
    "INPUT_FIELDS",
    "MAGIC",
    "OUTPUT_FIELDS",
    "Bip32Derivation",
    "GlobalXpub",
    "KeyOrigin",
    "PartialSig",
    "Preimage",
    "ProprietaryField",
    "Psbt",
    "PsbtInput",
    "PsbtOutput",
    "TapBip32Derivation",
    "TapLeafScript",
    "TapScriptSig",
    "TapTreeLeaf",
    "UnknownField",
    "decode_psbt_text",
    "extract_transaction",
    "locktime",
    "parse_psbt",
    "parse_psbt_text",
    "unsigned_transaction",
    "unsigned_txid",
]
