"""The guard service assembled: one engine, the guard's key, the screening index, and the three services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Engine

from mamori.guard.attestation import DEFAULT_TTL_SECONDS, key_id
from mamori.intel.screening import ScreeningIndex
from mamori.policy.facts import ScreeningHit
from mamori.service.audit import AuditService
from mamori.service.governance import GovernanceService
from mamori.service.intel_feed import IntelFeed, merged_screen
from mamori.service.state import PolicyCache
from mamori.service.withdrawals import WithdrawalService
from mamori.verify.registry import ContractRegistry, default_registry


@dataclass(frozen=True, slots=True)
class GuardServices:
    engine: Engine
    guard_key: Ed25519PrivateKey
    withdrawals: WithdrawalService
    governance: GovernanceService
    audit: AuditService
    screened_lists: frozenset[str]
    feed: IntelFeed | None = None  # hub indicators, refreshed while the guard runs (service/intel_feed.py)

    def describe(self) -> dict[str, Any]:
        public = self.guard_key.public_key()
        described: dict[str, Any] = {
            "service": "mamori guard",
            "public_key": public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex(),
            "key_id": key_id(public),
            "screening_lists": sorted(self.screened_lists),
        }
        if self.feed is not None:
            described["feeds"] = self.feed.status()
        return described


def build_services(
    engine: Engine,
    *,
    guard_key: Ed25519PrivateKey,
    screening: ScreeningIndex | None,
    registry: ContractRegistry | None = None,
    release_ttl_seconds: int = DEFAULT_TTL_SECONDS,
    feed: IntelFeed | None = None,
) -> GuardServices:
    """``feed``: hub indicators screened with the static lists; its lists count as consulted only while fresh."""
    policies = PolicyCache()
    screen: Callable[[str, str], tuple[ScreeningHit, ...]] | None = None
    lists: frozenset[str] = frozenset()
    if screening is not None:
        index = screening

        def static(_chain: str, address: str) -> tuple[ScreeningHit, ...]:
            return tuple(ScreeningHit(h.list_name, h.list_version, h.listed_as) for h in index.lookup(address))

        screen = static
        lists = frozenset(source.name for source in index.lists)
    consulted: frozenset[str] | Callable[[], frozenset[str]] = lists
    if feed is not None:
        screen = merged_screen(screen, feed)
        static_lists, live = lists, feed

        def consulted_now() -> frozenset[str]:
            return static_lists | live.lists()

        consulted = consulted_now
        lists = lists | feed.names
    withdrawals = WithdrawalService(
        engine,
        guard_key=guard_key,
        registry=registry or default_registry(),
        policies=policies,
        screen=screen,
        screened_lists=consulted,
        release_ttl_seconds=release_ttl_seconds,
    )
    return GuardServices(
        engine=engine,
        guard_key=guard_key,
        withdrawals=withdrawals,
        governance=GovernanceService(engine, policies=policies),
        audit=AuditService(engine, guard_key=guard_key),
        screened_lists=lists,
        feed=feed,
    )
