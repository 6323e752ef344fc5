"""Signature checks of PSBT inputs: the BIP-174 walk-through, BIP-143 and BIP-341 vectors turned into PSBTs, and
every way a signature or its context can be wrong reported as a value, never raised."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from coincurve import PrivateKey, PublicKeyXOnly

from chains.bitcoin.builders import (
    FUNDING,
    KEYS,
    PUBKEYS,
    SECRETS,
    SPEND,
    WITNESS_SCRIPT,
    load,
    load_bip174,
    multisig_2of3,
    multisig_psbt,
    psbt_v0,
    sign_p2wsh,
    wif_secret,
    witness_utxo,
)
from mamori.chains.bitcoin.psbt import Psbt, parse_psbt, parse_psbt_text
from mamori.chains.bitcoin.script import hash160, p2sh_script, p2wsh_script
from mamori.chains.bitcoin.sighash import (
    SIGHASH_ALL,
    SighashCache,
    legacy_sighash,
    segwit_v0_sighash,
    tagged_hash,
    tapleaf_hash,
    taproot_sighash,
)
from mamori.chains.bitcoin.signatures import (
    SECP256K1_N,
    InputProblem,
    InputSignatures,
    SignatureProblem,
    SignatureVerdict,
    SpendKind,
    UtxoSource,
    check_all_signatures,
    check_input_signatures,
    encode_der_signature,
    parse_der_signature,
)
from mamori.chains.bitcoin.transaction import (
    Transaction,
    TxIn,
    TxOut,
    parse_transaction,
    serialize_output,
    serialize_transaction,
    txid,
)
from mamori.errors import DecodeError

BIP174 = load_bip174()
BIP143 = {case["name"]: case for case in load("bip143_vectors.json")["cases"]}
BIP341 = load("bip341_keypath_vectors.json")["keyPathSpending"][0]
VALID = SignatureVerdict.VALID


def _role(step: str) -> Psbt:
    return parse_psbt_text(next(role["base64"] for role in BIP174["roles"] if role["step"] == step))


def _signer_pubkeys(signer: str) -> set[bytes]:
    return {
        PrivateKey(wif_secret(item["wif"])).public_key.format(compressed=True)
        for item in BIP174["roles_context"][signer]
    }


# --- the BIP-174 walk-through ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "signer"),
    [("Signer (keys m/0'/0'/0' and m/0'/0'/2')", "signer_1"), ("Signer (keys m/0'/0'/1' and m/0'/0'/3')", "signer_2")],
)
def test_walkthrough_signers_signatures_verify(step: str, signer: str) -> None:
    results = check_all_signatures(_role(step))
    keys = _signer_pubkeys(signer)
    assert [result.kind for result in results] == [SpendKind.P2SH, SpendKind.P2SH_P2WSH]
    for result in results:
        (check,) = result.signatures
        assert check.verdict is VALID, check
        assert check.problems == ()
        assert check.pubkey in keys  # the key the BIP's signer holds for this input
        assert check.sighash_type == SIGHASH_ALL
        assert check.low_s is True
        assert (result.required, result.valid) == (2, 1)
    assert {check.pubkey for result in results for check in result.signatures} == keys


def test_walkthrough_utxos_are_the_previous_transactions_of_the_context() -> None:
    previous = [parse_transaction(bytes.fromhex(raw)) for raw in BIP174["roles_context"]["updater"]["previous_txs"]]
    psbt = _role("Combiner")
    legacy, nested = check_all_signatures(psbt)
    assert psbt.inputs[0].non_witness_utxo == previous[1]
    assert legacy.spent_output == previous[1].outputs[0]
    assert nested.spent_output == previous[0].outputs[1] == psbt.inputs[1].witness_utxo
    assert nested.outpoint == (txid(previous[0]), 1)


def test_walkthrough_combined_psbt_meets_both_quorums() -> None:
    legacy, nested = check_all_signatures(_role("Combiner"))
    context = BIP174["roles_context"]["updater"]
    assert legacy.signing_script == bytes.fromhex(context["redeem_scripts"][0])
    assert nested.signing_script == bytes.fromhex(context["witness_scripts"][0])
    for result in (legacy, nested):
        assert (result.required, result.valid, len(result.keys)) == (2, 2, 2)
        assert all(check.verdict is VALID and check.in_script for check in result.signatures)
    assert legacy.utxo_source is UtxoSource.NON_WITNESS_UTXO
    assert legacy.non_witness_utxo_txid == legacy.outpoint[0]
    assert legacy.problems == ()
    assert nested.utxo_source is UtxoSource.WITNESS_UTXO
    assert nested.problems == (InputProblem.NON_WITNESS_UTXO_MISSING,)


def test_walkthrough_before_signing_and_after_finalizing() -> None:
    for result in check_all_signatures(_role("Updater")):
        assert (result.required, result.valid, result.signatures) == (2, 0, ())
        assert not result.finalized
    creator = check_all_signatures(_role("Creator"))
    assert [result.problems for result in creator] == [(InputProblem.UTXO_MISSING,)] * 2
    assert all(result.kind is SpendKind.UNKNOWN for result in creator)
    finalized = check_all_signatures(_role("Input Finalizer"))
    assert all(result.finalized for result in finalized)
    assert all(InputProblem.REDEEM_SCRIPT_MISSING in result.problems for result in finalized)


FAILS_SIGNER_CHECKS = {
    "Fails Signer checks: A Witness UTXO is provided for a non-witness input": (
        0,
        InputProblem.WITNESS_UTXO_FOR_NON_WITNESS_INPUT,
    ),
    "Fails Signer checks: redeemScript with non-witness UTXO does not match the scriptPubKey": (
        0,
        InputProblem.REDEEM_SCRIPT_MISMATCH,
    ),
    "Fails Signer checks: redeemScript with witness UTXO does not match the scriptPubKey": (
        1,
        InputProblem.REDEEM_SCRIPT_MISMATCH,
    ),
    "Fails Signer checks: witnessScript with witness UTXO does not match the redeemScript": (
        1,
        InputProblem.WITNESS_SCRIPT_MISMATCH,
    ),
}


@pytest.mark.parametrize(
    "vector", [v for v in BIP174["valid"] if v.get("fails_signer_checks")], ids=lambda v: v["description"][21:70]
)
def test_the_vectors_a_signer_must_refuse_are_reported(vector: dict[str, Any]) -> None:
    index, problem = FAILS_SIGNER_CHECKS[vector["description"]]
    results = check_all_signatures(parse_psbt_text(vector["base64"]))
    assert problem in results[index].problems
    for check in results[index].signatures:  # a signature over a script that is not the spent one proves nothing
        assert check.verdict is SignatureVerdict.UNVERIFIABLE
        assert check.reason is SignatureProblem.SIGHASH_UNAVAILABLE
    assert results[index].valid == 0


def test_every_valid_vector_can_be_checked_without_raising() -> None:
    for vector in BIP174["valid"] + BIP174["roles"]:
        psbt = parse_psbt_text(vector["base64"])
        assert len(check_all_signatures(psbt)) == len(psbt.inputs)


# --- BIP-143 examples as PSBTs ---------------------------------------------------------------------------------------


def _bip143_psbt(name: str, *, sighash_type: int | None = None, drop: int | None = None) -> Psbt:
    case = BIP143[name]
    tx = parse_transaction(bytes.fromhex(case["unsigned_tx"]))
    spent = [TxOut(item["amount"], bytes.fromhex(item["script_pubkey"])) for item in case["spent_outputs"]]
    maps: list[list[tuple[bytes, bytes]]] = [[witness_utxo(output)] for output in spent]
    for check in case["checks"]:
        signature = bytes.fromhex(check["signature"])
        if check["scheme"] == "bip143" and name.startswith("native_p2wsh"):
            continue  # they sign past OP_CODESEPARATORs: see test_codeseparator_positions_are_not_followed
        maps[check["input"]].append((b"\x02" + bytes.fromhex(check["pubkey"]), signature))
    for fields in maps:
        if "redeem_script" in case:
            fields.append((b"\x04", bytes.fromhex(case["redeem_script"])))
        if "witness_script" in case:
            fields.append((b"\x05", bytes.fromhex(case["witness_script"])))
        if sighash_type is not None:
            fields.append((b"\x03", sighash_type.to_bytes(4, "little")))
    if drop is not None:
        maps[drop] = []
    return parse_psbt(psbt_v0(tx, inputs=maps))


def test_bip143_six_of_six_with_six_sighash_types() -> None:
    (result,) = check_all_signatures(_bip143_psbt("p2sh_p2wsh_6of6"))
    assert result.kind is SpendKind.P2SH_P2WSH
    assert (result.required, result.valid) == (6, 6)
    assert [check.sighash_type for check in result.signatures] == [0x01, 0x02, 0x03, 0x81, 0x82, 0x83]
    assert all(check.verdict is VALID and check.problems == () for check in result.signatures)
    assert result.spent_output == TxOut(987654321, bytes.fromhex("a9149993a429037b5d912407a71c252019287b8d27a587"))


def test_a_psbt_sighash_type_is_enforced_per_signature() -> None:
    (result,) = check_all_signatures(_bip143_psbt("p2sh_p2wsh_6of6", sighash_type=SIGHASH_ALL))
    mismatched = [check for check in result.signatures if SignatureProblem.SIGHASH_TYPE_MISMATCH in check.problems]
    assert [check.sighash_type for check in mismatched] == [0x02, 0x03, 0x81, 0x82, 0x83]
    assert all(check.verdict is VALID for check in result.signatures)  # still genuine: the layer above decides


def test_bip143_single_key_inputs_and_a_legacy_p2pk_input() -> None:
    p2pk, p2wpkh = check_all_signatures(_bip143_psbt("native_p2wpkh"))
    assert (p2pk.kind, p2pk.required, p2pk.valid) == (SpendKind.P2PK, 1, 1)
    assert InputProblem.WITNESS_UTXO_FOR_NON_WITNESS_INPUT in p2pk.problems  # only a witness UTXO was given
    assert (p2wpkh.kind, p2wpkh.required, p2wpkh.valid) == (SpendKind.P2WPKH, 1, 1)
    assert p2wpkh.keys == (bytes.fromhex(BIP143["native_p2wpkh"]["checks"][0]["pubkey"]),)
    (nested,) = check_all_signatures(_bip143_psbt("p2sh_p2wpkh"))
    assert (nested.kind, nested.required, nested.valid) == (SpendKind.P2SH_P2WPKH, 1, 1)


def test_high_s_signatures_are_normalized_and_reported() -> None:
    """BIP-143's FindAndDelete example signs with S > n/2: valid by consensus, non-standard."""
    (result,) = check_all_signatures(_bip143_psbt("no_find_and_delete"))
    (check,) = result.signatures
    assert check.verdict is VALID
    assert check.low_s is False
    assert SignatureProblem.HIGH_S in check.problems
    assert InputProblem.SCRIPT_UNSUPPORTED in result.problems  # the witness script is no template
    assert not check.in_script
    assert result.valid == 0


