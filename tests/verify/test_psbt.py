"""The PSBT verifier on the 2-of-3 P2WSH wallet's PSBTs (tests/support/psbt_corpus.py, built with embit) and on
their tampered forms: the change-substitution attack, the fee attack (CVE-2020-14199), a forged previous
transaction, a signature for something else, a non-default sighash, an excessive fee; and BIP-174's vectors."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from embit import ec, script
from embit.networks import NETWORKS
from embit.psbt import PSBT, DerivationPath
from embit.transaction import SIGHASH, Transaction, TransactionInput, TransactionOutput

from mamori.chains.bitcoin.descriptor import parse_descriptor
from mamori.chains.bitcoin.networks import Network
from mamori.chains.bitcoin.psbt import parse_psbt
from mamori.chains.bitcoin.transaction import TxOut
from mamori.errors import MamoriError
from mamori.verify.psbt import Limits, PsbtReport, verify_psbt
from support.psbt_corpus import cosigners, descriptor, psbts

VECTORS = json.loads((Path(__file__).parents[3] / "shared" / "data" / "psbt" / "bip174_vectors.json").read_text())
WALLET = parse_descriptor(descriptor(cosigners()), name="cold-1")
CORPUS = list(psbts(12))
ATTACKER = script.p2wpkh(ec.PrivateKey(b"\x11" * 32).get_public_key())


def verify(data: bytes, **kwargs: Any) -> PsbtReport:
    return verify_psbt(data, wallets=(WALLET,), **kwargs)


def codes(report: PsbtReport) -> list[str]:
    return [item.code for item in report.findings]


def embit(data: bytes) -> PSBT:
    return PSBT.parse(data)


def test_a_genuine_withdrawal_may_be_signed_and_shows_where_everything_goes() -> None:
    for data in CORPUS:
        report = verify(data)
        assert not report.blocks_signing, codes(report)
        peer = embit(data)
        assert report.fee == peer.fee()
        assert report.unsigned_txid == peer.tx.txid().hex()
        roles = [out.role for out in report.outputs]
        assert roles[-1] == "change" and set(roles[:-1]) == {"external"}
        change = report.outputs[-1]
        assert (change.wallet, change.branch) == ("cold-1", 1)
        assert change.address == peer.tx.vout[-1].script_pubkey.address()
        assert codes(report).count("EXTERNAL_OUTPUT") == len(roles) - 1
        assert all(item.valid == 2 and item.required == 2 for item in report.inputs)
        assert report.fee_rate is not None and 0 < report.fee_rate < 500
        for item, fields in zip(report.inputs, peer.inputs, strict=True):  # every input spends the wallet's coins
            claimed = next(iter(fields.bip32_derivations.values())).derivation
            assert (item.wallet, item.branch, item.derivation_index) == ("cold-1", 0, claimed[-1])
        assert "INPUT_NOT_OURS" not in codes(report)


def test_the_change_substitution_attack_is_caught() -> None:
    peer = embit(CORPUS[0])
    peer.outputs[-1].script_pubkey = ATTACKER  # derivations and witness script still claim our change path
    report = verify(peer.serialize())
    assert "CHANGE_NOT_OURS" in codes(report) and report.blocks_signing
    assert report.outputs[-1].role == "external"
    found = next(item for item in report.findings if item.code == "CHANGE_NOT_OURS")
    assert "the output's script is not the one this wallet's keys derive at the claimed path" in found.message_en
    assert "導出されるものと一致しません" in found.message_ja
    # Our own script, but the derivations also list a stranger's key: the claim does not hold as made.
    listed = embit(CORPUS[0])
    stranger = ec.PrivateKey(b"\x44" * 32).get_public_key()
    ours = next(iter(listed.outputs[-1].bip32_derivations.values()))
    listed.outputs[-1].bip32_derivations[stranger] = DerivationPath(b"\xde\xad\xbe\xef", list(ours.derivation))
    found = next(item for item in verify(listed.serialize()).findings if item.code == "CHANGE_NOT_OURS")
    assert "a public key that is not one of this wallet's" in found.message_en
    stripped = embit(CORPUS[0])
    stripped.outputs[-1].script_pubkey = ATTACKER
    stripped.outputs[-1].bip32_derivations = {}
    stripped.outputs[-1].witness_script = None
    quiet = verify(stripped.serialize())
    # Claiming nothing, it is one more payment: listed for the request comparison, which it cannot pass.
    assert [out.role for out in quiet.outputs].count("external") == len(quiet.outputs)
    assert codes(quiet).count("EXTERNAL_OUTPUT") == len(quiet.outputs)


def test_coins_of_another_wallet_are_not_ours() -> None:
    other = parse_descriptor(descriptor(cosigners(tuple(bytes([n]) * 32 for n in (7, 8, 9)))), name="cold-2")
    report = verify_psbt(CORPUS[0], wallets=(other,))
    assert codes(report).count("INPUT_NOT_OURS") == len(report.inputs) and report.blocks_signing
    assert all(item.wallet is None for item in report.inputs)
    assert "names no key of ours" in next(f for f in report.findings if f.code == "INPUT_NOT_OURS").message_en
    # Given both wallets, each input is proven by the one that owns it.
    both = verify_psbt(CORPUS[0], wallets=(other, WALLET))
    assert {item.wallet for item in both.inputs} == {"cold-1"} and "INPUT_NOT_OURS" not in codes(both)


def test_wallets_of_one_master_key_do_not_call_each_others_change_false() -> None:
    """Account 1 of the same three cosigners shares their master fingerprints: asked first, it must not turn
    account 0's change into a false claim (CHANGE_NOT_OURS) before account 0 is asked."""
    keys = ",".join(
        f"[{s.fingerprint.hex()}/48'/0'/1'/2']{s.root.derive('m/48h/0h/1h/2h').to_public().to_base58()}/<0;1>/*"
        for s in cosigners()
    )
    account_1 = parse_descriptor(f"wsh(sortedmulti(2,{keys}))", name="cold-1-account-1")
    report = verify_psbt(CORPUS[0], wallets=(account_1, WALLET))
    assert report.outputs[-1].role == "change" and report.outputs[-1].wallet == "cold-1"
    assert {item.wallet for item in report.inputs} == {"cold-1"}
    assert not report.blocks_signing, codes(report)
    alone = verify_psbt(CORPUS[0], wallets=(account_1,))
    assert "CHANGE_NOT_OURS" in codes(alone)  # asked alone, our fingerprints on a path it does not have


