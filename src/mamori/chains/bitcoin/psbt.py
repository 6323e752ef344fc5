"""Partially Signed Bitcoin Transactions, versions 0 (BIP-174) and 2 (BIP-370), parsed into frozen values.

``parse_psbt`` reads the binary format and refuses every malformed PSBT with a stable code and the place
(``input[1].PARTIAL_SIG``): bad magic, truncation, duplicate keys, a key or value of the wrong shape for its type,
an unsigned transaction with scriptSigs or in witness serialization, fields of the other version, missing required
fields, fewer maps than the transaction needs and bytes after the last map. Fields are checked as far as their
encoding goes (sizes, public key encodings, key origins, hash preimages, taproot trees); whether signatures
verify, scripts match and UTXOs are honest is the verification layer's job (``signatures.py``), which reports
rather than refuses. Public keys are checked for encoding and coordinate range here; a compressed key's point is
decompressed (and so proven on the curve) only where it is used, because that costs a square root per key.

Unknown and proprietary fields are kept, in order. ``decode_psbt_text`` accepts what people paste: base64 (the
usual form), hex, or the raw bytes.

The values are immutable NamedTuples rather than frozen dataclasses for speed (see ``transaction.py``).
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from hashlib import sha256
from typing import Any, NamedTuple

from mamori.chains.bitcoin.script import hash160, is_pubkey, is_xonly_pubkey, ripemd160
from mamori.chains.bitcoin.transaction import (
    LOCKTIME_THRESHOLD,
    SEQUENCE_FINAL,
    Transaction,
    TxIn,
    TxOut,
    read_witness_stack,
    sha256d,
)
from mamori.chains.bitcoin.transaction import parse_transaction as _parse_transaction
from mamori.chains.bitcoin.transaction import txid as _txid
from mamori.errors import DecodeError, MamoriError

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
# BIP-370: fields of version 2 only (version 0 must exclude them), and version 2's required fields.
_V2_ONLY_GLOBAL = frozenset({0x02, 0x03, 0x04, 0x05, 0x06})
_V2_ONLY_INPUT = frozenset({0x0E, 0x0F, 0x10, 0x11, 0x12})
_V2_ONLY_OUTPUT = frozenset({0x03, 0x04})
_PREIMAGE_HASHES = {
    0x0A: (20, ripemd160),
    0x0B: (32, lambda data: sha256(data).digest()),
    0x0C: (20, hash160),
    0x0D: (32, sha256d),
}
_MAX_TAP_TREE_DEPTH = 128
_PATH_FORMATS = tuple(struct.Struct(f"<{count}I") for count in range(16))  # BIP-32 paths of up to 15 steps
_HEX_TEXT = re.compile(r"(?:[0-9a-fA-F]{2})+")


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


# --- text forms ---------------------------------------------------------------------------------------------------


def decode_psbt_text(text: str | bytes) -> bytes:
    """The PSBT bytes behind what a user gives: raw binary (starts with ``psbt\\xff``), hex, or strict base64.

    Whitespace (line breaks of wrapped base64) is ignored. Whether the bytes are a PSBT is ``parse_psbt``'s call.
    """
    if isinstance(text, bytes | bytearray | memoryview):
        raw = bytes(text)
        if raw.startswith(MAGIC):
            return raw
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise DecodeError(
                "PSBT_ENCODING_INVALID", reason="binary data that does not start with the PSBT magic bytes"
            ) from None
    compact = "".join(text.split())
    if not compact:
        raise DecodeError("PSBT_ENCODING_INVALID", reason="the text is empty")
    if _HEX_TEXT.fullmatch(compact):
        return bytes.fromhex(compact)
    if not compact.isascii():
        raise DecodeError("PSBT_ENCODING_INVALID", reason="the text has characters outside base64 and hex")
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecodeError("PSBT_ENCODING_INVALID", reason=f"not hex, and not base64 ({exc})") from exc
    if base64.b64encode(decoded).decode("ascii") != compact:
        raise DecodeError("PSBT_ENCODING_INVALID", reason="base64 with non-zero padding bits (not canonical)")
    return decoded


def parse_psbt_text(text: str | bytes) -> Psbt:
    """``parse_psbt(decode_psbt_text(text))``."""
    return parse_psbt(decode_psbt_text(text))


# --- the parser ---------------------------------------------------------------------------------------------------


def parse_psbt(data: bytes) -> Psbt:
    """Parse a binary PSBT (version 0 or 2) that spans all of ``data``; raise DecodeError (PSBT_*) if malformed."""
    if type(data) is not bytes:
        data = bytes(data)
    if not data.startswith(MAGIC):
        raise DecodeError("PSBT_MAGIC_INVALID", found=data[:5].hex() or "(nothing)")
    end = len(data)
    header, pos = _parse_global(data, len(MAGIC), end)
    version = header.version
    unsigned_tx = header.unsigned_tx
    if unsigned_tx is not None:
        input_total, output_total = len(unsigned_tx.inputs), len(unsigned_tx.outputs)
    else:
        input_total, output_total = header.input_count or 0, header.output_count or 0
    inputs: list[PsbtInput] = []
    for index in range(input_total):
        if pos >= end:
            raise DecodeError("PSBT_COUNT_MISMATCH", kind="input", kind_ja="入力", found=index, expected=input_total)
        parsed_input, pos = _parse_input(data, pos, end, index, version)
        inputs.append(parsed_input)
    outputs: list[PsbtOutput] = []
    for index in range(output_total):
        if pos >= end:
            raise DecodeError("PSBT_COUNT_MISMATCH", kind="output", kind_ja="出力", found=index, expected=output_total)
        parsed_output, pos = _parse_output(data, pos, end, index, version)
        outputs.append(parsed_output)
    if pos != end:
        raise DecodeError("PSBT_TRAILING_DATA", count=end - pos)
    return Psbt(*header, inputs=tuple(inputs), outputs=tuple(outputs))


class _Global(NamedTuple):
    """The global map's fields, in the order of Psbt's."""

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


def _size(
    data: bytes,
    pos: int,
    end: int,
    where: str,
    what: str,
    *,
    truncated: str = "PSBT_TRUNCATED",
    non_minimal: str = "PSBT_VALUE_INVALID",
) -> tuple[int, int]:
    """The minimally encoded CompactSize at ``pos`` (ending by ``end``) and the offset after it.

    In the framing (key and value lengths) running out is PSBT_TRUNCATED; inside a key or value it makes that key or
    value invalid, and the caller says so with ``truncated``.
    """
    if pos >= end:
        raise DecodeError(truncated, where=where, reason=f"it ends where {what} should be")
    first = data[pos]
    if first < 0xFD:
        return first, pos + 1
    width = 2 if first == 0xFD else 4 if first == 0xFE else 8
    if pos + 1 + width > end:
        raise DecodeError(truncated, where=where, reason=f"it ends inside {what}")
    value = int.from_bytes(data[pos + 1 : pos + 1 + width], "little")
    if value < (0xFD if width == 2 else 0x10000 if width == 4 else 0x100000000):
        raise DecodeError(non_minimal, where=where, reason=f"{what} {value} is not minimally encoded")
    return value, pos + 1 + width


def _inner_size(data: bytes, pos: int, where: str, what: str, code: str) -> tuple[int, int]:
    """A CompactSize inside a key or value: running out, or a longer form than needed, makes it invalid."""
    return _size(data, pos, len(data), where, what, truncated=code, non_minimal=code)


def _read_map(data: bytes, pos: int, end: int, where: str) -> tuple[list[tuple[bytes, bytes]], int]:
    """The keys and values of the map at ``pos`` up to its 0x00 separator; return them and the offset after it."""
    pairs: list[tuple[bytes, bytes]] = []
    seen: set[bytes] = set()
    while True:
        if pos >= end:
            raise DecodeError("PSBT_TRUNCATED", where=where, reason="the map has no 0x00 separator")
        first = data[pos]
        if first == 0:
            return pairs, pos + 1
        if first < 0xFD:
            pos += 1
            key_end = pos + first
        else:
            length, pos = _size(data, pos, end, where, "the key length", non_minimal="PSBT_KEY_INVALID")
            key_end = pos + length
        if key_end > end:
            raise DecodeError("PSBT_TRUNCATED", where=where, reason="a key runs past the end of the data")
        key = data[pos:key_end]
        if key in seen:
            raise DecodeError("PSBT_KEY_DUPLICATE", where=_field_where(where, key), key=key.hex())
        seen.add(key)
        if key_end < end and data[key_end] < 0xFD:
            value_start = key_end + 1
            value_end = value_start + data[key_end]
        else:
            length, value_start = _size(data, key_end, end, _field_where(where, key), "the value length")
            value_end = value_start + length
        if value_end > end:
            raise DecodeError(
                "PSBT_TRUNCATED", where=_field_where(where, key), reason="the value runs past the end of the data"
            )
        pairs.append((key, data[value_start:value_end]))
        pos = value_end


def _field_where(where: str, key: bytes) -> str:
    names = GLOBAL_FIELDS if where == "global" else INPUT_FIELDS if where.startswith("input") else OUTPUT_FIELDS
    name = names.get(key[0]) if key and key[0] < 0xFD else None
    return f"{where}.{name}" if name else f"{where}.type 0x{key[:1].hex() or '00'}"


def _long_key_type(key: bytes, where: str) -> None:
    """Check the CompactSize key type of a key whose first byte is 0xfd-0xff (no defined type is that large)."""
    width = 2 if key[0] == 0xFD else 4 if key[0] == 0xFE else 8
    if len(key) < 1 + width:
        raise DecodeError("PSBT_KEY_INVALID", where=where, reason="the key type runs past the end of the key")
    value = int.from_bytes(key[1 : 1 + width], "little")
    if value < (0xFD if width == 2 else 0x10000 if width == 4 else 0x100000000):
        raise DecodeError("PSBT_KEY_INVALID", where=where, reason=f"the key type {value} is not minimally encoded")


def _no_key_data(key: bytes, where: str) -> None:
    if len(key) != 1:
        raise DecodeError(
            "PSBT_KEY_INVALID", where=where, reason=f"this type has no key data, found {len(key) - 1} byte(s)"
        )


def _fixed(value: bytes, size: int, where: str) -> bytes:
    if len(value) != size:
        raise DecodeError("PSBT_VALUE_INVALID", where=where, reason=f"must be {size} bytes, found {len(value)}")
    return value


def _uint32(value: bytes, where: str) -> int:
    return int.from_bytes(_fixed(value, 4, where), "little")


def _compact_value(value: bytes, where: str) -> int:
    """A value that is exactly one minimally encoded CompactSize (the version 2 input and output counts)."""
    count, end = _inner_size(value, 0, where, "the count", "PSBT_VALUE_INVALID")
    if end != len(value):
        raise DecodeError("PSBT_VALUE_INVALID", where=where, reason=f"{len(value) - end} byte(s) after the count")
    return count


def _key_origin(value: bytes, where: str, start: int = 0) -> KeyOrigin:
    size = len(value) - start
    if size < 4 or size & 3:
        raise DecodeError(
            "PSBT_VALUE_INVALID",
            where=where,
            reason=f"a key origin is a 4-byte fingerprint and 4-byte path indexes, not {size} bytes",
        )
    count = (size >> 2) - 1
    path = _PATH_FORMATS[count] if count < len(_PATH_FORMATS) else struct.Struct(f"<{count}I")
    return KeyOrigin(value[start : start + 4], path.unpack_from(value, start + 4))


def _pubkey_key(key: bytes, where: str) -> bytes:
    pubkey = key[1:]
    if not is_pubkey(pubkey):
        raise DecodeError(
            "PSBT_KEY_INVALID",
            where=where,
            reason=f"the key data must be a 33-byte compressed (02/03) or 65-byte uncompressed (04) public key, "
            f"found {len(pubkey)} byte(s) starting {pubkey[:1].hex() or 'with nothing'}",
        )
    return pubkey


def _xonly(data: bytes, where: str, part: str) -> bytes:
    if not is_xonly_pubkey(data):
        code = "PSBT_KEY_INVALID" if part == "key" else "PSBT_VALUE_INVALID"
        raise DecodeError(code, where=where, reason=f"must be a 32-byte x-only public key, found {len(data)} byte(s)")
    return data


def _txout(value: bytes, where: str) -> TxOut:
    if len(value) < 9:
        raise DecodeError(
            "PSBT_VALUE_INVALID", where=where, reason=f"an output takes at least 9 bytes, found {len(value)}"
        )
    length, start = _inner_size(value, 8, where, "the script length", "PSBT_VALUE_INVALID")
    if start + length != len(value):
        raise DecodeError(
            "PSBT_VALUE_INVALID", where=where, reason=f"the script is {length} bytes but {len(value) - start} follow"
        )
    return TxOut(int.from_bytes(value[:8], "little", signed=True), value[start:])


def _schnorr_signature(value: bytes, where: str) -> bytes:
    if len(value) not in (64, 65):
        raise DecodeError(
            "PSBT_VALUE_INVALID", where=where, reason=f"a Schnorr signature is 64 or 65 bytes, found {len(value)}"
        )
    return value


def _proprietary(key: bytes, value: bytes, where: str) -> ProprietaryField:
    length, pos = _inner_size(key, 1, where, "the identifier length", "PSBT_KEY_INVALID")
    if pos + length > len(key):
        raise DecodeError("PSBT_KEY_INVALID", where=where, reason="the identifier runs past the end of the key")
    identifier = key[pos : pos + length]
    subtype, pos = _inner_size(key, pos + length, where, "the subtype", "PSBT_KEY_INVALID")
    return ProprietaryField(identifier, subtype, key[pos:], value)


def _parse_global(data: bytes, pos: int, end: int) -> tuple[_Global, int]:  # noqa: PLR0915 - a branch per field type
    where = "global"
    pairs, pos = _read_map(data, pos, end, where)
    present: list[int] = []
    unsigned_tx: Transaction | None = None
    tx_version: int | None = None
    fallback_locktime: int | None = None
    input_count: int | None = None
    output_count: int | None = None
    tx_modifiable: int | None = None
    version = 0
    xpubs: list[GlobalXpub] = []
    proprietary: list[ProprietaryField] = []
    unknown: list[UnknownField] = []
    for key, value in pairs:
        key_type = key[0]
        if key_type >= 0xFD:
            _long_key_type(key, _field_where(where, key))
            unknown.append(UnknownField(key, value))
            continue
        name = GLOBAL_FIELDS.get(key_type)
        if name is None:
            unknown.append(UnknownField(key, value))
            continue
        field = f"{where}.{name}"
        present.append(key_type)
        if key_type == 0x00:
            _no_key_data(key, field)
            unsigned_tx = _unsigned_tx(value)
        elif key_type == 0x01:
            if len(key) != 79:
                raise DecodeError(
                    "PSBT_KEY_INVALID",
                    where=field,
                    reason=f"the key data must be a 78-byte serialized extended key, found {len(key) - 1} bytes",
                )
            xpubs.append(GlobalXpub(key[1:], _key_origin(value, field)))
        elif key_type == 0x02:
            _no_key_data(key, field)
            tx_version = int.from_bytes(_fixed(value, 4, field), "little", signed=True)
        elif key_type == 0x03:
            _no_key_data(key, field)
            fallback_locktime = _uint32(value, field)
        elif key_type == 0x04:
            _no_key_data(key, field)
            input_count = _compact_value(value, field)
        elif key_type == 0x05:
            _no_key_data(key, field)
            output_count = _compact_value(value, field)
        elif key_type == 0x06:
            _no_key_data(key, field)
            tx_modifiable = _fixed(value, 1, field)[0]
        elif key_type == 0xFB:
            _no_key_data(key, field)
            version = _uint32(value, field)
        else:  # 0xFC
            proprietary.append(_proprietary(key, value, field))
    if version not in (0, 2):
        raise DecodeError("PSBT_VERSION_UNSUPPORTED", version=version)
    if version == 0:
        for key_type in present:
            if key_type in _V2_ONLY_GLOBAL:
                raise DecodeError("PSBT_FIELD_NOT_ALLOWED", where=f"global.{GLOBAL_FIELDS[key_type]}", version=0)
        if unsigned_tx is None:
            raise DecodeError("PSBT_UNSIGNED_TX_INVALID", reason="a version 0 PSBT must have PSBT_GLOBAL_UNSIGNED_TX")
    else:
        if unsigned_tx is not None:
            raise DecodeError("PSBT_FIELD_NOT_ALLOWED", where="global.UNSIGNED_TX", version=2)
        for required, name in (
            (tx_version, "TX_VERSION"),
            (input_count, "INPUT_COUNT"),
            (output_count, "OUTPUT_COUNT"),
        ):
            if required is None:
                raise DecodeError("PSBT_FIELD_MISSING", where=f"global.{name}", version=2)
    header = _Global(
        version,
        unsigned_tx,
        tx_version,
        fallback_locktime,
        input_count,
        output_count,
        tx_modifiable,
        tuple(xpubs),
        tuple(proprietary),
        tuple(unknown),
    )
    return header, pos


def _unsigned_tx(value: bytes) -> Transaction:
    try:
        tx = _parse_transaction(value, witness=False)
    except MamoriError as exc:
        raise DecodeError("PSBT_UNSIGNED_TX_INVALID", reason=exc.message_en) from exc
    for index, txin in enumerate(tx.inputs):
        if txin.script_sig:
            raise DecodeError("PSBT_UNSIGNED_TX_INVALID", reason=f"input {index} has a scriptSig; it must be empty")
    return tx


def _parse_input(data: bytes, pos: int, end: int, index: int, version: int) -> tuple[PsbtInput, int]:  # noqa: PLR0915 - a branch per field type
    where = f"input[{index}]"
    pairs, pos = _read_map(data, pos, end, where)
    fields: dict[str, Any] = {}
    partial_sigs: list[PartialSig] = []
    derivations: list[Bip32Derivation] = []
    preimages: dict[int, list[Preimage]] = {}
    tap_script_sigs: list[TapScriptSig] = []
    tap_leaf_scripts: list[TapLeafScript] = []
    tap_derivations: list[TapBip32Derivation] = []
    proprietary: list[ProprietaryField] = []
    unknown: list[UnknownField] = []
    for key, value in pairs:
        key_type = key[0]
        if key_type >= 0xFD:
            _long_key_type(key, _field_where(where, key))
            unknown.append(UnknownField(key, value))
            continue
        name = INPUT_FIELDS.get(key_type)
        if name is None:
            unknown.append(UnknownField(key, value))
            continue
        field = f"{where}.{name}"
        if version == 0 and key_type in _V2_ONLY_INPUT:
            raise DecodeError("PSBT_FIELD_NOT_ALLOWED", where=field, version=0)
        if key_type == 0x01:
            _no_key_data(key, field)
            fields["witness_utxo"] = _txout(value, field)
        elif key_type == 0x00:
            _no_key_data(key, field)
            try:
                previous = _parse_transaction(value)
            except MamoriError as exc:
                raise DecodeError("PSBT_VALUE_INVALID", where=field, reason=exc.message_en) from exc
            fields["non_witness_utxo"] = previous
            # Without witnesses the value is the txid's preimage as is: hashing it saves a serialization.
            fields["non_witness_utxo_txid"] = _txid(previous) if previous.has_witness else sha256d(value)
        elif key_type == 0x02:
            partial_sigs.append(PartialSig(_pubkey_key(key, field), value))
        elif key_type == 0x06:
            derivations.append(Bip32Derivation(_pubkey_key(key, field), _key_origin(value, field)))
        elif key_type == 0x05:
            _no_key_data(key, field)
            fields["witness_script"] = value
        elif key_type == 0x04:
            _no_key_data(key, field)
            fields["redeem_script"] = value
        elif key_type == 0x03:
            _no_key_data(key, field)
            fields["sighash_type"] = _uint32(value, field)
        elif key_type == 0x07:
            _no_key_data(key, field)
            fields["final_script_sig"] = value
        elif key_type == 0x08:
            _no_key_data(key, field)
            fields["final_script_witness"] = _witness(value, field)
        elif key_type == 0x09:
            _no_key_data(key, field)
            try:
                fields["por_commitment"] = value.decode("utf-8")
            except UnicodeDecodeError:
                raise DecodeError("PSBT_VALUE_INVALID", where=field, reason="not UTF-8 text") from None
        elif key_type in _PREIMAGE_HASHES:
            size, hash_function = _PREIMAGE_HASHES[key_type]
            if len(key) != 1 + size:
                raise DecodeError(
                    "PSBT_KEY_INVALID",
                    where=field,
                    reason=f"the key data must be a {size}-byte hash, found {len(key) - 1}",
                )
            if hash_function(value) != key[1:]:
                raise DecodeError("PSBT_VALUE_INVALID", where=field, reason="the preimage does not hash to the key")
            preimages.setdefault(key_type, []).append(Preimage(key[1:], value))
        elif key_type == 0x0E:
            _no_key_data(key, field)
            fields["previous_txid"] = _fixed(value, 32, field)
        elif key_type == 0x0F:
            _no_key_data(key, field)
            fields["output_index"] = _uint32(value, field)
        elif key_type == 0x10:
            _no_key_data(key, field)
            fields["sequence"] = _uint32(value, field)
        elif key_type == 0x11:
            _no_key_data(key, field)
            locktime = _uint32(value, field)
            if locktime < LOCKTIME_THRESHOLD:
                raise DecodeError(
                    "PSBT_VALUE_INVALID",
                    where=field,
                    reason=f"a time lock must be at least 500000000, found {locktime}",
                )
            fields["required_time_locktime"] = locktime
        elif key_type == 0x12:
            _no_key_data(key, field)
            locktime = _uint32(value, field)
            if not 0 < locktime < LOCKTIME_THRESHOLD:
                raise DecodeError(
                    "PSBT_VALUE_INVALID",
                    where=field,
                    reason=f"a height lock must be above 0 and below 500000000, found {locktime}",
                )
            fields["required_height_locktime"] = locktime
        elif key_type == 0x13:
            _no_key_data(key, field)
            fields["tap_key_sig"] = _schnorr_signature(value, field)
        elif key_type == 0x14:
            if len(key) != 65:
                raise DecodeError(
                    "PSBT_KEY_INVALID",
                    where=field,
                    reason=f"the key data must be an x-only key and a leaf hash (64 bytes), found {len(key) - 1}",
                )
            tap_script_sigs.append(
                TapScriptSig(_xonly(key[1:33], field, "key"), key[33:], _schnorr_signature(value, field))
            )
        elif key_type == 0x15:
            tap_leaf_scripts.append(_tap_leaf_script(key, value, field))
        elif key_type == 0x16:
            tap_derivations.append(_tap_derivation(key, value, field))
        elif key_type == 0x17:
            _no_key_data(key, field)
            fields["tap_internal_key"] = _xonly(value, field, "value")
        elif key_type == 0x18:
            _no_key_data(key, field)
            fields["tap_merkle_root"] = _fixed(value, 32, field)
        else:  # 0xFC
            proprietary.append(_proprietary(key, value, field))
    if version == 2:
        for required, name in (("previous_txid", "PREVIOUS_TXID"), ("output_index", "OUTPUT_INDEX")):
            if required not in fields:
                raise DecodeError("PSBT_FIELD_MISSING", where=f"{where}.{name}", version=2)
    return (
        PsbtInput(
            partial_sigs=tuple(partial_sigs),
            bip32_derivations=tuple(derivations),
            ripemd160_preimages=tuple(preimages.get(0x0A, ())),
            sha256_preimages=tuple(preimages.get(0x0B, ())),
            hash160_preimages=tuple(preimages.get(0x0C, ())),
            hash256_preimages=tuple(preimages.get(0x0D, ())),
            tap_script_sigs=tuple(tap_script_sigs),
            tap_leaf_scripts=tuple(tap_leaf_scripts),
            tap_bip32_derivations=tuple(tap_derivations),
            proprietary=tuple(proprietary),
            unknown=tuple(unknown),
            **fields,
        ),
        pos,
    )


def _witness(value: bytes, where: str) -> tuple[bytes, ...]:
    try:
        stack, end = read_witness_stack(value, 0, len(value))
    except MamoriError as exc:
        raise DecodeError("PSBT_VALUE_INVALID", where=where, reason=exc.message_en) from exc
    if end != len(value):
        raise DecodeError("PSBT_VALUE_INVALID", where=where, reason=f"{len(value) - end} byte(s) after the witness")
    return stack


def _tap_leaf_script(key: bytes, value: bytes, where: str) -> TapLeafScript:
    control = key[1:]
    if len(control) < 33 or (len(control) - 33) % 32 or (len(control) - 33) // 32 > _MAX_TAP_TREE_DEPTH:
        raise DecodeError(
            "PSBT_KEY_INVALID",
            where=where,
            reason=f"a control block is 33 bytes and up to 128 32-byte hashes, not {len(control)} bytes",
        )
    if not value:
        raise DecodeError("PSBT_VALUE_INVALID", where=where, reason="the value must end with the leaf version")
    return TapLeafScript(control, value[:-1], value[-1])


def _tap_derivation(key: bytes, value: bytes, where: str) -> TapBip32Derivation:
    pubkey = _xonly(key[1:], where, "key")
    count, pos = _inner_size(value, 0, where, "the leaf hash count", "PSBT_VALUE_INVALID")
    if pos + 32 * count > len(value):
        raise DecodeError("PSBT_VALUE_INVALID", where=where, reason=f"{count} leaf hashes do not fit in the value")
    hashes = tuple(value[start : start + 32] for start in range(pos, pos + 32 * count, 32))
    return TapBip32Derivation(pubkey, hashes, _key_origin(value, where, pos + 32 * count))


def _tap_tree(value: bytes, where: str) -> tuple[TapTreeLeaf, ...]:
    """PSBT_OUT_TAP_TREE: leaves in depth-first order, each (depth, leaf version, script); the tree must be complete."""
    leaves: list[TapTreeLeaf] = []
    pending: list[int] = []  # depths of the subtrees not yet joined, as a Taproot builder keeps them
    pos = 0
    size = len(value)
    while pos < size:
        if pos + 2 > size:
            raise DecodeError("PSBT_VALUE_INVALID", where=where, reason="a leaf is cut after its depth")
        depth, leaf_version = value[pos], value[pos + 1]
        if depth > _MAX_TAP_TREE_DEPTH:
            raise DecodeError("PSBT_VALUE_INVALID", where=where, reason=f"a leaf depth of {depth} is above 128")
        if leaf_version & 1:
            raise DecodeError("PSBT_VALUE_INVALID", where=where, reason=f"leaf version 0x{leaf_version:02x} is odd")
        length, start = _inner_size(value, pos + 2, where, "a leaf script length", "PSBT_VALUE_INVALID")
        if start + length > size:
            raise DecodeError("PSBT_VALUE_INVALID", where=where, reason="a leaf script runs past the end")
        leaves.append(TapTreeLeaf(depth, leaf_version, value[start : start + length]))
        pos = start + length
        if pending and pending[-1] == 0:
            raise DecodeError("PSBT_VALUE_INVALID", where=where, reason="a leaf follows a complete tree")
        pending.append(depth)
        while len(pending) >= 2 and pending[-1] == pending[-2]:
            pending.pop()
            pending[-1] -= 1
    if pending != [0]:
        raise DecodeError("PSBT_VALUE_INVALID", where=where, reason="the leaves do not form a complete binary tree")
    return tuple(leaves)


def _parse_output(data: bytes, pos: int, end: int, index: int, version: int) -> tuple[PsbtOutput, int]:
    where = f"output[{index}]"
    pairs, pos = _read_map(data, pos, end, where)
    fields: dict[str, Any] = {}
    derivations: list[Bip32Derivation] = []
    tap_derivations: list[TapBip32Derivation] = []
    proprietary: list[ProprietaryField] = []
    unknown: list[UnknownField] = []
    for key, value in pairs:
        key_type = key[0]
        if key_type >= 0xFD:
            _long_key_type(key, _field_where(where, key))
            unknown.append(UnknownField(key, value))
            continue
        name = OUTPUT_FIELDS.get(key_type)
        if name is None:
            unknown.append(UnknownField(key, value))
            continue
        field = f"{where}.{name}"
        if version == 0 and key_type in _V2_ONLY_OUTPUT:
            raise DecodeError("PSBT_FIELD_NOT_ALLOWED", where=field, version=0)
        if key_type == 0x02:
            derivations.append(Bip32Derivation(_pubkey_key(key, field), _key_origin(value, field)))
        elif key_type == 0x01:
            _no_key_data(key, field)
            fields["witness_script"] = value
        elif key_type == 0x00:
            _no_key_data(key, field)
            fields["redeem_script"] = value
        elif key_type == 0x03:
            _no_key_data(key, field)
            fields["amount"] = int.from_bytes(_fixed(value, 8, field), "little", signed=True)
        elif key_type == 0x04:
            _no_key_data(key, field)
            fields["script"] = value
        elif key_type == 0x05:
            _no_key_data(key, field)
            fields["tap_internal_key"] = _xonly(value, field, "value")
        elif key_type == 0x06:
            _no_key_data(key, field)
            fields["tap_tree"] = _tap_tree(value, field)
        elif key_type == 0x07:
            tap_derivations.append(_tap_derivation(key, value, field))
        else:  # 0xFC
            proprietary.append(_proprietary(key, value, field))
    if version == 2:
        for required, name in (("amount", "AMOUNT"), ("script", "SCRIPT")):
            if required not in fields:
                raise DecodeError("PSBT_FIELD_MISSING", where=f"{where}.{name}", version=2)
    return (
        PsbtOutput(
            bip32_derivations=tuple(derivations),
            tap_bip32_derivations=tuple(tap_derivations),
            proprietary=tuple(proprietary),
            unknown=tuple(unknown),
            **fields,
        ),
        pos,
    )


# --- what the PSBT describes --------------------------------------------------------------------------------------


def locktime(psbt: Psbt) -> int:
    """The transaction's nLockTime: version 0's unsigned transaction's; for version 2 as BIP-370 determines it.

    Raises PSBT_LOCKTIME_CONFLICT when some input requires a height and another a time and none takes both.
    """
    if psbt.unsigned_tx is not None:
        return psbt.unsigned_tx.locktime
    heights = [txin.required_height_locktime for txin in psbt.inputs]
    times = [txin.required_time_locktime for txin in psbt.inputs]
    if all(height is None for height in heights) and all(time is None for time in times):
        return psbt.fallback_locktime or 0
    # An input that names one kind only rules the other kind out; one that names none or both takes either.
    height_possible = all(height is not None or time is None for height, time in zip(heights, times, strict=True))
    time_possible = all(time is not None or height is None for height, time in zip(heights, times, strict=True))
    if height_possible:  # preferred when both are possible (BIP-370)
        return max(height for height in heights if height is not None)
    if time_possible:
        return max(time for time in times if time is not None)
    raise DecodeError(
        "PSBT_LOCKTIME_CONFLICT",
        reason="one input requires a block height only and another a time only",
    )


def unsigned_transaction(psbt: Psbt) -> Transaction:
    """The transaction the signers sign: version 0's unsigned transaction, or assembled from version 2's fields."""
    if psbt.unsigned_tx is not None:
        return psbt.unsigned_tx
    return _assemble(psbt, sequences_zero=False)


def unsigned_txid(psbt: Psbt) -> bytes:
    """The PSBT's identifier (internal byte order): its unsigned transaction's txid.

    For version 2 this is BIP-370's unique identification, in which every sequence is set to 0 (sequences may still
    change); the txid of the transaction being signed is ``txid(unsigned_transaction(psbt))``.
    """
    if psbt.unsigned_tx is not None:
        return _txid(psbt.unsigned_tx)
    return _txid(_assemble(psbt, sequences_zero=True))


def _assemble(psbt: Psbt, *, sequences_zero: bool) -> Transaction:
    inputs = tuple(
        TxIn(
            txin.previous_txid or bytes(32),
            txin.output_index or 0,
            b"",
            0 if sequences_zero else SEQUENCE_FINAL if txin.sequence is None else txin.sequence,
        )
        for txin in psbt.inputs
    )
    outputs = tuple(TxOut(txout.amount or 0, txout.script or b"") for txout in psbt.outputs)
    return Transaction(psbt.tx_version or 0, inputs, outputs, locktime(psbt))


def extract_transaction(psbt: Psbt) -> Transaction:
    """BIP-174's Extractor: the network transaction of a PSBT whose every input has a final scriptSig or witness."""
    tx = unsigned_transaction(psbt)
    inputs: list[TxIn] = []
    for index, (txin, fields) in enumerate(zip(tx.inputs, psbt.inputs, strict=True)):
        if fields.final_script_sig is None and fields.final_script_witness is None:
            raise DecodeError("PSBT_INPUT_NOT_FINAL", index=index)
        inputs.append(
            TxIn(
                txin.prev_txid,
                txin.vout,
                fields.final_script_sig or b"",
                txin.sequence,
                fields.final_script_witness or (),
            )
        )
    return Transaction(tx.version, tuple(inputs), tx.outputs, tx.locktime)