def test_codeseparator_positions_are_not_followed() -> None:
    """Documented limit: the whole witness script is the script code, as wallets sign; BIP-143's example of an
    executed OP_CODESEPARATOR therefore does not verify, the unexecuted one does."""
    case = BIP143["native_p2wsh_single_anyonecanpay"]
    tx = parse_transaction(bytes.fromhex(case["unsigned_tx"]))
    signed = parse_transaction(bytes.fromhex(case["signed_tx"]))
    maps = []
    for index, check in enumerate(case["checks"]):
        output = TxOut(
            case["spent_outputs"][index]["amount"], bytes.fromhex(case["spent_outputs"][index]["script_pubkey"])
        )
        maps.append(
            [
                witness_utxo(output),
                (b"\x05", signed.inputs[index].witness[1]),
                (b"\x02" + bytes.fromhex(check["pubkey"]), bytes.fromhex(check["signature"])),
            ]
        )
    unexecuted, executed = check_all_signatures(parse_psbt(psbt_v0(tx, inputs=maps)))
    assert unexecuted.signatures[0].verdict is VALID
    assert executed.signatures[0].verdict is SignatureVerdict.INVALID


# --- every way to be wrong ------------------------------------------------------------------------------------------


def test_a_two_of_three_p2wsh_cold_wallet_psbt() -> None:
    (result,) = check_all_signatures(parse_psbt(multisig_psbt()))
    assert (result.kind, result.required, result.valid, result.problems) == (SpendKind.P2WSH, 2, 2, ())
    assert result.utxo_source is UtxoSource.NON_WITNESS_UTXO
    assert result.keys == tuple(sorted(PUBKEYS[:3]))
    assert result.invalid == ()
    assert result.signatures[0].to_json()["verdict"] == "valid"


