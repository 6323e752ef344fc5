"""Findings of a security review of the guard service, each pinned by a test: inputs that gave a 500, approvals
that kept counting after their key was removed, duplicate address-book and key changes, refusals of ineligible
approvers missing from the log, and the group commit's savepoints."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from mamori.demo import exchange as sample
from mamori.errors import MamoriError
from mamori.service.setup import authenticate, create_api_key
from mamori.service.withdrawals import Submission, WithdrawalService
from support.guard import Exchange, error, ok
from support.guard import hot_request as hot

ETHER = sample.ETHER
NEW_ADDRESS = "0x" + hashlib.sha256(b"mamori security review address").hexdigest()[:40]


def no_raise(exchange: Exchange) -> None:
    """Answer server errors as 500s (as in production) instead of raising them in the test."""
    exchange.client = TestClient(exchange.client.app, raise_server_exceptions=False)


def cold(exchange: Exchange, request_id: str, *, to: str = sample.EXCHANGE_DEPOSIT, nonce: int = 72) -> dict[str, Any]:
    return exchange.ledger.request(
        request_id,
        wallet=sample.COLD_WALLET,
        amount=100 * ETHER,
        destination=to,
        now=exchange.clock.now,
        transaction=sample.cold_transfer(to, 100 * ETHER, nonce=nonce),
    )


def subject_of(exchange: Exchange, person: str, request_id: str) -> dict[str, Any]:
    body = ok(exchange.as_approver(person, "GET", f"/v1/requests/{request_id}/approval-subject"))
    subject: dict[str, Any] = body["subject"]
    return subject


def propose(exchange: Exchange, body: dict[str, Any]) -> dict[str, Any]:
    return ok(exchange.call("POST", "/v1/changes", exchange.keys.policy_admin, body))


def approve_change(exchange: Exchange, person: str, change: dict[str, Any]) -> Any:
    signed = sample.sign_change(person, change["approval_subject"])
    return exchange.as_approver(person, "POST", f"/v1/changes/{change['change_id']}/approvals", signed)


def audit_kinds(exchange: Exchange, since: int) -> list[dict[str, Any]]:
    size = ok(exchange.call("GET", "/v1/audit/head", exchange.keys.auditor))["tree_size"]
    entries = []
    for seq in range(since, size):
        proof = ok(exchange.call("GET", f"/v1/audit/entries/{seq}", exchange.keys.auditor))
        entries.append(orjson.loads(proof["entry"]))
    return entries


def audit_size(exchange: Exchange) -> int:
    size: int = ok(exchange.call("GET", "/v1/audit/head", exchange.keys.auditor))["tree_size"]
    return size


# --- 500s from bad input -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("amount", ["²", "١٠٠"])
def test_an_approval_amount_in_non_ascii_digits_is_refused(exchange: Exchange, amount: str) -> None:
    no_raise(exchange)
    exchange.report_balances()
    ok(exchange.submit(cold(exchange, "wd-cold-1")))
    subject = {**subject_of(exchange, "aiko", "wd-cold-1"), "amount": amount}
    body = {"subject": subject, "signature": "00" * 64}
    error(exchange.as_approver("aiko", "POST", "/v1/requests/wd-cold-1/approvals", body), 422, "FIELD_TYPE_INVALID")


def test_an_approval_expiry_outside_the_calendar_is_refused(exchange: Exchange) -> None:
    no_raise(exchange)
    exchange.report_balances()
    ok(exchange.submit(cold(exchange, "wd-cold-1")))
    subject = {**subject_of(exchange, "aiko", "wd-cold-1"), "expires_at": "0001-01-01T00:00:00+14:00"}
    body = {"subject": subject, "signature": "00" * 64}
    error(exchange.as_approver("aiko", "POST", "/v1/requests/wd-cold-1/approvals", body), 422, "FIELD_TYPE_INVALID")


def test_a_request_dated_outside_the_calendar_is_refused(exchange: Exchange) -> None:
    no_raise(exchange)
    document = cold(exchange, "wd-cold-1")
    fields = {k: v for k, v in document.items() if k not in ("signature", "transaction")}
    fields["created_at"] = "0001-01-01T00:00:00+14:00"
    from mamori.policy.request import signing_payload

    signature = sample.LEDGER.sign(signing_payload(fields)).hex()
    signed = {**fields, "signature": {"key_id": sample.LEDGER_KEY_ID, "ed25519": signature}}
    error(exchange.submit(signed), 422, "FIELD_TYPE_INVALID")


def test_a_deeply_nested_policy_is_refused(exchange: Exchange) -> None:
    no_raise(exchange)
    response = exchange.call(
        "POST", "/v1/changes", exchange.keys.policy_admin, {"kind": "policy", "text": "a: [" * 5000}
    )
    error(response, 422, "POLICY_INVALID")


# --- approvals by a removed key ------------------------------------------------------------------------------------
def test_a_withdrawal_approval_stops_counting_when_its_key_is_removed(exchange: Exchange) -> None:
    """A key is removed because it is lost or compromised: what it signed must not complete a quorum afterwards."""
    exchange.report_balances()
    ok(exchange.submit(cold(exchange, "wd-cold-1")))
    assert ok(exchange.approve("aiko", "wd-cold-1"))["status"] == "pending_approval"
    (aiko,) = [k for k in ok(exchange.as_approver("mina", "GET", "/v1/approvers")) if k["person"] == "aiko"]
    removal = propose(exchange, {"kind": "approver_key.remove", "person": "aiko", "key_id": aiko["key_id"]})
    ok(approve_change(exchange, "kenji", removal))
    assert ok(approve_change(exchange, "vera", removal))["status"] == "applied"
    # mina (security) and aiko (treasury) would complete the cold quorum; aiko's key is gone.
    view = ok(exchange.approve("mina", "wd-cold-1"))
    assert view["status"] == "pending_approval", view


def test_a_change_approval_stops_counting_when_its_key_is_removed(exchange: Exchange) -> None:
    change = propose(exchange, {"kind": "address_book.add", "chain": "eip155:1", "address": NEW_ADDRESS})
    assert ok(approve_change(exchange, "aiko", change))["status"] == "open"
    (aiko,) = [k for k in ok(exchange.as_approver("mina", "GET", "/v1/approvers")) if k["person"] == "aiko"]
    removal = propose(exchange, {"kind": "approver_key.remove", "person": "aiko", "key_id": aiko["key_id"]})
    ok(approve_change(exchange, "kenji", removal))
    assert ok(approve_change(exchange, "vera", removal))["status"] == "applied"
    # aiko (treasury) and mina (security) would meet the add quorum; aiko's key is gone.
    assert ok(approve_change(exchange, "mina", change))["status"] == "open"


# --- duplicate changes -----------------------------------------------------------------------------------------------
def test_two_open_additions_of_one_address_leave_nothing_after_its_removal(exchange: Exchange) -> None:
    body = {"kind": "address_book.add", "chain": "eip155:1", "address": NEW_ADDRESS, "label": "new"}
    first, second = propose(exchange, body), propose(exchange, body)
    for person in ("kenji", "vera"):
        ok(approve_change(exchange, person, first))
    ok(approve_change(exchange, "kenji", second))
    assert ok(approve_change(exchange, "vera", second))["status"] == "rejected"
    removal = propose(exchange, {"kind": "address_book.remove", "chain": "eip155:1", "address": NEW_ADDRESS})
    assert removal["status"] == "applied"
    book = ok(exchange.as_approver("aiko", "GET", "/v1/address-book"))
    assert NEW_ADDRESS.lower() not in [entry["address"] for entry in book]


def test_two_open_additions_of_one_approver_key_do_not_fail(exchange: Exchange) -> None:
    no_raise(exchange)
    key = sample.public_hex(sample.demo_key("aiko's spare device"))
    first = propose(exchange, {"kind": "approver_key.add", "person": "aiko", "public_key": key})
    second = propose(exchange, {"kind": "approver_key.add", "person": "mina", "public_key": key})
    for person in ("kenji", "vera"):
        ok(approve_change(exchange, person, first))
    ok(approve_change(exchange, "kenji", second))
    assert ok(approve_change(exchange, "vera", second))["status"] == "rejected"
    keys = [k for k in ok(exchange.as_approver("kenji", "GET", "/v1/approvers")) if k["public_key"] == key]
    assert [k["person"] for k in keys] == ["aiko"]


# --- refusals on record --------------------------------------------------------------------------------------------
def test_the_initiator_approving_their_own_withdrawal_is_recorded(exchange: Exchange) -> None:
    exchange.report_balances()
    ok(exchange.submit(cold(exchange, "wd-cold-1")))
    token, _ = create_api_key(exchange.engine, role="approver", principal="ops-bot", now=exchange.clock.now)
    body = {"subject": subject_of(exchange, "aiko", "wd-cold-1"), "signature": "00" * 64}
    size = audit_size(exchange)
    error(exchange.call("POST", "/v1/requests/wd-cold-1/approvals", token, body), 403, "APPROVER_NOT_ELIGIBLE")
    refusals = [e for e in audit_kinds(exchange, size) if e["kind"] == "withdrawal.approval_refused"]
    assert [(e["data"]["approver"], e["data"]["reason"]) for e in refusals] == [("ops-bot", "APPROVER_NOT_ELIGIBLE")]


# --- group commit ----------------------------------------------------------------------------------------------------
def submission(exchange: Exchange, document: dict[str, Any]) -> Submission:
    principal = authenticate(exchange.engine, exchange.keys.initiator, now=exchange.clock.now)
    return exchange.services.withdrawals.prepare(principal, document, now=exchange.clock.now)


def test_a_batch_cannot_overspend_a_velocity_limit(exchange: Exchange) -> None:
    exchange.report_balances()
    documents = [hot(exchange, f"wd-hot-{i}", 10 * ETHER, nonce=i) for i in range(7)]
    results = exchange.services.withdrawals.submit_batch([submission(exchange, d) for d in documents])
    statuses = [r["status"] if isinstance(r, dict) else r.code for r in results]
    assert statuses == ["released"] * 5 + ["denied"] * 2
    assert [r["request_id"] for r in results if isinstance(r, dict)] == [d["request_id"] for d in documents]


def test_a_failed_submission_in_a_batch_leaves_no_row_no_reservation_and_no_entry(
    exchange: Exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A submission that fails in its last steps (here: signing its release) must leave nothing behind in the
    shared transaction — no withdrawal, no reservation counted by the next submissions, no audit entry."""
    exchange.report_balances()
    service = exchange.services.withdrawals
    original = WithdrawalService._issue_release

    def failing_release(self: WithdrawalService, work: Any, row: Any, signing_hash: str) -> Any:
        if row.request_id == "wd-hot-1":
            raise MamoriError("STATE_CONFLICT", what="withdrawal", id=row.request_id, status="x", action="y")
        return original(self, work, row, signing_hash)

    monkeypatch.setattr(WithdrawalService, "_issue_release", failing_release)
    documents = [hot(exchange, f"wd-hot-{i}", 10 * ETHER, nonce=i) for i in range(7)]
    size = audit_size(exchange)
    results = service.submit_batch([submission(exchange, d) for d in documents])
    monkeypatch.setattr(WithdrawalService, "_issue_release", original)
    assert isinstance(results[1], MamoriError) and results[1].code == "STATE_CONFLICT"
    answered = [r for r in results if isinstance(r, dict)]
    assert [r["request_id"] for r in answered] == [d["request_id"] for i, d in enumerate(documents) if i != 1]
    # The failed one holds no reservation: the limit of five lets the sixth through, not the seventh.
    assert [r["status"] for r in answered] == ["released"] * 5 + ["denied"]
    error(exchange.as_initiator("GET", "/v1/requests/wd-hot-1"), 404, "NOT_FOUND")
    entries = audit_kinds(exchange, size)
    assert all(e["data"].get("request_id") != "wd-hot-1" for e in entries)
    released = [e["data"]["request_id"] for e in entries if e["kind"] == "withdrawal.released"]
    assert released == ["wd-hot-0", "wd-hot-2", "wd-hot-3", "wd-hot-4", "wd-hot-5"]
    tokens = {e["data"]["request_id"]: e["data"]["token"] for e in entries if e["kind"] == "withdrawal.released"}
    for request_id in released:  # every caller got its own release, and it is the one on record
        view = ok(exchange.as_initiator("GET", f"/v1/requests/{request_id}"))
        assert view["release"]["token"] == tokens[request_id]
    with exchange.engine.connect() as connection:
        reserved = connection.execute(text("SELECT request_id FROM guard_reservations ORDER BY request_id")).scalars()
        assert list(reserved) == ["wd-hot-0", "wd-hot-2", "wd-hot-3", "wd-hot-4", "wd-hot-5"]


