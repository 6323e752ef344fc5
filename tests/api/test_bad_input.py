"""Bad input never reaches a 500: every refusal is a 4xx with ``{"error": {"code", "message": {"en", "ja"}}}``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.api.app import MAX_BODY_BYTES
from mamori.demo import exchange as sample
from mamori.policy.request import signing_payload
from support.guard import START, Exchange, hot_request

ETHER = sample.ETHER


def refused(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"]["en"], str) and error["message"]["en"]
    assert isinstance(error["message"]["ja"], str) and error["message"]["ja"]
    if code is not None:
        assert error["code"] == code, error
    return dict(error)


def post_raw(exchange: Exchange, path: str, content: Any, content_type: str | None = "application/json") -> Any:
    headers = exchange.headers(exchange.keys.initiator)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return exchange.client.post(path, content=content, headers=headers)


def valid_request(exchange: Exchange, request_id: str = "wd-1") -> dict[str, Any]:
    return hot_request(exchange, request_id)


MALFORMED = {
    "truncated": b"{",
    "no-value": b'{"request_id": }',
    "not-utf8": b"\xff\xfe",
    "empty": b"",
    "nan": b"nan",
    "single-quotes": b"{'single': 'quotes'}",
    "deep": b"[" * 10_000,
}


def test_malformed_json_is_refused(exchange: Exchange) -> None:
    for label, content in MALFORMED.items():
        for path in ("/v1/requests", "/v1/changes", "/v1/requests/x/approvals"):
            response = post_raw(exchange, path, content)
            assert response.status_code == 422, (label, path, response.text)
            refused(response, 422, "BODY_INVALID")


def test_json_that_is_not_an_object_is_refused(exchange: Exchange) -> None:
    for content in (b"[]", b"[1, 2]", b'"text"', b"42", b"null", b"true"):
        refused(post_raw(exchange, "/v1/requests", content), 422, "BODY_INVALID")
        refused(post_raw(exchange, "/v1/changes", content), 422, "BODY_INVALID")


def test_unknown_fields_are_refused(exchange: Exchange) -> None:
    body = {**valid_request(exchange), "note": "please hurry"}
    error = refused(exchange.submit(body), 422, "BODY_INVALID")
    assert error["details"]["at"] == "body.note"
    nested = valid_request(exchange)
    nested["signature"] = {**nested["signature"], "alg": "ed25519"}
    refused(exchange.submit(nested), 422, "BODY_INVALID")
    balance = {"wallet": sample.HOT_WALLET, "asset": "ETH", "amount": "1", "extra": True}
    refused(exchange.as_initiator("PUT", "/v1/balances", balance), 422, "BODY_INVALID")
    # Nothing was stored.
    refused(exchange.as_initiator("GET", "/v1/requests/wd-1"), 404, "NOT_FOUND")


WRONG: list[tuple[str, Any]] = [
    ("amount", 1.5),
    ("amount", True),
    ("amount", None),
    ("amount", "-1"),
    ("amount", "0"),
    ("amount", "1e18"),
    ("amount", 10**80),
    ("request_id", 7),
    ("request_id", ["wd-1"]),
    ("created_at", "yesterday"),
    ("created_at", "2026-03-03T02:00:00"),
    ("destination", "0xnot-an-address"),
    ("destination", "0xD4D890D1D1B8564D0B985D541680C0D690F8A823"[:-1] + "4"),
    ("chain", {"id": 1}),
    ("signature", "deadbeef"),
    ("transaction", {"kind": "bitcoin", "raw": "0x00"}),
    ("transaction", {"kind": "evm", "raw": 12}),
    ("transaction", {"kind": "evm", "raw": "0xzz"}),
    ("transaction", {"kind": "evm"}),
    ("transaction", {"kind": "safe", "record": "not a record"}),
    ("transaction", {"kind": "safe", "record": {"to": 1}}),
]


def test_wrong_types_are_refused(exchange: Exchange) -> None:
    exchange.report_balances()
    for index, (field, value) in enumerate(WRONG):
        body = {**valid_request(exchange, f"wd-{index}"), field: value}
        response = exchange.submit(body)
        if field == "transaction" and response.status_code == 200:
            # An unreadable transaction of a correctly signed request is decided: denied, never released.
            assert response.json()["status"] == "denied", response.text
            continue
        assert 400 <= response.status_code < 500, (field, value, response.text)
        refused(response, response.status_code)


def test_missing_fields_are_refused(exchange: Exchange) -> None:
    for missing in ("request_id", "created_at", "initiator", "wallet", "chain", "asset", "amount", "destination"):
        body = valid_request(exchange)
        del body[missing]
        error = refused(exchange.submit(body), 422, "BODY_INVALID")
        assert error["details"]["at"] == f"body.{missing}"


def test_missing_and_wrong_fields_of_the_other_bodies(exchange: Exchange) -> None:
    cases: list[tuple[str, str, Any]] = [
        ("PUT", "/v1/balances", {"wallet": sample.HOT_WALLET, "asset": "ETH"}),
        ("PUT", "/v1/balances", {"wallet": sample.HOT_WALLET, "asset": "ETH", "amount": 1}),
        ("PUT", "/v1/balances", {"wallet": sample.HOT_WALLET, "asset": "ETH", "amount": "-1"}),
        ("PUT", "/v1/balances", {"wallet": "no-such-wallet", "asset": "ETH", "amount": "1"}),
        ("POST", "/v1/requests/wd-1/transaction", {"raw": "0x00"}),
        ("POST", "/v1/requests/wd-1/transaction", {"kind": "evm", "raw": "0x00", "to": "x"}),
    ]
    for method, path, body in cases:
        response = exchange.as_initiator(method, path, body)
        assert 400 <= response.status_code < 500, (path, body, response.text)
        refused(response, response.status_code)
    admin = exchange.keys.policy_admin
    for change in (
        {},
        {"kind": "policy"},
        {"kind": "policy", "text": 5},
        {"kind": "policy", "text": "not: [a policy"},
        {"kind": "teleport"},
        {"kind": "address_book.add", "chain": "eip155:999", "address": sample.CUSTOMER},
        {"kind": "address_book.add", "chain": "eip155:1", "address": "0x1234"},
        {"kind": "approver_key.add", "person": "nobody", "public_key": "00" * 32},
        {"kind": "approver_key.add", "person": "aiko", "public_key": "00" * 32},  # small order
        {"kind": "approver_key.add", "person": "aiko", "public_key": "zz"},
        {"kind": "approver_key.remove", "person": "aiko", "key_id": "0" * 64},
    ):
        response = exchange.call("POST", "/v1/changes", admin, change)
        assert 400 <= response.status_code < 500, (change, response.text)
        refused(response, response.status_code)
    assert exchange.call("GET", "/v1/changes", exchange.keys.auditor).json() == []


def test_approval_bodies_of_the_wrong_shape_are_refused(exchange: Exchange) -> None:
    exchange.report_balances()
    document = exchange.ledger.request(
        "wd-cold",
        wallet=sample.COLD_WALLET,
        amount=100 * ETHER,
        destination=sample.EXCHANGE_DEPOSIT,
        now=exchange.clock.now,
        transaction=sample.cold_transfer(sample.EXCHANGE_DEPOSIT, 100 * ETHER),
    )
    assert exchange.submit(document).json()["status"] == "pending_approval"
    subject = exchange.as_approver("aiko", "GET", "/v1/requests/wd-cold/approval-subject").json()["subject"]
    signed = sample.sign_approval("aiko", subject)
    path = "/v1/requests/wd-cold/approvals"
    for body in (
        {},
        {"subject": subject},
        {"signature": signed["signature"]},
        {**signed, "signature": "00"},
        {**signed, "signature": "zz" * 64},
        {**signed, "subject": {**subject, "amount": 5}},
        {**signed, "subject": {**subject, "amount": "-5"}},
        {**signed, "subject": {**subject, "amount": "0"}},
        {**signed, "subject": {**subject, "expires_at": "soon"}},
        {**signed, "subject": {**subject, "expires_at": "2026-03-03T03:00:00"}},
        {**signed, "subject": {**subject, "signing_hash": "0x12"}},
        {**signed, "subject": {**subject, "policy_digest": "xyz"}},
        {**signed, "subject": {**subject, "destination": "not an address"}},
        {**signed, "subject": {k: v for k, v in subject.items() if k != "wallet"}},
        {**signed, "subject": {**subject, "extra": "1"}},
    ):
        response = exchange.as_approver("aiko", "POST", path, body)
        assert 400 <= response.status_code < 500, (body, response.text)
        refused(response, response.status_code)
    for query in ("?expires_in=59", "?expires_in=86401", "?expires_in=soon"):
        refused(
            exchange.as_approver("aiko", "GET", f"/v1/requests/wd-cold/approval-subject{query}"), 422, "BODY_INVALID"
        )
    view = exchange.as_approver("aiko", "GET", "/v1/requests/wd-cold").json()
    assert view["approvals"] == []


def test_huge_strings_are_refused(exchange: Exchange) -> None:
    huge = "x" * 300_000
    for field in ("request_id", "initiator", "wallet", "destination", "created_at", "chain", "asset"):
        refused(exchange.submit({**valid_request(exchange), field: huge}), 422, "BODY_INVALID")
    refused(exchange.submit({**valid_request(exchange), "amount": "9" * 300_000}), 422)
    transaction = {"kind": "evm", "raw": "0x" + "00" * 200_000}
    refused(exchange.submit({**valid_request(exchange), "transaction": transaction}), 422, "BODY_INVALID")
    refused(exchange.call("POST", "/v1/changes", exchange.keys.policy_admin, {"kind": "policy", "text": huge}), 422)


def test_odd_path_ids_are_not_found(exchange: Exchange) -> None:
    for request_id in ("x%00y", "%E2%80%AE", "x" * 2000, "%FF"):
        response = exchange.as_initiator("GET", f"/v1/requests/{request_id}")
        refused(response, 404, "NOT_FOUND")
        refused(exchange.as_initiator("POST", f"/v1/requests/{request_id}/cancel"), 404, "NOT_FOUND")
        refused(exchange.call("GET", f"/v1/changes/{request_id}", exchange.keys.auditor), 404, "NOT_FOUND")
    refused(exchange.call("GET", "/v1/audit/entries/-1", exchange.keys.auditor), 422)
    refused(exchange.call("GET", "/v1/audit/entries/999999", exchange.keys.auditor), 422)
    refused(exchange.call("GET", "/v1/audit/entries/x", exchange.keys.auditor), 422, "BODY_INVALID")
    refused(exchange.call("GET", "/v1/audit/entries/99999999999999999999999", exchange.keys.auditor), 422)
    refused(exchange.call("GET", "/v1/audit/consistency?old_size=5&new_size=2", exchange.keys.auditor), 422)
    refused(exchange.call("GET", "/v1/audit/consistency?old_size=-1", exchange.keys.auditor), 422)
    refused(exchange.call("GET", "/v1/audit/consistency?old_size=99999", exchange.keys.auditor), 422)


def test_a_body_over_one_mebibyte_is_refused(exchange: Exchange) -> None:
    big = b'{"request_id": "' + b"x" * MAX_BODY_BYTES + b'"}'
    refused(post_raw(exchange, "/v1/requests", big), 413, "BODY_TOO_LARGE")

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    # Without a Content-Length (chunked): the guard counts what arrives.
    refused(post_raw(exchange, "/v1/requests", chunks()), 413, "BODY_TOO_LARGE")
    # A Content-Length that is not a number.
    headers = {**exchange.headers(exchange.keys.initiator), "Content-Type": "application/json", "Content-Length": "x"}
    refused(exchange.client.post("/v1/requests", content=b"{}", headers=headers), 413, "BODY_TOO_LARGE")
    # Just under the limit, the body is read and judged on its content.
    fits = b'{"request_id": "' + b"x" * (MAX_BODY_BYTES - 100) + b'"}'
    refused(post_raw(exchange, "/v1/requests", fits), 422, "BODY_INVALID")

    def small() -> Iterator[bytes]:
        yield b'{"kind": "evm", '
        yield b'"raw": "0x00"}'

    refused(post_raw(exchange, "/v1/requests/wd-none/transaction", small()), 404, "NOT_FOUND")


def test_a_body_that_is_not_json_is_refused_as_such(exchange: Exchange) -> None:
    document = b'{"wallet": "eth-hot-1"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None):
        error = refused(post_raw(exchange, "/v1/requests", document, content_type), 415, "MEDIA_TYPE_UNSUPPORTED")
        assert error["details"]["media_type"] == (content_type or "none")

    def chunks() -> Iterator[bytes]:
        yield document

    refused(post_raw(exchange, "/v1/requests", chunks(), "text/plain"), 415, "MEDIA_TYPE_UNSUPPORTED")
    # Media types are case-insensitive, and may carry parameters.
    for content_type in ("Application/JSON", "application/json; charset=utf-8"):
        refused(post_raw(exchange, "/v1/requests", document, content_type), 422, "BODY_INVALID")


def test_unknown_routes_and_methods(exchange: Exchange) -> None:
    token = exchange.keys.auditor
    for path in ("/", "/v2/requests", "/v1/requests/a/b/c", "/docs", "/redoc", "/v1/audit"):
        error = refused(exchange.call("GET", path, token), 404, "ROUTE_NOT_FOUND")
        assert error["details"]["path"] == path
    refused(exchange.call("GET", "/nowhere", None), 404, "ROUTE_NOT_FOUND")
    for method, path in (("DELETE", "/v1/requests/x"), ("PUT", "/v1/requests"), ("GET", "/v1/balances")):
        error = refused(exchange.call(method, path, token), 405, "METHOD_NOT_ALLOWED")
        assert error["details"]["method"] == method
    response = exchange.client.request("PATCH", "/v1/policy", headers=exchange.headers(token))
    refused(response, 405, "METHOD_NOT_ALLOWED")


# --- random bodies -----------------------------------------------------------------------------------------------
_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40)
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
REQUEST_FIELDS = ("request_id", "created_at", "initiator", "wallet", "chain", "asset", "amount", "destination")
SUBJECT_FIELDS = (
    "request_id",
    "wallet",
    "chain",
    "asset",
    "amount",
    "destination",
    "signing_hash",
    "policy_digest",
    "expires_at",
)
_texts = st.text(max_size=300) | st.sampled_from(["eth-hot-1", "eip155:1", "ETH", sample.CUSTOMER, "1", "0x00"])
_request_like = st.fixed_dictionaries(
    {},
    optional=dict.fromkeys(REQUEST_FIELDS, _texts | _json)
    | {
        "signature": st.fixed_dictionaries({"key_id": _texts, "ed25519": _texts}) | _json,
        "transaction": st.fixed_dictionaries(
            {"kind": st.sampled_from(["evm", "safe"])}, optional={"raw": _texts, "record": _json}
        ),
    },
)
_approval_like = st.fixed_dictionaries(
    {},
    optional={
        "subject": st.fixed_dictionaries(
            {},
            optional=dict.fromkeys(SUBJECT_FIELDS, _texts | _json),
        )
        | _json,
        "signature": _texts | st.sampled_from(["00" * 64, "A" * 86 + "=="]),
        "key_id": _texts,
    },
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_json | _request_like)
def test_random_requests_never_cause_a_server_error(exchange: Exchange, body: Any) -> None:
    response = exchange.submit(body)
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        refused(response, response.status_code)


_PREPARED: set[int] = set()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_json | _approval_like, request_id=st.sampled_from(["x", "wd-1"]))
def test_random_approvals_never_cause_a_server_error(exchange: Exchange, body: Any, request_id: str) -> None:
    if id(exchange) not in _PREPARED:  # once per exchange (hypothesis calls this once per example)
        _PREPARED.add(id(exchange))
        pending = exchange.ledger.request(
            "wd-1",
            wallet=sample.COLD_WALLET,
            amount=100 * ETHER,
            destination=sample.EXCHANGE_DEPOSIT,
            now=START,
            transaction=sample.cold_transfer(sample.EXCHANGE_DEPOSIT, 100 * ETHER),
        )
        assert exchange.submit(pending).status_code == 200
    response = exchange.as_approver("aiko", "POST", f"/v1/requests/{request_id}/approvals", body)
    assert response.status_code < 500, response.text
    refused(response, response.status_code)


def test_control_characters_never_reach_the_database(exchange: Exchange) -> None:
    """PostgreSQL refuses NUL in text: such input is refused as input, not by a failing query."""
    for field in ("request_id", "initiator", "wallet", "asset"):
        document = exchange.ledger.request(
            "wd-1", wallet=sample.HOT_WALLET, amount=ETHER, destination=sample.CUSTOMER, now=exchange.clock.now
        )
        document[field] = document[field] + "\x00"
        refused(exchange.submit(document), 422)
        # Signed as it is, by the ledger's key: still not text the guard stores.
        fields = {k: v for k, v in document.items() if k != "signature"}
        signature = sample.LEDGER.sign(signing_payload(fields)).hex()
        resigned = {**fields, "signature": {"key_id": sample.LEDGER_KEY_ID, "ed25519": signature}}
        refused(exchange.submit(resigned), 422, "FIELD_TYPE_INVALID")
    admin = exchange.keys.policy_admin
    for change in (
        {"kind": "address_book.add", "chain": "eip155:1", "address": sample.CUSTOMER, "label": "a\x00b"},
        {"kind": "address_book.add", "chain": "eip155:1", "address": sample.CUSTOMER + "\x00"},
        {"kind": "approver_key.remove", "person": "aiko", "key_id": "\x00"},
    ):
        response = exchange.call("POST", "/v1/changes", admin, change)
        assert 400 <= response.status_code < 500, response.text
        refused(response, response.status_code)
    change = exchange.call(
        "POST", "/v1/changes", admin, {"kind": "address_book.add", "chain": "eip155:1", "address": sample.CUSTOMER}
    ).json()
    signed_change = {**sample.sign_change("kenji", change["approval_subject"]), "key_id": "k\x00"}
    path = f"/v1/changes/{change['change_id']}/approvals"
    refused(exchange.as_approver("kenji", "POST", path, signed_change), 403, "APPROVER_KEY_UNKNOWN")
    refused(exchange.as_approver("kenji", "GET", "/v1/changes/%00"), 404, "NOT_FOUND")
