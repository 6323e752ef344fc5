"""Withdrawals end to end through the HTTP API: submit, attach, approve, release, cancel, and the refusals that
must be on record. Runs on SQLite, or PostgreSQL when MAMORI_TEST_DATABASE_URL is set."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eth_utils import keccak
from sqlalchemy import Engine

from mamori.demo import exchange as sample
from mamori.guard import format_utc
from mamori.guard.attestation import AttestationError, verify_attestation
from mamori.service.setup import create_api_key
from support.guard import Exchange, error, make_exchange, ok
from support.guard import hot_request as hot

ETHER = sample.ETHER


# --- helpers ---------------------------------------------------------------------------------------------------


def cold(
    exchange: Exchange, request_id: str, amount: int = 100 * ETHER, *, nonce: int = 72, to: str | None = None
) -> dict[str, Any]:
    destination = to or sample.EXCHANGE_DEPOSIT
    return exchange.ledger.request(
        request_id,
        wallet=sample.COLD_WALLET,
        amount=amount,
        destination=destination,
        now=exchange.clock.now,
        transaction=sample.cold_transfer(destination, amount, nonce=nonce),
    )


def codes(view: dict[str, Any]) -> list[str]:
    return [item["code"] for item in view["decision"]["reasons"]]


def subject_of(exchange: Exchange, person: str, request_id: str, expires_in: int | None = None) -> dict[str, Any]:
    query = "" if expires_in is None else f"?expires_in={expires_in}"
    body = ok(exchange.as_approver(person, "GET", f"/v1/requests/{request_id}/approval-subject{query}"))
    subject: dict[str, Any] = body["subject"]
    return subject


def post_approval(exchange: Exchange, person: str, request_id: str, body: dict[str, Any]) -> Any:
    return exchange.as_approver(person, "POST", f"/v1/requests/{request_id}/approvals", body)


def audit_size(exchange: Exchange) -> int:
    size: int = ok(exchange.call("GET", "/v1/audit/head", exchange.keys.auditor))["tree_size"]
    return size


def audit_entries(exchange: Exchange, since: int) -> list[dict[str, Any]]:
    """Entries ``since`` .. the end, read through the API as the auditor (each with a checked inclusion proof)."""
    entries = []
    for seq in range(since, audit_size(exchange)):
        proof = ok(exchange.call("GET", f"/v1/audit/entries/{seq}", exchange.keys.auditor))
        assert proof["index"] == seq
        entries.append(orjson.loads(proof["entry"]))
    return entries


def guard_public_key(exchange: Exchange) -> Ed25519PublicKey:
    described = ok(exchange.as_initiator("GET", "/v1/guard"))
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(described["public_key"]))


def set_up_cold(exchange: Exchange, request_id: str, **kwargs: Any) -> dict[str, Any]:
    exchange.report_balances()
    view = ok(exchange.submit(cold(exchange, request_id, **kwargs)))
    assert view["status"] == "pending_approval", view
    return view


# --- hot wallet --------------------------------------------------------------------------------------------------
def test_a_hot_withdrawal_is_released_with_an_attestation_the_signer_accepts(exchange: Exchange) -> None:
    exchange.report_balances()
    document = hot(exchange, "wd-hot-1", 2 * ETHER, nonce=7)
    view = ok(exchange.submit(document))
    assert view["status"] == "released"
    assert view["reserved"] is True
    # The hash the guard binds is the EIP-1559 signing hash of the exact bytes attached: keccak256(0x02 || rlp).
    raw = bytes.fromhex(document["transaction"]["raw"][2:])
    assert view["signing_hash"] == "0x" + keccak(raw).hex()
    token = view["release"]["token"]
    attestation = verify_attestation(
        token, public_key=guard_public_key(exchange), now=exchange.clock.now, expected_signing_hash=keccak(raw)
    )
    assert (attestation.request_id, attestation.wallet, attestation.chain) == (
        "wd-hot-1",
        sample.HOT_WALLET,
        "eip155:1",
    )
    assert attestation.signing_hash == view["signing_hash"]
    # The same token does not release another transaction.
    with pytest.raises(AttestationError) as caught:
        verify_attestation(
            token,
            public_key=guard_public_key(exchange),
            now=exchange.clock.now,
            expected_signing_hash=keccak(b"another transaction"),
        )
    assert caught.value.code == "ATTESTATION_HASH_MISMATCH"
    # Read back, the withdrawal says the same.
    assert ok(exchange.as_initiator("GET", "/v1/requests/wd-hot-1")) == view


def test_release_reissues_a_fresh_token_after_expiry_and_decides_again(exchange: Exchange) -> None:
    exchange.report_balances()
    first = ok(exchange.submit(hot(exchange, "wd-hot-1")))["release"]
    same = ok(exchange.as_initiator("POST", "/v1/requests/wd-hot-1/release"))["release"]
    assert same == first  # still valid: the same token
    exchange.clock.advance(minutes=6)
    public_key = guard_public_key(exchange)
    with pytest.raises(AttestationError) as caught:
        verify_attestation(first["token"], public_key=public_key, now=exchange.clock.now)
    assert caught.value.code == "ATTESTATION_EXPIRED"
    size = audit_size(exchange)
    fresh = ok(exchange.as_initiator("POST", "/v1/requests/wd-hot-1/release"))["release"]
    assert fresh["token"] != first["token"]
    assert fresh["issued_at"] == format_utc(exchange.clock.now)
    verify_attestation(
        fresh["token"], public_key=public_key, now=exchange.clock.now, expected_signing_hash=first["signing_hash"]
    )
    kinds = [entry["kind"] for entry in audit_entries(exchange, size)]
    assert kinds[:2] == ["withdrawal.decided", "withdrawal.released"]


def test_release_after_expiry_denies_when_todays_facts_deny(exchange: Exchange) -> None:
    set_up_cold(exchange, "wd-cold-1")
    ok(exchange.approve("aiko", "wd-cold-1"))
    assert ok(exchange.approve("kenji", "wd-cold-1"))["status"] == "released"
    # The destination leaves the address book (applies at once); the next release decides again.
    removal = {"kind": "address_book.remove", "chain": "eip155:1", "address": sample.EXCHANGE_DEPOSIT}
    assert ok(exchange.call("POST", "/v1/changes", exchange.keys.policy_admin, removal))["status"] == "applied"
    still = ok(exchange.as_initiator("POST", "/v1/requests/wd-cold-1/release"))
    assert still["status"] == "released"  # the token issued before is still valid: no new decision yet
    exchange.clock.advance(minutes=6)
    view = ok(exchange.as_initiator("POST", "/v1/requests/wd-cold-1/release"))
    assert view["status"] == "denied"
    assert view["release"] is None
    assert "DESTINATION_NOT_IN_ADDRESS_BOOK" in codes(view)
    error(exchange.as_initiator("POST", "/v1/requests/wd-cold-1/release"), 409, "STATE_CONFLICT")


# --- cold wallet and approvals -----------------------------------------------------------------------------------
def test_a_cold_withdrawal_needs_two_approvals(exchange: Exchange) -> None:
    view = set_up_cold(exchange, "wd-cold-1")
    assert view["release"] is None
    assert "APPROVALS_REQUIRED" in codes(view)
    after_one = ok(exchange.approve("aiko", "wd-cold-1"))
    assert after_one["status"] == "pending_approval"
    assert [a["approver"] for a in after_one["approvals"]] == ["aiko"]
    error(exchange.as_initiator("POST", "/v1/requests/wd-cold-1/release"), 409, "STATE_CONFLICT")
    released = ok(exchange.approve("kenji", "wd-cold-1"))
    assert released["status"] == "released"
    assert [a["approver"] for a in released["approvals"]] == ["aiko", "kenji"]
    verify_attestation(
        released["release"]["token"],
        public_key=guard_public_key(exchange),
        now=exchange.clock.now,
        expected_signing_hash=released["signing_hash"],
    )


def test_approvers_of_different_organisations_complete_the_quorum(exchange: Exchange) -> None:
    set_up_cold(exchange, "wd-cold-1")
    ok(exchange.approve("vera", "wd-cold-1"))  # custody vendor, not an employee
    assert ok(exchange.approve("aiko", "wd-cold-1"))["status"] == "released"


def test_two_approvers_of_one_organisation_do_not_complete_the_quorum(exchange: Exchange) -> None:
    set_up_cold(exchange, "wd-cold-1")
    ok(exchange.approve("kenji", "wd-cold-1"))
    view = ok(exchange.approve("mina", "wd-cold-1"))  # both of organisation "security"
    assert view["status"] == "pending_approval"
    assert [a["approver"] for a in view["approvals"]] == ["kenji", "mina"]
    (required,) = [item for item in view["decision"]["required_approvals"] if item["distinct_organisations"]]
    assert required["have"] < required["count"] == 2
    # Approving twice changes nothing either.
    assert ok(exchange.approve("mina", "wd-cold-1"))["status"] == "pending_approval"
    assert ok(exchange.approve("aiko", "wd-cold-1"))["status"] == "released"


def test_the_initiator_cannot_approve_their_own_withdrawal(exchange: Exchange) -> None:
    set_up_cold(exchange, "wd-cold-1")
    token, _ = create_api_key(exchange.engine, role="approver", principal="ops-bot", now=exchange.clock.now)
    subject = subject_of(exchange, "aiko", "wd-cold-1")
    body = {"subject": subject, "signature": "00" * 64}
    error(exchange.call("POST", "/v1/requests/wd-cold-1/approvals", token, body), 403, "APPROVER_NOT_ELIGIBLE")


def test_an_approval_of_another_request_is_refused_and_recorded(exchange: Exchange) -> None:
    set_up_cold(exchange, "wd-cold-1")
    ok(exchange.submit(cold(exchange, "wd-cold-2", nonce=73)))
    other = sample.sign_approval("aiko", subject_of(exchange, "aiko", "wd-cold-2"))
    size = audit_size(exchange)
    refused = error(post_approval(exchange, "aiko", "wd-cold-1", other), 422, "APPROVAL_SUBJECT_MISMATCH")
    assert "request_id" in refused["details"]["fields"]
    (entry,) = [e for e in audit_entries(exchange, size) if e["kind"] == "withdrawal.approval_refused"]
    assert entry["data"]["request_id"] == "wd-cold-1"
    assert entry["data"]["approver"] == "aiko"
    assert entry["data"]["reason"] == "APPROVAL_SUBJECT_MISMATCH"
    assert ok(exchange.as_approver("aiko", "GET", "/v1/requests/wd-cold-1"))["approvals"] == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("amount", str(101 * ETHER)), ("signing_hash", "0x" + "ab" * 32), ("destination", sample.CUSTOMER)],
)
def test_an_altered_subject_is_refused(exchange: Exchange, field: str, value: str) -> None:
    set_up_cold(exchange, "wd-cold-1")
    subject = subject_of(exchange, "aiko", "wd-cold-1")
    genuine = sample.sign_approval("aiko", subject)
    size = audit_size(exchange)
    # Altered after signing: the signature no longer verifies.
    tampered = {**genuine, "subject": {**subject, field: value}}
    error(post_approval(exchange, "aiko", "wd-cold-1", tampered), 422, "APPROVAL_INVALID")
    # Signed as altered (a UI that showed the approver something else): a genuine approval of another subject.
    signed_altered = sample.sign_approval("aiko", {**subject, field: value})
    mismatch = error(post_approval(exchange, "aiko", "wd-cold-1", signed_altered), 422, "APPROVAL_SUBJECT_MISMATCH")
    assert mismatch["details"]["fields"] == field
    refusals = [
        e["data"]["reason"] for e in audit_entries(exchange, size) if e["kind"] == "withdrawal.approval_refused"
    ]
    assert refusals == ["APPROVAL_INVALID", "APPROVAL_SUBJECT_MISMATCH"]
    assert ok(exchange.approve("aiko", "wd-cold-1"))["approvals"][0]["approver"] == "aiko"


def test_an_approval_signed_with_another_persons_key_is_refused(exchange: Exchange) -> None:
    set_up_cold(exchange, "wd-cold-1")
    by_kenji = sample.sign_approval("kenji", subject_of(exchange, "aiko", "wd-cold-1"))
    error(post_approval(exchange, "aiko", "wd-cold-1", by_kenji), 422, "APPROVAL_INVALID")


def test_an_expired_approval_is_refused(exchange: Exchange) -> None:
    set_up_cold(exchange, "wd-cold-1")
    signed = sample.sign_approval("aiko", subject_of(exchange, "aiko", "wd-cold-1", expires_in=60))
    exchange.clock.advance(seconds=60)
    size = audit_size(exchange)
    error(post_approval(exchange, "aiko", "wd-cold-1", signed), 422, "APPROVAL_EXPIRED")
    reasons = [e["data"]["reason"] for e in audit_entries(exchange, size) if e["kind"] == "withdrawal.approval_refused"]
    assert reasons == ["APPROVAL_EXPIRED"]


def test_an_approval_expiring_after_more_than_a_day_is_refused(exchange: Exchange) -> None:
    set_up_cold(exchange, "wd-cold-1")
    subject = subject_of(exchange, "aiko", "wd-cold-1")
    too_long = {**subject, "expires_at": format_utc(exchange.clock.now + timedelta(hours=24, seconds=1))}
    refused = error(
        post_approval(exchange, "aiko", "wd-cold-1", sample.sign_approval("aiko", too_long)), 422, "APPROVAL_INVALID"
    )
    assert "24 hours" in refused["message"]["en"]
    a_day = {**subject, "expires_at": format_utc(exchange.clock.now + timedelta(hours=24))}
    assert ok(post_approval(exchange, "aiko", "wd-cold-1", sample.sign_approval("aiko", a_day)))["approvals"]


def test_an_approval_stops_counting_when_it_expires_and_can_be_given_again(exchange: Exchange) -> None:
    set_up_cold(exchange, "wd-cold-1")
    ok(
        post_approval(
            exchange, "aiko", "wd-cold-1", sample.sign_approval("aiko", subject_of(exchange, "aiko", "wd-cold-1", 60))
        )
    )
    exchange.clock.advance(minutes=2)
    assert ok(exchange.approve("kenji", "wd-cold-1"))["status"] == "pending_approval"
    assert ok(exchange.approve("aiko", "wd-cold-1"))["status"] == "released"


def test_approvals_under_an_older_policy_stop_counting(exchange: Exchange) -> None:
    set_up_cold(exchange, "wd-cold-1")
    ok(exchange.approve("aiko", "wd-cold-1"))
    # A new policy version (a lower hot limit) becomes active through the change quorum.
    document = yaml.safe_load(sample.demo_policy_text())
    for limit in document["limits"]:
        if limit["id"] == "hot-single-eth":
            limit["max_amount"] = "5 ETH"
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    change = ok(exchange.call("POST", "/v1/changes", exchange.keys.policy_admin, {"kind": "policy", "text": text}))
    for person in ("kenji", "vera"):
        signed = sample.sign_change(person, change["approval_subject"])
        applied = ok(exchange.as_approver(person, "POST", f"/v1/changes/{change['change_id']}/approvals", signed))
    assert applied["status"] == "applied"
    # aiko approved under version 1: kenji's approval alone does not release.
    view = ok(exchange.approve("kenji", "wd-cold-1"))
    assert view["status"] == "pending_approval"
    assert view["decision"]["policy"]["digest"] == ok(exchange.as_approver("kenji", "GET", "/v1/policy"))["digest"]
    assert "APPROVALS_REQUIRED" in codes(view)
    # aiko approves again, under version 2.
    assert ok(exchange.approve("aiko", "wd-cold-1"))["status"] == "released"


def test_returning_to_an_earlier_policy_text_does_not_revive_its_approvals(exchange: Exchange) -> None:
    """v1 → v2 → v3 with v1's very text: an approval given under v1 (same digest as v3) no longer counts."""
    set_up_cold(exchange, "wd-cold-1")
    ok(exchange.approve("aiko", "wd-cold-1"))
    original = ok(exchange.as_approver("kenji", "GET", "/v1/policy"))
    document = yaml.safe_load(original["text"])
    document["description"] = "version 2"
    for text in (yaml.safe_dump(document, sort_keys=False, allow_unicode=True), original["text"]):
        change = ok(exchange.call("POST", "/v1/changes", exchange.keys.policy_admin, {"kind": "policy", "text": text}))
        for person in ("kenji", "vera"):
            signed = sample.sign_change(person, change["approval_subject"])
            applied = ok(exchange.as_approver(person, "POST", f"/v1/changes/{change['change_id']}/approvals", signed))
        assert applied["status"] == "applied"
    now_active = ok(exchange.as_approver("kenji", "GET", "/v1/policy"))
    assert (now_active["version"], now_active["digest"]) == (3, original["digest"])
    view = ok(exchange.approve("kenji", "wd-cold-1"))
    assert view["status"] == "pending_approval"  # aiko's approval was given under version 1
    assert ok(exchange.approve("aiko", "wd-cold-1"))["status"] == "released"


