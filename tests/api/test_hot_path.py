"""``POST /v1/requests`` served in front of the framework (api/app.py SubmitHotPath) answers exactly as the
framework's own route does — the status, the body, the error code and where the body fails — for good and bad
requests alike. Both run on the same services; a good request stored by one is an idempotent retry for the other,
answered with the same body."""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.api.app import ApiSettings, create_app
from mamori.demo import exchange as sample
from support.guard import Exchange, hot_request

ETHER = sample.ETHER


@pytest.fixture
def framework(exchange: Exchange) -> Any:
    """The same services behind the framework's route only."""
    client = TestClient(create_app(exchange.services, ApiSettings(clock=exchange.clock, hot_path=False)))
    yield client
    client.close()


def good(exchange: Exchange, request_id: str, **changes: Any) -> dict[str, Any]:
    document = hot_request(exchange, request_id)
    document.update(changes)
    return document


def both(exchange: Exchange, framework: TestClient, content: bytes, headers: dict[str, str]) -> None:
    hot = exchange.client.post("/v1/requests", content=content, headers=headers)
    routed = framework.post("/v1/requests", content=content, headers=headers)
    assert (hot.status_code, hot.json()) == (routed.status_code, routed.json()), (hot.text, routed.text)
    assert hot.headers.get("www-authenticate") == routed.headers.get("www-authenticate")
    assert hot.headers["content-type"] == routed.headers["content-type"]


def json_headers(exchange: Exchange, token: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def test_good_and_refused_requests_are_answered_alike(exchange: Exchange, framework: TestClient) -> None:
    exchange.report_balances()
    initiator = exchange.keys.initiator
    altered = good(exchange, "wd-altered")
    altered["amount"] = str(2 * ETHER)
    unsigned = good(exchange, "wd-unsigned")
    del unsigned["signature"]
    cases: list[tuple[Any, str | None]] = [
        (good(exchange, "wd-1"), initiator),  # released
        (good(exchange, "wd-1"), initiator),  # a retry
        (good(exchange, "wd-1", amount=str(3 * ETHER)), initiator),  # the id reused: not the signed request
        (altered, initiator),
        (unsigned, initiator),
        ({**good(exchange, "wd-2"), "note": "x"}, initiator),  # unknown member
        ({k: v for k, v in good(exchange, "wd-3").items() if k != "wallet"}, initiator),  # missing
        ({**good(exchange, "wd-4"), "amount": 1.5}, initiator),  # wrong type
        ({**good(exchange, "wd-5"), "transaction": {"kind": "psbt"}}, initiator),
        ({**good(exchange, "wd-6"), "amount": str(2**130)}, initiator),
        (good(exchange, "wd-7"), None),  # no credentials
        (good(exchange, "wd-8"), "not-a-key"),
        (good(exchange, "wd-9"), exchange.keys.approvers["aiko"]),  # an approver may not submit
        ([1, 2, 3], initiator),
        ("text", initiator),
        (None, initiator),
    ]
    for document, token in cases:
        both(exchange, framework, orjson.dumps(document), json_headers(exchange, token))
    for content in (b"", b"{", b'{"request_id": }', b"\xff\xfe", b"nan", b"[" * 10_000):
        both(exchange, framework, content, json_headers(exchange, initiator))
    both(exchange, framework, b"request_id=1", {"Content-Type": "text/plain", "Authorization": f"Bearer {initiator}"})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(
        ["request_id", "created_at", "initiator", "wallet", "chain", "asset", "amount", "destination", "signature"]
    ),
    value=st.none() | st.booleans() | st.integers() | st.text(max_size=40) | st.lists(st.integers(), max_size=3),
)
def test_any_field_changed_to_anything_is_answered_alike(
    exchange: Exchange, framework: TestClient, field: str, value: Any
) -> None:
    document = copy.deepcopy(good(exchange, "wd-h"))
    document[field] = value
    both(exchange, framework, json.dumps(document).encode(), json_headers(exchange, exchange.keys.initiator))
