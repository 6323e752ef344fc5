"""An input map of a PSBT (BIP-174 and BIP-370 input fields), parsed field by field."""

from __future__ import annotations

from hashlib import sha256
from typing import Any

from mamori.chains.bitcoin.psbt.fields import (
    MAX_TAP_TREE_DEPTH,
    fixed_size,
    inner_compact_size,
    key_origin,
    known_fields,
    no_key_data,
    proprietary_field,
    pubkey_from_key,
    read_map,
    schnorr_signature,
    txout_value,
    uint32_value,
    xonly_key,
)
from mamori.chains.bitcoin.psbt.model import (
    INPUT_FIELDS,
    Bip32Derivation,
    PartialSig,
    Preimage,
    ProprietaryField,
    PsbtInput,
    TapBip32Derivation,
    TapLeafScript,
    TapScriptSig,
    UnknownField,
)
from mamori.chains.bitcoin.script import hash160, ripemd160
from mamori.chains.bitcoin.transaction import LOCKTIME_THRESHOLD, read_witness_stack, sha256d
from mamori.chains.bitcoin.transaction import parse_transaction as _parse_transaction
from mamori.chains.bitcoin.transaction import txid as _txid
from mamori.errors import DecodeError, MamoriError

# BIP-370: input fields of version 2 only (version 0 must exclude them).
_V2_ONLY_INPUT = frozenset({0x0E, 0x0F, 0x10, 0x11, 0x12})
_PREIMAGE_HASHES = {
    0x0A: (20, ripemd160),
    0x0B: (32, lambda data: sha256(data).digest()),
    0x0C: (20, hash160),
    0x0D: (32, sha256d),
}


def parse_input(data: bytes, pos: int, end: int, index: int, version: int) -> tuple[PsbtInput, int]:  # noqa: PLR0915 - a branch per field type
    where = f"input[{index}]"
    pairs, pos = read_map(data, pos, end, where)
    fields: dict[str, Any] = {}
    partial_sigs: list[PartialSig] = []
    derivations: list[Bip32Derivation] = []
    preimages: dict[int, list[Preimage]] = {}
    tap_script_sigs: list[TapScriptSig] = []
    tap_leaf_scripts: list[TapLeafScript] = []
    tap_derivations: list[TapBip32Derivation] = []
    proprietary: list[ProprietaryField] = []
    unknown: list[UnknownField] = []
    for key_type, key, value, field in known_fields(pairs, where, INPUT_FIELDS, unknown):
        if version == 0 and key_type in _V2_ONLY_INPUT:
            raise DecodeError("PSBT_FIELD_NOT_ALLOWED", where=field, version=0)
        if key_type == 0x01:
            no_key_data(key, field)
            fields["witness_utxo"] = txout_value(value, field)
        elif key_type == 0x00:
            no_key_data(key, field)
            try:
                previous = _parse_transaction(value)
            except MamoriError as exc:
                raise DecodeError("PSBT_VALUE_INVALID", where=field, reason=exc.message_en) from exc
            fields["non_witness_utxo"] = previous
            # Without witnesses the value is the txid's preimage as is: hashing it saves a serialization.
            fields["non_witness_utxo_txid"] = _txid(previous) if previous.has_witness else sha256d(value)
        elif key_type == 0x02:
            partial_sigs.append(PartialSig(pubkey_from_key(key, field), value))
        elif key_type == 0x06:
            derivations.append(Bip32Derivation(pubkey_from_key(key, field), key_origin(value, field)))
        elif key_type == 0x05:
            no_key_data(key, field)
            fields["witness_script"] = value
        elif key_type == 0x04:
            no_key_data(key, field)
            fields["redeem_script"] = value
        elif key_type == 0x03:
            no_key_data(key, field)
            fields["sighash_type"] = uint32_value(value, field)
        elif key_type == 0x07:
            no_key_data(key, field)
            fields["final_script_sig"] = value
        elif key_type == 0x08:
            no_key_data(key, field)
            fields["final_script_witness"] = _witness(value, field)
        elif key_type == 0x09:
            no_key_data(key, field)
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
            no_key_data(key, field)
            fields["previous_txid"] = fixed_size(value, 32, field)
        elif key_type == 0x0F:
            no_key_data(key, field)
            fields["output_index"] = uint32_value(value, field)
        elif key_type == 0x10:
            no_key_data(key, field)
            fields["sequence"] = uint32_value(value, field)
        elif key_type == 0x11:
            no_key_data(key, field)
            locktime = uint32_value(value, field)
            if locktime < LOCKTIME_THRESHOLD:
                raise DecodeError(
                    "PSBT_VALUE_INVALID",
                    where=field,
                    reason=f"a time lock must be at least 500000000, found {locktime}",
                )
            fields["required_time_locktime"] = locktime
        elif key_type == 0x12:
            no_key_data(key, field)
            locktime = uint32_value(value, field)
            if not 0 < locktime < LOCKTIME_THRESHOLD:
                raise DecodeError(
                    "PSBT_VALUE_INVALID",
                    where=field,
                    reason=f"a height lock must be above 0 and below 500000000, found {locktime}",
                )
            fields["required_height_locktime"] = locktime
        elif key_type == 0x13:
            no_key_data(key, field)
            fields["tap_key_sig"] = schnorr_signature(value, field)
        elif key_type == 0x14:
            if len(key) != 65:
                raise DecodeError(
                    "PSBT_KEY_INVALID",
                    where=field,
                    reason=f"the key data must be an x-only key and a leaf hash (64 bytes), found {len(key) - 1}",
                )
            tap_script_sigs.append(
                TapScriptSig(xonly_key(key[1:33], field, "key"), key[33:], schnorr_signature(value, field))
            )
        elif key_type == 0x15:
            tap_leaf_scripts.append(_tap_leaf_script(key, value, field))
        elif key_type == 0x16:
            tap_derivations.append(tap_derivation(key, value, field))
        elif key_type == 0x17:
            no_key_data(key, field)
            fields["tap_internal_key"] = xonly_key(value, field, "value")
        elif key_type == 0x18:
            no_key_data(key, field)
            fields["tap_merkle_root"] = fixed_size(value, 32, field)
        else:  # 0xFC
            proprietary.append(proprietary_field(key, value, field))
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
    if len(control) < 33 or (len(control) - 33) % 32 or (len(control) - 33) // 32 > MAX_TAP_TREE_DEPTH:
        raise DecodeError(
            "PSBT_KEY_INVALID",
            where=where,
            reason=f"a control block is 33 bytes and up to 128 32-byte hashes, not {len(control)} bytes",
        )
    if not value:
        raise DecodeError("PSBT_VALUE_INVALID", where=where, reason="the value must end with the leaf version")
    return TapLeafScript(control, value[:-1], value[-1])


def tap_derivation(key: bytes, value: bytes, where: str) -> TapBip32Derivation:
    pubkey = xonly_key(key[1:], where, "key")
    count, pos = inner_compact_size(value, 0, where, "the leaf hash count", "PSBT_VALUE_INVALID")
    if pos + 32 * count > len(value):
        raise DecodeError("PSBT_VALUE_INVALID", where=where, reason=f"{count} leaf hashes do not fit in the value")
    hashes = tuple(value[start : start + 32] for start in range(pos, pos + 32 * count, 32))
    return TapBip32Derivation(pubkey, hashes, key_origin(value, where, pos + 32 * count))
