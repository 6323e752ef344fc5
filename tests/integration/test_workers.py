"""`mamori serve --workers 2`: two worker processes behind one port, one database, one velocity limit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from mamori.demo import exchange as sample
from support.processes import ServedExchange, audit_verify

pytestmark = pytest.mark.integration


def test_worker_processes_share_the_limits(backend: Any, tmp_path: Path) -> None:
    served = ServedExchange.set_up(backend, tmp_path)
    with served.server(workers=2) as server, httpx.Client(base_url=server.base_url, timeout=60) as client:
        served.report_balances(client)
        documents = [served.hot_request(f"wd-{i}", sample.ETHER // 100, nonce=i) for i in range(24)]

        def submit(document: dict[str, Any]) -> str:
            response = client.post("/v1/requests", json=document, headers=served.initiator())
            assert response.status_code == 200, response.text
            return str(response.json()["status"])

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(submit, documents))
    # The demo policy: five hot withdrawals per ten minutes, whichever process decides them.
    assert statuses.count("released") == 5
    assert statuses.count("denied") == 19
    assert audit_verify(served.url).returncode == 0
