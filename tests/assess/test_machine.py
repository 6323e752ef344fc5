"""Machine evidence decided from facts: the cold-wallet quorum read from real policies, the audit log, the feeds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest

from mamori.assess.machine import AuditState, FeedState, MachineFacts, evaluate
from mamori.policy.parse import load_policy_text

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
SAMPLE = resources.files("mamori.content").joinpath("policies/sample.yaml").read_text("utf-8")
COLD_RULE = "approvals: {count: 2, groups: [treasury, security], min_employees: 1, distinct_organisations: true}"
TWO_EMPLOYEES = "approvals: {count: 2, groups: [treasury, security], min_employees: 2, distinct_organisations: true}"


def quorum(policy_text: str) -> tuple[str, dict[str, object]]:
    facts = MachineFacts(load_policy_text(policy_text), 3, None)
    finding = evaluate("guard.cold-wallet-employee-quorum", facts, now=NOW)
    assert finding.detail.en and finding.detail.ja
    return finding.value, finding.state


def test_the_sample_policy_asks_only_one_employee_for_the_cold_wallet() -> None:
    value, state = quorum(SAMPLE)
    assert value == "no"
    assert state["short_wallets"] == ["eth-cold-1"]
    assert state["policy_version"] == 3 and len(str(state["policy_digest"])) == 64


def test_two_employees_on_the_cold_rule_answers_yes() -> None:
    assert SAMPLE.count(COLD_RULE) == 1
    assert quorum(SAMPLE.replace(COLD_RULE, TWO_EMPLOYEES))[0] == "yes"


def test_a_narrower_permit_without_employees_is_a_path_around_the_quorum() -> None:
    text = SAMPLE.replace(COLD_RULE, TWO_EMPLOYEES).replace(
        "  - id: cold-business-hours",
        '  - id: cold-small\n    effect: permit\n    when: {tier: [cold], asset: [ETH], amount_at_most: "1 ETH"}\n'
        "    approvals: {count: 1}\n  - id: cold-business-hours",
    )
    assert quorum(text)[0] == "yes"  # a 1 ETH withdrawal matches both permits: two employees anyway...
    # ...only because cold-two-approvals matches every cold withdrawal; narrow it and the small permit is a way round.
    narrowed = text.replace(
        "    when: {tier: [cold]}\n    approvals: {count: 2",
        "    when: {tier: [cold], asset: [USDC]}\n    approvals: {count: 2",
    )
    assert quorum(narrowed)[0] == "no"


def test_an_always_matching_two_employee_rule_covers_narrower_permits() -> None:
    text = SAMPLE.replace(COLD_RULE, TWO_EMPLOYEES).replace(
        "  - id: cold-business-hours",
        '  - id: cold-small\n    effect: permit\n    when: {tier: [cold], asset: [ETH], amount_at_most: "1 ETH"}\n'
        "  - id: cold-business-hours",
    )
    assert quorum(text)[0] == "yes"


def test_no_policy_or_no_cold_wallet_answers_no() -> None:
    finding = evaluate("guard.cold-wallet-employee-quorum", MachineFacts(None, None, None), now=NOW)
    assert finding.value == "no"


@pytest.mark.parametrize(
    ("audit", "value"),
    [
        (AuditState(True, 12, "ab" * 32), "yes"),
        (AuditState(False, 0, "", "entry 3: modified"), "no"),
        (None, "no"),
    ],
)
def test_the_audit_log_check(audit: AuditState | None, value: str) -> None:
    finding = evaluate("audit.log-verifies", MachineFacts(None, None, audit), now=NOW)
    assert finding.value == value


@pytest.mark.parametrize(
    ("ages", "value"),
    [((), "no"), ((1,), "yes"), ((1, 23), "yes"), ((1, 25), "partial"), ((30, None), "no"), ((None,), "no")],
)
def test_feed_freshness(ages: tuple[int | None, ...], value: str) -> None:
    feeds = tuple(
        FeedState(
            f"https://hub.example/taxii2/isac/collections/{i}/objects/", None if h is None else NOW - timedelta(hours=h)
        )
        for i, h in enumerate(ages)
    )
    finding = evaluate("intel.feeds-fresh", MachineFacts(None, None, None, feeds), now=NOW)
    assert finding.value == value