def test_check_input_signatures_is_check_all_for_one_input() -> None:
    psbt = parse_psbt(multisig_psbt())
    assert check_input_signatures(psbt, 0) == check_all_signatures(psbt)[0]
    for index in (-1, 1):
        with pytest.raises(DecodeError) as exc:
            check_input_signatures(psbt, index)
        assert exc.value.code == "PSBT_INPUT_INDEX_INVALID"


def _only(data: bytes) -> InputSignatures:
    return check_input_signatures(parse_psbt(data), 0)


def test_a_tampered_signature_does_not_verify() -> None:
    good = sign_p2wsh(SPEND, 0, KEYS[0])
    r, s = parse_der_signature(good) or (0, 0)
    forged = encode_der_signature(r, s ^ 1) + good[-1:]
    result = _only(multisig_psbt(signatures={PUBKEYS[0]: forged, PUBKEYS[1]: sign_p2wsh(SPEND, 0, KEYS[1])}))
    bad, ok = result.signatures
    assert (bad.verdict, bad.reason) == (SignatureVerdict.INVALID, SignatureProblem.DOES_NOT_VERIFY)
    assert ok.verdict is VALID
    assert (result.valid, result.invalid) == (1, (bad,))


def test_a_signature_for_another_transaction_does_not_verify() -> None:
    other = SPEND._replace(locktime=1)
    result = _only(multisig_psbt(signatures={PUBKEYS[0]: sign_p2wsh(other, 0, KEYS[0])}))
    assert result.signatures[0].reason is SignatureProblem.DOES_NOT_VERIFY


