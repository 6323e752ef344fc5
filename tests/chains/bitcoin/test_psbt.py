"""PSBT parsing: every BIP-174 and BIP-370 vector, each invalid one refused for the reason its BIP gives."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from chains.bitcoin.builders import (
    SHARED_BIP174,
    build_psbt,
    key_origin,
    load,
    load_bip174,
    psbt_v0,
    witness_utxo,
)
from mamori.chains.bitcoin.psbt import (
    KeyOrigin,
    Psbt,
    decode_psbt_text,
    extract_transaction,
    locktime,
    parse_psbt,
    parse_psbt_text,
    unsigned_transaction,
    unsigned_txid,
)
from mamori.chains.bitcoin.script import ScriptKind, describe_script, parse_multisig
from mamori.chains.bitcoin.transaction import (
    SEQUENCE_FINAL,
    Transaction,
    TxIn,
    TxOut,
    display_hex,
    parse_transaction,
    serialize_transaction,
    txid,
)
from mamori.errors import ERROR_CATALOG, DecodeError

BIP174 = load_bip174()
BIP370 = load("bip370_vectors.json")
HARDENED = 0x80000000

# Each invalid vector of BIP-174, by its description in the BIP: the code, and the field it must be refused at.
BIP174_INVALID: dict[str, tuple[str, str | None]] = {
    "Network transaction, not PSBT format": ("PSBT_MAGIC_INVALID", None),
    "PSBT missing outputs": ("PSBT_COUNT_MISMATCH", None),
    "PSBT where one input has a filled scriptSig in the unsigned tx": ("PSBT_UNSIGNED_TX_INVALID", None),
    "PSBT where inputs and outputs are provided but without an unsigned tx": ("PSBT_UNSIGNED_TX_INVALID", None),
    "PSBT with duplicate keys in an input": ("PSBT_KEY_DUPLICATE", "input[0].NON_WITNESS_UTXO"),
    "PSBT with invalid global transaction typed key": ("PSBT_KEY_INVALID", "global.UNSIGNED_TX"),
    "PSBT with invalid input witness utxo typed key": ("PSBT_KEY_INVALID", "input[0].WITNESS_UTXO"),
    "PSBT with invalid pubkey length for input partial signature typed key": (
        "PSBT_KEY_INVALID",
        "input[0].PARTIAL_SIG",
    ),
    "PSBT with invalid redeemscript typed key": ("PSBT_KEY_INVALID", "input[0].REDEEM_SCRIPT"),
    "PSBT with invalid witnessscript typed key": ("PSBT_KEY_INVALID", "input[0].WITNESS_SCRIPT"),
    "PSBT with invalid pubkey in input BIP 32 derivation paths typed key": (
        "PSBT_KEY_INVALID",
        "input[0].BIP32_DERIVATION",
    ),
    "PSBT with invalid non-witness utxo typed key": ("PSBT_KEY_INVALID", "input[0].NON_WITNESS_UTXO"),
    "PSBT with invalid final scriptsig typed key": ("PSBT_KEY_INVALID", "input[0].FINAL_SCRIPTSIG"),
    "PSBT with invalid final script witness typed key": ("PSBT_KEY_INVALID", "input[1].FINAL_SCRIPTWITNESS"),
    "PSBT with invalid pubkey in output BIP 32 derivation paths typed key": (
        "PSBT_KEY_INVALID",
        "output[0].BIP32_DERIVATION",
    ),
    "PSBT with invalid input sighash type typed key": ("PSBT_KEY_INVALID", "input[0].SIGHASH_TYPE"),
    "PSBT with invalid output redeemScript typed key": ("PSBT_KEY_INVALID", "output[0].REDEEM_SCRIPT"),
    "PSBT with invalid output witnessScript typed key": ("PSBT_KEY_INVALID", "output[1].WITNESS_SCRIPT"),
    "PSBT with unsigned tx serialized with witness serialization format": ("PSBT_UNSIGNED_TX_INVALID", None),
}

# Each invalid vector of BIP-370: fields of the other version, missing required fields, lock times out of range.
BIP370_INVALID: dict[str, tuple[str, str]] = {
    "PSBTv0 but with PSBT_GLOBAL_VERSION set to 2.": ("PSBT_FIELD_NOT_ALLOWED", "global.UNSIGNED_TX"),
    "PSBTv0 but with PSBT_GLOBAL_TX_VERSION.": ("PSBT_FIELD_NOT_ALLOWED", "global.TX_VERSION"),
    "PSBTv0 but with PSBT_GLOBAL_FALLBACK_LOCKTIME.": ("PSBT_FIELD_NOT_ALLOWED", "global.FALLBACK_LOCKTIME"),
    "PSBTv0 but with PSBT_GLOBAL_INPUT_COUNT.": ("PSBT_FIELD_NOT_ALLOWED", "global.INPUT_COUNT"),
    "PSBTv0 but with PSBT_GLOBAL_OUTPUT_COUNT.": ("PSBT_FIELD_NOT_ALLOWED", "global.OUTPUT_COUNT"),
    "PSBTv0 but with PSBT_GLOBAL_TX_MODIFIABLE.": ("PSBT_FIELD_NOT_ALLOWED", "global.TX_MODIFIABLE"),
    "PSBTv0 but with PSBT_IN_PREVIOUS_TXID.": ("PSBT_FIELD_NOT_ALLOWED", "input[0].PREVIOUS_TXID"),
    "PSBTv0 but with PSBT_IN_OUTPUT_INDEX.": ("PSBT_FIELD_NOT_ALLOWED", "input[0].OUTPUT_INDEX"),
    "PSBTv0 but with PSBT_IN_SEQUENCE.": ("PSBT_FIELD_NOT_ALLOWED", "input[0].SEQUENCE"),
    "PSBTv0 but with PSBT_IN_REQUIRED_TIME_LOCKTIME.": ("PSBT_FIELD_NOT_ALLOWED", "input[0].REQUIRED_TIME_LOCKTIME"),
    "PSBTv0 but with PSBT_IN_REQUIRED_HEIGHT_LOCKTIME.": (
        "PSBT_FIELD_NOT_ALLOWED",
        "input[0].REQUIRED_HEIGHT_LOCKTIME",
    ),
    "PSBTv0 but with PSBT_OUT_AMOUNT.": ("PSBT_FIELD_NOT_ALLOWED", "output[0].AMOUNT"),
    "PSBTv0 but with PSBT_OUT_SCRIPT.": ("PSBT_FIELD_NOT_ALLOWED", "output[0].SCRIPT"),
    "PSBTv2 missing PSBT_GLOBAL_INPUT_COUNT.": ("PSBT_FIELD_MISSING", "global.INPUT_COUNT"),
    "PSBTv2 missing PSBT_GLOBAL_OUTPUT_COUNT.": ("PSBT_FIELD_MISSING", "global.OUTPUT_COUNT"),
    "PSBTv2 missing PSBT_IN_PREVIOUS_TXID.": ("PSBT_FIELD_MISSING", "input[0].PREVIOUS_TXID"),
    "PSBTv2 missing PSBT_IN_OUTPUT_INDEX.": ("PSBT_FIELD_MISSING", "input[0].OUTPUT_INDEX"),
    "PSBTv2 missing PSBT_OUT_AMOUNT.": ("PSBT_FIELD_MISSING", "output[0].AMOUNT"),
    "PSBTv2 missing PSBT_OUT_SCRIPT.": ("PSBT_FIELD_MISSING", "output[0].SCRIPT"),
    "PSBTv2 with PSBT_IN_REQUIRED_TIME_LOCKTIME less than 500000000.": (
        "PSBT_VALUE_INVALID",
        "input[0].REQUIRED_TIME_LOCKTIME",
    ),
    "PSBTv2 with PSBT_IN_REQUIRED_HEIGHT_LOCKTIME greater than or equal to 500000000.": (
        "PSBT_VALUE_INVALID",
        "input[0].REQUIRED_HEIGHT_LOCKTIME",
    ),
}


def _refusal(data: bytes | str) -> DecodeError:
    with pytest.raises(DecodeError) as exc:
        parse_psbt_text(data) if isinstance(data, str) else parse_psbt(data)
    assert exc.value.code in ERROR_CATALOG
    assert exc.value.message_en
    assert exc.value.message_ja
    return exc.value


def test_the_tables_cover_every_invalid_vector() -> None:
    assert len(BIP174["invalid"]) == 19
    assert {vector["description"] for vector in BIP174["invalid"]} == set(BIP174_INVALID)
    assert len(BIP370["invalid"]) == 21
    assert {vector["description"] for vector in BIP370["invalid"]} == set(BIP370_INVALID)


@pytest.mark.parametrize("vector", BIP174["invalid"], ids=lambda vector: vector["description"][:60])
def test_bip174_invalid_vectors_are_refused_for_their_reason(vector: dict[str, Any]) -> None:
    code, where = BIP174_INVALID[vector["description"]]
    error = _refusal(vector["base64"])
    assert error.code == code
    assert error.details.get("where") == where


def test_bip174_invalid_reasons_in_detail() -> None:
    by_description = {vector["description"]: vector["base64"] for vector in BIP174["invalid"]}
    missing = _refusal(by_description["PSBT missing outputs"])
    assert (missing.details["kind"], missing.details["found"], missing.details["expected"]) == ("output", 0, 2)
    assert (
        "input 0 has a scriptSig"
        in _refusal(by_description["PSBT where one input has a filled scriptSig in the unsigned tx"]).message_en
    )
    assert (
        "must have PSBT_GLOBAL_UNSIGNED_TX"
        in _refusal(by_description["PSBT where inputs and outputs are provided but without an unsigned tx"]).message_en
    )
    partial = _refusal(by_description["PSBT with invalid pubkey length for input partial signature typed key"])
    assert "33-byte compressed" in partial.message_en
    assert "input[0].PARTIAL_SIG" in partial.message_ja


def test_the_vector_copy_is_the_shared_data_set() -> None:
    """tests/vectors/bitcoin/bip174_vectors.json is ../shared/data/psbt/bip174_vectors.json, copied."""
    if not SHARED_BIP174.exists():
        pytest.skip("the shared data set is not checked out next to the repository")
    assert json.loads(SHARED_BIP174.read_text("utf-8")) == load_bip174()


@pytest.mark.parametrize(
    "vector", BIP174["valid"] + BIP174["roles"], ids=lambda v: v.get("description", v.get("step"))[:60]
)
def test_bip174_valid_vectors_parse(vector: dict[str, Any]) -> None:
    psbt = parse_psbt_text(vector["base64"])
    assert psbt.version == 0
    assert psbt.unsigned_tx is not None
    assert len(psbt.inputs) == len(psbt.unsigned_tx.inputs)
    assert len(psbt.outputs) == len(psbt.unsigned_tx.outputs)
    assert unsigned_transaction(psbt) is psbt.unsigned_tx
    assert locktime(psbt) == psbt.unsigned_tx.locktime


def _valid(description_start: str) -> Psbt:
    vector = next(v for v in BIP174["valid"] if v["description"].startswith(description_start))
    return parse_psbt_text(vector["base64"])


def test_bip174_p2sh_p2wsh_vector_contents() -> None:
    psbt = _valid("PSBT with one P2SH-P2WSH input of a 2-of-2 multisig")
    fields = psbt.inputs[0]
    assert fields.witness_utxo is not None
    assert describe_script(fields.witness_utxo.script_pubkey).kind is ScriptKind.P2SH
    assert describe_script(fields.redeem_script or b"").kind is ScriptKind.P2WSH
    multisig = parse_multisig(fields.witness_script or b"")
    assert multisig is not None
    assert (multisig.m, multisig.n) == (2, 2)
    assert len(fields.partial_sigs) == 1  # "Contains one signature."
    assert fields.partial_sigs[0].pubkey in multisig.keys
    assert {derivation.pubkey for derivation in fields.bip32_derivations} == set(multisig.keys)


def test_bip174_xpub_vector_contents() -> None:
    psbt = _valid("PSBT with `PSBT_GLOBAL_XPUB`.")
    assert len(psbt.xpubs) == 1
    xpub = psbt.xpubs[0]
    assert xpub.xpub[:4] == bytes.fromhex("0488b21e")  # mainnet xpub version
    assert xpub.origin == KeyOrigin(bytes.fromhex("27569c50"), (49 | HARDENED, HARDENED, HARDENED))
    assert psbt.outputs[1].bip32_derivations[0].origin.path == (49 | HARDENED, HARDENED, HARDENED, 0, 4)


def test_bip174_unknown_fields_are_kept() -> None:
    psbt = _valid("PSBT with unknown types in the inputs.")
    (field,) = psbt.inputs[0].unknown
    assert field.key == bytes.fromhex("f00102030405060708 09".replace(" ", ""))
    assert field.value == bytes(range(1, 16))


def test_bip174_zero_input_vectors_read_the_zero_byte_as_a_count() -> None:
    empty = _valid("PSBT with global unsigned tx that has 0 inputs and 0 outputs")
    assert empty.unsigned_tx == Transaction(0, (), (), 0)
    outputs_only = _valid("PSBT with 0 inputs")
    assert outputs_only.unsigned_tx is not None
    assert (len(outputs_only.unsigned_tx.inputs), len(outputs_only.unsigned_tx.outputs)) == (0, 2)


def test_bip174_walkthrough_txids_and_extraction() -> None:
    roles = {role["step"]: parse_psbt_text(role["base64"]) for role in BIP174["roles"]}
    creator = roles["Creator"]
    assert creator.unsigned_tx is not None
    assert [(display_hex(txin.prev_txid), txin.vout) for txin in creator.unsigned_tx.inputs] == [
        (item["txid"], item["index"]) for item in BIP174["roles_context"]["creator"]["inputs"]
    ]
    # every role works on the same transaction
    assert len({unsigned_txid(psbt) for step, psbt in roles.items() if "unknown key-value" not in step}) == 1
    final = extract_transaction(roles["Input Finalizer"])
    expected = parse_transaction(bytes.fromhex(BIP174["final_tx_hex"]))
    assert serialize_transaction(final).hex() == BIP174["final_tx_hex"]
    assert txid(final) == txid(expected)
    with pytest.raises(DecodeError) as exc:
        extract_transaction(roles["Combiner"])
    assert exc.value.code == "PSBT_INPUT_NOT_FINAL"


def test_bip174_walkthrough_updater_fields() -> None:
    updated = parse_psbt_text(next(r["base64"] for r in BIP174["roles"] if r["step"] == "Updater (adds SIGHASH_ALL)"))
    assert [fields.sighash_type for fields in updated.inputs] == [1, 1]
    context = BIP174["roles_context"]["updater"]
    assert updated.inputs[0].redeem_script == bytes.fromhex(context["redeem_scripts"][0])
    assert updated.inputs[1].redeem_script == bytes.fromhex(context["redeem_scripts"][1])
    assert updated.inputs[1].witness_script == bytes.fromhex(context["witness_scripts"][0])
    paths = {item["pubkey"]: item["path"] for item in context["pubkeys"]}
    for fields in updated.inputs:
        for derivation in fields.bip32_derivations:
            steps = paths[derivation.pubkey.hex()].split("/")[1:]
            assert derivation.origin.path == tuple(int(step.rstrip("'")) | HARDENED for step in steps)


# --- BIP-370 -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("group", ["invalid", "valid", "locktime"])
def test_bip370_transcription_hex_and_base64_agree(group: str) -> None:
    for vector in BIP370[group]:
        assert base64.b64decode(vector["base64"]) == bytes.fromhex(vector["hex"]), vector["description"]


@pytest.mark.parametrize("vector", BIP370["invalid"], ids=lambda vector: vector["description"][:60])
def test_bip370_invalid_vectors_are_refused_for_their_reason(vector: dict[str, Any]) -> None:
    code, where = BIP370_INVALID[vector["description"]]
    error = _refusal(vector["base64"])
    assert (error.code, error.details.get("where")) == (code, where)
    assert error.code == _refusal(vector["hex"]).code


@pytest.mark.parametrize("vector", BIP370["valid"], ids=lambda vector: vector["description"][:60])
def test_bip370_valid_vectors_parse(vector: dict[str, Any]) -> None:
    psbt = parse_psbt_text(vector["base64"])
    assert psbt.version == 2
    assert psbt.unsigned_tx is None
    assert (psbt.tx_version, psbt.input_count, psbt.output_count) == (2, 1, 2)
    assert [fields.output_index for fields in psbt.inputs] == [0]
    assert psbt.inputs[0].previous_txid == bytes.fromhex(
        "0b0ad921419c1c8719735d72dc739f9ea9e0638d1fe4c1eef0f9944084815fc8"
    )
    assert [output.amount for output in psbt.outputs] == [800_000_000, 199_998_859]
    tx = unsigned_transaction(psbt)
    assert (tx.version, len(tx.inputs), len(tx.outputs)) == (2, 1, 2)
    assert tx.outputs[0] == TxOut(800_000_000, bytes.fromhex("0014c430f64c4756da310dbd1a085572ef299926272c"))
    sequence = psbt.inputs[0].sequence
    assert tx.inputs[0].sequence == (SEQUENCE_FINAL if sequence is None else sequence)
    assert psbt == parse_psbt(bytes.fromhex(vector["hex"]))


def test_bip370_modifiable_flags_are_kept_as_given() -> None:
    flags = {}
    for vector in BIP370["valid"]:
        psbt = parse_psbt_text(vector["base64"])
        if "PSBT_GLOBAL_TX_MODIFIABLE" in vector["description"] or "all PSBTv2 fields" in vector["description"]:
            flags[vector["description"]] = psbt.tx_modifiable
    assert sorted(flags.values()) == [1, 2, 3, 4, 5, 6, 7, 7, 8, 255]


@pytest.mark.parametrize("vector", BIP370["locktime"], ids=lambda vector: vector["description"][:60])
def test_bip370_locktime_determination(vector: dict[str, Any]) -> None:
    psbt = parse_psbt_text(vector["base64"])
    if vector["locktime"] is None:
        with pytest.raises(DecodeError) as error:
            locktime(psbt)
        assert error.value.code == "PSBT_LOCKTIME_CONFLICT"
        with pytest.raises(DecodeError):
            unsigned_transaction(psbt)
    else:
        assert locktime(psbt) == vector["locktime"]
        assert unsigned_transaction(psbt).locktime == vector["locktime"]


def test_bip370_unique_id_sets_sequences_to_zero() -> None:
    vector = next(v for v in BIP370["valid"] if v["description"].endswith("with PSBT_IN_SEQUENCE."))
    psbt = parse_psbt_text(vector["base64"])
    tx = unsigned_transaction(psbt)
    assert tx.inputs[0].sequence == 0xFFFFFFFE
    zeroed = tx._replace(inputs=tuple(txin._replace(sequence=0) for txin in tx.inputs))
    assert unsigned_txid(psbt) == txid(zeroed) != txid(tx)


# --- input forms ---------------------------------------------------------------------------------------------------

PSBT_BASE64 = BIP174["valid"][0]["base64"]
PSBT_BYTES = base64.b64decode(PSBT_BASE64)


@pytest.mark.parametrize(
    "text",
    [
        PSBT_BASE64,
        PSBT_BASE64.encode(),
        PSBT_BYTES,
        PSBT_BYTES.hex(),
        PSBT_BYTES.hex().upper(),
        "\n".join(PSBT_BASE64[i : i + 64] for i in range(0, len(PSBT_BASE64), 64)) + "\n",
        f"  {PSBT_BYTES.hex()}\r\n",
        bytearray(PSBT_BYTES),
    ],
    ids=["base64", "base64-bytes", "raw", "hex", "HEX", "wrapped-base64", "hex-with-whitespace", "bytearray"],
)
def test_decode_psbt_text_accepts_the_usual_forms(text: str | bytes) -> None:
    assert decode_psbt_text(text) == PSBT_BYTES


@pytest.mark.parametrize(
    "text",
    ["", "   ", "cHNidP8", PSBT_BASE64 + "=", PSBT_BASE64.replace("+", "-"), "psbt\xff", b"\xff\xfe", "abc", "7073627"],
    ids=["empty", "blank", "bad-padding", "extra-pad", "urlsafe", "latin1", "binary", "odd-base64", "odd-hex"],
)
def test_decode_psbt_text_refuses_anything_else(text: str | bytes) -> None:
    with pytest.raises(DecodeError) as exc:
        decode_psbt_text(text)
    assert exc.value.code == "PSBT_ENCODING_INVALID"


def test_non_canonical_base64_padding_bits_are_refused() -> None:
    short = base64.b64encode(b"psbt\xff").decode()  # "cHNidP8=": the last character carries two zero bits
    assert short.endswith("=")
    altered = short[:-2] + chr(ord(short[-2]) + 1) + "="
    with pytest.raises(DecodeError) as exc:
        decode_psbt_text(altered)
    assert exc.value.code == "PSBT_ENCODING_INVALID"


# --- hand-made malformed PSBTs: every code, at the place it names --------------------------------------------------

TX = Transaction(
    2, (TxIn(bytes(range(32)), 1, b"", 0xFFFFFFFD),), (TxOut(10_000, bytes.fromhex("0014" + "11" * 20)),), 0
)
PUBKEY = bytes.fromhex("029583bf39ae0a609747ad199addd634fa6108559d6c5cd39b4c2183f1ab96e07f")
XONLY = PUBKEY[1:]


def _input_psbt(*pairs: tuple[bytes, bytes]) -> bytes:
    return psbt_v0(TX, inputs=[list(pairs)])


def _output_psbt(*pairs: tuple[bytes, bytes]) -> bytes:
    return psbt_v0(TX, outputs=[list(pairs)])


def test_a_well_formed_hand_made_psbt_parses() -> None:
    psbt = parse_psbt(
        _input_psbt(
            witness_utxo(TxOut(20_000, bytes.fromhex("0014" + "22" * 20))),
            (b"\x02" + PUBKEY, bytes.fromhex("3006020101020101") + b"\x01"),
            (b"\x03", (0x83).to_bytes(4, "little")),
            (b"\x06" + PUBKEY, key_origin(b"\xaa\xbb\xcc\xdd", [84 | HARDENED, 0, 7])),
            (b"\x08", b"\x02\x01\xaa\x00"),
            (b"\x09", "証明".encode()),
            (b"\x0b" + bytes.fromhex("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"), b"hello"),
            (b"\x13", bytes(64)),
            (b"\x14" + XONLY + bytes(32), bytes(65)),
            (b"\x15" + b"\xc0" + XONLY, b"\x51\xc0"),
            (b"\x16" + XONLY, b"\x01" + bytes(32) + key_origin(b"\x01\x02\x03\x04", [86 | HARDENED])),
            (b"\x17", XONLY),
            (b"\x18", bytes(32)),
            (b"\xfc\x05mamor\x01extra", b"value"),
            (b"\x1f", b"unknown"),
            (b"\xfd\x00\x01", b"big type"),
        )
    )
    fields = psbt.inputs[0]
    assert fields.witness_utxo == TxOut(20_000, bytes.fromhex("0014" + "22" * 20))
    assert fields.sighash_type == 0x83
    assert fields.bip32_derivations[0].origin == KeyOrigin(b"\xaa\xbb\xcc\xdd", (84 | HARDENED, 0, 7))
    assert fields.final_script_witness == (b"\xaa", b"")
    assert fields.por_commitment == "証明"
    assert fields.sha256_preimages[0].preimage == b"hello"
    assert fields.tap_key_sig == bytes(64)
    assert fields.tap_leaf_scripts[0].leaf_version == 0xC0
    assert fields.tap_bip32_derivations[0].leaf_hashes == (bytes(32),)
    assert fields.proprietary[0].identifier == b"mamor"
    assert (fields.proprietary[0].subtype, fields.proprietary[0].key_data) == (1, b"extra")
    assert [field.key for field in fields.unknown] == [b"\x1f", b"\xfd\x00\x01"]


def test_output_fields_and_taproot_trees() -> None:
    tree = b"\x01\xc0\x01\x51" + b"\x02\xc0\x01\x52" + b"\x02\xc0\x01\x53"
    psbt = parse_psbt(
        _output_psbt(
            (b"\x00", b"\x51"),
            (b"\x01", b"\x52"),
            (b"\x02" + PUBKEY, key_origin(b"\x00\x00\x00\x01", [])),
            (b"\x05", XONLY),
            (b"\x06", tree),
            (b"\x07" + XONLY, b"\x00" + key_origin(b"\x01\x02\x03\x04", [1, 2])),
        )
    )
    output = psbt.outputs[0]
    assert output.redeem_script == b"\x51"
    assert output.bip32_derivations[0].origin.path == ()
    assert output.tap_tree is not None
    assert [(leaf.depth, leaf.script) for leaf in output.tap_tree] == [(1, b"\x51"), (2, b"\x52"), (2, b"\x53")]
    assert output.tap_bip32_derivations[0].leaf_hashes == ()


@pytest.mark.parametrize(
    ("data", "code", "where"),
    [
        (_input_psbt((b"\x02" + PUBKEY[:-1], b"\x30")), "PSBT_KEY_INVALID", "input[0].PARTIAL_SIG"),
        (_input_psbt((b"\x02\x04" + PUBKEY[1:] * 2, b"\x30")), "PSBT_KEY_INVALID", "input[0].PARTIAL_SIG"),
        (_input_psbt((b"\x02\x02" + b"\xff" * 32, b"\x30")), "PSBT_KEY_INVALID", "input[0].PARTIAL_SIG"),  # x >= p
        (_input_psbt((b"\x03", b"\x01\x00\x00")), "PSBT_VALUE_INVALID", "input[0].SIGHASH_TYPE"),
        (_input_psbt((b"\x01", b"\x00" * 8)), "PSBT_VALUE_INVALID", "input[0].WITNESS_UTXO"),
        (_input_psbt((b"\x01", b"\x00" * 8 + b"\x02\x51")), "PSBT_VALUE_INVALID", "input[0].WITNESS_UTXO"),
        (_input_psbt((b"\x00", b"\x01\x00")), "PSBT_VALUE_INVALID", "input[0].NON_WITNESS_UTXO"),
        (_input_psbt((b"\x06" + PUBKEY, b"\x00\x00\x00")), "PSBT_VALUE_INVALID", "input[0].BIP32_DERIVATION"),
        (_input_psbt((b"\x06" + PUBKEY, b"\x00" * 6)), "PSBT_VALUE_INVALID", "input[0].BIP32_DERIVATION"),
        (_input_psbt((b"\x08", b"\x02\x01\xaa")), "PSBT_VALUE_INVALID", "input[0].FINAL_SCRIPTWITNESS"),
        (_input_psbt((b"\x08", b"\x01\x00\x00")), "PSBT_VALUE_INVALID", "input[0].FINAL_SCRIPTWITNESS"),
        (_input_psbt((b"\x09", b"\xff")), "PSBT_VALUE_INVALID", "input[0].POR_COMMITMENT"),
        (_input_psbt((b"\x0a" + bytes(20), b"x")), "PSBT_VALUE_INVALID", "input[0].RIPEMD160"),
        (_input_psbt((b"\x0b" + bytes(31), b"x")), "PSBT_KEY_INVALID", "input[0].SHA256"),
        (_input_psbt((b"\x0c" + bytes(20), b"x")), "PSBT_VALUE_INVALID", "input[0].HASH160"),
        (_input_psbt((b"\x0d" + bytes(32), b"x")), "PSBT_VALUE_INVALID", "input[0].HASH256"),
        (_input_psbt((b"\x13", bytes(63))), "PSBT_VALUE_INVALID", "input[0].TAP_KEY_SIG"),
        (_input_psbt((b"\x14" + XONLY, bytes(64))), "PSBT_KEY_INVALID", "input[0].TAP_SCRIPT_SIG"),
        (_input_psbt((b"\x15" + bytes(34), b"\x51\xc0")), "PSBT_KEY_INVALID", "input[0].TAP_LEAF_SCRIPT"),
        (_input_psbt((b"\x15\xc0" + XONLY, b"")), "PSBT_VALUE_INVALID", "input[0].TAP_LEAF_SCRIPT"),
        (_input_psbt((b"\x16" + XONLY, b"\x02" + bytes(36))), "PSBT_VALUE_INVALID", "input[0].TAP_BIP32_DERIVATION"),
        (_input_psbt((b"\x16" + XONLY[:-1], b"\x00" + bytes(4))), "PSBT_KEY_INVALID", "input[0].TAP_BIP32_DERIVATION"),
        (_input_psbt((b"\x17", b"\xff" * 32)), "PSBT_VALUE_INVALID", "input[0].TAP_INTERNAL_KEY"),
        (_input_psbt((b"\x18", bytes(31))), "PSBT_VALUE_INVALID", "input[0].TAP_MERKLE_ROOT"),
        (_input_psbt((b"\xfc\x05mam", b"")), "PSBT_KEY_INVALID", "input[0].PROPRIETARY"),
        (_input_psbt((b"\xfc", b"")), "PSBT_KEY_INVALID", "input[0].PROPRIETARY"),
        (_input_psbt((b"\xfd\x01", b"")), "PSBT_KEY_INVALID", "input[0].type 0xfd"),
        (_input_psbt((b"\xfd\x10\x00", b"")), "PSBT_KEY_INVALID", "input[0].type 0xfd"),  # 16 in 3 bytes
        (_output_psbt((b"\x03", bytes(8))), "PSBT_FIELD_NOT_ALLOWED", "output[0].AMOUNT"),
        (_output_psbt((b"\x06", b"\x01\xc0\x01\x51")), "PSBT_VALUE_INVALID", "output[0].TAP_TREE"),  # half a tree
        (_output_psbt((b"\x06", b"\x00\xc0\x01\x51\x00\xc0\x01\x51")), "PSBT_VALUE_INVALID", "output[0].TAP_TREE"),
        (_output_psbt((b"\x06", b"\x81\xc0\x01\x51")), "PSBT_VALUE_INVALID", "output[0].TAP_TREE"),
        (_output_psbt((b"\x06", b"\x00\xc1\x01\x51")), "PSBT_VALUE_INVALID", "output[0].TAP_TREE"),
        (_output_psbt((b"\x06", b"\x00\xc0\x05\x51")), "PSBT_VALUE_INVALID", "output[0].TAP_TREE"),
        (_output_psbt((b"\x06", b"")), "PSBT_VALUE_INVALID", "output[0].TAP_TREE"),
        (_output_psbt((b"\x05", XONLY + b"\x00")), "PSBT_VALUE_INVALID", "output[0].TAP_INTERNAL_KEY"),
        (_output_psbt((b"\x02", b"\x00")), "PSBT_KEY_INVALID", "output[0].BIP32_DERIVATION"),
        (_output_psbt((b"\x01\x01", b"")), "PSBT_KEY_INVALID", "output[0].WITNESS_SCRIPT"),
        (
            psbt_v0(TX, extra_global=[(b"\x01" + bytes(77), key_origin(bytes(4), []))]),
            "PSBT_KEY_INVALID",
            "global.XPUB",
        ),
        (psbt_v0(TX, extra_global=[(b"\xfb", b"\x00\x00")]), "PSBT_VALUE_INVALID", "global.VERSION"),
        (psbt_v0(TX, extra_global=[(b"\x00", b"")]), "PSBT_KEY_DUPLICATE", "global.UNSIGNED_TX"),
    ],
)
def test_malformed_fields_are_refused_where_they_are(data: bytes, code: str, where: str) -> None:
    error = _refusal(data)
    assert (error.code, error.details.get("where")) == (code, where)


def test_unsupported_versions() -> None:
    for version in (1, 3, 0xFFFFFFFF):
        error = _refusal(psbt_v0(TX, extra_global=[(b"\xfb", version.to_bytes(4, "little"))]))
        assert (error.code, error.details["version"]) == ("PSBT_VERSION_UNSUPPORTED", version)


def test_framing_errors() -> None:
    good = psbt_v0(TX)
    assert _refusal(b"").code == "PSBT_MAGIC_INVALID"
    assert _refusal(b"psbt\xfe" + good[5:]).code == "PSBT_MAGIC_INVALID"
    assert _refusal(good + b"\x00").code == "PSBT_TRAILING_DATA"
    assert _refusal(good[:-1]).code in {"PSBT_COUNT_MISMATCH", "PSBT_TRUNCATED"}
    for cut in range(5, len(good)):
        assert _refusal(good[:cut]).code in {"PSBT_TRUNCATED", "PSBT_COUNT_MISMATCH"}, cut
    # a key length written in three bytes
    widened = b"psbt\xff" + b"\xfd\x01\x00" + good[6:]
    assert _refusal(widened).code == "PSBT_KEY_INVALID"
    # a value length written in three bytes
    value = serialize_transaction(TX, witness=False)
    assert _refusal(b"psbt\xff\x01\x00\xfd" + len(value).to_bytes(2, "little") + value + b"\x00\x00\x00").code in {
        "PSBT_VALUE_INVALID",
        "PSBT_UNSIGNED_TX_INVALID",
    }
    assert _refusal(b"psbt\xff\x01\x00\xfd\x05\x00" + b"\x00" * 5).code == "PSBT_VALUE_INVALID"


def test_version_2_counts_must_be_met() -> None:
    version_2 = [
        (b"\xfb", (2).to_bytes(4, "little")),
        (b"\x02", (2).to_bytes(4, "little")),
        (b"\x04", b"\x02"),
        (b"\x05", b"\x00"),
    ]
    one_input = [(b"\x0e", bytes(32)), (b"\x0f", bytes(4))]
    error = _refusal(build_psbt(version_2, [one_input], []))
    assert (error.code, error.details["kind"], error.details["found"], error.details["expected"]) == (
        "PSBT_COUNT_MISMATCH",
        "input",
        1,
        2,
    )
    psbt = parse_psbt(build_psbt(version_2, [one_input, one_input], []))
    assert psbt.input_count == 2
    assert unsigned_txid(psbt) == txid(unsigned_transaction(psbt)._replace(inputs=tuple(
        txin._replace(sequence=0) for txin in unsigned_transaction(psbt).inputs
    )))  # fmt: skip
    assert _refusal(build_psbt([*version_2[:2], (b"\x04", b"\xfd\x02\x00"), version_2[3]], [], [])).code == (
        "PSBT_VALUE_INVALID"
    )
    assert _refusal(build_psbt([*version_2[:2], (b"\x04", b"\x01\x00"), version_2[3]], [], [])).code == (
        "PSBT_VALUE_INVALID"
    )


def test_messages_are_bilingual_and_name_the_field() -> None:
    error = _refusal(_input_psbt((b"\x03", b"\x01")))
    assert error.message_en == "The value of input[0].SIGHASH_TYPE is invalid: must be 4 bytes, found 1"
    assert error.message_ja.startswith("input[0].SIGHASH_TYPE の値が不正です")
    assert error.to_dict()["error"]["code"] == "PSBT_VALUE_INVALID"


def test_parse_accepts_only_what_it_was_given() -> None:
    """A parsed PSBT's maps line up with its transaction, whatever order its fields came in."""
    reordered = psbt_v0(
        TX,
        inputs=[[(b"\x03", (1).to_bytes(4, "little")), witness_utxo(TxOut(1, b"\x51"))]],
        extra_global=[(b"\xfb", bytes(4))],
    )
    psbt = parse_psbt(reordered)
    assert psbt.inputs[0].sighash_type == 1
    assert psbt.version == 0
