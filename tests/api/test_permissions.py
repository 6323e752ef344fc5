"""Who may call what: every route of the app against every role, no credentials, a malformed or unknown key and
a revoked key. The table below names the action of each route; a route added without an entry fails the test."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute

from mamori.demo import exchange as sample
from mamori.service.auth import PERMISSIONS, ROLES
from mamori.service.setup import create_api_key, revoke_api_key
from support.guard import Exchange

# (method, path) -> the action of PERMISSIONS it performs.
EXPECTED: dict[tuple[str, str], str] = {
    ("GET", "/openapi.json"): "service.read",
    ("GET", "/v1/whoami"): "service.read",
    ("GET", "/v1/guard"): "service.read",
    ("POST", "/v1/requests"): "request.submit",
    ("GET", "/v1/requests/{request_id}"): "request.read",
    ("POST", "/v1/requests/{request_id}/transaction"): "request.attach",
    ("GET", "/v1/requests/{request_id}/approval-subject"): "request.read",
    ("POST", "/v1/requests/{request_id}/approvals"): "request.approve",
    ("POST", "/v1/requests/{request_id}/release"): "request.release",
    ("POST", "/v1/requests/{request_id}/cancel"): "request.cancel",
    ("PUT", "/v1/balances"): "balance.report",
    ("GET", "/v1/policy"): "policy.read",
    ("GET", "/v1/address-book"): "policy.read",
    ("GET", "/v1/approvers"): "policy.read",
    ("GET", "/v1/changes"): "change.read",
    ("POST", "/v1/changes"): "change.propose",
    ("GET", "/v1/changes/{change_id}"): "change.read",
    ("POST", "/v1/changes/{change_id}/approvals"): "change.approve",
    ("GET", "/v1/audit/head"): "audit.read",
    ("GET", "/v1/audit/entries/{seq}"): "audit.read",
    ("GET", "/v1/audit/consistency"): "audit.read",
    ("GET", "/v1/assessments"): "assessment.read",
    ("POST", "/v1/assessments"): "assessment.write",
    ("GET", "/v1/assessments/{assessment_id}"): "assessment.read",
    ("PUT", "/v1/assessments/{assessment_id}/answers/{question_id}"): "assessment.write",
    ("DELETE", "/v1/assessments/{assessment_id}/answers/{question_id}"): "assessment.write",
    ("POST", "/v1/assessments/{assessment_id}/evidence"): "assessment.write",
    ("GET", "/v1/assessments/{assessment_id}/evidence/{sha256}"): "assessment.read",
    ("POST", "/v1/assessments/{assessment_id}/remediation"): "assessment.write",
    ("POST", "/v1/assessments/{assessment_id}/remediation/{item_id}/done"): "assessment.write",
    ("GET", "/v1/assessments/{assessment_id}/scores"): "assessment.read",
    ("GET", "/v1/assessments/{assessment_id}/trend"): "assessment.read",
    ("POST", "/v1/assessments/{assessment_id}/machine-evidence"): "assessment.write",
    ("POST", "/v1/assessments/{assessment_id}/lock"): "assessment.review",
    ("GET", "/v1/assessments/{assessment_id}/verify"): "assessment.read",
    ("GET", "/v1/assessments/{assessment_id}/report"): "assessment.read",
}

PATH_VALUES = {"request_id": "wd-none", "change_id": "none", "seq": "0", "assessment_id": "none",
               "question_id": "GV-001", "sha256": "00" * 32, "item_id": "none"}  # fmt: skip
QUERIES = {"/v1/audit/consistency": "?old_size=0"}


def routes(exchange: Exchange) -> list[tuple[str, str]]:
    found = []
    for route in exchange.client.app.routes:  # type: ignore[attr-defined]
        assert isinstance(route, APIRoute), f"{route!r}: every route is an API route behind authentication"
        found.extend((method, route.path) for method in sorted(route.methods))
    return found


def body_for(exchange: Exchange, method: str, path: str) -> Any:
    """A body valid in form, so that the answer is about who calls, not about what they send."""
    now = exchange.clock.now
    if path == "/v1/requests":
        return exchange.ledger.request(
            "wd-perm", wallet=sample.HOT_WALLET, amount=sample.ETHER, destination=sample.CUSTOMER, now=now
        )
    if path.endswith("/transaction"):
        return sample.hot_transfer(sample.CUSTOMER, sample.ETHER)
    if path == "/v1/requests/{request_id}/approvals":
        subject = {
            "request_id": "wd-none",
            "wallet": sample.COLD_WALLET,
            "chain": "eip155:1",
            "asset": "ETH",
            "amount": "1",
            "destination": sample.EXCHANGE_DEPOSIT,
            "signing_hash": "0x" + "11" * 32,
            "policy_digest": "22" * 32,
            "expires_at": "2026-03-03T03:00:00Z",
        }
        return sample.sign_approval("aiko", subject)
    if path == "/v1/balances":
        return {"wallet": sample.HOT_WALLET, "asset": "ETH", "amount": "1"}
    if path == "/v1/changes" and method == "POST":
        return {"kind": "address_book.add", "chain": "eip155:1", "address": sample.CUSTOMER}
    if path == "/v1/changes/{change_id}/approvals":
        return {"signature": "00" * 64}
    return ASSESSMENT_BODIES.get(path)


ASSESSMENT_BODIES: dict[str, Any] = {
    "/v1/assessments": {"organisation": "mirai", "name_en": "Mirai", "name_ja": "みらい", "year": 2026},
    "/v1/assessments/{assessment_id}/answers/{question_id}": {"value": "yes"},
    "/v1/assessments/{assessment_id}/evidence": {"question": "GV-001", "filename": "a.txt", "content_base64": "YQ==",
                                                 "effective_on": "2026-04-01"},
    "/v1/assessments/{assessment_id}/remediation": {"title": "t", "owner": "o", "due_on": "2026-09-30"},
    "/v1/assessments/{assessment_id}/lock": {},
}  # fmt: skip


def url(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    return path + QUERIES.get(path, "")


def test_the_table_names_every_route_and_only_known_actions(exchange: Exchange) -> None:
    assert sorted(routes(exchange)) == sorted(EXPECTED)
    assert set(EXPECTED.values()) == set(PERMISSIONS)  # and every action is reachable through some route


def test_every_route_answers_every_caller_as_the_permissions_say(exchange: Exchange) -> None:
    now = exchange.clock.now
    revoked, revoked_id = create_api_key(exchange.engine, role="auditor", principal="former-auditor", now=now)
    revoke_api_key(exchange.engine, revoked_id, now=now)
    tokens = {
        "initiator": exchange.keys.initiator,
        "approver": exchange.keys.approvers["aiko"],
        "policy_admin": exchange.keys.policy_admin,
        "auditor": exchange.keys.auditor,
        "assessor": create_api_key(exchange.engine, role="assessor", principal="kenji", now=now)[0],
        "reviewer": create_api_key(exchange.engine, role="reviewer", principal="mina", now=now)[0],
    }
    assert set(tokens) == set(ROLES)
    unknown = "mk_0123456789abcdef_" + "A" * 43  # well formed, never issued
    wrong_secret = exchange.keys.auditor[:-4] + ("AAAA" if not exchange.keys.auditor.endswith("AAAA") else "BBBB")
    invalid_headers = {
        "unknown key": f"Bearer {unknown}",
        "wrong secret": f"Bearer {wrong_secret}",
        "revoked key": f"Bearer {revoked}",
        "not a key": "Bearer not-a-key",
        "empty bearer": "Bearer ",
        "basic scheme": f"Basic {exchange.keys.auditor}",
    }
    problems: list[str] = []

    def send(method: str, path: str, headers: dict[str, str]) -> Any:
        return exchange.client.request(method, url(path), json=body_for(exchange, method, path), headers=headers)

    def check(label: str, response: Any, status: int | None, code: str | None) -> None:
        try:
            error = response.json().get("error") if response.status_code != 200 else None
        except ValueError:
            error = None
        if status is not None and response.status_code != status:
            problems.append(f"{label}: {response.status_code} {response.text[:200]}")
        elif code is not None and (error is None or error.get("code") != code):
            problems.append(f"{label}: expected {code}, got {response.text[:200]}")

    for method, path in routes(exchange):
        allowed = PERMISSIONS[EXPECTED[(method, path)]]
        anonymous = send(method, path, {})
        check(f"{method} {path} anonymous", anonymous, 401, "AUTH_REQUIRED")
        if anonymous.headers.get("www-authenticate") != "Bearer":
            problems.append(f"{method} {path} anonymous: no WWW-Authenticate: Bearer")
        for label, header in invalid_headers.items():
            check(f"{method} {path} {label}", send(method, path, {"Authorization": header}), 401, "AUTH_INVALID")
        for role, token in tokens.items():
            response = send(method, path, {"Authorization": f"Bearer {token}"})
            if role in allowed:
                if response.status_code in (401, 403) or response.status_code >= 500:
                    problems.append(
                        f"{method} {path} as {role} (allowed): {response.status_code} {response.text[:200]}"
                    )
            else:
                check(f"{method} {path} as {role}", response, 403, "PERMISSION_DENIED")
    assert problems == []


def test_whoami_names_the_caller(exchange: Exchange) -> None:
    response = exchange.as_approver("mina", "GET", "/v1/whoami")
    assert response.status_code == 200
    body = response.json()
    assert (body["role"], body["principal"]) == ("approver", "mina")
    assert body["key_id"] == exchange.keys.approvers["mina"].split("_")[1]


def test_the_openapi_description_lists_the_routes_of_the_table(exchange: Exchange) -> None:
    response = exchange.call("GET", "/openapi.json", exchange.keys.auditor)
    assert response.status_code == 200
    described = {(method.upper(), path) for path, methods in response.json()["paths"].items() for method in methods}
    assert described == set(EXPECTED) - {("GET", "/openapi.json")}
