"""A small hub for the TAXII tests: the operator (the ISAC), four member exchanges, one API root, a sharing group,
collections with rights, accounts (token and HTTP Basic), and the TAXII server in front of an app that answers
nothing else — in process (Starlette's test client) or on a real port for clients that speak HTTP themselves
(taxii2-client)."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from sqlalchemy import Engine
from starlette.responses import Response
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from mamori.api.taxii import TaxiiGateway
from mamori.intel.tlp import Tlp
from mamori.service.hub_collections import Rights, add_api_root, add_collection, add_sharing_group, grant
from mamori.service.hub_members import add_account, add_organisation
from mamori.service.hub_taxii import HubService
from mamori.store import upgrade
from support.guard import START, Clock

ROOT = "isac"
TAXII = "application/taxii+json;version=2.1"
PASSWORD = "correct horse battery staple"  # noqa: S105 - the test accounts'
OPERATOR = "isac"
EXCHANGES = ("exa", "exb", "exc", "exd")  # exa, exb: the sharing group of 'shared'; exd: rights on nothing
IDENTITIES = {
    "isac": "identity--0d6e1cbb-3a2c-4d0e-9c1e-8e1b0f3f0a01",
    "exa": "identity--1b7a6b7e-6f0f-4f3a-8b5e-2f0c9d7e1a02",
    "exb": "identity--2c8b7c8f-7a1a-4a4b-9c6f-3a1d0e8f2b03",
    "exc": "identity--3d9c8d9a-8b2b-4b5c-8d7a-4b2e1f9a3c04",
    "exd": "identity--4eadaeab-9c3c-4c6d-9e8b-5c3f2a0b4d05",
}


async def _nothing(scope: Scope, receive: Receive, send: Send) -> None:
    await Response(b"not the hub", status_code=418)(scope, receive, send)


@dataclass
class Hub:
    engine: Engine
    clock: Clock
    shared: str  # a collection every exchange reads and writes; its AMBER goes to exa and exb
    readonly: str  # exa reads, exb writes only, exc reads and writes
    tokens: dict[str, str] = field(default_factory=dict)  # account name -> bearer token
    gateway: TaxiiGateway | None = None

    @property
    def client(self) -> TestClient:
        assert self.gateway is not None
        return TestClient(self.gateway, base_url="https://hub.test")

    def auth(self, account: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[account]}"}

    def basic(self, account: str, password: str = PASSWORD) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{account}:{password}".encode()).decode()}

    def url(self, *segments: str) -> str:
        return "/taxii2/" + "".join(f"{segment}/" for segment in segments)

    def objects_url(self, collection: str) -> str:
        return self.url(ROOT, "collections", collection, "objects")

    def get(self, account: str, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params, headers={**self.auth(account), "Accept": TAXII})

    def post(self, account: str, collection: str, objects: list[dict[str, Any]], **headers: str) -> Any:
        return self.client.post(
            self.objects_url(collection),
            json={"objects": objects},
            headers={**self.auth(account), "Accept": TAXII, "Content-Type": TAXII, **headers},
        )


def make_hub(engine: Engine, *, auth_cache_seconds: float = 0.0) -> Hub:
    upgrade(engine)
    now_us = int(START.timestamp()) * 1_000_000
    clock = Clock()
    with engine.begin() as connection:
        add_organisation(connection, OPERATOR, "Crypto ISAC", IDENTITIES[OPERATOR], now_us=now_us, operator=True)
        for exchange in EXCHANGES:
            add_organisation(connection, exchange, f"Exchange {exchange}", IDENTITIES[exchange], now_us=now_us)
        add_api_root(connection, ROOT, "ISAC", description="the industry's hub", max_content_length=2_000_000)
        add_sharing_group(connection, "exchanges-ab", "exa and exb", ["exa", "exb"])
        shared = add_collection(connection, ROOT, "shared", sharing_group="exchanges-ab", now_us=now_us,
                                default_tlp=Tlp.AMBER)  # fmt: skip
        readonly = add_collection(connection, ROOT, "mixed rights", now_us=now_us, default_tlp=Tlp.GREEN)
        for organisation in (OPERATOR, "exa", "exb", "exc"):
            grant(connection, shared, organisation, Rights(can_read=True, can_write=True))
        grant(connection, readonly, "exa", Rights(can_read=True, can_write=False))
        grant(connection, readonly, "exb", Rights(can_read=False, can_write=True))
        grant(connection, readonly, "exc", Rights(can_read=True, can_write=True))
        hub = Hub(engine, clock, shared, readonly)
        for organisation in (OPERATOR, *EXCHANGES):
            hub.tokens[organisation] = add_account(connection, organisation, organisation, password=PASSWORD,
                                                   now_us=now_us)  # fmt: skip
        hub.tokens["exa-anon"] = add_account(connection, "exa", "exa-anon", anonymous=True, now_us=now_us)
        hub.tokens["exa-analyst"] = add_account(connection, "exa", "exa-analyst", now_us=now_us)
    hub.gateway = TaxiiGateway(_nothing, HubService(engine, auth_cache_seconds=auth_cache_seconds), clock)
    return hub


@contextmanager
def served(hub: Hub) -> Iterator[str]:
    """The hub on a real local port for the duration; yields its base URL (``http://127.0.0.1:PORT``)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(hub.gateway, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test hub did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