# --- Bybit -------------------------------------------------------------------------------------------------------
def test_the_bybit_transaction_is_denied(exchange: Exchange) -> None:
    exchange.report_balances()
    document = exchange.ledger.request(
        "wd-bybit",
        wallet=sample.COLD_WALLET,
        amount=30_000 * ETHER,
        destination=sample.BYBIT_WARM,
        now=exchange.clock.now,
        transaction=sample.bybit_executed(),
    )
    view = ok(exchange.submit(document))
    assert view["status"] == "denied"
    assert view["reserved"] is False
    assert view["release"] is None
    found = codes(view)
    assert "FINDING_DENIES" in found
    assert "TX_NOT_A_TRANSFER" in found
    # The hash is the safeTxHash the signers' devices showed on 2025-02-21.
    assert view["signing_hash"] == sample.bybit_executed()["record"]["safeTxHash"].lower()
    for item in view["decision"]["reasons"]:
        assert item["message"]["en"].strip() and item["message"]["ja"].strip()
        assert item["message"]["en"] != item["message"]["ja"]
    # Nobody can approve it into a release.
    signed = sample.sign_approval("aiko", subject_of(exchange, "aiko", "wd-bybit"))
    error(post_approval(exchange, "aiko", "wd-bybit", signed), 409, "STATE_CONFLICT")
    error(exchange.as_initiator("POST", "/v1/requests/wd-bybit/release"), 409, "STATE_CONFLICT")


