"""A sample exchange for the demo, the service tests and the benchmark: the sample policy, demo keys for the
ledger and the approvers, an address book, and builders of signed requests and of the transactions to sign.

Every key here is derived from a public label (``sha256("mamori demo approver aiko")``…): anyone can recompute
them, so they protect nothing. Never use them outside a demo.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Engine

from mamori.chains.evm import rlp
from mamori.guard import format_utc
from mamori.guard.approval import ApprovalSubject, approval_digest
from mamori.guard.changes import ChangeApprovalSubject, change_digest
from mamori.policy.request import parse_timestamp, signing_payload
from mamori.service.setup import create_api_key, initialise, write_guard_key
from mamori.store.database import upgrade

APPROVERS = ("aiko", "kenji", "mina", "vera")
LEDGER_KEY_ID = "ledger-2026"
HOT_WALLET = "eth-hot-1"
COLD_WALLET = "eth-cold-1"
COLD_SAFE = "0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4"  # Bybit's Cold Wallet 1 (Safe 1.1.1)
ETHER = 10**18
# Destinations: the last 20 bytes of keccak256 of a label, as in the policy decision vectors.
CUSTOMER = "0xd4d890D1D1b8564D0b985D541680c0d690F8a823"  # keccak256("mamori test customer 1")
EXCHANGE_DEPOSIT = "0xebB2EA0093e4F088846a07725e39db64167c328E"  # keccak256("mamori test exchange deposit")
BYBIT_WARM = "0x88a1493366D48225fc3cEFbdae9eBb23E323Ade3"  # what the compromised UI showed as the destination


def demo_key(label: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


def public_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


LEDGER = demo_key("mamori sample ledger key")  # the sample policy's system-of-record key


def approver_key(person: str) -> Ed25519PrivateKey:
    return demo_key(f"mamori demo approver {person}")


def demo_policy_text() -> str:
    """The sample policy without its business-hours rule for the cold wallet, so the demo runs at any hour."""
    text = resources.files("mamori.content").joinpath("policies/sample.yaml").read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    document["id"] = "demo-exchange"
    document["description"] = "The sample policy (content/policies/sample.yaml) without its cold-wallet hours."
    document["rules"] = [rule for rule in document["rules"] if rule["id"] != "cold-business-hours"]
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def address_book(now: datetime) -> list[dict[str, Any]]:
    """The exchange's existing book, approved a week ago by two organisations (cooling-off long over)."""
    since = format_utc(now - timedelta(days=7))
    return [
        {
            "chain": "eip155:1",
            "address": EXCHANGE_DEPOSIT,
            "label": "our deposit wallet at another exchange",
            "approved_by": ["kenji", "vera"],
            "effective_at": since,
        }
    ]


@dataclass
class Ledger:
    """The exchange's system of record: numbers and signs withdrawal requests."""

    key: Ed25519PrivateKey = field(default_factory=lambda: LEDGER)
    key_id: str = LEDGER_KEY_ID
    initiator: str = "ops-bot"

    def request(
        self,
        request_id: str,
        *,
        wallet: str,
        amount: int,
        destination: str,
        now: datetime,
        asset: str = "ETH",
        chain: str = "eip155:1",
        transaction: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        fields = {
            "request_id": request_id,
            "created_at": format_utc(now),
            "initiator": self.initiator,
            "wallet": wallet,
            "chain": chain,
            "asset": asset,
            "amount": str(amount),
            "destination": destination,
        }
        signature = self.key.sign(signing_payload(fields)).hex()
        document: dict[str, Any] = {**fields, "signature": {"key_id": self.key_id, "ed25519": signature}}
        if transaction is not None:
            document["transaction"] = transaction
        return document


def hot_transfer(destination: str, amount: int, *, nonce: int = 0) -> dict[str, Any]:
    """An unsigned EIP-1559 ether transfer from the hot wallet: gas 21,000 at most 2 gwei (fee 0.000042 ETH)."""
    numbers: list[rlp.RlpEncodable] = [rlp.encode_uint(n) for n in (1, nonce, 10**9, 2 * 10**9, 21_000)]
    body: list[rlp.RlpEncodable] = [*numbers, bytes.fromhex(destination[2:]), rlp.encode_uint(amount), b"", []]
    return {"kind": "evm", "raw": "0x02" + rlp.encode(body).hex()}


def cold_transfer(destination: str, amount: int, *, nonce: int = 72) -> dict[str, Any]:
    """A Safe transaction record of a plain ether transfer from the cold wallet (no signatures yet)."""
    zero = "0x" + "00" * 20
    return {
        "kind": "safe",
        "record": {
            "safe": COLD_SAFE,
            "to": destination,
            "value": str(amount),
            "data": None,
            "operation": 0,
            "safeTxGas": 0,
            "baseGas": 0,
            "gasPrice": "0",
            "gasToken": zero,
            "refundReceiver": zero,
            "nonce": nonce,
        },
    }


def bybit_executed() -> dict[str, Any]:
    """The transaction Bybit's signers really signed on 2025-02-21 (a DELEGATECALL), as the Safe API shows it."""
    sample = resources.files("mamori.content").joinpath("samples/bybit-safe-tx-71.json").read_bytes()
    executed = orjson.loads(sample)["results"][0]
    return {"kind": "safe", "record": executed}


def sign_approval(person: str, subject: dict[str, Any]) -> dict[str, Any]:
    """What an approver's client does with the subject the service shows: rebuild it, sign its digest."""
    typed = ApprovalSubject(
        request_id=subject["request_id"],
        wallet=subject["wallet"],
        chain=subject["chain"],
        asset=subject["asset"],
        amount=int(subject["amount"]),
        destination=subject["destination"],
        signing_hash=subject["signing_hash"],
        policy_digest=subject["policy_digest"],
        expires_at=parse_timestamp(subject["expires_at"], field="expires_at"),
    )
    return {"subject": subject, "signature": approver_key(person).sign(approval_digest(typed)).hex()}


def sign_change(person: str, approval_subject: dict[str, Any]) -> dict[str, Any]:
    typed = ChangeApprovalSubject(
        change_id=approval_subject["change_id"],
        kind=approval_subject["kind"],
        subject_sha256=approval_subject["subject_sha256"],
        expires_at=parse_timestamp(approval_subject["expires_at"], field="expires_at"),
    )
    return {"signature": approver_key(person).sign(change_digest(typed)).hex()}


@dataclass(frozen=True)
class ExchangeKeys:
    """API keys of the sample exchange's accounts (tokens, shown once at creation)."""

    initiator: str
    auditor: str
    policy_admin: str
    approvers: dict[str, str]


def set_up_exchange(
    engine: Engine, *, guard_key_path: Path, now: datetime, policy_text: str | None = None
) -> tuple[Ed25519PrivateKey, ExchangeKeys]:
    """Migrate the database, create the guard key, initialise the guard with the demo policy, the approvers'
    keys and the address book, and issue one API key per account."""
    upgrade(engine)
    guard_key = write_guard_key(guard_key_path)
    initialise(
        engine,
        policy_text=policy_text or demo_policy_text(),
        approver_keys={person: public_hex(approver_key(person)) for person in APPROVERS},
        address_book=address_book(now),
        operator="mamori demo",
        now=now,
    )

    def token(role: str, principal: str) -> str:
        return create_api_key(engine, role=role, principal=principal, now=now)[0]

    keys = ExchangeKeys(
        initiator=token("initiator", "ledger"),
        auditor=token("auditor", "internal-audit"),
        policy_admin=token("policy_admin", "security-office"),
        approvers={person: token("approver", person) for person in APPROVERS},
    )
    return guard_key, keys
