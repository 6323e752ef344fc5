"""The candidate index: per wallet and asset, the rules and limits whose static conditions can match.

A decision then reads tens of rules, not thousands; the evaluator still checks every condition of a candidate,
and falls back to every rule when the policy was changed after indexing (Policy.candidates_for).
"""

from __future__ import annotations

from typing import Any

from mamori.policy.model import Candidates, Match, Policy, Wallet


def index_candidates(policy: Policy) -> dict[tuple[str, str], Candidates]:
    """Pre-select, per wallet and asset, the rules and limits whose static conditions can match; rules naming
    destinations are further keyed by destination. The evaluator still checks every condition of a candidate."""

    def static_match(match: Match, wallet: Wallet, asset: str) -> bool:
        return (
            (match.wallets is None or wallet.id in match.wallets)
            and (match.tiers is None or wallet.tier in match.tiers)
            and (match.assets is None or asset in match.assets)
            and (match.chains is None or wallet.chain in match.chains)
            and (match.amount_asset is None or match.amount_asset == asset)
        )

    def split(items: tuple[Any, ...], wallet: Wallet, asset: str) -> tuple[tuple[Any, ...], dict[str, tuple[Any, ...]]]:
        general: list[Any] = []
        by_destination: dict[str, list[Any]] = {}
        for item in items:
            if not static_match(item.match, wallet, asset):
                continue
            if item.match.destinations is None:
                general.append(item)
            else:
                for destination in item.match.destinations:
                    by_destination.setdefault(destination, []).append(item)
        return tuple(general), {key: tuple(value) for key, value in by_destination.items()}

    index: dict[tuple[str, str], Candidates] = {}
    for wallet in policy.wallets.values():
        for asset in wallet.assets:
            rules, rules_by_destination = split(policy.rules, wallet, asset)
            limits, limits_by_destination = split(policy.limits, wallet, asset)
            index[(wallet.id, asset)] = Candidates(rules, rules_by_destination, limits, limits_by_destination)
    return index