def test_an_input_claiming_a_path_that_does_not_derive_its_script_is_not_ours() -> None:
    peer = embit(CORPUS[7])
    for path in peer.inputs[0].bip32_derivations.values():
        path.derivation[-1] += 1  # our fingerprints and branch, the next index: not the keys of this script
    report = verify(peer.serialize())
    found = [item for item in report.findings if item.code == "INPUT_NOT_OURS"]
    assert [item.path for item in found] == ["inputs[0]"] and report.blocks_signing
    assert "the output's script is not the one this wallet's keys derive" in found[0].message_en
    assert "成り立ちません" in found[0].message_ja and "一致しません" in found[0].message_ja
    assert report.inputs[0].valid == 2  # the signatures are still good: only the claim is false


def test_the_fee_attack_needs_the_full_previous_transaction() -> None:
    peer = embit(CORPUS[1])
    peer.inputs[0].non_witness_utxo = None  # only the witness UTXO: its amount is the PSBT's word
    report = verify(peer.serialize())
    assert "SEGWIT_UTXO_ONLY" in codes(report) and report.blocks_signing


def test_a_previous_transaction_that_is_not_the_outpoint_is_refused() -> None:
    peer = embit(CORPUS[2])
    forged = peer.inputs[0].non_witness_utxo
    forged.vout[1].value += 1_000_000  # inflate the amount: its hash no longer is the outpoint's txid
    report = verify(peer.serialize())
    assert "NON_WITNESS_UTXO_MISMATCH" in codes(report) and report.blocks_signing


def test_a_signature_made_for_something_else_is_invalid() -> None:
    peer = embit(CORPUS[3])
    key = next(iter(peer.inputs[0].partial_sigs))
    other = Transaction(version=2, vin=[TransactionInput(b"\x01" * 32, 0)], vout=[TransactionOutput(1, ATTACKER)])
    digest = other.sighash_segwit(0, peer.inputs[0].witness_script, 10_000, SIGHASH.ALL)
    child = next(c for c in _children(peer, 0) if c.get_public_key() == key)
    peer.inputs[0].partial_sigs[key] = child.sign(digest).serialize() + bytes([SIGHASH.ALL])
    report = verify(peer.serialize())
    assert "INVALID_SIGNATURE" in codes(report) and report.blocks_signing
    assert report.inputs[0].valid == 1


def test_an_outpoint_spent_twice_is_an_invalid_transaction() -> None:
    """CVE-2018-17144's duplicate input: its amount would count twice, and the fee shown be wrong."""
    peer = embit(CORPUS[9])
    peer.tx.vin.append(copy.deepcopy(peer.tx.vin[0]))
    peer.inputs.append(copy.deepcopy(peer.inputs[0]))
    report = verify(peer.serialize())
    found = [item for item in report.findings if item.code == "TRANSACTION_INVALID"]
    last = len(report.inputs) - 1
    assert [item.path for item in found] == [f"inputs[{last}]"] and report.blocks_signing
    assert f"inputs 0 and {last} both spend {report.inputs[0].txid}:{report.inputs[0].vout}" in found[0].message_en
    assert "同じ" in found[0].message_ja