# --- requests that are not what the ledger signed ----------------------------------------------------------------
@pytest.mark.parametrize(("field", "value"), [("destination", sample.BYBIT_WARM), ("amount", str(3 * ETHER))])
def test_a_request_altered_after_signing_is_refused_and_recorded(exchange: Exchange, field: str, value: str) -> None:
    document = {**hot(exchange, "wd-hot-1"), field: value}
    size = audit_size(exchange)
    refused = error(exchange.submit(document), 422, "REQUEST_NOT_AUTHENTIC")
    assert refused["details"]["reason"] == "REQUEST_SIGNATURE_INVALID"
    (entry,) = [e for e in audit_entries(exchange, size) if e["kind"] == "withdrawal.refused"]
    assert entry["data"]["request_id"] == "wd-hot-1"
    assert entry["data"]["reason"] == "REQUEST_SIGNATURE_INVALID"
    error(exchange.as_initiator("GET", "/v1/requests/wd-hot-1"), 404, "NOT_FOUND")
    # The genuine document is still accepted afterwards.
    assert ok(exchange.submit(hot(exchange, "wd-hot-1")))["status"] == "released"


def test_an_unsigned_request_is_refused(exchange: Exchange) -> None:
    document = hot(exchange, "wd-hot-1")
    del document["signature"]
    size = audit_size(exchange)
    refused = error(exchange.submit(document), 422, "REQUEST_NOT_AUTHENTIC")
    assert refused["details"]["reason"] == "REQUEST_UNSIGNED"
    kinds = [e["kind"] for e in audit_entries(exchange, size)]
    assert "withdrawal.refused" in kinds


