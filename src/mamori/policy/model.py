"""The policy as the evaluator sees it: frozen values built once by the parser (policy/parse.py).

Amounts are integers in the asset's base units; durations are seconds; times of day are minutes after midnight
in the policy's time zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from mamori.chains.bitcoin.descriptor import Descriptor

Tier = Literal["hot", "warm", "cold"]
Effect = Literal["permit", "forbid"]
LimitKind = Literal["single", "velocity", "balance_percent"]
VelocityKey = Literal["wallet", "asset", "destination", "initiator"]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Asset:
    id: str
    chain: str
    decimals: int
    contract: bytes | None  # None: the chain's native coin


@dataclass(frozen=True, slots=True)
class Wallet:
    id: str
    tier: Tier
    chain: str
    address: str
    assets: frozenset[str]
    safe_version: str | None = None  # a Safe wallet's contract version: it decides the hash its owners sign
    owners: tuple[str, ...] = ()  # a Safe wallet's owners: only they make a collected signature valid
    threshold: int | None = None
    descriptor: Descriptor | None = None  # a Bitcoin wallet's output descriptor: attached PSBTs are verified with it


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    organisation: str  # a department of the exchange or a vendor: two approvers may be required to differ
    employee: bool  # employed by the exchange itself
    groups: frozenset[str]


@dataclass(frozen=True, slots=True)
class SigningKey:
    id: str
    ed25519: bytes  # raw 32-byte public key


@dataclass(frozen=True, slots=True)
class Approvals:
    """A quorum: ``count`` distinct approvers from ``groups`` (any group if empty), at least ``min_employees``
    of them employed by the exchange, and, if ``distinct_organisations``, no two from the same organisation.
    The initiator never counts."""

    count: int
    groups: frozenset[str] = frozenset()
    min_employees: int = 0
    distinct_organisations: bool = False


@dataclass(frozen=True, slots=True)
class TimeWindow:
    days: frozenset[int]  # 0 = Monday
    start_minute: int
    end_minute: int  # exclusive; may be below start for a window across midnight

    def contains(self, weekday: int, minute: int) -> bool:
        if self.start_minute <= self.end_minute:
            return weekday in self.days and self.start_minute <= minute < self.end_minute
        # Across midnight: the part after midnight belongs to the previous day's window.
        if minute >= self.start_minute:
            return weekday in self.days
        return minute < self.end_minute and (weekday - 1) % 7 in self.days


@dataclass(frozen=True, slots=True)
class Match:
    """Conditions of a rule or limit; every present condition must hold, a list means any of its items."""

    wallets: frozenset[str] | None = None
    tiers: frozenset[str] | None = None
    assets: frozenset[str] | None = None
    chains: frozenset[str] | None = None
    initiators: frozenset[str] | None = None
    destinations: frozenset[str] | None = None  # normalised destination addresses
    in_address_book: bool | None = None
    amount_above: int | None = None  # base units of the single asset named in ``amount_asset``
    amount_at_most: int | None = None
    amount_asset: str | None = None
    within: TimeWindow | None = None
    outside: TimeWindow | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    effect: Effect
    match: Match
    approvals: Approvals | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class Limit:
    id: str
    kind: LimitKind
    match: Match
    asset: str | None = None  # the asset whose amounts ``max_amount`` counts (required for amount limits)
    max_amount: int | None = None
    max_count: int | None = None
    window_seconds: int = 0
    per: tuple[VelocityKey, ...] = ()
    max_percent: int | None = None  # of the wallet's balance of the asset, in whole percent
    description: str = ""


@dataclass(frozen=True, slots=True)
class AddressBookPolicy:
    cooling_off_seconds: int
    add_quorum: Approvals
    required_for: frozenset[str]  # wallet tiers whose withdrawals must go to an address-book entry


@dataclass(frozen=True, slots=True)
class FindingsPolicy:
    deny: frozenset[str]  # severities that deny; always contains "critical"
    escalate: tuple[tuple[str, Approvals], ...] = ()  # severity -> extra approvals


@dataclass(frozen=True, slots=True)
class ScreeningPolicy:
    deny: bool = True
    lists: frozenset[str] = frozenset()  # lists that count; empty means every list
    require: frozenset[str] = frozenset()  # lists that must have been consulted, or the decision denies


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    timezone: str
    system_of_record: tuple[SigningKey, ...]
    require_signed_request: bool
    require_transaction: frozenset[str]  # wallet tiers whose requests must carry the transaction to be signed
    assets: dict[str, Asset]
    wallets: dict[str, Wallet]
    people: dict[str, Person]
    rules: tuple[Rule, ...]
    limits: tuple[Limit, ...]
    address_book: AddressBookPolicy
    findings: FindingsPolicy
    screening: ScreeningPolicy
    fee_caps: Mapping[str, int] = field(default_factory=dict)  # native asset id -> most network fee, base units
    request_max_age_seconds: int = 24 * 3600
    # approvals the guard service needs to change the policy itself or an approver's key (governance)
    change_quorum: Approvals = field(default_factory=lambda: Approvals(2))
    digest: str = field(default="")  # SHA-256 of the policy text, to record which version decided
    # (wallet, asset) -> the rules and limits that can apply, so a decision reads tens of rules, not thousands
    candidates: Mapping[tuple[str, str], Candidates] = field(default_factory=dict)
    # The rules and limits the index was built from: a policy changed with dataclasses.replace() no longer
    # matches them, and the evaluator then scans everything instead of trusting a stale index.
    indexed_rules: tuple[Rule, ...] = ()
    indexed_limits: tuple[Limit, ...] = ()

    def candidates_for(self, wallet: str, asset: str, destination: str) -> tuple[tuple[Rule, ...], tuple[Limit, ...]]:
        index = self.candidates.get((wallet, asset))
        if index is None or self.indexed_rules is not self.rules or self.indexed_limits is not self.limits:
            return self.rules, self.limits
        return index.rules_for(destination), index.limits_for(destination)


@dataclass(frozen=True, slots=True)
class Candidates:
    rules: tuple[Rule, ...]
    rules_by_destination: Mapping[str, tuple[Rule, ...]]
    limits: tuple[Limit, ...]
    limits_by_destination: Mapping[str, tuple[Limit, ...]]

    def rules_for(self, destination: str) -> tuple[Rule, ...]:
        specific = self.rules_by_destination.get(destination)
        return self.rules + specific if specific else self.rules

    def limits_for(self, destination: str) -> tuple[Limit, ...]:
        specific = self.limits_by_destination.get(destination)
        return self.limits + specific if specific else self.limits