def test_a_key_outside_the_script_does_not_count() -> None:
    outsider = sign_p2wsh(SPEND, 0, KEYS[3])
    result = _only(multisig_psbt(signatures={PUBKEYS[3]: outsider, PUBKEYS[0]: sign_p2wsh(SPEND, 0, KEYS[0])}))
    stranger = next(check for check in result.signatures if check.pubkey == PUBKEYS[3])
    assert stranger.verdict is VALID  # a genuine signature…
    assert not stranger.in_script  # …by a key the script does not accept
    assert SignatureProblem.PUBKEY_NOT_IN_SCRIPT in stranger.problems
    assert result.valid == 1


def test_malformed_signatures_and_keys() -> None:
    good = sign_p2wsh(SPEND, 0, KEYS[0])
    not_on_curve = b"\x02" + (5).to_bytes(32, "big")  # x = 5: x^3 + 7 has no square root mod p
    cases = {
        PUBKEYS[0]: good[:10] + good[11:],  # DER broken
        PUBKEYS[1]: b"",
        PUBKEYS[2]: good[:-1] + b"\x04",  # undefined hash type: verifies against that hash type's message, fails
        not_on_curve: good,
    }
    result = _only(multisig_psbt(signatures=cases))
    by_key = {check.pubkey: check for check in result.signatures}
    assert by_key[PUBKEYS[0]].reason is SignatureProblem.ENCODING_INVALID
    assert (by_key[PUBKEYS[1]].reason, by_key[PUBKEYS[1]].sighash_type) == (SignatureProblem.ENCODING_INVALID, None)
    assert SignatureProblem.SIGHASH_TYPE_UNDEFINED in by_key[PUBKEYS[2]].problems
    assert by_key[PUBKEYS[2]].reason is SignatureProblem.DOES_NOT_VERIFY
    assert by_key[not_on_curve].reason is SignatureProblem.PUBKEY_INVALID
    assert result.valid == 0