def test_a_request_signed_by_an_unknown_key_is_refused(exchange: Exchange) -> None:
    document = sample.Ledger(key=sample.demo_key("not the ledger")).request(
        "wd-hot-1", wallet=sample.HOT_WALLET, amount=ETHER, destination=sample.CUSTOMER, now=exchange.clock.now
    )
    error(exchange.submit(document), 422, "REQUEST_NOT_AUTHENTIC")


# --- idempotency, attach, cancel ---------------------------------------------------------------------------------
def test_resubmitting_the_same_document_is_idempotent(exchange: Exchange) -> None:
    exchange.report_balances()
    document = hot(exchange, "wd-hot-1")
    first = ok(exchange.submit(document))
    size = audit_size(exchange)
    again = ok(exchange.submit(document))
    assert again == first
    assert audit_size(exchange) == size  # nothing new on record
    different = hot(exchange, "wd-hot-1", 2 * ETHER)
    error(exchange.submit(different), 409, "REQUEST_ID_REUSED")
    assert ok(exchange.as_initiator("GET", "/v1/requests/wd-hot-1")) == first


def test_a_transaction_attached_after_submission_is_decided(exchange: Exchange) -> None:
    exchange.report_balances()
    document = hot(exchange, "wd-hot-1")
    transaction = document.pop("transaction")
    waiting = ok(exchange.submit(document))
    assert waiting["status"] == "awaiting_transaction"
    assert waiting["signing_hash"] is None
    assert waiting["reserved"] is False
    error(exchange.as_initiator("POST", "/v1/requests/wd-hot-1/release"), 409, "STATE_CONFLICT")
    decided = ok(exchange.as_initiator("POST", "/v1/requests/wd-hot-1/transaction", transaction))
    assert decided["status"] == "released"
    # The same transaction again is a retry; another one is a conflict.
    assert ok(exchange.as_initiator("POST", "/v1/requests/wd-hot-1/transaction", transaction)) == decided
    other = sample.hot_transfer(sample.CUSTOMER, ETHER, nonce=1)
    error(exchange.as_initiator("POST", "/v1/requests/wd-hot-1/transaction", other), 409, "STATE_CONFLICT")
    error(exchange.as_initiator("POST", "/v1/requests/wd-none/transaction", transaction), 404, "NOT_FOUND")


