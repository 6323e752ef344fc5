"""The SQL velocity counter (service/facts.py) against the list computation of the policy checker
(policy/check.py): the same counts and sums for any history, over the withdrawals that hold a reservation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mamori.demo import exchange as sample
from mamori.policy.check import velocity_counters
from mamori.policy.facts import PastWithdrawal, VelocityCounter
from mamori.policy.model import Policy
from mamori.policy.parse import load_policy_text
from mamori.policy.request import WithdrawalRequest, parse_request
from mamori.service.facts import RESERVING, FactCache, from_us, to_us, velocity_counter
from mamori.store.guard_models import Reservation, Withdrawal

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
SECOND = 1_000_000
WALLETS = (sample.HOT_WALLET, sample.COLD_WALLET)
ASSETS = ("ETH", "USDC")
DESTINATIONS = (sample.CUSTOMER.lower(), sample.EXCHANGE_DEPOSIT.lower())
INITIATORS = ("ops-bot", "payout-service")
STATUSES = ("released", "pending_approval", "denied", "cancelled", "awaiting_transaction")


def _policy() -> Policy:
    """The demo policy, with velocity limits over every key and asset combination."""
    document = yaml.safe_load(sample.demo_policy_text())
    document["limits"] += [
        {
            "id": "per-destination",
            "kind": "velocity",
            "when": {"tier": ["hot", "cold"]},
            "window": "1h",
            "per": ["destination"],
            "max_count": 3,
        },
        {
            "id": "per-initiator-eth",
            "kind": "velocity",
            "when": {"tier": ["hot", "cold"]},
            "window": "30m",
            "per": ["initiator"],
            "asset": "ETH",
            "max_amount": "100 ETH",
        },
        {
            "id": "everything",
            "kind": "velocity",
            "when": {"tier": ["hot", "cold"]},
            "window": "2h",
            "per": ["wallet", "asset", "destination", "initiator"],
            "max_count": 2,
        },
        {
            "id": "global",
            "kind": "velocity",
            "when": {"tier": ["hot", "cold"]},
            "window": "10m",
            "per": [],
            "max_count": 100,
        },
    ]
    return load_policy_text(yaml.safe_dump(document, sort_keys=False))


POLICY = _policy()
WINDOWS = sorted({limit.window_seconds for limit in POLICY.limits if limit.kind == "velocity"})
# Offsets from now, in microseconds: on and next to every window's edges, now itself, the future, and anywhere.
EDGES = [-w * SECOND + d for w in WINDOWS for d in (-1, 0, 1)] + [0, -1, 1, 60 * SECOND]
offsets = st.sampled_from(EDGES) | st.integers(min_value=-3 * 86_400 * SECOND, max_value=120 * SECOND)

rows = st.lists(
    st.tuples(
        st.sampled_from(STATUSES),
        st.sampled_from(WALLETS),
        st.sampled_from(ASSETS),
        st.sampled_from(DESTINATIONS),
        st.sampled_from(INITIATORS),
        st.integers(min_value=1, max_value=10**30),
        offsets,
        st.booleans(),  # a denied or cancelled row that still carries a reservation time
    ),
    max_size=25,
)


def _request(wallet: str, asset: str, destination: str, initiator: str) -> WithdrawalRequest:
    return parse_request(
        {
            "request_id": "current",
            "created_at": "2026-03-03T02:00:00Z",
            "initiator": initiator,
            "wallet": wallet,
            "chain": "eip155:1",
            "asset": asset,
            "amount": "1",
            "destination": destination,
        }
    )


def _stored(
    history: list[tuple[str, str, str, str, str, int, int, bool]], *, keep_stale: bool
) -> tuple[list[Withdrawal], list[PastWithdrawal]]:
    """The withdrawals of ``history`` as stored, and those holding a reservation as the list computation takes them.
    ``keep_stale``: a denied or cancelled row may keep its reservation time (its ``stale`` flag), as in the table."""
    now_us = to_us(NOW)
    stored: list[Withdrawal] = []
    past: list[PastWithdrawal] = []
    for index, (status, wallet, asset, destination, initiator, amount, offset, stale) in enumerate(history):
        reserving = status in RESERVING
        stored.append(
            Withdrawal(
                request_id=f"wd-{index}",
                status=status,
                initiator=initiator,
                wallet=wallet,
                chain="eip155:1",
                asset=asset,
                amount=str(amount),
                destination=destination,
                created_us=now_us,
                received_us=now_us,
                request_digest="00" * 32,
                request_document=b"{}",
                reserved_us=now_us + offset if reserving or (stale and keep_stale) else None,
            )
        )
        if reserving:
            past.append(PastWithdrawal(wallet, asset, destination, initiator, amount, from_us(now_us + offset)))
    return stored, past


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    history=rows,
    current=st.tuples(
        st.sampled_from(WALLETS), st.sampled_from(ASSETS), st.sampled_from(DESTINATIONS), st.sampled_from(INITIATORS)
    ),
    include_current=st.booleans(),
)
def test_the_sql_counter_equals_the_list_computation(
    engine: Engine,
    history: list[tuple[str, str, str, str, str, int, int, bool]],
    current: tuple[str, str, str, str],
    include_current: bool,
) -> None:
    request = _request(*current)
    now_us = to_us(NOW)
    stored, past = _stored(history, keep_stale=True)
    if include_current:  # the request itself, already reserved: never counted against itself
        stored.append(
            Withdrawal(
                request_id="current",
                status="pending_approval",
                initiator=request.initiator,
                wallet=request.wallet,
                chain="eip155:1",
                asset=request.asset,
                amount="7",
                destination=request.destination,
                created_us=now_us,
                received_us=now_us,
                request_digest="00" * 32,
                request_document=b"{}",
                reserved_us=now_us,
            )
        )
    expected = velocity_counters(POLICY, request, past, now=NOW)
    assert set(expected) == {
        "hot-velocity",
        "hot-daily-eth",
        "per-destination",
        "per-initiator-eth",
        "everything",
        "global",
    }
    with Session(engine) as session:
        session.add_all(stored + reservations_of(stored))
        session.flush()
        found = {
            limit.id: velocity_counter(session, request, limit.per, limit.asset, limit.window_seconds, now=NOW)
            for limit in POLICY.limits
            if limit.kind == "velocity"
        }
        session.rollback()
    assert found == expected


def test_a_known_history(engine: Engine) -> None:
    """One history worked by hand, so that a shared mistake of both computations shows too."""
    request = _request(sample.HOT_WALLET, "ETH", DESTINATIONS[0], "ops-bot")
    now_us = to_us(NOW)

    def row(request_id: str, status: str, ago: timedelta, amount: int, asset: str = "ETH") -> Withdrawal:
        return Withdrawal(
            request_id=request_id,
            status=status,
            initiator="ops-bot",
            wallet=sample.HOT_WALLET,
            chain="eip155:1",
            asset=asset,
            amount=str(amount),
            destination=DESTINATIONS[0],
            created_us=now_us,
            received_us=now_us,
            request_digest="00" * 32,
            request_document=b"{}",
            reserved_us=None if status in ("denied", "cancelled") else now_us - ago // timedelta(microseconds=1),
        )

    with Session(engine) as session:
        rows = [
            row("a", "released", timedelta(minutes=1), 2),
            row("b", "pending_approval", timedelta(minutes=9, seconds=59), 3),
            row("c", "released", timedelta(minutes=10), 5),  # on the window's start: outside (now-10m, now]
            row("d", "denied", timedelta(minutes=2), 7),
            row("e", "cancelled", timedelta(minutes=2), 11),
            row("f", "released", timedelta(hours=23), 13, asset="USDC"),
        ]
        session.add_all(rows + reservations_of(rows))
        session.flush()
        assert velocity_counter(session, request, ("wallet",), None, 600, now=NOW) == VelocityCounter(2, 5)
        assert velocity_counter(session, request, ("wallet", "asset"), "ETH", 86_400, now=NOW) == VelocityCounter(3, 10)
        assert velocity_counter(session, request, ("wallet",), "ETH", 86_400, now=NOW) == VelocityCounter(4, 10)
        session.rollback()


def reservations_of(rows: list[Withdrawal]) -> list[Reservation]:
    """What the service keeps beside each withdrawal that holds a reservation (service/withdrawals.py
    _sync_reservation): withdrawals denied or cancelled after their reservation — with a stale reserved_us — hold
    none."""
    return [
        Reservation(
            request_id=row.request_id,
            wallet=row.wallet,
            asset=row.asset,
            destination=row.destination,
            initiator=row.initiator,
            reserved_us=row.reserved_us,
            amount=row.amount,
        )
        for row in rows
        if row.status in RESERVING and row.reserved_us is not None
    ]


keys = st.tuples(
    st.sampled_from(WALLETS), st.sampled_from(ASSETS), st.sampled_from(DESTINATIONS), st.sampled_from(INITIATORS)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    history=rows,
    steps=st.lists(
        st.tuples(st.booleans(), keys, st.integers(min_value=1, max_value=10**30), offsets), min_size=1, max_size=20
    ),
)
def test_the_batch_cache_counts_what_the_transaction_reserves_before_writing_it(
    engine: Engine,
    history: list[tuple[str, str, str, str, str, int, int, bool]],
    steps: list[tuple[bool, tuple[str, str, str, str], int, int]],
) -> None:
    """FactCache (a group commit's facts): counters read once per key, plus the reservations the batch has decided
    but not yet written — whether they came before or after the key's first read — equal the list computation
    over everything reserved so far. Each step either reserves (not written to the database) or reads every
    counter of the policy for a fresh request."""
    now_us = to_us(NOW)
    stored, past = _stored(history, keep_stale=False)
    cache = FactCache()
    with Session(engine) as session:
        session.add_all(stored + reservations_of(stored))
        session.flush()
        connection = session.connection()
        for index, (reserves, (wallet, asset, destination, initiator), amount, offset) in enumerate(steps):
            if reserves:
                reservation = {
                    "request_id": f"batch-{index}",
                    "wallet": wallet,
                    "asset": asset,
                    "destination": destination,
                    "initiator": initiator,
                    "reserved_us": now_us + offset,
                    "amount": str(amount),
                }
                cache.reserved(reservation)
                past.append(PastWithdrawal(wallet, asset, destination, initiator, amount, from_us(now_us + offset)))
                continue
            request = _request(wallet, asset, destination, initiator)
            found = {
                limit.id: cache.velocity(connection, request, limit.per, limit.asset, limit.window_seconds, now=NOW)
                for limit in POLICY.limits
                if limit.kind == "velocity"
            }
            assert found == velocity_counters(POLICY, request, past, now=NOW)
        session.rollback()