def test_missing_utxo_data_is_reported_not_raised() -> None:
    psbt = parse_psbt(psbt_v0(SPEND, inputs=[[(b"\x02" + PUBKEYS[0], sign_p2wsh(SPEND, 0, KEYS[0]))]]))
    (result,) = check_all_signatures(psbt)
    assert result.problems == (InputProblem.UTXO_MISSING,)
    assert (result.kind, result.spent_output, result.required) == (SpendKind.UNKNOWN, None, None)
    (check,) = result.signatures
    assert (check.verdict, check.reason) == (SignatureVerdict.UNVERIFIABLE, SignatureProblem.SIGHASH_UNAVAILABLE)
    missing_script = parse_psbt(psbt_v0(SPEND, inputs=[[witness_utxo(FUNDING.outputs[1])]]))
    assert check_all_signatures(missing_script)[0].problems == (
        InputProblem.WITNESS_SCRIPT_MISSING,
        InputProblem.NON_WITNESS_UTXO_MISSING,
    )


def test_a_previous_transaction_that_is_not_the_spent_one_is_not_trusted() -> None:
    impostor = FUNDING._replace(outputs=(FUNDING.outputs[0], FUNDING.outputs[1]._replace(amount=2_000_000)))
    result = _only(multisig_psbt(previous=impostor))
    assert InputProblem.NON_WITNESS_UTXO_TXID_MISMATCH in result.problems
    assert result.non_witness_utxo_txid == txid(impostor) != result.outpoint[0]
    assert result.utxo_source is UtxoSource.WITNESS_UTXO  # fell back to the stated output, flagged
    assert result.spent_output == FUNDING.outputs[1]
    assert result.valid == 2
    # a witness UTXO that disagrees with the proven previous output
    lying = _only(multisig_psbt(stated=FUNDING.outputs[1]._replace(amount=1)))
    assert InputProblem.WITNESS_UTXO_MISMATCH in lying.problems
    assert lying.spent_output == FUNDING.outputs[1]
    assert lying.valid == 2  # signed over the proven amount


def test_a_previous_transaction_without_the_output_is_reported() -> None:
    short = FUNDING._replace(outputs=FUNDING.outputs[:1])
    spend = SPEND._replace(inputs=(SPEND.inputs[0]._replace(prev_txid=txid(short)),))
    fields = [(b"\x00", serialize_transaction(short)), (b"\x05", WITNESS_SCRIPT)]
    (result,) = check_all_signatures(parse_psbt(psbt_v0(spend, inputs=[fields])))
    assert InputProblem.NON_WITNESS_UTXO_OUTPUT_MISSING in result.problems
    assert result.spent_output is None


def test_uncompressed_keys_in_segwit_are_reported() -> None:
    uncompressed = KEYS[0].public_key.format(compressed=False)
    script = b"\x51\x41" + uncompressed + b"\x51\xae"
    funding = FUNDING._replace(outputs=(TxOut(1_000, p2wsh_script(hashlib.sha256(script).digest())),))
    spend = Transaction(2, (TxIn(txid(funding), 0, b"", 0),), (TxOut(900, b"\x51"),), 0)
    signature = KEYS[0].sign(segwit_v0_sighash(spend, 0, script, 1_000, 1), hasher=None) + b"\x01"
    fields = [(b"\x00", serialize_transaction(funding)), (b"\x05", script), (b"\x02" + uncompressed, signature)]
    (result,) = check_all_signatures(parse_psbt(psbt_v0(spend, inputs=[fields])))
    (check,) = result.signatures
    assert check.verdict is VALID
    assert SignatureProblem.UNCOMPRESSED_KEY_IN_SEGWIT in check.problems


