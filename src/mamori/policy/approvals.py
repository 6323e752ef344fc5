"""Approval quorums: which approvals count toward a requirement, and the requirement in words.

A quorum is met by ``count`` distinct approvers from its groups, none of them the initiator (separation of
duties), at least ``min_employees`` employed by the exchange, and — with ``distinct_organisations`` — no two
from the same organisation or vendor.
"""

from __future__ import annotations

from collections.abc import Mapping

from mamori.policy.facts import Approval
from mamori.policy.model import Approvals, Person


def approvals_counting(
    people: Mapping[str, Person], needed: Approvals, approvals: list[Approval], *, initiator: str | None
) -> int:
    """How many approvals count toward ``needed`` (capped below it when the employee rule is not met)."""
    known = [people[a.approver] for a in approvals if a.approver in people]
    eligible = [
        person
        for person in {p.id: p for p in known}.values()
        if person.id != initiator and (not needed.groups or person.groups & needed.groups)
    ]
    if needed.distinct_organisations:
        # One approver per organisation; prefer an employee where the organisation has one.
        by_org: dict[str, bool] = {}
        for person in eligible:
            by_org[person.organisation] = by_org.get(person.organisation, False) or person.employee
        count, employees = len(by_org), sum(by_org.values())
    else:
        count, employees = len(eligible), sum(p.employee for p in eligible)
    if employees < needed.min_employees:
        # Without enough employees the quorum is not met, whatever the head count.
        return min(count, needed.count - 1)
    return count


def quorum_text_en(needed: Approvals) -> str:
    parts = []
    if needed.groups:
        parts.append(f" from {', '.join(sorted(needed.groups))}")
    if needed.min_employees:
        parts.append(f", at least {needed.min_employees} employed by the exchange")
    if needed.distinct_organisations:
        parts.append(", no two from the same organisation")
    return "".join(parts)


def quorum_text_ja(needed: Approvals) -> str:
    parts = []
    if needed.groups:
        parts.append(f"（{', '.join(sorted(needed.groups))} から")
        parts.append("）")
    if needed.min_employees:
        parts.append(f"（うち取引所の従業員 {needed.min_employees} 名以上）")
    if needed.distinct_organisations:
        parts.append("（同一組織から 2 名以上は不可）")
    return "".join(parts)