def test_a_transaction_that_differs_from_the_request_is_denied(exchange: Exchange) -> None:
    exchange.report_balances()
    document = hot(exchange, "wd-hot-1")
    document["transaction"] = sample.hot_transfer(sample.BYBIT_WARM, ETHER)
    view = ok(exchange.submit(document))
    assert view["status"] == "denied"
    assert view["release"] is None


def test_cancel(exchange: Exchange) -> None:
    set_up_cold(exchange, "wd-cold-1")
    cancelled = ok(exchange.as_initiator("POST", "/v1/requests/wd-cold-1/cancel"))
    assert cancelled["status"] == "cancelled"
    assert cancelled["reserved"] is False
    error(exchange.as_initiator("POST", "/v1/requests/wd-cold-1/cancel"), 409, "STATE_CONFLICT")
    error(post_approval(exchange, "aiko", "wd-cold-1", {"subject": {}, "signature": "00"}), 422, "BODY_INVALID")
    ok(exchange.submit(hot(exchange, "wd-hot-1")))
    error(exchange.as_initiator("POST", "/v1/requests/wd-hot-1/cancel"), 409, "STATE_CONFLICT")
    assert ok(exchange.as_initiator("GET", "/v1/requests/wd-hot-1"))["status"] == "released"


# --- velocity ----------------------------------------------------------------------------------------------------
def test_the_sixth_hot_withdrawal_in_ten_minutes_is_denied(exchange: Exchange) -> None:
    exchange.report_balances()
    for index in range(5):
        assert ok(exchange.submit(hot(exchange, f"wd-{index}", nonce=index)))["status"] == "released"
    sixth = ok(exchange.submit(hot(exchange, "wd-5", nonce=5)))
    assert sixth["status"] == "denied"
    assert codes(sixth) == ["LIMIT_VELOCITY_COUNT"]
    exchange.clock.advance(minutes=9)
    assert codes(ok(exchange.submit(hot(exchange, "wd-6", nonce=6)))) == ["LIMIT_VELOCITY_COUNT"]
    # Eleven minutes on, the five have left the ten-minute window.
    exchange.clock.advance(minutes=2)
    assert ok(exchange.submit(hot(exchange, "wd-7", nonce=7)))["status"] == "released"