def test_legacy_sighash_single_without_an_output_is_flagged() -> None:
    """Such a signature signs the number 1: valid for any transaction spending the input."""
    key_hash = hash160(PUBKEYS[0])
    p2pkh = b"\x76\xa9\x14" + key_hash + b"\x88\xac"
    funding = FUNDING._replace(outputs=(TxOut(5_000, p2pkh), TxOut(5_000, p2pkh)))
    spend = Transaction(
        1, (TxIn(txid(funding), 0, b"", 0), TxIn(txid(funding), 1, b"", 0)), (TxOut(9_000, b"\x51"),), 0
    )
    signature = KEYS[0].sign(legacy_sighash(spend, 1, p2pkh, 3), hasher=None) + b"\x03"
    maps = [
        [(b"\x00", serialize_transaction(funding))],
        [(b"\x00", serialize_transaction(funding)), (b"\x02" + PUBKEYS[0], signature)],
    ]
    _, second = check_all_signatures(parse_psbt(psbt_v0(spend, inputs=maps)))
    (check,) = second.signatures
    assert check.verdict is VALID
    assert SignatureProblem.SIGHASH_SINGLE_WITHOUT_OUTPUT in check.problems
    assert (second.kind, second.keys, second.valid) == (SpendKind.P2PKH, (PUBKEYS[0],), 1)


def test_legacy_p2sh_multisig_with_a_previous_transaction() -> None:
    script = multisig_2of3(PUBKEYS[:3])
    funding = FUNDING._replace(outputs=(TxOut(7_000, p2sh_script(hash160(script))),))
    spend = Transaction(2, (TxIn(txid(funding), 0, b"", 0),), (TxOut(6_000, b"\x51"),), 0)
    sigs = [
        (b"\x02" + PUBKEYS[n], KEYS[n].sign(legacy_sighash(spend, 0, script, 1), hasher=None) + b"\x01") for n in (0, 2)
    ]
    fields = [(b"\x00", serialize_transaction(funding)), (b"\x04", script), *sigs]
    (result,) = check_all_signatures(parse_psbt(psbt_v0(spend, inputs=[fields])))
    assert (result.kind, result.required, result.valid, result.problems) == (SpendKind.P2SH, 2, 2, ())


# --- taproot ---------------------------------------------------------------------------------------------------------


def _bip341_psbt(*, drop_utxo: int | None = None, sighash_type: int | None = None) -> Psbt:
    tx = parse_transaction(bytes.fromhex(BIP341["rawUnsignedTx"]))
    maps: list[list[tuple[bytes, bytes]]] = [
        [witness_utxo(TxOut(utxo["amountSats"], bytes.fromhex(utxo["scriptPubKey"])))] for utxo in BIP341["utxosSpent"]
    ]
    for spend in BIP341["inputSpending"]:
        maps[spend["txinIndex"]].append((b"\x13", bytes.fromhex(spend["witness"][0])))
        if sighash_type is not None:
            maps[spend["txinIndex"]].append((b"\x03", sighash_type.to_bytes(4, "little")))
    if drop_utxo is not None:
        maps[drop_utxo] = maps[drop_utxo][1:]
    return parse_psbt(psbt_v0(tx, inputs=maps))


def test_bip341_key_path_signatures_verify_in_a_psbt() -> None:
    results = check_all_signatures(_bip341_psbt())
    signed = {spend["txinIndex"]: spend["hashType"] for spend in BIP341["inputSpending"]}
    for result in results:
        if result.index not in signed:
            assert result.signatures == ()
            continue
        (check,) = result.signatures
        assert (result.kind, check.scheme, check.verdict) == (SpendKind.P2TR, "schnorr", VALID)
        assert check.sighash_type == signed[result.index]
        assert (result.required, result.valid) == (1, 1)
        assert check.pubkey == result.spent_output.script_pubkey[2:]  # type: ignore[union-attr]


def test_taproot_needs_every_spent_output() -> None:
    results = check_all_signatures(_bip341_psbt(drop_utxo=2))  # the P2PKH input's UTXO
    for result in results:
        if result.signatures and result.kind is SpendKind.P2TR:
            assert InputProblem.SPENT_OUTPUTS_MISSING in result.problems
            assert result.signatures[0].verdict is SignatureVerdict.UNVERIFIABLE


