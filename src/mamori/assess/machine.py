"""Machine evidence: questions the platform answers from its own state, as pure functions of facts the service
layer gathers (service/assessments.py). A fact that could not be gathered answers ``no``: what cannot be verified
does not count as done.

- ``guard.cold-wallet-employee-quorum``: the active withdrawal policy makes every permitted withdrawal from every
  cold wallet need at least two approvers employed by the exchange. Read statically: each ``permit`` rule that can
  match a cold wallet must itself ask for ``min_employees >= 2`` — or a rule that matches *every* withdrawal of that
  wallet (no condition beyond wallet, tier or chain) must; either way no path to a release skips two employees.
- ``audit.log-verifies``: every entry of the audit log recomputes to its Merkle tree and signed heads.
- ``intel.feeds-fresh``: every pulled threat-intelligence collection was synced within the freshness window
  (24 h): all fresh ``yes``, some ``partial``, none or no feed at all ``no``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mamori.assess.framework import MACHINE_CHECKS, Text
from mamori.policy.model import Match, Policy, Rule, Wallet

FEED_FRESHNESS = timedelta(hours=24)
REQUIRED_EMPLOYEES = 2


@dataclass(frozen=True, slots=True)
class AuditState:
    verified: bool
    tree_size: int
    root_hash: str  # hex; empty when not verified
    reason: str = ""


@dataclass(frozen=True, slots=True)
class FeedState:
    remote: str
    synced_at: datetime | None


@dataclass(frozen=True, slots=True)
class MachineFacts:
    """What the service read: the active policy (None: none, or it could not be read), the audit log, the feeds."""

    policy: Policy | None
    policy_version: int | None
    audit: AuditState | None
    feeds: tuple[FeedState, ...] = ()
    unavailable: tuple[str, ...] = field(default=())  # what could not be read, e.g. "policy: no such table"


@dataclass(frozen=True, slots=True)
class MachineFinding:
    check: str
    value: str  # yes / partial / no
    detail: Text
    state: dict[str, Any]  # the state the answer is linked to (policy digest, tree root, sync times)


def evaluate(check: str, facts: MachineFacts, *, now: datetime) -> MachineFinding:
    if check not in MACHINE_CHECKS:
        raise KeyError(check)  # the bank loader refuses unknown checks: reaching here is a programming error
    if check == "guard.cold-wallet-employee-quorum":
        return _cold_wallet_quorum(facts)
    if check == "audit.log-verifies":
        return _audit(facts)
    return _feeds(facts, now)


def _cold_wallet_quorum(facts: MachineFacts) -> MachineFinding:
    check = "guard.cold-wallet-employee-quorum"
    policy = facts.policy
    if policy is None:
        return MachineFinding(
            check,
            "no",
            Text("No active withdrawal policy could be read.", "有効な出金ポリシーを読み取れませんでした。"),
            {},
        )
    state: dict[str, Any] = {"policy_version": facts.policy_version, "policy_digest": policy.digest}
    cold = [w for w in policy.wallets.values() if w.tier == "cold"]
    if not cold:
        return MachineFinding(
            check,
            "no",
            Text(
                f"Policy {policy.id} defines no cold wallet.",
                f"ポリシー {policy.id} にコールドウォレットが定義されていません。",
            ),
            state,
        )
    short = [w.id for w in cold if not _needs_two_employees(policy, w)]
    state["cold_wallets"] = sorted(w.id for w in cold)
    if short:
        state["short_wallets"] = sorted(short)
        names = ", ".join(sorted(short))
        return MachineFinding(
            check,
            "no",
            Text(
                f"Policy {policy.id}: a withdrawal from {names} can be released with fewer than two employee "
                "approvers.",
                f"ポリシー {policy.id}: {names} からの出金は、従業員である承認者2名未満で実行され得ます。",
            ),
            state,
        )
    return MachineFinding(
        check,
        "yes",
        Text(
            f"Policy {policy.id}: every withdrawal from the {len(cold)} cold wallet(s) needs two employee approvers.",
            f"ポリシー {policy.id}: コールドウォレット {len(cold)} 件からの出金はすべて従業員2名の承認を要します。",
        ),
        state,
    )


def _needs_two_employees(policy: Policy, wallet: Wallet) -> bool:
    permits = [r for r in policy.rules if r.effect == "permit" and _can_match(r.match, wallet)]
    if not permits:
        return True  # nothing permits a withdrawal from it: none is released at all
    if all(_two_employees(r) for r in permits):
        return True
    return any(_always_matches(r.match, wallet) and _two_employees(r) for r in permits)


def _two_employees(rule: Rule) -> bool:
    return rule.approvals is not None and rule.approvals.min_employees >= REQUIRED_EMPLOYEES


def _can_match(match: Match, wallet: Wallet) -> bool:
    return (
        (match.wallets is None or wallet.id in match.wallets)
        and (match.tiers is None or wallet.tier in match.tiers)
        and (match.chains is None or wallet.chain in match.chains)
    )


def _always_matches(match: Match, wallet: Wallet) -> bool:
    """Whether the rule matches every withdrawal from ``wallet``, whatever its asset, amount, time or destination."""
    narrowing = (
        match.assets,
        match.initiators,
        match.destinations,
        match.in_address_book,
        match.amount_asset,
        match.amount_above,
        match.amount_at_most,
        match.within,
        match.outside,
    )
    return _can_match(match, wallet) and all(condition is None for condition in narrowing)


def _audit(facts: MachineFacts) -> MachineFinding:
    check = "audit.log-verifies"
    audit = facts.audit
    if audit is None:
        return MachineFinding(
            check, "no", Text("The audit log could not be read.", "監査ログを読み取れませんでした。"), {}
        )
    state = {"tree_size": audit.tree_size, "root_hash": audit.root_hash}
    if not audit.verified:
        return MachineFinding(
            check,
            "no",
            Text(f"The audit log does not verify: {audit.reason}", f"監査ログの検証に失敗しました: {audit.reason}"),
            state,
        )
    return MachineFinding(
        check,
        "yes",
        Text(
            f"The audit log verifies: {audit.tree_size} entries, root {audit.root_hash[:16]}…",
            f"監査ログの検証に成功しました（{audit.tree_size} 件、ルート {audit.root_hash[:16]}…）。",
        ),
        state,
    )


def _feeds(facts: MachineFacts, now: datetime) -> MachineFinding:
    check = "intel.feeds-fresh"
    if not facts.feeds:
        return MachineFinding(
            check,
            "no",
            Text(
                "No threat-intelligence feed is pulled from a hub.",
                "ハブから取得している脅威インテリジェンスのフィードがありません。",
            ),
            {},
        )
    fresh = [f for f in facts.feeds if f.synced_at is not None and now - f.synced_at <= FEED_FRESHNESS]
    stale = sorted(f.remote for f in facts.feeds if f not in fresh)
    state: dict[str, Any] = {
        "feeds": {f.remote: f.synced_at.isoformat() if f.synced_at else None for f in facts.feeds},
        "window_hours": FEED_FRESHNESS.total_seconds() / 3600,
    }
    value = "yes" if not stale else "partial" if fresh else "no"
    hours = int(FEED_FRESHNESS.total_seconds() // 3600)
    detail = Text(
        f"{len(fresh)} of {len(facts.feeds)} feed(s) synced within {hours} h"
        + (f"; stale: {', '.join(stale)}" if stale else "."),
        f"{len(facts.feeds)} 件中 {len(fresh)} 件のフィードが {hours} 時間以内に同期されています"
        + (f"（未更新: {', '.join(stale)}）。" if stale else "。"),
    )
    return MachineFinding(check, value, detail, state)
