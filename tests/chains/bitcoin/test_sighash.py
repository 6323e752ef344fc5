"""Signature hashes against published vectors: Core's legacy sighash.json, BIP-143, BIP-341; BIP-340 verification."""

from __future__ import annotations

import csv
from typing import Any

import pytest
from coincurve import PublicKey, PublicKeyXOnly

from chains.bitcoin.builders import VECTORS, load
from mamori.chains.bitcoin.sighash import (
    UINT256_ONE,
    SighashCache,
    legacy_sighash,
    segwit_v0_sighash,
    tagged_hash,
    tapleaf_hash,
    taproot_sighash,
    taproot_signature_message,
)
from mamori.chains.bitcoin.signatures import SECP256K1_N, encode_der_signature, parse_der_signature
from mamori.chains.bitcoin.transaction import Transaction, TxIn, TxOut, parse_transaction
from mamori.errors import DecodeError

LEGACY = load("legacy_sighash_vectors.json")
BIP143 = load("bip143_vectors.json")
BIP341 = load("bip341_keypath_vectors.json")["keyPathSpending"][0]
BIP341_TX = parse_transaction(bytes.fromhex(BIP341["rawUnsignedTx"]))
BIP341_SPENT = [TxOut(utxo["amountSats"], bytes.fromhex(utxo["scriptPubKey"])) for utxo in BIP341["utxosSpent"]]


def _verify_ecdsa(pubkey: str, signature: bytes, digest: bytes) -> bool:
    """Verify with libsecp256k1 directly (it takes low-S only: normalize like the checker does)."""
    parsed = parse_der_signature(signature)
    assert parsed is not None
    r, s = parsed
    der = encode_der_signature(r, min(s, SECP256K1_N - s))
    return bool(PublicKey(bytes.fromhex(pubkey)).verify(der, digest, hasher=None))


@pytest.mark.parametrize("case", LEGACY["cases"], ids=lambda case: f"{case[4][:12]}")
def test_core_legacy_sighash_vectors(case: list[Any]) -> None:
    raw, script, index, hash_type, expected = case
    tx = parse_transaction(bytes.fromhex(raw))
    digest = legacy_sighash(tx, index, bytes.fromhex(script), hash_type)
    assert digest[::-1].hex() == expected  # Core prints a uint256 reversed


def test_legacy_vectors_cover_the_hash_types_and_separators() -> None:
    """The subset must exercise what it is there for: NONE, SINGLE, ANYONECANPAY and OP_CODESEPARATOR."""
    bases = {case[3] & 0x1F for case in LEGACY["cases"]}
    assert {2, 3} <= bases
    assert any(case[3] & 0x80 for case in LEGACY["cases"])
    assert any("ab" in case[1] for case in LEGACY["cases"])


def test_legacy_sighash_single_bug() -> None:
    """SIGHASH_SINGLE on an input with no output of its index signs the number 1, whatever the transaction."""
    tx = Transaction(1, (TxIn(bytes(32), 0, b"", 0), TxIn(bytes(31) + b"\x01", 0, b"", 0)), (TxOut(1, b""),), 0)
    assert legacy_sighash(tx, 1, b"\x51", 3) == UINT256_ONE
    assert legacy_sighash(tx, 1, b"\x51", 0x83) == UINT256_ONE
    assert legacy_sighash(tx, 0, b"\x51", 3) != UINT256_ONE


def _bip143_checks() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [(f"{case['name']}-{n}", case, check) for case in BIP143["cases"] for n, check in enumerate(case["checks"])]


@pytest.mark.parametrize(("name", "case", "check"), _bip143_checks(), ids=lambda value: str(value)[:40])
def test_bip143_examples(name: str, case: dict[str, Any], check: dict[str, Any]) -> None:
    tx = parse_transaction(bytes.fromhex(case["unsigned_tx"]))
    script_code = bytes.fromhex(check["script_code"])
    signature = bytes.fromhex(check["signature"])
    assert signature[-1] == check["hash_type"]
    if check["scheme"] == "bip143":
        digest = segwit_v0_sighash(tx, check["input"], script_code, check["amount"], check["hash_type"])
        assert digest.hex() == check["sighash"], name
        cached = segwit_v0_sighash(
            tx, check["input"], script_code, check["amount"], check["hash_type"], SighashCache(tx)
        )
        assert cached == digest
    else:  # the P2PK inputs of the examples are legacy: their signatures verify over the legacy hash
        digest = legacy_sighash(tx, check["input"], script_code, check["hash_type"])
    assert _verify_ecdsa(check["pubkey"], signature, digest), name