def test_taproot_sighash_type_field_and_encoding() -> None:
    results = check_all_signatures(_bip341_psbt(sighash_type=0))
    mismatched = [
        r.index for r in results if r.signatures and SignatureProblem.SIGHASH_TYPE_MISMATCH in r.signatures[0].problems
    ]
    assert mismatched == [spend["txinIndex"] for spend in BIP341["inputSpending"] if spend["hashType"] != 0]
    tx = parse_transaction(bytes.fromhex(BIP341["rawUnsignedTx"]))
    maps = [[witness_utxo(TxOut(u["amountSats"], bytes.fromhex(u["scriptPubKey"])))] for u in BIP341["utxosSpent"]]
    default = next(spend for spend in BIP341["inputSpending"] if spend["hashType"] == 0)
    maps[default["txinIndex"]].append((b"\x13", bytes.fromhex(default["witness"][0]) + b"\x00"))
    check = check_all_signatures(parse_psbt(psbt_v0(tx, inputs=maps)))[default["txinIndex"]].signatures[0]
    assert check.reason is SignatureProblem.ENCODING_INVALID  # a 65-byte signature may not say SIGHASH_DEFAULT


def _taproot_output(internal: bytes, leaf_hashes: list[bytes]) -> tuple[bytes, int, bytes]:
    """(output key, parity, merkle root) for leaves at depth 1 (one leaf: the root is its hash)."""
    root = leaf_hashes[0]
    if len(leaf_hashes) == 2:
        a, b = sorted(leaf_hashes)
        root = tagged_hash("TapBranch", a + b)
    key = PublicKeyXOnly(internal)
    key.tweak_add(tagged_hash("TapTweak", internal + root))
    return key.format(), int(key.parity), root


def test_taproot_script_path_multi_a_leaf() -> None:
    internal = PublicKeyXOnly.from_secret(SECRETS[3]).format()
    xonly = [PublicKeyXOnly.from_secret(secret).format() for secret in SECRETS[:3]]
    multi_a = b"\x20" + xonly[0] + b"\xac" + b"".join(b"\x20" + key + b"\xba" for key in xonly[1:]) + b"\x52\x9c"
    single = b"\x20" + xonly[2] + b"\xac"
    leaves = [tapleaf_hash(multi_a), tapleaf_hash(single)]
    output_key, parity, _ = _taproot_output(internal, leaves)
    funding = FUNDING._replace(outputs=(TxOut(30_000, b"\x51\x20" + output_key),))
    spend = Transaction(2, (TxIn(txid(funding), 0, b"", 0),), (TxOut(29_000, b"\x51"),), 0)
    cache = SighashCache(spend, funding.outputs)
    digest = taproot_sighash(spend, 0, None, 0, leaf_hash=leaves[0], cache=cache)
    sigs = {n: PrivateKey(SECRETS[n]).sign_schnorr(digest, bytes(32)) for n in (0, 1)}
    control = bytes((0xC0 | parity,)) + internal + leaves[1]
    fields = [
        witness_utxo(funding.outputs[0]),
        (b"\x15" + control, multi_a + b"\xc0"),
        (b"\x15" + bytes((0xC0 | (parity ^ 1),)) + internal + leaves[0], single + b"\xc0"),  # wrong parity
        *[(b"\x14" + xonly[n] + leaves[0], sigs[n]) for n in (0, 1)],
        (b"\x14" + xonly[2] + bytes(32), sigs[0]),  # a signature for a leaf the PSBT does not describe
    ]
    (result,) = check_all_signatures(parse_psbt(psbt_v0(spend, inputs=[fields])))
    assert (result.kind, result.required, result.valid) == (SpendKind.P2TR, 1, 0)  # the key path is unsigned
    leaf_multi, leaf_single = result.tap_leaves
    assert (leaf_multi.committed, leaf_multi.required, leaf_multi.valid, leaf_multi.keys) == (True, 2, 2, tuple(xonly))
    assert (leaf_single.committed, leaf_single.required, leaf_single.valid) == (False, 1, 0)
    first, second, stray = result.signatures
    assert first.verdict is VALID and second.verdict is VALID
    assert first.leaf_hash == leaves[0]
    assert SignatureProblem.LEAF_SCRIPT_UNKNOWN in stray.problems
    assert stray.reason is SignatureProblem.DOES_NOT_VERIFY


