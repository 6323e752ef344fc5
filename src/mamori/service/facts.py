"""Facts for one decision, read from the database inside the decision's transaction (after the log's lock).

The same numbers as :func:`mamori.policy.check.velocity_counters` computes from a history list — a
differential test holds the two together — but from SQL, over the withdrawals that hold a reservation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.policy.facts import (
    AddressBookEntry,
    Approval,
    Facts,
    ScreeningHit,
    TransactionFacts,
    VelocityCounter,
    window_start,
)
from mamori.policy.model import Policy
from mamori.policy.request import WithdrawalRequest
from mamori.store.guard_models import AddressBookRow, Balance, Withdrawal, WithdrawalApproval

# Statuses that hold a reservation against velocity limits.
RESERVING = ("pending_approval", "released")
Screen = Callable[[str, str], tuple[ScreeningHit, ...]]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch (exact, unlike ``timestamp()``'s float)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def gather_facts(
    session: Session,
    policy: Policy,
    request: WithdrawalRequest,
    transaction: TransactionFacts | None,
    *,
    signing_hash: str | None,
    now: datetime,
    screen: Screen | None,
    screened_lists: frozenset[str],
) -> Facts:
    _, limits = policy.candidates_for(request.wallet, request.asset, request.destination)
    return Facts(
        balances=_balances(session, request.wallet),
        velocity={
            limit.id: velocity_counter(session, request, limit.per, limit.asset, limit.window_seconds, now=now)
            for limit in limits
            if limit.kind == "velocity"
        },
        address_book=_address_book(session, request.chain, request.destination),
        screening=_screening(request, transaction, screen),
        transaction=transaction,
        approvals=_approvals(session, request.request_id, signing_hash, policy.digest, now=now),
        screened_lists=screened_lists,
    )


def velocity_counter(
    session: Session,
    request: WithdrawalRequest,
    per: tuple[str, ...],
    asset: str | None,
    window_seconds: int,
    *,
    now: datetime,
) -> VelocityCounter:
    """Reserved withdrawals in ``(now - window, now]`` sharing ``per`` with ``request``, this one excluded."""
    query = select(Withdrawal.asset, Withdrawal.amount).where(
        Withdrawal.status.in_(RESERVING),
        Withdrawal.reserved_us > to_us(window_start(now, window_seconds)),
        Withdrawal.reserved_us <= to_us(now),
        Withdrawal.request_id != request.request_id,
    )
    columns = {
        "wallet": Withdrawal.wallet,
        "asset": Withdrawal.asset,
        "destination": Withdrawal.destination,
        "initiator": Withdrawal.initiator,
    }
    for key in per:
        query = query.where(columns[key] == getattr(request, key))
    count = amount = 0
    for row_asset, row_amount in session.execute(query):
        count += 1
        if asset is None or row_asset == asset:
            amount += int(row_amount)
    return VelocityCounter(count, amount)


def _balances(session: Session, wallet: str) -> dict[tuple[str, str], int]:
    rows = session.execute(select(Balance.asset, Balance.amount).where(Balance.wallet == wallet))
    return {(wallet, asset): int(amount) for asset, amount in rows}


def _address_book(session: Session, chain: str, address: str) -> dict[tuple[str, str], AddressBookEntry]:
    row = session.scalars(
        select(AddressBookRow)
        .where(AddressBookRow.chain == chain, AddressBookRow.address == address, AddressBookRow.removed_us.is_(None))
        .order_by(AddressBookRow.effective_us)
        .limit(1)
    ).first()
    if row is None:
        return {}
    entry = AddressBookEntry(
        chain=row.chain,
        address=row.address,
        label=row.label,
        added_at=from_us(row.effective_us),
        approved_by=tuple(orjson.loads(row.approved_by)),
    )
    return {(chain, address): entry}


def _screening(
    request: WithdrawalRequest, transaction: TransactionFacts | None, screen: Screen | None
) -> dict[str, tuple[ScreeningHit, ...]]:
    if screen is None:
        return {}
    found: dict[str, tuple[ScreeningHit, ...]] = {}
    for address in dict.fromkeys([request.destination, *(transaction.addresses if transaction else ())]):
        hits = screen(request.chain, address)
        if hits:
            found[address] = hits
    return found


def _approvals(
    session: Session, request_id: str, signing_hash: str | None, policy_digest: str, *, now: datetime
) -> tuple[Approval, ...]:
    """Approvals that still count: of this exact hash, under the active policy, not expired."""
    if signing_hash is None:
        return ()
    rows = session.execute(
        select(WithdrawalApproval.approver, WithdrawalApproval.at_us).where(
            WithdrawalApproval.request_id == request_id,
            WithdrawalApproval.signing_hash == signing_hash,
            WithdrawalApproval.policy_digest == policy_digest,
            WithdrawalApproval.expires_us > to_us(now),
        )
    )
    return tuple(Approval(approver, from_us(at)) for approver, at in rows)
