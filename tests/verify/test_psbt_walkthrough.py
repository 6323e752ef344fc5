"""BIP-174's walk-through seen by the verifier, role by role, with the walk-through's own wallet described as
descriptors (its keys at m/0'/0'/0'…5' of the BIP's master key): what a signer is shown at each step.

The walk-through is the BIP's example, not a safe withdrawal: its P2SH-P2WSH input carries only a witness UTXO,
so the verifier blocks signing at every step for the fee attack of CVE-2020-14199 (SEGWIT_UTXO_ONLY)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from embit import bip32
from embit.networks import NETWORKS
from embit.psbt import PSBT
from embit.transaction import Transaction

from mamori.chains.bitcoin.descriptor import Descriptor, parse_descriptor
from mamori.chains.bitcoin.networks import Network
from mamori.verify.psbt import PsbtReport, verify_psbt

BIP174 = json.loads((Path(__file__).parents[3] / "shared" / "data" / "psbt" / "bip174_vectors.json").read_text())
CONTEXT = BIP174["roles_context"]
ROLES = {role["step"]: base64.b64decode(role["base64"]) for role in BIP174["roles"]}
SIGNER_1, SIGNER_2 = "Signer (keys m/0'/0'/0' and m/0'/0'/2')", "Signer (keys m/0'/0'/1' and m/0'/0'/3')"


def _wallets() -> tuple[Descriptor, ...]:
    """The walk-through's four scripts as descriptors, each key with its origin in the BIP's master key."""
    master = bip32.HDKey.from_base58(CONTEXT["master_tprv"]).my_fingerprint.hex()
    keys = {item["path"]: item["pubkey"] for item in CONTEXT["updater"]["pubkeys"]}

    def key(n: int) -> str:
        path = f"m/0'/0'/{n}'"
        return f"[{master}/0h/0h/{n}h]{keys[path]}"

    texts = {
        "legacy 2-of-2": f"sh(multi(2,{key(0)},{key(1)}))",
        "nested 2-of-2": f"sh(wsh(multi(2,{key(2)},{key(3)})))",
        "receive 4": f"wpkh({key(4)})",
        "receive 5": f"wpkh({key(5)})",
    }
    return tuple(parse_descriptor(text, "testnet", name=name) for name, text in texts.items())


WALLETS = _wallets()


def verify(step: str, wallets: tuple[Descriptor, ...] = WALLETS) -> PsbtReport:
    return verify_psbt(ROLES[step], wallets=wallets)


def codes(report: PsbtReport) -> list[str]:
    return [item.code for item in report.findings]


def test_the_wallet_descriptors_make_the_walkthrough_scripts() -> None:
    redeem = [bytes.fromhex(s) for s in CONTEXT["updater"]["redeem_scripts"]]
    assert WALLETS[0].redeem_script_at(0) == redeem[0]
    assert WALLETS[1].redeem_script_at(0) == redeem[1]
    assert WALLETS[1].witness_script_at(0) == bytes.fromhex(CONTEXT["updater"]["witness_scripts"][0])
    outputs = [bytes.fromhex(out["scriptPubKey"]) for out in CONTEXT["creator"]["outputs"]]
    assert [WALLETS[2].script_at(0), WALLETS[3].script_at(0)] == outputs
    assert all(wallet.network is Network.TESTNET for wallet in WALLETS)


def test_the_creators_psbt_says_nothing_can_be_checked() -> None:
    report = verify("Creator")
    assert codes(report).count("MISSING_UTXO") == 2 and report.blocks_signing
    assert report.fee is None
    # Nothing names a derivation yet: both outputs are payments to compare with a request, no input is proven.
    assert [out.role for out in report.outputs] == ["external", "external"]
    assert all(item.wallet is None for item in report.inputs)


@pytest.mark.parametrize("step", ["Updater", "Updater (adds SIGHASH_ALL)", SIGNER_1, SIGNER_2, "Combiner"])
def test_from_the_updater_on_every_satoshi_is_accounted_for(step: str) -> None:
    report = verify(step)
    peer = PSBT.parse(ROLES[step])
    previous = [Transaction.parse(bytes.fromhex(raw)) for raw in CONTEXT["updater"]["previous_txs"]]
    spent = previous[1].vout[0].value + previous[0].vout[1].value  # input 0 spends tx 2's output 0, input 1 tx 1's 1
    assert [item.amount for item in report.inputs] == [previous[1].vout[0].value, previous[0].vout[1].value]
    assert report.fee == spent - sum(out.value for out in peer.tx.vout) == peer.fee()
    assert report.unsigned_txid == peer.tx.txid().hex() == verify("Creator").unsigned_txid
    assert [(item.wallet, item.kind) for item in report.inputs] == [
        ("legacy 2-of-2", "p2sh"),
        ("nested 2-of-2", "p2sh-p2wsh"),
    ]
    assert [(out.role, out.wallet) for out in report.outputs] == [("change", "receive 4"), ("change", "receive 5")]
    assert [out.address for out in report.outputs] == [
        out.script_pubkey.address(NETWORKS["test"]) for out in peer.tx.vout
    ]
    assert "INPUT_NOT_OURS" not in codes(report) and "EXTERNAL_OUTPUT" not in codes(report)
    # The nested input has no full previous transaction: its amount is the PSBT's word (CVE-2020-14199).
    found = [item for item in report.findings if item.code == "SEGWIT_UTXO_ONLY"]
    assert [item.path for item in found] == ["inputs[1]"] and report.blocks_signing


def test_each_signer_adds_one_valid_signature_and_the_combiner_meets_the_quorum() -> None:
    quorum = {step: [(item.valid, item.required) for item in verify(step).inputs] for step in ROLES}
    assert quorum["Updater"] == [(0, 2), (0, 2)]
    assert quorum[SIGNER_1] == quorum[SIGNER_2] == [(1, 2), (1, 2)]
    assert quorum["Combiner"] == [(2, 2), (2, 2)]
    combined = verify("Combiner")
    assert "INVALID_SIGNATURE" not in codes(combined)
    assert [item.sighash for item in combined.inputs] == ["ALL", "ALL"]
    assert [item.sighash for item in verify("Updater").inputs] == ["ALL (not stated)"] * 2


def test_a_finalized_psbt_no_longer_proves_its_inputs() -> None:
    report = verify("Input Finalizer")
    found = [item for item in report.findings if item.code == "INPUT_NOT_OURS"]
    assert [item.path for item in found] == ["inputs[0]", "inputs[1]"]
    assert all("finalized" in item.message_en and "ファイナライズ済み" in item.message_ja for item in found)
    assert [out.role for out in report.outputs] == ["change", "change"]  # outputs keep their derivations


def test_without_the_wallets_every_output_is_a_payment() -> None:
    report = verify("Combiner", wallets=())
    assert [out.role for out in report.outputs] == ["external", "external"]
    assert "INPUT_NOT_OURS" not in codes(report)  # nothing to prove against
    assert report.network is Network.MAINNET  # the PSBT does not say: mainnet unless a wallet or --network does