# --- DER -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        "300602010102010101",  # minimal, valid encoding
        "3045022100f6a10b8604e6dc910194b79ccfc93e1bc0ec7c03453caaa8987f7d6c3413566002206216229ede9b4d6ec2d325be245c5b508ff0339bf1794078e20bfe0babc7ffe683",
    ],
)
def test_strict_der_accepts(signature: str) -> None:
    assert parse_der_signature(bytes.fromhex(signature)) is not None


@pytest.mark.parametrize(
    "signature",
    [
        "3006020101020101",  # no hash type byte: lengths do not add up
        "310602010102010101",  # not a sequence
        "300702010102010101",  # sequence length wrong
        "30060301010201010101"[:18],  # r is not an integer
        "3006020181020101" + "01",  # r negative
        "300702020001020101" + "01",  # r with a needless leading zero
        "300602000201010101",  # r empty
        "3006020101020181" + "01",  # s negative
        "30" + "44" + "0220" + "11" * 32 + "0220" + "22" * 32 + "01" + "00",  # trailing garbage
    ],
)
def test_strict_der_refuses(signature: str) -> None:
    assert parse_der_signature(bytes.fromhex(signature)) is None


def test_der_round_trip_of_extreme_values() -> None:
    for r, s in ((1, 1), (SECP256K1_N - 1, SECP256K1_N // 2), (0x80, 0x7F)):
        encoded = encode_der_signature(r, s) + b"\x01"
        assert parse_der_signature(encoded) == (r, s)


def test_serialize_output_helper_matches_witness_utxo_encoding() -> None:
    assert witness_utxo(TxOut(1, b"\x51"))[1] == serialize_output(TxOut(1, b"\x51"))


def test_signatures_of_the_wrong_scheme_are_invalid() -> None:
    tx = parse_transaction(bytes.fromhex(BIP341["rawUnsignedTx"]))
    maps = [[witness_utxo(TxOut(u["amountSats"], bytes.fromhex(u["scriptPubKey"])))] for u in BIP341["utxosSpent"]]
    maps[0].append((b"\x02" + PUBKEYS[0], sign_p2wsh(SPEND, 0, KEYS[0])))  # ECDSA on a taproot input
    maps[5].append((b"\x13", bytes(64)))  # Schnorr on a P2WPKH input
    results = check_all_signatures(parse_psbt(psbt_v0(tx, inputs=maps)))
    (ecdsa,) = results[0].signatures
    assert (ecdsa.scheme, ecdsa.verdict, ecdsa.reason) == (
        "ecdsa",
        SignatureVerdict.INVALID,
        SignatureProblem.WRONG_SCHEME,
    )
    (schnorr,) = results[5].signatures
    assert (schnorr.scheme, schnorr.reason, schnorr.sighash_type) == ("schnorr", SignatureProblem.WRONG_SCHEME, 0)
    unknown = parse_psbt(psbt_v0(SPEND, inputs=[[(b"\x13", bytes(65))]]))
    (check,) = check_all_signatures(unknown)[0].signatures
    assert (check.verdict, check.reason) == (SignatureVerdict.UNVERIFIABLE, SignatureProblem.SIGHASH_UNAVAILABLE)


def test_single_key_inputs_name_their_keys_from_derivations() -> None:
    key_hash = hash160(PUBKEYS[1])
    output = TxOut(10_000, b"\x00\x14" + key_hash)
    derivation = (b"\x06" + PUBKEYS[1], bytes(4))
    other = (b"\x06" + PUBKEYS[2], bytes(4))
    (result,) = check_all_signatures(parse_psbt(psbt_v0(SPEND, inputs=[[witness_utxo(output), derivation, other]])))
    assert (result.kind, result.keys, result.required, result.valid) == (SpendKind.P2WPKH, (PUBKEYS[1],), 1, 0)