def test_denied_withdrawals_do_not_count_toward_velocity(exchange: Exchange) -> None:
    exchange.report_balances()
    for index in range(4):
        assert ok(exchange.submit(hot(exchange, f"wd-{index}", nonce=index)))["status"] == "released"
    too_big = ok(exchange.submit(hot(exchange, "wd-big", 11 * ETHER, nonce=4)))
    assert too_big["status"] == "denied"
    assert "LIMIT_VELOCITY_COUNT" not in codes(too_big)
    assert ok(exchange.submit(hot(exchange, "wd-4", nonce=5)))["status"] == "released"
    assert codes(ok(exchange.submit(hot(exchange, "wd-5", nonce=6)))) == ["LIMIT_VELOCITY_COUNT"]


def test_cancelled_withdrawals_do_not_count_toward_velocity(engine: Engine, tmp_path: Path) -> None:
    document = yaml.safe_load(sample.demo_policy_text())
    document["limits"].append(
        {
            "id": "cold-velocity",
            "kind": "velocity",
            "when": {"tier": ["cold"]},
            "window": "1h",
            "per": ["wallet"],
            "max_count": 1,
        }
    )
    exchange = make_exchange(engine, tmp_path, policy_text=yaml.safe_dump(document, sort_keys=False))
    try:
        set_up_cold(exchange, "wd-cold-1")  # holds a reservation while it waits for approvals
        second = ok(exchange.submit(cold(exchange, "wd-cold-2", nonce=73)))
        assert second["status"] == "denied"
        assert "LIMIT_VELOCITY_COUNT" in codes(second)
        ok(exchange.as_initiator("POST", "/v1/requests/wd-cold-1/cancel"))
        third = ok(exchange.submit(cold(exchange, "wd-cold-3", nonce=74)))
        assert third["status"] == "pending_approval"  # neither the cancelled nor the denied one counts
        assert "LIMIT_VELOCITY_COUNT" not in codes(third)
    finally:
        exchange.client.close()