def test_amounts_no_node_accepts_are_an_invalid_transaction() -> None:
    psbt = parse_psbt(CORPUS[10])
    tx = psbt.unsigned_tx
    assert tx is not None
    first, *rest = tx.outputs
    for amounts, expected in (
        ((-1,), ["outputs[0]"]),  # a negative amount lowers the total and hides a payment
        ((21_000_000 * 10**8 + 1,), ["outputs[0]", "outputs"]),
        ((15_000_000 * 10**8, 15_000_000 * 10**8), ["outputs"]),  # each allowed, the sum not
    ):
        outputs = tuple(TxOut(amount, first.script_pubkey) for amount in amounts) + tuple(rest)
        changed = psbt._replace(
            unsigned_tx=tx._replace(outputs=outputs),
            outputs=(psbt.outputs[0],) * (len(amounts) - 1) + psbt.outputs,
        )
        report = verify_psbt(changed, wallets=(WALLET,))
        found = [item.path for item in report.findings if item.code == "TRANSACTION_INVALID"]
        assert found == expected and report.blocks_signing, (amounts, codes(report))
    assert "TRANSACTION_INVALID" not in codes(verify(CORPUS[10]))


def test_a_non_default_sighash_is_flagged() -> None:
    peer = embit(CORPUS[4])
    peer.inputs[0].sighash_type = SIGHASH.NONE | SIGHASH.ANYONECANPAY
    report = verify(peer.serialize())
    found = next(item for item in report.findings if item.code == "SIGHASH_NON_DEFAULT")
    assert "the outputs and the other inputs" in found.message_en and report.blocks_signing


def test_an_excessive_fee_and_an_unusual_lock_time() -> None:
    report = verify(CORPUS[5], limits=Limits(max_fee_rate=1))
    assert "FEE_EXCESSIVE" in codes(report) and report.blocks_signing
    peer = embit(CORPUS[6])
    peer.locktime = 1_900_000_000  # a Unix time in 2030
    assert "LOCKTIME_UNUSUAL" in codes(verify(peer.serialize(), limits=Limits()))


def _with_global_xpubs(data: bytes, *, test_network: tuple[bool, ...] = (False, False, False)) -> bytes:
    """The PSBT with its cosigners' account xpubs in PSBT_GLOBAL_XPUB, each as an xpub or a tpub."""
    peer = embit(data)
    for signer, test in zip(cosigners(), test_network, strict=True):
        key = signer.account.to_public()
        key.version = NETWORKS["test" if test else "main"]["xpub"]
        peer.xpubs[key] = DerivationPath(signer.fingerprint, list(signer.path))
    return peer.serialize()


def test_the_network_comes_from_the_psbts_own_extended_keys_and_must_agree() -> None:
    data = _with_global_xpubs(CORPUS[8])
    assert verify_psbt(data).network is Network.MAINNET and "NETWORK_MISMATCH" not in codes(verify(data))
    report = verify_psbt(data, wallets=(WALLET,), network=Network.TESTNET)
    found = next(item for item in report.findings if item.code == "NETWORK_MISMATCH")
    assert "mainnet (xpub)" in found.message_en and "testnet" in found.message_en and report.blocks_signing
    assert "メインネット（xpub）" in found.message_ja
    assert all(out.address is None or out.address.startswith(("tb1", "m", "n", "2")) for out in report.outputs)
    # tpubs: without a wallet or --network the PSBT reads as testnet; against the mainnet wallet it disagrees.
    tpubs = _with_global_xpubs(CORPUS[8], test_network=(True, True, True))
    alone = verify_psbt(tpubs)
    assert alone.network is Network.TESTNET and "NETWORK_MISMATCH" not in codes(alone)
    assert all(out.address is None or out.address.startswith(("tb1", "m", "n", "2")) for out in alone.outputs)
    assert "test-network (tpub)" in next(f for f in verify(tpubs).findings if f.code == "NETWORK_MISMATCH").message_en
    mixed = _with_global_xpubs(CORPUS[8], test_network=(False, True, False))
    assert (
        "both mainnet and test-network"
        in next(f for f in verify(mixed).findings if f.code == "NETWORK_MISMATCH").message_en
    )
    # BIP-174's vector with PSBT_GLOBAL_XPUB carries mainnet xpubs.
    vector = next(v for v in VECTORS["valid"] if v["description"] == "PSBT with `PSBT_GLOBAL_XPUB`.")
    assert verify_psbt(base64.b64decode(vector["base64"])).network is Network.MAINNET
    assert "NETWORK_MISMATCH" in codes(verify_psbt(base64.b64decode(vector["base64"]), network=Network.REGTEST))


def test_without_the_wallet_nothing_is_change() -> None:
    report = verify_psbt(CORPUS[0])
    assert {out.role for out in report.outputs} == {"external"}
    assert report.network is Network.MAINNET


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["description"][:60])
def test_bip174_valid_vectors_parse_and_signer_check_failures_block(vector: dict[str, Any]) -> None:
    report = verify_psbt(base64.b64decode(vector["base64"]))
    if vector.get("fails_signer_checks"):
        assert report.blocks_signing, codes(report)
        assert "UTXO_SCRIPT_MISMATCH" in codes(report)


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["description"][:60])
def test_bip174_invalid_vectors_are_refused(vector: dict[str, Any]) -> None:
    with pytest.raises(MamoriError):
        verify_psbt(base64.b64decode(vector["base64"]))


def _children(peer: PSBT, index: int) -> list[ec.PrivateKey]:
    derivation = next(iter(peer.inputs[index].bip32_derivations.values()))
    branch, number = derivation.derivation[-2:]
    return [s.account.derive([branch, number]).key for s in cosigners()]
