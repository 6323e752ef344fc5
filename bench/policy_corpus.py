"""A deterministic large policy (1,000 rules and limits over 60 wallets) and requests to decide against it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from mamori.policy.facts import Approval, Facts, VelocityCounter
from mamori.policy.request import WithdrawalRequest

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # Thursday 12:00 JST, inside business hours
TIERS = ("hot", "warm", "cold")
DAYS = ["mon", "tue", "wed", "thu", "fri"]


def address(rng: random.Random) -> str:
    return "0x" + rng.randbytes(20).hex()


def large_policy(seed: int = 7, rules: int = 900, limits: int = 100) -> tuple[dict[str, Any], list[str]]:
    """The policy document and the destinations it names (some requests go to them)."""
    rng = random.Random(seed)
    wallets = {
        f"w{i:02d}": {"tier": TIERS[i % 3], "chain": "eip155:1", "address": address(rng), "assets": ["ETH", "USDC"]}
        for i in range(60)
    }
    people = {
        f"p{i:02d}": {"organisation": f"org{i % 8}", "employee": i % 5 != 0, "groups": [f"g{i % 4}", "all"]}
        for i in range(32)
    }
    people.update(
        {f"bot{i}": {"organisation": "operations", "employee": True, "groups": ["initiators"]} for i in range(60)}
    )
    named = [address(rng) for _ in range(400)]
    items: list[dict[str, Any]] = []
    for index, wallet in enumerate(wallets):
        tier = wallets[wallet]["tier"]
        rule: dict[str, Any] = {"id": f"permit-{wallet}", "effect": "permit", "when": {"wallet": [wallet]}}
        if tier != "hot":
            rule["approvals"] = {
                "count": 2 if tier == "cold" else 1,
                "groups": [f"g{index % 4}", "all"],
                "min_employees": 1,
                "distinct_organisations": tier == "cold",
            }
        items.append(rule)
    while len(items) < rules:
        kind = rng.random()
        wallet = rng.choice(list(wallets))
        number = len(items)
        if kind < 0.35:
            items.append(
                {
                    "id": f"block-{number}",
                    "effect": "forbid",
                    "description": "known bad counterparty",
                    "when": {"destination": [rng.choice(named)]},
                }
            )
        elif kind < 0.6:
            items.append(
                {
                    "id": f"initiator-{number}",
                    "effect": "forbid",
                    "when": {"wallet": [wallet], "initiator": [f"bot{rng.randrange(50)}"]},
                }
            )
        elif kind < 0.8:
            start = rng.randrange(0, 20)  # maintenance windows in which a wallet must not move funds
            items.append(
                {
                    "id": f"hours-{number}",
                    "effect": "forbid",
                    "when": {
                        "wallet": [wallet],
                        "within": {"days": DAYS, "from": f"{start:02d}:00", "to": f"{start + 2:02d}:00"},
                    },
                }
            )
        else:
            items.append(
                {
                    "id": f"big-{number}",
                    "effect": "forbid",
                    "when": {"wallet": [wallet], "asset": ["ETH"], "amount_above": f"{rng.randrange(100, 10_000)} ETH"},
                }
            )
    limit_items: list[dict[str, Any]] = []
    for number in range(limits):
        wallet = list(wallets)[number % 60]
        if number % 3 == 0:
            limit_items.append(
                {"id": f"single-{number}", "kind": "single", "when": {"wallet": [wallet]}, "max_amount": "5000 ETH"}
            )
        elif number % 3 == 1:
            limit_items.append(
                {
                    "id": f"velocity-{number}",
                    "kind": "velocity",
                    "when": {"wallet": [wallet]},
                    "window": "10m",
                    "per": ["wallet"],
                    "max_count": 50,
                }
            )
        else:
            limit_items.append(
                {
                    "id": f"daily-{number}",
                    "kind": "velocity",
                    "when": {"wallet": [wallet], "asset": ["ETH"]},
                    "window": "24h",
                    "per": ["wallet", "asset"],
                    "max_amount": "100000 ETH",
                }
            )
    document = {
        "policy": 1,
        "id": "bench-large",
        "timezone": "Asia/Tokyo",
        "system_of_record": {"require_signed_request": False, "keys": [{"id": "k", "ed25519": "00" * 32}]},
        "require_transaction": [],
        "assets": {
            "ETH": {"chain": "eip155:1", "decimals": 18},
            "USDC": {"chain": "eip155:1", "decimals": 6, "contract": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"},
        },
        "wallets": wallets,
        "people": people,
        "address_book": {"required_for": []},
        "rules": items,
        "limits": limit_items,
    }
    return document, named


def requests_and_facts(
    document: dict[str, Any], named: list[str], count: int, seed: int = 11
) -> list[tuple[WithdrawalRequest, Facts]]:
    rng = random.Random(seed)
    wallets = list(document["wallets"])
    velocity_ids = [item["id"] for item in document["limits"] if item["kind"] == "velocity"]
    cases = []
    for number in range(count):
        wallet = rng.choice(wallets)
        destination = rng.choice(named) if rng.random() < 0.05 else address(rng)
        request = WithdrawalRequest(
            request_id=f"r{number}",
            created_at=NOW - timedelta(minutes=5),
            initiator=f"bot{rng.randrange(60)}",
            wallet=wallet,
            chain="eip155:1",
            asset=rng.choice(["ETH", "USDC"]),
            amount=rng.randrange(1, 10**20),
            destination=destination,
            signed_payload=b"",
        )
        facts = Facts(
            velocity={limit: VelocityCounter(rng.randrange(0, 40), rng.randrange(0, 10**22)) for limit in velocity_ids},
            approvals=tuple(
                Approval(f"p{rng.randrange(32):02d}", NOW - timedelta(minutes=1)) for _ in range(rng.randrange(0, 3))
            ),
        )
        cases.append((request, facts))
    return cases
