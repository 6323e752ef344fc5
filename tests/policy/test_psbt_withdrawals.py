"""A PSBT attached to a withdrawal request of a Bitcoin cold wallet: verified against the wallet's descriptor from
the policy; its external outputs must be exactly the request's destination and amount; the release would bind the
unsigned txid. The change-substitution attack and a PSBT paying someone else are denied."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from embit import ec, script
from embit.psbt import PSBT

from mamori.policy.check import check_request, verify_attached
from mamori.policy.parse import load_policy_text
from mamori.policy.request import parse_request
from mamori.verify.registry import default_registry
from support.psbt_corpus import cosigners, descriptor, psbts

MAINNET = "bip122:000000000019d6689c085ae165831e93"
NOW = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)
POLICY = f"""
policy: 1
id: btc-cold
timezone: Asia/Tokyo
system_of_record:
  require_signed_request: false
  keys: [{{id: ledger, ed25519: "0x73b8a0497d190c5bd896ac2fcb350346cca85afe79e1592ed4bbfe5c625a44da"}}]
require_transaction: [cold]
assets:
  BTC: {{chain: "{MAINNET}", decimals: 8}}
wallets:
  btc-cold-1:
    tier: cold
    chain: "{MAINNET}"
    address: "{descriptor(cosigners())[:60]}"
    assets: [BTC]
    descriptor: "{descriptor(cosigners())}"
people:
  ops-bot: {{organisation: operations, employee: true, groups: [initiators]}}
  aiko: {{organisation: treasury, employee: true, groups: [treasury]}}
  kenji: {{organisation: security, employee: true, groups: [security]}}
rules:
  - id: cold-permit
    effect: permit
    when: {{tier: [cold]}}
address_book:
  cooling_off: 48h
  add_quorum: {{count: 2}}
  required_for: []
findings:
  deny: [critical, high]
screening: {{deny: true}}
fee_caps:
  BTC: "0.001 BTC"
"""
PSBTS = list(psbts(4))


def request_for(data: bytes, **over: Any) -> dict[str, Any]:
    peer = PSBT.parse(data)
    external = peer.tx.vout[0]
    document = {
        "request_id": "wd-btc-1", "created_at": "2026-03-04T01:30:00Z", "initiator": "ops-bot",
        "wallet": "btc-cold-1", "chain": MAINNET, "asset": "BTC", "amount": str(external.value),
        "destination": external.script_pubkey.address(),
        "transaction": {"kind": "psbt", "psbt": base64.b64encode(data).decode()},
    }  # fmt: skip
    return {**document, **over}


def decide(document: dict[str, Any]) -> Any:
    policy = load_policy_text(POLICY)
    balances = {"balances": {"btc-cold-1": {"BTC": str(10**15)}}, "screened_lists": ["ofac-sdn"]}
    return check_request(document, policy, balances, now=NOW, registry=default_registry())


def single_payment(index: int) -> bytes:
    """A corpus PSBT with one external output (the corpus sometimes pays two)."""
    return next(data for data in PSBTS[index:] + PSBTS if len(PSBT.parse(data).tx.vout) == 2)


def reasons(verdict: Any) -> set[str]:
    return {r.code for r in verdict.reasons}


def test_the_psbt_that_pays_exactly_the_request_is_allowed_and_binds_the_unsigned_txid() -> None:
    data = single_payment(0)
    policy = load_policy_text(POLICY)
    verified = verify_attached(parse_request(request_for(data)), policy, default_registry())
    assert verified is not None
    facts, signing_hash = verified
    assert facts.kind == "psbt" and len(facts.transfers) == 1
    assert signing_hash == "0x" + PSBT.parse(data).tx.txid().hex()
    verdict = decide(request_for(data))
    assert verdict.decision == "allow", reasons(verdict)


def test_a_different_amount_or_destination_is_denied() -> None:
    data = single_payment(0)
    assert "TX_AMOUNT_MISMATCH" in reasons(decide(request_for(data, amount="1")))
    other = script.p2wpkh(ec.PrivateKey(b"\x22" * 32).get_public_key()).address()
    assert "TX_DESTINATION_MISMATCH" in reasons(decide(request_for(data, destination=other)))


def test_the_change_substitution_attack_is_denied() -> None:
    peer = PSBT.parse(single_payment(1))
    peer.outputs[-1].script_pubkey = script.p2wpkh(ec.PrivateKey(b"\x33" * 32).get_public_key())
    verdict = decide(request_for(peer.serialize()))
    assert verdict.decision == "deny"
    assert {"FINDING_DENIES", "TX_NOT_A_TRANSFER"} <= reasons(verdict)  # CHANGE_NOT_OURS, and two payments


def test_a_psbt_for_an_evm_chain_or_without_its_descriptor_is_refused() -> None:
    data = single_payment(2)
    policy = load_policy_text(POLICY.replace(f'    descriptor: "{descriptor(cosigners())}"\n', ""))
    verdict = check_request(request_for(data), policy, {}, now=NOW, registry=default_registry())
    assert verdict.decision == "deny" and "TX_KIND_MISMATCH" in reasons(verdict)  # no descriptor: not a PSBT wallet


def test_an_input_not_proven_the_wallets_is_denied() -> None:
    peer = PSBT.parse(single_payment(2))
    for path in peer.inputs[0].bip32_derivations.values():
        path.derivation[-1] += 1  # the claimed path no longer derives the script input 0 spends
    data = peer.serialize()
    verified = verify_attached(parse_request(request_for(data)), load_policy_text(POLICY), default_registry())
    assert verified is not None and verified[0].foreign_inputs == (0,)
    verdict = decide(request_for(data))
    assert verdict.decision == "deny" and "TX_INPUT_NOT_WALLET" in reasons(verdict)
    denial = next(r for r in verdict.reasons if r.code == "TX_INPUT_NOT_WALLET")
    assert "btc-cold-1" in denial.message_en and "btc-cold-1" in denial.message_ja
