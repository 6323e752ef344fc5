"""The pure evaluator: deny by default, forbid beats permit, errors deny, findings, screening, the address book,
limits, time windows in the policy's zone, approvals. Facts are built directly; nothing is read or fetched."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from mamori.policy.evaluate import Verdict, evaluate, reason
from mamori.policy.facts import (
    AddressBookEntry,
    Approval,
    Facts,
    FindingFact,
    ScreeningHit,
    TransactionFacts,
    Transfer,
    VelocityCounter,
)
from mamori.policy.model import Match, Policy, Rule, ScreeningPolicy, TimeWindow
from mamori.policy.parse import index_candidates, load_policy, load_policy_text
from mamori.policy.reasons import DENY_CODES, REASON_CATALOG
from mamori.policy.request import WithdrawalRequest, parse_request, signing_payload
from support.sample import LEDGER, SAMPLE_PATH

ROOT = Path(__file__).resolve().parents[2]
ETH = 10**18
USDC = 10**6
DEST = "0xd4d890d1d1b8564d0b985d541680c0d690f8a823"  # keccak256("mamori test customer 1")[12:], normalised
FBI = "0x51e9d833ecae4e8d9d8be17300aee6d3398c135d"  # FBI PSA 250226, normalised
USDC_CONTRACT = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
COLD = "0x1db92e2eebc8e0c075a02bea49a2935bcd2dfcf4"
HOT_NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # Monday 12:00 JST
COLD_NOW = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)  # Wednesday 11:00 JST
JST = timezone(timedelta(hours=9))


@cache
def sample() -> Policy:
    return load_policy_text(SAMPLE_PATH.read_bytes())


def sample_document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SAMPLE_PATH.read_text(encoding="utf-8"))
    return document


def request(*, sign: bool = True, **over: str) -> WithdrawalRequest:
    """A request as check_request hands it to the evaluator: parsed, signed by the demo ledger key, normalised."""
    fields = {
        "request_id": "wd-1",
        "created_at": "2026-03-02T02:59:30Z",
        "initiator": "ops-bot",
        "wallet": "eth-hot-1",
        "chain": "eip155:1",
        "asset": "ETH",
        "amount": str(ETH),
        "destination": DEST,
    }
    fields.update(over)
    document: dict[str, Any] = dict(fields)
    if sign:
        document["signature"] = {"key_id": "ledger-2026", "ed25519": LEDGER.sign(signing_payload(fields)).hex()}
    parsed = parse_request(document)
    return replace(parsed, destination=parsed.destination.lower())


def transfer_tx(req: WithdrawalRequest, *, source: str = "", **over: Any) -> TransactionFacts:
    token = USDC_CONTRACT if req.asset == "USDC" else None
    values: dict[str, Any] = {
        "source": source,
        "transfers": (Transfer(token, req.destination, req.amount),),
        "problem": None,
        "findings": (),
        "addresses": (req.destination,),
        "kind": "safe" if source == COLD else "evm",  # the cold wallet is a Safe; the others sign raw transactions
    }
    values.update(over)
    return TransactionFacts(**values)


SCREENED = frozenset({"ofac-sdn", "fbi-psa250226-bybit"})  # the lists the sample policy requires


def hot_facts(req: WithdrawalRequest, **over: Any) -> Facts:
    values: dict[str, Any] = {
        "velocity": {"hot-velocity": VelocityCounter(0, 0), "hot-daily-eth": VelocityCounter(0, 0)},
        "transaction": transfer_tx(req),
        "screened_lists": SCREENED,
    }
    values.update(over)
    return Facts(**values)


def book_entry(address: str = DEST, *, added: datetime, approved_by: tuple[str, ...] = ("aiko", "kenji")) -> Any:
    return {("eip155:1", address): AddressBookEntry("eip155:1", address, "customer", added, approved_by)}


def cold_request(**over: str) -> WithdrawalRequest:
    values = {"wallet": "eth-cold-1", "amount": str(100 * ETH), "created_at": "2026-03-04T01:30:00Z"}
    values.update(over)
    return request(**values)


def cold_facts(req: WithdrawalRequest, approvers: tuple[str, ...] = ("aiko", "vera"), **over: Any) -> Facts:
    values: dict[str, Any] = {
        "balances": {("eth-cold-1", "ETH"): 1_000_000 * ETH},
        "address_book": book_entry(added=datetime(2025, 1, 1, tzinfo=UTC)),
        "transaction": transfer_tx(req, source=COLD),
        "approvals": tuple(Approval(name, COLD_NOW - timedelta(minutes=10)) for name in approvers),
        "screened_lists": SCREENED,
    }
    values.update(over)
    return Facts(**values)


def codes(verdict: Verdict) -> list[str]:
    return [item.code for item in verdict.reasons]


# --- the rules of decision --------------------------------------------------------------------------------------------
def test_a_routine_hot_withdrawal_is_allowed_and_says_by_which_rule() -> None:
    req = request()
    verdict = evaluate(req, sample(), hot_facts(req), now=HOT_NOW)
    assert verdict.decision == "allow"
    assert [(r.code, r.rule) for r in verdict.reasons] == [("PERMITTED", "hot-routine")]
    assert verdict.policy_id == "sample-exchange" and verdict.policy_digest == sample().digest
    assert verdict.request_id == "wd-1" and verdict.required_approvals == ()


def test_deny_by_default_when_no_rule_permits() -> None:
    req = request(asset="USDC", amount=str(25_000 * USDC))
    verdict = evaluate(req, sample(), hot_facts(req), now=HOT_NOW)
    assert verdict.decision == "deny"
    assert codes(verdict) == ["NO_PERMIT"]


def test_a_forbid_beats_any_permit() -> None:
    document = sample_document()
    document["rules"].append(
        {"id": "no-fbi", "effect": "forbid", "description": "Bybit theft.", "when": {"destination": [FBI]}}
    )
    document["rules"].append({"id": "all-hot", "effect": "permit", "when": {"tier": ["hot"]}})
    policy = load_policy(document)
    req = request(destination=FBI)
    verdict = evaluate(req, policy, hot_facts(req), now=HOT_NOW)
    assert verdict.decision == "deny"
    assert [(r.code, r.rule) for r in verdict.reasons] == [("RULE_FORBIDS", "no-fbi")]
    assert "Bybit theft." in verdict.reasons[0].message_en


def test_every_denial_is_reported_not_only_the_first() -> None:
    req = request(sign=False, amount=str(11 * ETH))
    facts = hot_facts(
        req,
        velocity={"hot-velocity": VelocityCounter(5, 0)},
        screening={DEST: (ScreeningHit("ofac-sdn", "2025-11-19", "LAZARUS GROUP"),)},
        transaction=transfer_tx(req, transfers=(Transfer(None, FBI, 11 * ETH),), addresses=(FBI,)),
    )
    verdict = evaluate(req, sample(), facts, now=HOT_NOW)
    assert verdict.decision == "deny"
    assert set(codes(verdict)) == {
        "REQUEST_UNSIGNED",
        "TX_DESTINATION_MISMATCH",
        "SCREENING_HIT",
        "NO_PERMIT",
        "LIMIT_SINGLE_EXCEEDED",
        "LIMIT_VELOCITY_COUNT",
        "FACT_MISSING",  # hot-daily-eth has no counter
    }


class Exploding:
    """Any use raises: a stand-in for a condition that cannot be evaluated."""

    def __contains__(self, item: object) -> bool:
        raise RuntimeError("cannot evaluate")

    def __lt__(self, other: object) -> bool:
        raise RuntimeError("cannot evaluate")

    __gt__ = __le__ = __ge__ = __lt__

    def contains(self, weekday: int, minute: int) -> bool:
        raise RuntimeError("cannot evaluate")


@pytest.mark.parametrize("effect", ["permit", "forbid"])
@pytest.mark.parametrize("field", ["wallets", "tiers", "initiators", "destinations", "amount_at_most", "within"])
def test_a_rule_that_cannot_be_evaluated_denies(effect: str, field: str) -> None:
    extra: dict[str, Any] = {field: Exploding()}
    if field == "amount_at_most":
        extra["amount_asset"] = "ETH"
    broken = Rule("broken", effect, Match(**extra))  # type: ignore[arg-type]
    policy = replace(sample(), rules=(*sample().rules, broken), candidates={})
    req = request()
    verdict = evaluate(req, policy, hot_facts(req), now=HOT_NOW)
    assert verdict.decision == "deny"
    assert ("RULE_ERROR", "broken") in [(r.code, r.rule) for r in verdict.reasons]
    assert "RuntimeError" in verdict.reasons[0].message_en


def test_a_limit_that_cannot_be_evaluated_denies() -> None:
    limit = replace(sample().limits[0], id="broken-limit", max_amount=Exploding())  # type: ignore[arg-type]
    policy = replace(sample(), limits=(*sample().limits, limit), candidates={})
    req = request()
    verdict = evaluate(req, policy, hot_facts(req), now=HOT_NOW)
    assert verdict.decision == "deny"
    assert ("RULE_ERROR", "broken-limit") in [(r.code, r.rule) for r in verdict.reasons]


def test_an_unexpected_evaluator_error_denies_instead_of_raising() -> None:
    req = cold_request()
    naive = datetime(2025, 1, 1)
    facts = cold_facts(req, address_book=book_entry(added=naive))
    verdict = evaluate(req, sample(), facts, now=COLD_NOW)
    assert verdict.decision == "deny"
    assert [(r.code, r.rule) for r in verdict.reasons] == [("RULE_ERROR", "(evaluator)")]
    assert "TypeError" in verdict.reasons[0].message_en


def test_now_without_a_time_zone_denies() -> None:
    req = request()
    verdict = evaluate(req, sample(), hot_facts(req), now=HOT_NOW.replace(tzinfo=None))
    assert verdict.decision == "deny"
    assert [(r.code, r.rule) for r in verdict.reasons] == [("RULE_ERROR", "(clock)")]


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"wallet": "eth-hot-9"}, "WALLET_UNKNOWN"),
        ({"asset": "DAI"}, "ASSET_NOT_ALLOWED"),
        ({"chain": "eip155:10"}, "CHAIN_MISMATCH"),
    ],
)
def test_requests_outside_the_policy_deny(over: dict[str, str], code: str) -> None:
    req = request(**over)
    verdict = evaluate(req, sample(), hot_facts(req), now=HOT_NOW)
    assert (verdict.decision, codes(verdict)) == ("deny", [code])


# --- the system of record ---------------------------------------------------------------------------------------------
def test_signed_requests_are_required_unless_the_policy_says_otherwise() -> None:
    req = request(sign=False)
    assert codes(evaluate(req, sample(), hot_facts(req), now=HOT_NOW)) == ["REQUEST_UNSIGNED"]
    document = sample_document()
    document["system_of_record"]["require_signed_request"] = False
    relaxed = load_policy(document)
    assert evaluate(req, relaxed, hot_facts(req), now=HOT_NOW).decision == "allow"


def test_a_present_but_invalid_signature_by_a_known_key_denies_even_when_signing_is_optional() -> None:
    document = sample_document()
    document["system_of_record"]["require_signed_request"] = False
    relaxed = load_policy(document)
    req = replace(request(), amount=2 * ETH)  # altered after signing: the signature no longer verifies
    verdict = evaluate(req, relaxed, hot_facts(req), now=HOT_NOW)
    assert verdict.decision == "deny"


# --- the transaction --------------------------------------------------------------------------------------------------
def test_transaction_checks() -> None:
    req = request()
    cases: list[tuple[TransactionFacts, str]] = [
        (transfer_tx(req, source="0x" + "ee" * 20), "TX_WALLET_MISMATCH"),
        (transfer_tx(req, transfers=(Transfer(None, FBI, ETH),)), "TX_DESTINATION_MISMATCH"),
        (transfer_tx(req, transfers=(Transfer(None, DEST, ETH + 1),)), "TX_AMOUNT_MISMATCH"),
        (transfer_tx(req, transfers=(Transfer(USDC_CONTRACT, DEST, ETH),)), "TX_ASSET_MISMATCH"),
        (transfer_tx(req, transfers=()), "TX_NOT_A_TRANSFER"),
        (transfer_tx(req, transfers=(Transfer(None, DEST, ETH),) * 2), "TX_NOT_A_TRANSFER"),
        (transfer_tx(req, problem="erc20_approve to 0xa0b8…"), "TX_NOT_A_TRANSFER"),
    ]
    for tx, code in cases:
        verdict = evaluate(req, sample(), hot_facts(req, transaction=tx), now=HOT_NOW)
        assert (verdict.decision, codes(verdict)) == ("deny", [code]), tx
    two = evaluate(req, sample(), hot_facts(req, transaction=cases[5][0]), now=HOT_NOW)
    assert dict(two.reasons[0].details)["detail"] == "2 transfers"


def test_the_transaction_is_required_per_tier() -> None:
    req = request()
    verdict = evaluate(req, sample(), hot_facts(req, transaction=None), now=HOT_NOW)
    assert [(r.code, r.rule) for r in verdict.reasons] == [("TX_MISSING", "require_transaction")]
    document = sample_document()
    document["require_transaction"] = ["warm", "cold"]
    assert evaluate(req, load_policy(document), hot_facts(req, transaction=None), now=HOT_NOW).decision == "allow"


@pytest.mark.parametrize(
    ("severity", "decision", "code"),
    [
        ("critical", "deny", "FINDING_DENIES"),
        ("high", "deny", "FINDING_DENIES"),
        ("medium", "needs_approval", "APPROVALS_REQUIRED"),
        ("low", "allow", "PERMITTED"),
        ("info", "allow", "PERMITTED"),
    ],
)
def test_findings_deny_or_escalate_by_severity(severity: str, decision: str, code: str) -> None:
    req = request()
    finding = FindingFact("SOME_FINDING", severity, "en text", "日本語")
    facts = hot_facts(req, transaction=transfer_tx(req, findings=(finding,)))
    verdict = evaluate(req, sample(), facts, now=HOT_NOW)
    assert verdict.decision == decision
    assert code in codes(verdict)
    if decision == "needs_approval":
        assert [(a.source, a.approvals.groups) for a in verdict.required_approvals] == [
            ("findings.medium", frozenset({"security"}))
        ]
        approved = replace(facts, approvals=(Approval("mina", HOT_NOW),))
        assert evaluate(req, sample(), approved, now=HOT_NOW).decision == "allow"
    if code == "FINDING_DENIES":
        shown = verdict.reasons[0]
        assert dict(shown.details)["finding"] == "SOME_FINDING"
        assert "en text" in shown.message_en and "日本語" in shown.message_ja


def test_critical_findings_deny_even_where_the_policy_lets_high_through() -> None:
    document = sample_document()
    document["findings"] = {"deny": ["critical"], "escalate": {"high": {"count": 1, "groups": ["security"]}}}
    policy = load_policy(document)
    req = request()
    for severity, decision in (("critical", "deny"), ("high", "needs_approval")):
        finding = FindingFact("X", severity, "en", "ja")
        facts = hot_facts(req, transaction=transfer_tx(req, findings=(finding,)))
        assert evaluate(req, policy, facts, now=HOT_NOW).decision == decision


# --- screening --------------------------------------------------------------------------------------------------------
def test_screening_covers_the_destination_and_every_address_of_the_transaction() -> None:
    req = request()
    hit = (ScreeningHit("fbi-psa250226-bybit", "2025-02-26", "TraderTraitor"),)
    for screening in ({DEST: hit}, {USDC_CONTRACT: hit}):
        tx = transfer_tx(req, addresses=(USDC_CONTRACT, DEST))
        verdict = evaluate(req, sample(), hot_facts(req, transaction=tx, screening=screening), now=HOT_NOW)
        assert (verdict.decision, codes(verdict)) == ("deny", ["SCREENING_HIT"])
        details = dict(verdict.reasons[0].details)
        assert (details["list"], details["version"], details["listed_as"]) == (
            "fbi-psa250226-bybit",
            "2025-02-26",
            "TraderTraitor",
        )


def test_screening_lists_and_switch() -> None:
    req = request()
    facts = hot_facts(req, screening={DEST: (ScreeningHit("fbi-psa250226-bybit", "2025-02-26", "x"),)})
    only_ofac = replace(sample(), screening=ScreeningPolicy(deny=True, lists=frozenset({"ofac-sdn"})))
    assert evaluate(req, only_ofac, facts, now=HOT_NOW).decision == "allow"
    with_fbi = replace(sample(), screening=ScreeningPolicy(deny=True, lists=frozenset({"fbi-psa250226-bybit"})))
    assert evaluate(req, with_fbi, facts, now=HOT_NOW).decision == "deny"
    off = replace(sample(), screening=ScreeningPolicy(deny=False))
    assert evaluate(req, off, facts, now=HOT_NOW).decision == "allow"


def test_evaluate_on_a_parsed_request_screens_a_checksummed_destination() -> None:
    fields = {
        "request_id": "wd-1",
        "created_at": "2026-03-02T02:59:30Z",
        "initiator": "ops-bot",
        "wallet": "eth-hot-1",
        "chain": "eip155:1",
        "asset": "ETH",
        "amount": str(ETH),
        "destination": "0x51E9d833Ecae4E8D9D8Be17300AEE6D3398C135D",
    }
    signature = {"key_id": "ledger-2026", "ed25519": LEDGER.sign(signing_payload(fields)).hex()}
    req = parse_request({**fields, "signature": signature})
    hit = (ScreeningHit("fbi-psa250226-bybit", "2025-02-26", "TraderTraitor"),)
    facts = Facts(
        velocity={"hot-velocity": VelocityCounter(0, 0), "hot-daily-eth": VelocityCounter(0, 0)},
        screening={FBI: hit},
        screened_lists=SCREENED,
    )
    verdict = evaluate(req, replace(sample(), require_transaction=frozenset()), facts, now=HOT_NOW)
    assert verdict.decision == "deny"


# --- the address book -------------------------------------------------------------------------------------------------
def test_cooling_off_ends_exactly_48_hours_after_the_entry_was_added() -> None:
    req = cold_request()
    added = COLD_NOW - timedelta(hours=48)
    ready = evaluate(req, sample(), cold_facts(req, address_book=book_entry(added=added)), now=COLD_NOW)
    assert ready.decision == "allow"
    early = cold_facts(req, address_book=book_entry(added=added + timedelta(seconds=1)))
    verdict = evaluate(req, sample(), early, now=COLD_NOW)
    assert [(r.code, r.rule) for r in verdict.reasons] == [("DESTINATION_COOLING_OFF", "address_book")]
    assert dict(verdict.reasons[0].details)["ready_at"] == "2026-03-04T02:00:01+00:00"


@pytest.mark.parametrize(
    ("approved_by", "usable"),
    [
        (("aiko", "kenji"), True),  # treasury + security
        (("aiko", "vera"), True),  # treasury + custody vendor
        (("kenji", "mina"), False),  # both security: one organisation
        (("aiko",), False),
        (("aiko", "ops-bot"), False),  # ops-bot is in neither security nor treasury
        (("aiko", "mallory"), False),  # not a person of the policy
        ((), False),
    ],
)
def test_an_entry_needs_its_add_quorum(approved_by: tuple[str, ...], usable: bool) -> None:
    req = cold_request()
    book = book_entry(added=datetime(2025, 1, 1, tzinfo=UTC), approved_by=approved_by)
    verdict = evaluate(req, sample(), cold_facts(req, address_book=book), now=COLD_NOW)
    assert verdict.decision == ("allow" if usable else "deny")
    if not usable:
        assert codes(verdict) == ["DESTINATION_ENTRY_UNAPPROVED"]


def test_an_entry_on_another_chain_is_not_an_entry() -> None:
    req = cold_request()
    entry = AddressBookEntry("eip155:10", DEST, "op", datetime(2025, 1, 1, tzinfo=UTC), ("aiko", "kenji"))
    verdict = evaluate(req, sample(), cold_facts(req, address_book={("eip155:10", DEST): entry}), now=COLD_NOW)
    assert codes(verdict) == ["DESTINATION_NOT_IN_ADDRESS_BOOK"]


def test_in_address_book_conditions_see_only_usable_entries() -> None:
    document = sample_document()
    document["rules"].append(
        {"id": "hot-known", "effect": "permit", "when": {"tier": ["hot"], "asset": ["ETH"], "in_address_book": True}}
    )
    document["limits"] = []
    policy = load_policy(document)
    req = request(amount=str(30 * ETH))
    old = book_entry(added=datetime(2025, 1, 1, tzinfo=UTC))
    assert evaluate(req, policy, hot_facts(req, address_book=old), now=HOT_NOW).decision == "allow"
    cooling = book_entry(added=HOT_NOW - timedelta(hours=1))
    verdict = evaluate(req, policy, hot_facts(req, address_book=cooling), now=HOT_NOW)
    assert codes(verdict) == ["NO_PERMIT"]  # hot wallets do not require the book; the entry is just not usable
    unapproved = book_entry(added=datetime(2025, 1, 1, tzinfo=UTC), approved_by=("aiko",))
    assert codes(evaluate(req, policy, hot_facts(req, address_book=unapproved), now=HOT_NOW)) == ["NO_PERMIT"]


# --- limits -----------------------------------------------------------------------------------------------------------
def test_single_limit_boundary() -> None:
    at_limit = request(amount=str(10 * ETH))
    assert evaluate(at_limit, sample(), hot_facts(at_limit), now=HOT_NOW).decision == "allow"
    above = request(amount=str(10 * ETH + 1))
    verdict = evaluate(above, sample(), hot_facts(above), now=HOT_NOW)
    assert set(codes(verdict)) == {"LIMIT_SINGLE_EXCEEDED", "NO_PERMIT"}
    shown = next(r for r in verdict.reasons if r.code == "LIMIT_SINGLE_EXCEEDED")
    assert dict(shown.details)["amount"] == "10.000000000000000001 ETH"
    assert "10 ETH" in shown.message_en and "10 ETH" in shown.message_ja


@pytest.mark.parametrize(("count", "decision"), [(0, "allow"), (4, "allow"), (5, "deny"), (50, "deny")])
def test_velocity_count_boundary(count: int, decision: str) -> None:
    req = request()
    facts = hot_facts(req, velocity={"hot-velocity": VelocityCounter(count, 0), "hot-daily-eth": VelocityCounter(0, 0)})
    verdict = evaluate(req, sample(), facts, now=HOT_NOW)
    assert verdict.decision == decision
    if decision == "deny":
        assert codes(verdict) == ["LIMIT_VELOCITY_COUNT"]
        details = dict(verdict.reasons[0].details)
        assert (details["count"], details["limit"], details["window"], details["scope"]) == (
            str(count + 1),
            "5",
            "10m",
            "wallet",
        )


@pytest.mark.parametrize(("before", "decision"), [(49 * ETH, "allow"), (49 * ETH + 1, "deny")])
def test_velocity_amount_boundary(before: int, decision: str) -> None:
    req = request()
    facts = hot_facts(
        req, velocity={"hot-velocity": VelocityCounter(0, 0), "hot-daily-eth": VelocityCounter(3, before)}
    )
    verdict = evaluate(req, sample(), facts, now=HOT_NOW)
    assert verdict.decision == decision
    if decision == "deny":
        assert codes(verdict) == ["LIMIT_VELOCITY_AMOUNT"]
        assert dict(verdict.reasons[0].details)["window"] == "1d"  # 24h is shown in days


def test_a_missing_velocity_counter_denies() -> None:
    req = request()
    verdict = evaluate(req, sample(), hot_facts(req, velocity={}), now=HOT_NOW)
    assert sorted((r.code, r.rule) for r in verdict.reasons) == [
        ("FACT_MISSING", "hot-daily-eth"),
        ("FACT_MISSING", "hot-velocity"),
    ]


def test_limits_of_another_asset_do_not_apply() -> None:
    req = request(asset="USDC", amount=str(20_000 * USDC))
    facts = hot_facts(req, velocity={"hot-velocity": VelocityCounter(0, 0)})  # no ETH counter: not needed
    assert evaluate(req, sample(), facts, now=HOT_NOW).decision == "allow"


@pytest.mark.parametrize(("amount", "decision"), [(50_000 * ETH, "allow"), (50_000 * ETH + 1, "deny"), (1, "allow")])
def test_balance_percent_boundary(amount: int, decision: str) -> None:
    req = cold_request(amount=str(amount))
    verdict = evaluate(req, sample(), cold_facts(req), now=COLD_NOW)
    assert verdict.decision == decision
    if decision == "deny":
        assert [(r.code, r.rule) for r in verdict.reasons] == [("LIMIT_BALANCE_PERCENT", "cold-share")]


def test_balance_percent_needs_the_balance_of_that_wallet_and_asset() -> None:
    req = cold_request()
    for balances in ({}, {("eth-cold-1", "USDC"): 10**12}, {("eth-hot-1", "ETH"): 10**30}):
        verdict = evaluate(req, sample(), cold_facts(req, balances=balances), now=COLD_NOW)
        assert [(r.code, r.rule) for r in verdict.reasons] == [("FACT_MISSING", "cold-share")]
    usdc = cold_request(asset="USDC", amount=str(10**6))
    assert evaluate(usdc, sample(), cold_facts(usdc, balances={}), now=COLD_NOW).decision == "allow"


# --- time windows -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("local", "decision"),
    [
        (datetime(2026, 3, 4, 8, 59, 59, tzinfo=JST), "deny"),
        (datetime(2026, 3, 4, 9, 0, tzinfo=JST), "allow"),
        (datetime(2026, 3, 4, 17, 59, 59, tzinfo=JST), "allow"),
        (datetime(2026, 3, 4, 18, 0, tzinfo=JST), "deny"),
        (datetime(2026, 3, 6, 12, 0, tzinfo=JST), "allow"),  # Friday
        (datetime(2026, 3, 7, 12, 0, tzinfo=JST), "deny"),  # Saturday
        (datetime(2026, 3, 8, 12, 0, tzinfo=JST), "deny"),  # Sunday
        (datetime(2026, 3, 9, 0, 30, tzinfo=UTC), "allow"),  # Monday 09:30 JST, given in UTC
        (datetime(2026, 3, 6, 23, 0, tzinfo=UTC), "deny"),  # Friday 23:00 UTC = Saturday 08:00 JST
    ],
)
def test_business_hours_are_in_the_policys_time_zone(local: datetime, decision: str) -> None:
    # The request is created just before the approvals: approvals given before a request do not count.
    req = cold_request(created_at=(local - timedelta(minutes=1)).isoformat())
    facts = cold_facts(req, approvals=(Approval("aiko", local), Approval("vera", local)))
    verdict = evaluate(req, sample(), facts, now=local)
    assert verdict.decision == decision, codes(verdict)
    if decision == "deny":
        assert [(r.code, r.rule) for r in verdict.reasons] == [("RULE_FORBIDS", "cold-business-hours")]


def test_time_windows() -> None:
    office = TimeWindow(frozenset({0, 1, 2, 3, 4}), 9 * 60, 18 * 60)
    assert office.contains(0, 9 * 60) and office.contains(4, 18 * 60 - 1)
    assert not office.contains(0, 18 * 60) and not office.contains(5, 12 * 60)
    night = TimeWindow(frozenset({4}), 22 * 60, 6 * 60)  # Friday 22:00 to Saturday 06:00
    assert night.contains(4, 23 * 60) and night.contains(5, 5 * 60 + 59)
    assert not night.contains(5, 6 * 60) and not night.contains(4, 5 * 60) and not night.contains(5, 23 * 60)
    sunday_night = TimeWindow(frozenset({6}), 23 * 60, 60)
    assert sunday_night.contains(0, 30)  # Monday 00:30 belongs to Sunday's window


def test_within_windows_in_another_zone() -> None:
    document = sample_document()
    document["timezone"] = "America/New_York"
    document["rules"][0]["when"]["within"] = {"from": "09:00", "to": "17:00"}
    policy = load_policy(document)
    # 2026-03-09 14:30 UTC is 10:30 in New York (EDT since 2026-03-08); 2026-03-06 13:30 UTC is 08:30 EST
    for now, decision in (
        (datetime(2026, 3, 9, 14, 30, tzinfo=UTC), "allow"),
        (datetime(2026, 3, 6, 13, 30, tzinfo=UTC), "deny"),
    ):
        req = request(created_at=(now - timedelta(minutes=1)).isoformat())  # a fresh request each time
        assert evaluate(req, policy, hot_facts(req), now=now).decision == decision


# --- approvals --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("approvers", "initiator", "have", "notes"),
    [
        ((), "ops-bot", 0, []),
        (("aiko", "vera"), "ops-bot", 2, []),
        (("aiko", "kenji"), "ops-bot", 2, []),
        (("kenji", "mina"), "ops-bot", 1, []),  # same organisation
        (("vera", "ops-bot"), "ops-bot", 1, ["APPROVER_IS_INITIATOR"]),
        (("aiko", "aiko", "aiko"), "ops-bot", 1, []),  # one person counts once
        (("aiko", "vera"), "aiko", 1, ["APPROVER_IS_INITIATOR"]),  # separation of duties
        (("vera", "mallory"), "ops-bot", 1, ["APPROVER_UNKNOWN"]),
        (("mina", "vera", "kenji"), "mina", 2, ["APPROVER_IS_INITIATOR"]),
    ],
)
def test_cold_quorum(approvers: tuple[str, ...], initiator: str, have: int, notes: list[str]) -> None:
    req = cold_request(initiator=initiator)
    verdict = evaluate(req, sample(), cold_facts(req, approvers), now=COLD_NOW)
    if have >= 2:
        assert verdict.decision == "allow"
        assert verdict.required_approvals == ()
    else:
        assert verdict.decision == "needs_approval"
        (missing,) = verdict.required_approvals
        assert (missing.source, missing.have, missing.approvals.count) == ("cold-two-approvals", have, 2)
        assert "APPROVALS_REQUIRED" in codes(verdict)
    assert [c for c in codes(verdict) if c.startswith("APPROVER_")] == notes


def test_min_employees_caps_the_count() -> None:
    document = sample_document()
    document["rules"][3]["approvals"]["min_employees"] = 2
    policy = load_policy(document)
    req = cold_request()
    verdict = evaluate(req, policy, cold_facts(req, ("aiko", "vera")), now=COLD_NOW)
    assert verdict.decision == "needs_approval"
    assert verdict.required_approvals[0].have == 1
    assert evaluate(req, policy, cold_facts(req, ("aiko", "kenji")), now=COLD_NOW).decision == "allow"


def test_approvals_stamped_after_now_do_not_count() -> None:
    req = cold_request()
    facts = cold_facts(req, approvals=(Approval("aiko", COLD_NOW), Approval("vera", COLD_NOW + timedelta(seconds=1))))
    verdict = evaluate(req, sample(), facts, now=COLD_NOW)
    assert verdict.decision == "needs_approval" and verdict.required_approvals[0].have == 1


def test_approvals_required_verdict_json() -> None:
    req = cold_request()
    verdict = evaluate(req, sample(), cold_facts(req, ()), now=COLD_NOW)
    body = verdict.to_json()
    assert body["decision"] == "needs_approval"
    assert body["required_approvals"] == [
        {
            "source": "cold-two-approvals",
            "count": 2,
            "have": 0,
            "groups": ["security", "treasury"],
            "min_employees": 1,
            "distinct_organisations": True,
        }
    ]
    (note,) = body["reasons"]
    assert note["code"] == "APPROVALS_REQUIRED" and note["rule"] == "cold-two-approvals"
    assert "no two from the same organisation" in note["message"]["en"]
    assert "同一組織" in note["message"]["ja"]


# --- the verdict and the reason catalog -------------------------------------------------------------------------------
def test_verdict_json_shape() -> None:
    req = request(sign=False)
    body = evaluate(req, sample(), hot_facts(req), now=HOT_NOW).to_json()
    assert body == {
        "request_id": "wd-1",
        "decision": "deny",
        "policy": {"id": "sample-exchange", "digest": sample().digest},
        "reasons": [
            {
                "code": "REQUEST_UNSIGNED",
                "rule": "system_of_record",
                "message": {"en": REASON_CATALOG["REQUEST_UNSIGNED"][0], "ja": REASON_CATALOG["REQUEST_UNSIGNED"][1]},
                "details": {"key_id": "", "rule": "system_of_record"},
            }
        ],
        "required_approvals": [],
    }


def test_every_reason_code_renders_in_both_languages() -> None:
    for code, (en, ja) in REASON_CATALOG.items():
        assert re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)*", code), code
        fields = set(re.findall(r"\{(\w+)\}", en)) | set(re.findall(r"\{(\w+)\}", ja))
        shown = reason(code, "r1", **{name: f"<{name}>" for name in fields})
        assert "{" not in shown.message_en and "{" not in shown.message_ja, code
        assert shown.message_en.strip() and shown.message_ja.strip()
    assert {"APPROVALS_REQUIRED", "APPROVER_IS_INITIATOR", "APPROVER_UNKNOWN", "PERMITTED"} == set(
        REASON_CATALOG
    ) - DENY_CODES


def test_a_request_is_fresh_and_not_from_the_future() -> None:
    req = request()
    fresh = evaluate(req, sample(), hot_facts(req), now=HOT_NOW)
    assert "REQUEST_STALE" not in codes(fresh)
    for now in (req.created_at + timedelta(hours=24, seconds=1), req.created_at - timedelta(minutes=6)):
        assert "REQUEST_STALE" in codes(evaluate(req, sample(), hot_facts(req), now=now))


def test_the_network_fee_of_a_raw_transaction_is_capped() -> None:
    req = request()
    cap = 5 * ETH // 100  # the sample's 0.05 ETH
    at_cap = evaluate(req, sample(), hot_facts(req, transaction=transfer_tx(req, max_fee=cap)), now=HOT_NOW)
    assert "FEE_EXCESSIVE" not in codes(at_cap)
    drained = evaluate(req, sample(), hot_facts(req, transaction=transfer_tx(req, max_fee=cap + 1)), now=HOT_NOW)
    assert drained.decision == "deny" and "FEE_EXCESSIVE" in codes(drained)
    uncapped = evaluate(req, replace(sample(), fee_caps={}), hot_facts(req), now=HOT_NOW)
    assert "FEE_CAP_MISSING" in codes(uncapped)


def test_a_safe_wallet_takes_only_safe_transactions() -> None:
    req = cold_request()
    facts = cold_facts(req, transaction=transfer_tx(req, source=COLD, kind="evm"))
    assert "TX_KIND_MISMATCH" in codes(evaluate(req, sample(), facts, now=COLD_NOW))


def test_no_list_consulted_denies() -> None:
    req = request()
    verdict = evaluate(req, sample(), hot_facts(req, screened_lists=frozenset()), now=HOT_NOW)
    assert verdict.decision == "deny"
    assert [r.details for r in verdict.reasons if r.code == "FACT_MISSING"]


def test_every_reason_code_is_documented_in_docs_policy() -> None:
    doc = (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", doc, flags=re.MULTILINE))
    assert documented == set(REASON_CATALOG)


# --- the candidate index ----------------------------------------------------------------------------------------------
def test_the_candidate_index_gives_the_same_decisions_as_reading_every_rule() -> None:
    document = sample_document()
    document["rules"].append({"id": "no-fbi", "effect": "forbid", "when": {"destination": [FBI]}})
    policy = load_policy(document)
    unindexed = replace(policy, candidates={})
    for req in (request(), request(destination=FBI), request(asset="USDC", amount=str(30_000 * USDC))):
        facts = hot_facts(req)
        assert evaluate(req, policy, facts, now=HOT_NOW) == evaluate(req, unindexed, facts, now=HOT_NOW)
    assert index_candidates(policy) == policy.candidates


def test_a_policy_derived_with_new_rules_is_decided_with_those_rules() -> None:
    forbid_all = Rule("freeze", "forbid", Match(), description="Incident: all withdrawals frozen.")
    frozen = replace(sample(), rules=(*sample().rules, forbid_all))
    req = request()
    assert evaluate(req, frozen, hot_facts(req), now=HOT_NOW).decision == "deny"
