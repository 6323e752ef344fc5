"""The sample exchange behind real ``mamori serve`` processes, for the integration tests (tests/integration).

``child_url`` gives a child process the test's database: the same SQLite file, or the test's PostgreSQL schema
through the URL itself (``?options=-csearch_path=<schema>``, which psycopg passes to the server), since
``mamori serve`` takes nothing but a URL. ``ServedExchange`` initialises the exchange in-process, then talks to
servers over HTTP like any client would; ``audit_verify`` runs ``mamori audit verify`` as an operator would.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from conftest import TEST_DATABASE_URL, TestDatabase, postgresql_schema
from mamori.demo import exchange as sample
from mamori.demo.server import ServerProcess
from support.guard import INTEL

NO_POSTGRESQL = "needs PostgreSQL: set MAMORI_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgresql_database() -> Iterator[TestDatabase]:
    """A fresh schema in the PostgreSQL database of ``MAMORI_TEST_DATABASE_URL``; skips without one."""
    if not TEST_DATABASE_URL.startswith("postgresql"):
        pytest.skip(NO_POSTGRESQL)
    yield from postgresql_schema()


def child_url(database: TestDatabase) -> str:
    """A URL that reaches the test's database, schema included, with no option but the URL."""
    if database.schema is None:
        return database.url
    url = make_url(database.url)
    url = url.update_query_dict({"options": f"-csearch_path={database.schema}"})
    return url.render_as_string(hide_password=False)


def policy_with_limits(**limits: dict[str, object]) -> str:
    """The demo policy with some limits changed (``{"hot-velocity": {"max_count": 100, "window": "1h"}}``) or
    added (a limit id the demo policy lacks, with its whole definition)."""
    document = yaml.safe_load(sample.demo_policy_text())
    by_id = {limit["id"]: limit for limit in document["limits"]}
    for limit_id, changes in limits.items():
        if limit_id in by_id:
            by_id[limit_id].update(changes)
        else:
            document["limits"].append({"id": limit_id, **changes})
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def audit_verify(url: str) -> subprocess.CompletedProcess[str]:
    """``mamori audit verify --database URL`` in a child process, as an operator would run it."""
    return subprocess.run(
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

    def server(self, name: str = "server", *, port: int | None = None, workers: int = 1) -> ServerProcess:
        """A ``mamori serve`` on this database with the real screening lists (the policy requires them)."""
        log = self.directory / f"{name}.log"
        return ServerProcess(self.url, self.guard_key_path, intel=INTEL, port=port, log=log, workers=workers)

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