def test_time_follows_the_log_not_the_caller(exchange: Exchange) -> None:
    """A write whose caller read an earlier clock is stamped at the log's last time, never earlier."""
    exchange.report_balances()
    late = exchange.clock.now
    exchange.clock.now = datetime(2026, 3, 3, 1, 0, tzinfo=late.tzinfo)
    size = audit_size(exchange)
    ok(exchange.submit(hot(exchange, "wd-hot-early", ETHER)))
    exchange.clock.now = late
    stamps = {e["at"] for e in audit_kinds(exchange, size)}
    assert min(stamps) >= "2026-03-03T02:00:00.000000Z"


def test_a_change_expired_by_the_logs_clock_cannot_be_approved(exchange: Exchange) -> None:
    """A process whose clock lags (or that waited for the lock) checks expiry against the log's time, which never
    goes back: a change expired there cannot be applied by a caller that read an earlier clock."""
    change = propose(exchange, {"kind": "address_book.add", "chain": "eip155:1", "address": NEW_ADDRESS})
    ok(approve_change(exchange, "kenji", change))
    start = exchange.clock.now
    exchange.clock.advance(days=7, seconds=1)
    exchange.report_balances()  # on record at a time after the change expired
    exchange.clock.now = start + (exchange.clock.now - start) / 2  # a caller whose clock lags behind
    error(approve_change(exchange, "vera", change), 422, "APPROVAL_EXPIRED")
    book = ok(exchange.as_approver("aiko", "GET", "/v1/address-book"))
    assert NEW_ADDRESS.lower() not in [entry["address"] for entry in book]
