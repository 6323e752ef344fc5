"""``parse_psbt``: a binary PSBT (version 0 or 2) read whole — magic, global map, one map per input and output,
nothing after — and ``decode_psbt_text`` for what people paste (base64, hex or raw bytes)."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from mamori.chains.bitcoin.psbt.fields import (
    MAX_TAP_TREE_DEPTH,
    compact_value,
    fixed_size,
    inner_compact_size,
    key_origin,
    known_fields,
    no_key_data,
    proprietary_field,
    pubkey_from_key,
    read_map,
    uint32_value,
    xonly_key,
)
from mamori.chains.bitcoin.psbt.model import (
    GLOBAL_FIELDS,
    MAGIC,
    OUTPUT_FIELDS,
    Bip32Derivation,
    GlobalXpub,
    ProprietaryField,
    Psbt,
    PsbtInput,
    PsbtOutput,
    TapBip32Derivation,
    TapTreeLeaf,
    UnknownField,
)
from mamori.chains.bitcoin.psbt.parse_input import parse_input, tap_derivation
from mamori.chains.bitcoin.transaction import Transaction
from mamori.chains.bitcoin.transaction import parse_transaction as _parse_transaction
from mamori.errors import DecodeError, MamoriError

_HEX_TEXT = re.compile(r"(?:[0-9a-fA-F]{2})+")
# BIP-370: fields of version 2 only (version 0 must exclude them).
_V2_ONLY_GLOBAL = frozenset({0x02, 0x03, 0x04, 0x05, 0x06})
_V2_ONLY_OUTPUT = frozenset({0x03, 0x04})


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
        parsed_input, pos = parse_input(data, pos, end, index, version)
        inputs.append(parsed_input)
    outputs: list[PsbtOutput] = []
    for index in range(output_total):
        if pos >= end:
            raise DecodeError("PSBT_COUNT_MISMATCH", kind="output", kind_ja="出力", found=index, expected=output_total)
        parsed_output, pos = _parse_output(data, pos, end, index, version)
        outputs.append(parsed_output)
    if pos != end:
        raise DecodeError("PSBT_TRAILING_DATA", count=end - pos)
    return header._replace(inputs=tuple(inputs), outputs=tuple(outputs))


def _parse_global(data: bytes, pos: int, end: int) -> tuple[Psbt, int]:  # noqa: PLR0915 - a branch per field type
    """The global map, as a Psbt whose inputs and outputs are still to be read."""
    where = "global"
    pairs, pos = read_map(data, pos, end, where)
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
    for key_type, key, value, field in known_fields(pairs, where, GLOBAL_FIELDS, unknown):
        present.append(key_type)
        if key_type == 0x00:
            no_key_data(key, field)
            unsigned_tx = _unsigned_tx(value)
        elif key_type == 0x01:
            if len(key) != 79:
                raise DecodeError(
                    "PSBT_KEY_INVALID",
                    where=field,
                    reason=f"the key data must be a 78-byte serialized extended key, found {len(key) - 1} bytes",
                )
            xpubs.append(GlobalXpub(key[1:], key_origin(value, field)))
        elif key_type == 0x02:
            no_key_data(key, field)
            tx_version = int.from_bytes(fixed_size(value, 4, field), "little", signed=True)
        elif key_type == 0x03:
            no_key_data(key, field)
            fallback_locktime = uint32_value(value, field)
        elif key_type == 0x04:
            no_key_data(key, field)
            input_count = compact_value(value, field)
        elif key_type == 0x05:
            no_key_data(key, field)
            output_count = compact_value(value, field)
        elif key_type == 0x06:
            no_key_data(key, field)
            tx_modifiable = fixed_size(value, 1, field)[0]
        elif key_type == 0xFB:
            no_key_data(key, field)
            version = uint32_value(value, field)
        else:  # 0xFC
            proprietary.append(proprietary_field(key, value, field))
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
    header = Psbt(
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
        inputs=(),
        outputs=(),
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
        if depth > MAX_TAP_TREE_DEPTH:
            raise DecodeError("PSBT_VALUE_INVALID", where=where, reason=f"a leaf depth of {depth} is above 128")
        if leaf_version & 1:
            raise DecodeError("PSBT_VALUE_INVALID", where=where, reason=f"leaf version 0x{leaf_version:02x} is odd")
        length, start = inner_compact_size(value, pos + 2, where, "a leaf script length", "PSBT_VALUE_INVALID")
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
    pairs, pos = read_map(data, pos, end, where)
    fields: dict[str, Any] = {}
    derivations: list[Bip32Derivation] = []
    tap_derivations: list[TapBip32Derivation] = []
    proprietary: list[ProprietaryField] = []
    unknown: list[UnknownField] = []
    for key_type, key, value, field in known_fields(pairs, where, OUTPUT_FIELDS, unknown):
        if version == 0 and key_type in _V2_ONLY_OUTPUT:
            raise DecodeError("PSBT_FIELD_NOT_ALLOWED", where=field, version=0)
        if key_type == 0x02:
            derivations.append(Bip32Derivation(pubkey_from_key(key, field), key_origin(value, field)))
        elif key_type == 0x01:
            no_key_data(key, field)
            fields["witness_script"] = value
        elif key_type == 0x00:
            no_key_data(key, field)
            fields["redeem_script"] = value
        elif key_type == 0x03:
            no_key_data(key, field)
            fields["amount"] = int.from_bytes(fixed_size(value, 8, field), "little", signed=True)
        elif key_type == 0x04:
            no_key_data(key, field)
            fields["script"] = value
        elif key_type == 0x05:
            no_key_data(key, field)
            fields["tap_internal_key"] = xonly_key(value, field, "value")
        elif key_type == 0x06:
            no_key_data(key, field)
            fields["tap_tree"] = _tap_tree(value, field)
        elif key_type == 0x07:
            tap_derivations.append(tap_derivation(key, value, field))
        else:  # 0xFC
            proprietary.append(proprietary_field(key, value, field))
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
