"""The sample exchange behind real ``mamori serve`` processes, for the integration tests (tests/integration).

``child_url`` gives a child process the test's database: the same SQLite file, or the test's PostgreSQL schema
through the URL itself (``?options=-csearch_path=<schema>``, which psycopg passes to the server), since
``mamori serve`` takes nothing but a URL. ``ServedExchange`` initialises the exchange in-process, then talks to
servers over HTTP like any client would; ``audit_verify`` runs ``mamori audit verify`` as an operator would.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from mamori.demo import exchange as sample
from mamori.demo.server import ServerProcess
from support.guard import INTEL

if TYPE_CHECKING:
    from conftest import TestDatabase


def child_url(database: TestDatabase) -> str:
    """A URL that reaches the test's database, schema included, with no option but the URL."""
    if database.schema is None:
        return database.url
    url = make_url(database.url)
    url = url.update_query_dict({"options": f"-csearch_path={database.schema}"})
    return url.render_as_string(hide_password=False)


def audit_verify(url: str) -> subprocess.CompletedProcess[str]:
    """``mamori audit verify --database URL`` in a child process, as an operator would run it."""
    return subprocess.run(  # noqa: S603 - our own CLI, no shell
        [sys.executable, "-m", "mamori.cli.main", "audit", "verify", "--database", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass
class ServedExchange:
    """The sample exchange initialised on a test database, for servers started with ``server()``."""

    engine: Engine
    url: str
    guard_key_path: Path
    keys: sample.ExchangeKeys
    ledger: sample.Ledger = field(default_factory=sample.Ledger)
    directory: Path = Path()

    @classmethod
    def set_up(cls, database: TestDatabase, directory: Path, *, policy_text: str | None = None) -> ServedExchange:
        engine = database.engine()
        guard_key_path = directory / "guard.key"
        _, keys = sample.set_up_exchange(
            engine, guard_key_path=guard_key_path, now=datetime.now(UTC), policy_text=policy_text
        )
        return cls(engine, child_url(database), guard_key_path, keys, directory=directory)

    def server(self, name: str = "server") -> ServerProcess:
        """A ``mamori serve`` on this database with the real screening lists (the policy requires them)."""
        return ServerProcess(self.url, self.guard_key_path, intel=INTEL, log=self.directory / f"{name}.log")

    def headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def initiator(self) -> dict[str, str]:
        return self.headers(self.keys.initiator)

    def approver(self, person: str) -> dict[str, str]:
        return self.headers(self.keys.approvers[person])

    def report_balances(self, client: httpx.Client, *, cold_eth: int = 401_347, hot_eth: int = 100) -> None:
        for wallet, amount in ((sample.COLD_WALLET, cold_eth), (sample.HOT_WALLET, hot_eth)):
            body = {"wallet": wallet, "asset": "ETH", "amount": str(amount * sample.ETHER)}
            response = client.put("/v1/balances", json=body, headers=self.initiator())
            assert response.status_code == 200, response.text

    def hot_request(self, request_id: str, amount: int, *, destination: str = sample.CUSTOMER, nonce: int = 0) -> Any:
        return self.ledger.request(
            request_id,
            wallet=sample.HOT_WALLET,
            amount=amount,
            destination=destination,
            now=datetime.now(UTC),
            transaction=sample.hot_transfer(destination, amount, nonce=nonce),
        )

    def cold_request(self, request_id: str, amount: int, *, nonce: int = 72) -> Any:
        return self.ledger.request(
            request_id,
            wallet=sample.COLD_WALLET,
            amount=amount,
            destination=sample.EXCHANGE_DEPOSIT,
            now=datetime.now(UTC),
            transaction=sample.cold_transfer(sample.EXCHANGE_DEPOSIT, amount, nonce=nonce),
        )

    def signed_approval(self, client: httpx.Client, person: str, request_id: str) -> httpx.Response | dict[str, Any]:
        """The approver's signature over the subject the server shows (or the server's refusal to show it)."""
        subject = client.get(f"/v1/requests/{request_id}/approval-subject", headers=self.approver(person))
        if subject.status_code != 200:
            return subject
        return sample.sign_approval(person, subject.json()["subject"])
