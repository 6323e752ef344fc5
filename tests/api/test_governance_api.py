"""Governance through the HTTP API: address-book entries, policy versions and approvers' keys change only by the
quorum the active policy names; removing an address-book entry applies at once."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import yaml

from mamori.demo import exchange as sample
from mamori.guard.approval import ApprovalSubject, approval_digest
from mamori.policy.request import parse_timestamp
from mamori.service.setup import create_api_key
from support.guard import Exchange, error, ok

ETHER = sample.ETHER
NEW_ADDRESS = "0x" + hashlib.sha256(b"mamori test new deposit address").hexdigest()[:40]


def propose(exchange: Exchange, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    return ok(exchange.call("POST", "/v1/changes", token or exchange.keys.policy_admin, body))


def approve_change(exchange: Exchange, person: str, change: dict[str, Any]) -> Any:
    signed = sample.sign_change(person, change["approval_subject"])
    return exchange.as_approver(person, "POST", f"/v1/changes/{change['change_id']}/approvals", signed)


def policy_with_hot_limit(ether: int) -> str:
    document = yaml.safe_load(sample.demo_policy_text())
    for limit in document["limits"]:
        if limit["id"] == "hot-single-eth":
            limit["max_amount"] = f"{ether} ETH"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def cold_request(exchange: Exchange, request_id: str, destination: str, *, nonce: int = 72) -> dict[str, Any]:
    return exchange.ledger.request(
        request_id,
        wallet=sample.COLD_WALLET,
        amount=100 * ETHER,
        destination=destination,
        now=exchange.clock.now,
        transaction=sample.cold_transfer(destination, 100 * ETHER, nonce=nonce),
    )


def codes(view: dict[str, Any]) -> list[str]:
    return [item["code"] for item in view["decision"]["reasons"]]


# --- address book ------------------------------------------------------------------------------------------------
def test_a_new_address_needs_its_quorum_and_then_cools_off_for_48_hours(exchange: Exchange) -> None:
    exchange.report_balances()
    change = propose(
        exchange, {"kind": "address_book.add", "chain": "eip155:1", "address": NEW_ADDRESS, "label": "new"}
    )
    assert change["status"] == "open"
    assert change["quorum"] == {"count": 2, "groups": ["security", "treasury"]}
    assert change["subject"]["address"] == NEW_ADDRESS.lower()
    assert (
        change["digest"]
        == hashlib.sha256(
            b"mamori/guard/change/v1\n" + orjson.dumps(change["approval_subject"], option=orjson.OPT_SORT_KEYS)
        ).hexdigest()
    )
    assert ok(approve_change(exchange, "kenji", change))["status"] == "open"
    listed = ok(exchange.as_approver("vera", "GET", "/v1/changes"))
    assert [item["change_id"] for item in listed] == [change["change_id"]]
    applied = ok(approve_change(exchange, "vera", change))
    assert applied["status"] == "applied"
    assert applied["approvals"] == ["kenji", "vera"]
    assert ok(exchange.as_approver("vera", "GET", "/v1/changes")) == []
    book = ok(exchange.as_approver("aiko", "GET", "/v1/address-book"))
    (entry,) = [item for item in book if item["address"] == NEW_ADDRESS.lower()]
    assert entry["approved_by"] == ["kenji", "vera"]

    denied = ok(exchange.submit(cold_request(exchange, "wd-new-1", NEW_ADDRESS)))
    assert denied["status"] == "denied"
    assert "DESTINATION_COOLING_OFF" in codes(denied)
    exchange.clock.advance(hours=47, minutes=59)
    still = ok(exchange.submit(cold_request(exchange, "wd-new-2", NEW_ADDRESS, nonce=73)))
    assert "DESTINATION_COOLING_OFF" in codes(still)
    exchange.clock.advance(minutes=1)
    ready = ok(exchange.submit(cold_request(exchange, "wd-new-3", NEW_ADDRESS, nonce=74)))
    assert ready["status"] == "pending_approval", ready
    assert "DESTINATION_COOLING_OFF" not in codes(ready)


def test_two_approvers_of_one_organisation_do_not_add_an_address(exchange: Exchange) -> None:
    change = propose(exchange, {"kind": "address_book.add", "chain": "eip155:1", "address": NEW_ADDRESS})
    ok(approve_change(exchange, "kenji", change))
    assert ok(approve_change(exchange, "mina", change))["status"] == "open"  # both of "security"
    assert ok(approve_change(exchange, "mina", change))["approvals"] == ["kenji", "mina"]  # a retry adds nothing
    assert ok(approve_change(exchange, "aiko", change))["status"] == "applied"


def test_the_proposer_cannot_approve_their_own_change(exchange: Exchange) -> None:
    token, _ = create_api_key(exchange.engine, role="policy_admin", principal="kenji", now=exchange.clock.now)
    change = propose(exchange, {"kind": "address_book.add", "chain": "eip155:1", "address": NEW_ADDRESS}, token)
    assert change["proposed_by"] == "kenji"
    error(approve_change(exchange, "kenji", change), 403, "APPROVER_NOT_ELIGIBLE")
    # The policy_admin role itself approves nothing.
    signed = sample.sign_change("kenji", change["approval_subject"])
    error(
        exchange.call("POST", f"/v1/changes/{change['change_id']}/approvals", token, signed), 403, "PERMISSION_DENIED"
    )
    # Proposing is no approval: one more approver is not a quorum of two.
    assert ok(approve_change(exchange, "aiko", change))["status"] == "open"
    assert ok(approve_change(exchange, "mina", change))["status"] == "applied"


def test_an_approval_with_a_wrong_signature_is_refused_and_recorded(exchange: Exchange) -> None:
    change = propose(exchange, {"kind": "address_book.add", "chain": "eip155:1", "address": NEW_ADDRESS})
    by_mina = sample.sign_change("mina", change["approval_subject"])
    path = f"/v1/changes/{change['change_id']}/approvals"
    size = ok(exchange.call("GET", "/v1/audit/head", exchange.keys.auditor))["tree_size"]
    error(exchange.as_approver("kenji", "POST", path, by_mina), 422, "APPROVAL_INVALID")
    # A signature over another change's subject is no better.
    other = propose(exchange, {"kind": "address_book.add", "chain": "eip155:1", "address": sample.CUSTOMER})
    error(
        exchange.as_approver("kenji", "POST", path, sample.sign_change("kenji", other["approval_subject"])),
        422,
        "APPROVAL_INVALID",
    )
    entry = ok(exchange.call("GET", f"/v1/audit/entries/{size}", exchange.keys.auditor))
    recorded = orjson.loads(entry["entry"])
    assert recorded["kind"] == "change.approval_refused"
    assert recorded["data"]["approver"] == "kenji"
    assert ok(exchange.as_approver("kenji", "GET", f"/v1/changes/{change['change_id']}"))["approvals"] == []


def test_removing_an_address_applies_at_once(exchange: Exchange) -> None:
    exchange.report_balances()
    body = {"kind": "address_book.remove", "chain": "eip155:1", "address": sample.EXCHANGE_DEPOSIT}
    change = propose(exchange, body)
    assert change["status"] == "applied"
    assert change["approvals"] == []
    assert ok(exchange.as_approver("aiko", "GET", "/v1/address-book")) == []
    denied = ok(exchange.submit(cold_request(exchange, "wd-cold-1", sample.EXCHANGE_DEPOSIT)))
    assert denied["status"] == "denied"
    assert "DESTINATION_NOT_IN_ADDRESS_BOOK" in codes(denied)
    error(exchange.call("POST", "/v1/changes", exchange.keys.policy_admin, body), 409, "CHANGE_INVALID")


def test_an_address_already_in_the_book_cannot_be_added_again(exchange: Exchange) -> None:
    body = {"kind": "address_book.add", "chain": "eip155:1", "address": sample.EXCHANGE_DEPOSIT.lower()}
    error(exchange.call("POST", "/v1/changes", exchange.keys.policy_admin, body), 409, "CHANGE_INVALID")


# --- policy ------------------------------------------------------------------------------------------------------
def test_a_policy_change_needs_the_change_quorum(exchange: Exchange) -> None:
    exchange.report_balances()
    before = ok(exchange.call("GET", "/v1/policy", exchange.keys.auditor))
    assert before["version"] == 1
    text = policy_with_hot_limit(5)
    change = propose(exchange, {"kind": "policy", "text": text})
    assert change["subject"]["version"] == 2
    assert change["subject"]["replaces"] == 1
    assert change["quorum"] == {"count": 2, "groups": ["security", "treasury"]}
    ok(approve_change(exchange, "kenji", change))
    assert ok(approve_change(exchange, "mina", change))["status"] == "open"  # one organisation
    assert ok(exchange.call("GET", "/v1/policy", exchange.keys.auditor))["version"] == 1
    assert ok(approve_change(exchange, "vera", change))["status"] == "applied"
    after = ok(exchange.call("GET", "/v1/policy", exchange.keys.auditor))
    assert after["version"] == 2
    assert after["text"] == text
    assert after["digest"] == change["subject"]["digest"] != before["digest"]
    # In force: 8 ETH from the hot wallet was routine under version 1, is above the limit under version 2.
    document = exchange.ledger.request(
        "wd-hot-8",
        wallet=sample.HOT_WALLET,
        amount=8 * ETHER,
        destination=sample.CUSTOMER,
        now=exchange.clock.now,
        transaction=sample.hot_transfer(sample.CUSTOMER, 8 * ETHER),
    )
    view = ok(exchange.submit(document))
    assert view["status"] == "denied"
    assert "LIMIT_SINGLE_EXCEEDED" in codes(view)


def test_a_policy_proposal_overtaken_by_another_version_is_rejected(exchange: Exchange) -> None:
    first = propose(exchange, {"kind": "policy", "text": policy_with_hot_limit(5)})
    second = propose(exchange, {"kind": "policy", "text": policy_with_hot_limit(7)})
    assert first["subject"]["replaces"] == second["subject"]["replaces"] == 1
    for person in ("kenji", "vera"):
        applied = ok(approve_change(exchange, person, first))
    assert applied["status"] == "applied"
    ok(approve_change(exchange, "aiko", second))
    rejected = ok(approve_change(exchange, "mina", second))
    assert rejected["status"] == "rejected"
    policy = ok(exchange.call("GET", "/v1/policy", exchange.keys.auditor))
    assert policy["version"] == 2
    assert policy["digest"] == first["subject"]["digest"]
    error(approve_change(exchange, "vera", second), 409, "STATE_CONFLICT")


def test_an_invalid_policy_is_refused_at_proposal(exchange: Exchange) -> None:
    response = exchange.call("POST", "/v1/changes", exchange.keys.policy_admin, {"kind": "policy", "text": "policy: 1"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "POLICY_INVALID"
    assert ok(exchange.call("GET", "/v1/changes", exchange.keys.auditor)) == []


# --- approvers' keys ---------------------------------------------------------------------------------------------
def test_an_approver_key_is_added_by_quorum_and_not_by_its_owner(exchange: Exchange) -> None:
    new_key = sample.demo_key("aiko's second device")
    change = propose(exchange, {"kind": "approver_key.add", "person": "aiko", "public_key": sample.public_hex(new_key)})
    error(approve_change(exchange, "aiko", change), 403, "APPROVER_NOT_ELIGIBLE")
    ok(approve_change(exchange, "kenji", change))
    assert ok(approve_change(exchange, "vera", change))["status"] == "applied"
    keys = [item for item in ok(exchange.as_approver("mina", "GET", "/v1/approvers")) if item["person"] == "aiko"]
    assert sorted(item["public_key"] for item in keys) == sorted(
        [sample.public_hex(new_key), sample.public_hex(sample.approver_key("aiko"))]
    )
    new_id = change["subject"]["key_id"]
    assert new_id == hashlib.sha256(bytes.fromhex(sample.public_hex(new_key))).hexdigest()

    # aiko now approves a withdrawal with the new key, naming it; unnamed, her key is ambiguous.
    exchange.report_balances()
    ok(exchange.submit(cold_request(exchange, "wd-cold-1", sample.EXCHANGE_DEPOSIT)))
    subject = ok(exchange.as_approver("aiko", "GET", "/v1/requests/wd-cold-1/approval-subject"))["subject"]
    with_old = sample.sign_approval("aiko", subject)
    error(
        exchange.as_approver("aiko", "POST", "/v1/requests/wd-cold-1/approvals", with_old), 403, "APPROVER_KEY_UNKNOWN"
    )
    expires_at = parse_timestamp(subject["expires_at"], field="expires_at")
    typed = ApprovalSubject(**{**subject, "amount": int(subject["amount"]), "expires_at": expires_at})
    with_new = {"subject": subject, "signature": new_key.sign(approval_digest(typed)).hex(), "key_id": new_id}
    view = ok(exchange.as_approver("aiko", "POST", "/v1/requests/wd-cold-1/approvals", with_new))
    assert [a["approver"] for a in view["approvals"]] == ["aiko"]


def test_an_approver_cannot_approve_the_removal_of_their_own_key(exchange: Exchange) -> None:
    (kenji,) = [k for k in ok(exchange.as_approver("aiko", "GET", "/v1/approvers")) if k["person"] == "kenji"]
    change = propose(exchange, {"kind": "approver_key.remove", "person": "kenji", "key_id": kenji["key_id"]})
    error(approve_change(exchange, "kenji", change), 403, "APPROVER_NOT_ELIGIBLE")
    ok(approve_change(exchange, "aiko", change))
    assert ok(approve_change(exchange, "vera", change))["status"] == "applied"
    assert "kenji" not in [k["person"] for k in ok(exchange.as_approver("aiko", "GET", "/v1/approvers"))]
    # Without a key, kenji can no longer approve anything.
    other = propose(exchange, {"kind": "address_book.add", "chain": "eip155:1", "address": NEW_ADDRESS})
    error(approve_change(exchange, "kenji", other), 403, "APPROVER_KEY_UNKNOWN")