def test_bip341_intermediary_hashes() -> None:
    cache = SighashCache(BIP341_TX, BIP341_SPENT)
    expected = BIP341["intermediary"]
    assert cache.bip341_amounts.hex() == expected["hashAmounts"]
    assert cache.bip341_outputs.hex() == expected["hashOutputs"]
    assert cache.bip341_prevouts.hex() == expected["hashPrevouts"]
    assert cache.bip341_scripts.hex() == expected["hashScriptPubkeys"]
    assert cache.bip341_sequences.hex() == expected["hashSequences"]


@pytest.mark.parametrize("spend", BIP341["inputSpending"], ids=lambda spend: f"input{spend['txinIndex']}")
def test_bip341_key_path_signature_hashes(spend: dict[str, Any]) -> None:
    index, hash_type = spend["txinIndex"], spend["hashType"]
    message = taproot_signature_message(BIP341_TX, index, BIP341_SPENT, hash_type)
    assert message.hex() == spend["sigMsg"]
    digest = taproot_sighash(BIP341_TX, index, BIP341_SPENT, hash_type)
    assert digest.hex() == spend["sigHash"]
    assert digest == tagged_hash("TapSighash", message)
    signature = bytes.fromhex(spend["witness"][0])
    assert len(signature) == (64 if hash_type == 0 else 65)
    output_key = BIP341_SPENT[index].script_pubkey[2:]
    assert PublicKeyXOnly(output_key).verify(signature[:64], digest)
    assert not PublicKeyXOnly(output_key).verify(signature[:64], digest[::-1])


def test_taproot_refuses_what_bip341_refuses() -> None:
    with pytest.raises(DecodeError) as exc:
        taproot_sighash(BIP341_TX, 0, BIP341_SPENT, 0x04)
    assert exc.value.code == "BTC_SIGHASH_TYPE_INVALID"
    with pytest.raises(DecodeError) as exc:
        taproot_sighash(BIP341_TX, 0, None, 0)
    assert exc.value.code == "BTC_SIGHASH_INPUT_INVALID"
    with pytest.raises(DecodeError) as exc:
        taproot_sighash(BIP341_TX, 3, BIP341_SPENT, 0x03)  # two outputs: input 3 has no output to pair with
    assert exc.value.code == "BTC_SIGHASH_INPUT_INVALID"
    with pytest.raises(DecodeError) as exc:
        SighashCache(BIP341_TX, BIP341_SPENT[:-1])
    assert exc.value.code == "BTC_SIGHASH_INPUT_INVALID"


def test_script_path_message_commits_to_the_leaf() -> None:
    leaf = tapleaf_hash(bytes.fromhex("20" + "11" * 32 + "ac"))
    key_path = taproot_signature_message(BIP341_TX, 0, BIP341_SPENT, 0)
    script_path = taproot_signature_message(BIP341_TX, 0, BIP341_SPENT, 0, leaf_hash=leaf)
    assert script_path[: len(key_path) - 5] == key_path[: len(key_path) - 5]
    assert script_path[-37:] == leaf + b"\x00\xff\xff\xff\xff"
    annexed = taproot_signature_message(BIP341_TX, 0, BIP341_SPENT, 0, annex=b"\x50\x01")
    assert annexed != key_path


def test_sighash_input_index_is_checked() -> None:
    tx = parse_transaction(bytes.fromhex(BIP143["cases"][1]["unsigned_tx"]))
    for call in (
        lambda: legacy_sighash(tx, 1, b"", 1),
        lambda: segwit_v0_sighash(tx, -1, b"", 0, 1),
    ):
        with pytest.raises(DecodeError) as exc:
            call()
        assert exc.value.code == "BTC_SIGHASH_INPUT_INVALID"


def _bip340_rows() -> list[dict[str, str]]:
    with (VECTORS / "bip340_test_vectors.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("row", _bip340_rows(), ids=lambda row: f"bip340-{row['index']}")
def test_bip340_verification_vectors(row: dict[str, str]) -> None:
    """coincurve's PublicKeyXOnly.verify is BIP-340 Schnorr verification: the BIP's vectors, failures included."""
    expected = row["verification result"] == "TRUE"
    try:
        key = PublicKeyXOnly(bytes.fromhex(row["public key"]))
    except ValueError:
        assert not expected, row["comment"]
        return
    assert key.verify(bytes.fromhex(row["signature"]), bytes.fromhex(row["message"])) is expected, row["comment"]
