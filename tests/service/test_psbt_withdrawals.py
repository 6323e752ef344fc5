"""A Bitcoin cold wallet in the guard service: a withdrawal request with a PSBT attached over HTTP, verified against
the wallet's descriptor from the active policy. The PSBT that pays the request waits for its approvals with the
txid as its signing hash; one whose change was swapped for an attacker's script is denied."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml
from embit import ec, script
from embit.psbt import PSBT
from sqlalchemy import Engine

from mamori.demo import exchange as sample
from support.guard import make_exchange, ok
from support.psbt_corpus import cosigners, descriptor, psbts

MAINNET = "bip122:000000000019d6689c085ae165831e93"


def bitcoin_policy() -> str:
    document = yaml.safe_load(sample.demo_policy_text())
    document["assets"]["BTC"] = {"chain": MAINNET, "decimals": 8}
    document["wallets"]["btc-cold-1"] = {
        "tier": "cold", "chain": MAINNET, "address": "btc-cold-1", "assets": ["BTC"],
        "descriptor": descriptor(cosigners()),
    }  # fmt: skip
    document["fee_caps"]["BTC"] = "0.001 BTC"
    document["address_book"]["required_for"] = ["warm"]
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def single_payment() -> bytes:
    return next(data for data in psbts(8) if len(PSBT.parse(data).tx.vout) == 2)


def submit(exchange: Any, data: bytes, request_id: str) -> Any:
    peer = PSBT.parse(data)
    external = peer.tx.vout[0]
    document = exchange.ledger.request(
        request_id, wallet="btc-cold-1", amount=external.value, destination=external.script_pubkey.address(),
        now=exchange.clock.now, asset="BTC", chain=MAINNET,
        transaction={"kind": "psbt", "psbt": base64.b64encode(data).decode()},
    )  # fmt: skip
    return exchange.submit(document)


def test_a_psbt_withdrawal_waits_for_approvals_and_a_swapped_change_is_denied(engine: Engine, tmp_path: Path) -> None:
    exchange = make_exchange(engine, tmp_path, policy_text=bitcoin_policy())
    try:
        data = single_payment()
        body = ok(submit(exchange, data, "wd-btc-1"))
        assert body["status"] == "pending_approval", body.get("decision")
        assert body["signing_hash"] == "0x" + PSBT.parse(data).tx.txid().hex()
        peer = PSBT.parse(data)
        peer.outputs[-1].script_pubkey = script.p2wpkh(ec.PrivateKey(b"\x44" * 32).get_public_key())
        denied = ok(submit(exchange, peer.serialize(), "wd-btc-2"))
        assert denied["status"] == "denied", denied
        codes = {reason["code"] for reason in denied["decision"]["reasons"]}
        assert {"FINDING_DENIES", "TX_NOT_A_TRANSFER"} <= codes
    finally:
        exchange.client.close()
