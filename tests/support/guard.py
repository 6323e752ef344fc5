"""The sample exchange behind an in-process HTTP client, for the service and API tests.

``make_exchange`` initialises a migrated database (SQLite, or a PostgreSQL schema in CI) with the demo policy,
approvers and address book (mamori.demo.exchange), loads the real OFAC and FBI lists from ../shared/data/intel,
and returns a client whose clock the test moves by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from mamori.api.app import ApiSettings, create_app
from mamori.cli.screen import load_screening_index
from mamori.demo import exchange as sample
from mamori.service.guard import GuardServices, build_services

INTEL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "intel"
# A Tuesday, 11:00 in Tokyo: inside the sample policy's business hours, should a test use that policy.
START = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Exchange:
    engine: Engine
    services: GuardServices
    client: TestClient
    keys: sample.ExchangeKeys
    guard_key: Ed25519PrivateKey
    clock: Clock
    ledger: sample.Ledger = field(default_factory=sample.Ledger)

    def headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, token: str | None, body: Any = None) -> httpx.Response:
        headers = self.headers(token) if token is not None else {}
        return self.client.request(method, path, json=body, headers=headers)

    def as_initiator(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.call(method, path, self.keys.initiator, body)

    def as_approver(self, person: str, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.call(method, path, self.keys.approvers[person], body)

    def report_balances(self, cold_eth: int = 401_347, hot_eth: int = 100) -> None:
        for wallet, amount in ((sample.COLD_WALLET, cold_eth), (sample.HOT_WALLET, hot_eth)):
            body = {"wallet": wallet, "asset": "ETH", "amount": str(amount * sample.ETHER)}
            assert self.as_initiator("PUT", "/v1/balances", body).status_code == 200

    def submit(self, document: dict[str, Any]) -> httpx.Response:
        return self.as_initiator("POST", "/v1/requests", document)

    def approve(self, person: str, request_id: str) -> httpx.Response:
        subject = self.as_approver(person, "GET", f"/v1/requests/{request_id}/approval-subject")
        assert subject.status_code == 200, subject.text
        return self.as_approver(
            person,
            "POST",
            f"/v1/requests/{request_id}/approvals",
            sample.sign_approval(person, subject.json()["subject"]),
        )


def make_exchange(
    engine: Engine, directory: Path, *, policy_text: str | None = None, screening: bool = True
) -> Exchange:
    clock = Clock()
    guard_key, keys = sample.set_up_exchange(
        engine, guard_key_path=directory / "guard.key", now=clock.now, policy_text=policy_text
    )
    index = load_screening_index([], None, None, INTEL, None)[0] if screening else None
    services = build_services(engine, guard_key=guard_key, screening=index)
    client = TestClient(create_app(services, ApiSettings(clock=clock)))
    return Exchange(engine, services, client, keys, guard_key, clock)


def hot_request(exchange: Exchange, request_id: str, amount: int = sample.ETHER, *, nonce: int = 0) -> dict[str, Any]:
    """A hot-wallet withdrawal to the sample customer, signed by the ledger now, with its raw transaction."""
    return exchange.ledger.request(
        request_id,
        wallet=sample.HOT_WALLET,
        amount=amount,
        destination=sample.CUSTOMER,
        now=exchange.clock.now,
        transaction=sample.hot_transfer(sample.CUSTOMER, amount, nonce=nonce),
    )


def ok(response: httpx.Response) -> dict[str, Any]:
    """The body of a 200 answer (the test fails with the body otherwise)."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The error of an answer that must be ``status`` with ``code``, in both languages."""
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code, body
    assert body["message"]["en"] and body["message"]["ja"]
    return dict(body)
