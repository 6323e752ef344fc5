"""Facts for one decision, read from the database inside the decision's transaction (after the log's lock).

The same numbers as :func:`mamori.policy.check.velocity_counters` computes from a history list — a
differential test holds the two together — but from SQL, over the withdrawals that hold a reservation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Select, bindparam, func, select
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
from mamori.store.guard_models import (
    LIMB_BITS,
    AddressBookRow,
    ApproverKey,
    Balance,
    Reservation,
    WithdrawalApproval,
)

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
    db: Session | Connection,
    policy: Policy,
    request: WithdrawalRequest,
    transaction: TransactionFacts | None,
    *,
    signing_hash: str | None,
    now: datetime,
    screen: Screen | None,
    screened_lists: frozenset[str],
    policy_version: int,
    fresh: bool = False,
) -> Facts:
    """``fresh``: the request was stored in this very transaction, so it has no approvals yet (one query less)."""
    _, limits = policy.candidates_for(request.wallet, request.asset, request.destination)
    return Facts(
        balances=_balances(db, request.wallet),
        velocity={
            limit.id: velocity_counter(db, request, limit.per, limit.asset, limit.window_seconds, now=now)
            for limit in limits
            if limit.kind == "velocity"
        },
        address_book=_address_book(db, request.chain, request.destination),
        screening=_screening(request, transaction, screen),
        transaction=transaction,
        approvals=()
        if fresh
        else _approvals(db, request.request_id, signing_hash, policy.digest, policy_version, now=now),
        screened_lists=screened_lists,
    )


_W = Reservation.__table__.c
_PER_COLUMNS = {"wallet": _W.wallet, "asset": _W.asset, "destination": _W.destination, "initiator": _W.initiator}
_VELOCITY: dict[tuple[str, ...], Select[Any]] = {}


def _velocity_statement(per: tuple[str, ...]) -> Select[Any]:
    """One prebuilt statement per key combination: COUNT and the exact sums of the amount's limbs, per asset."""
    statement = _VELOCITY.get(per)
    if statement is None:
        statement = (
            select(_W.asset, func.count(), func.sum(_W.amount_l0), func.sum(_W.amount_l1), func.sum(_W.amount_l2))
            .where(
                _W.reserved_us > bindparam("since"),
                _W.reserved_us <= bindparam("until"),
                _W.request_id != bindparam("request_id"),
                *(_PER_COLUMNS[key] == bindparam(f"per_{key}") for key in per),
            )
            .group_by(_W.asset)
        )
        _VELOCITY[per] = statement
    return statement


def velocity_counter(
    db: Session | Connection,
    request: WithdrawalRequest,
    per: tuple[str, ...],
    asset: str | None,
    window_seconds: int,
    *,
    now: datetime,
) -> VelocityCounter:
    """Reserved withdrawals in ``(now - window, now]`` sharing ``per`` with ``request``, this one excluded: one
    index range of the reservations table, summed in SQL. Its cost grows with the reservations in the window
    (measured in docs/benchmarks.md); the limits themselves keep that number bounded for count limits."""
    parameters: dict[str, Any] = {
        "since": to_us(window_start(now, window_seconds)),
        "until": to_us(now),
        "request_id": request.request_id,
    }
    parameters.update({f"per_{key}": getattr(request, key) for key in per})
    count = amount = 0
    for row_asset, rows, low, middle, high in db.execute(_velocity_statement(per), parameters):
        count += rows
        if asset is None or row_asset == asset:
            amount += int(low) + (int(middle) << LIMB_BITS) + (int(high) << (2 * LIMB_BITS))
    return VelocityCounter(count, amount)


_BALANCES = select(Balance.asset, Balance.amount).where(Balance.wallet == bindparam("wallet"))
_BOOK = (
    select(AddressBookRow.label, AddressBookRow.effective_us, AddressBookRow.approved_by)
    .where(
        AddressBookRow.chain == bindparam("chain"),
        AddressBookRow.address == bindparam("address"),
        AddressBookRow.removed_us.is_(None),
    )
    .order_by(AddressBookRow.effective_us)
    .limit(1)
)
# Only approvals made with a key that is still active: a key is removed because it is lost or compromised, and
# what it signed no longer speaks for its owner.
_APPROVALS = (
    select(WithdrawalApproval.approver, WithdrawalApproval.at_us)
    .join(ApproverKey, (ApproverKey.key_id == WithdrawalApproval.key_id) & (ApproverKey.status == "active"))
    .where(
        WithdrawalApproval.request_id == bindparam("request_id"),
        WithdrawalApproval.signing_hash == bindparam("signing_hash"),
        WithdrawalApproval.policy_digest == bindparam("policy_digest"),
        WithdrawalApproval.policy_version == bindparam("policy_version"),
        WithdrawalApproval.expires_us > bindparam("now"),
    )
)


def _balances(db: Session | Connection, wallet: str) -> dict[tuple[str, str], int]:
    return {(wallet, asset): int(amount) for asset, amount in db.execute(_BALANCES, {"wallet": wallet})}


def _address_book(db: Session | Connection, chain: str, address: str) -> dict[tuple[str, str], AddressBookEntry]:
    row = db.execute(_BOOK, {"chain": chain, "address": address}).first()
    if row is None:
        return {}
    entry = AddressBookEntry(
        chain=chain,
        address=address,
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
    db: Session | Connection,
    request_id: str,
    signing_hash: str | None,
    policy_digest: str,
    policy_version: int,
    *,
    now: datetime,
) -> tuple[Approval, ...]:
    """Approvals that still count: of this exact hash, under the active policy version, not expired."""
    if signing_hash is None:
        return ()
    parameters = {
        "request_id": request_id,
        "signing_hash": signing_hash,
        "policy_digest": policy_digest,
        "policy_version": policy_version,
        "now": to_us(now),
    }
    return tuple(Approval(approver, from_us(at)) for approver, at in db.execute(_APPROVALS, parameters))
