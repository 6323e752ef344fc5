"""Checks that the guard's derived state is what its withdrawals imply: the reservations the velocity counters read,
and the buckets they are summed from (service/velocity.py).

The audit log makes the history tamper-evident; these tables are not in it. An insider who deletes a bucket row or a
reservation lowers a velocity counter, and the next withdrawals pass a limit they should meet. ``mamori guard
check`` recomputes both from the withdrawals, with SQL aggregates per scope and level (memory bounded by one scope's
buckets, whatever the number of withdrawals), and names every difference.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from mamori.service import velocity
from mamori.store.database import allow_table_scans
from mamori.store.guard_models import Reservation, VelocityBucket, Withdrawal, amount_limbs

_W = Withdrawal.__table__.c
_R = Reservation.__table__.c
_B = VelocityBucket.__table__.c
_HELD = ("wallet", "asset", "destination", "initiator", "reserved_us", "amount")


@dataclass(frozen=True, slots=True)
class Difference:
    """One place where the stored state is not what the withdrawals imply."""

    table: str
    key: str
    stored: str
    expected: str

    def text(self) -> str:
        return f"{self.table} {self.key}: stored {self.stored}, expected {self.expected}"


def differences(db: Connection, *, limit: int = 50) -> list[Difference]:
    """Up to ``limit`` differences: reservations against the withdrawals that hold them, then every registered
    combination's buckets against the reservations (rows summing to zero are as good as absent)."""
    allow_table_scans(db)  # aggregates over whole tables
    found: list[Difference] = []
    for difference in _all_differences(db):
        found.append(difference)
        if len(found) >= limit:
            break
    return found


def _all_differences(db: Connection) -> Iterator[Difference]:
    yield from _reservation_differences(db)
    expected_scopes: set[str] = set()
    for per in sorted(velocity.registered(db)):
        columns = [_R[name] for name in per]
        for values in db.execute(select(*columns).distinct()).all() if per else [()]:
            scope = velocity.scope_of(per, [str(value) for value in values])
            expected_scopes.add(scope)
            yield from _scope_differences(db, per, tuple(values), scope)
    nonzero = (_B.count != 0) | (_B.l0 != 0) | (_B.l1 != 0) | (_B.l2 != 0)
    for (scope,) in db.execute(select(_B.scope).where(nonzero).distinct()):
        if scope not in expected_scopes:
            yield Difference("guard_velocity_buckets", f"scope {scope}", "buckets", "no reservation of this scope")


def _reservation_differences(db: Connection) -> Iterator[Difference]:
    holding = select(_W.request_id, *(_W[name] for name in _HELD)).where(_W.reserved_us.is_not(None))
    expected = {row[0]: tuple(row[1:]) for row in db.execute(holding)}
    stored_rows = db.execute(
        select(_R.request_id, *(_R[name] for name in _HELD), _R.amount_l0, _R.amount_l1, _R.amount_l2)
    )
    for row in stored_rows:
        request_id, held, limbs = row[0], tuple(row[1:7]), tuple(row[7:])
        implied = expected.pop(request_id, None)
        if implied is None:
            yield Difference("guard_reservations", request_id, _show(held), "no hold: the withdrawal holds nothing")
        elif held != implied:
            yield Difference("guard_reservations", request_id, _show(held), _show(implied))
        elif limbs != tuple(amount_limbs(int(held[-1])).values()):
            yield Difference("guard_reservations", request_id, f"limbs {limbs}", f"limbs of {held[-1]}")
    for request_id, implied in expected.items():
        yield Difference("guard_reservations", request_id, "missing", _show(implied))


def _scope_differences(
    db: Connection, per: tuple[str, ...], values: tuple[Any, ...], scope: str
) -> Iterator[Difference]:
    match = [_R[name] == value for name, value in zip(per, values, strict=True)]
    for level, size in enumerate(velocity.LEVELS):
        # Aligned down for any sign (``%`` truncates towards zero in both databases), as velocity.bucket_changes does.
        start = _R.reserved_us - ((_R.reserved_us % size) + size) % size
        implied_rows = db.execute(
            select(
                start, _R.asset, func.count(), func.sum(_R.amount_l0), func.sum(_R.amount_l1), func.sum(_R.amount_l2)
            )
            .where(*match)
            .group_by(start, _R.asset)
        )
        implied = {
            (int(at), asset): (int(count), velocity.total_of(l0, l1, l2))
            for at, asset, count, l0, l1, l2 in implied_rows
        }
        stored_rows = db.execute(
            select(_B.start_us, _B.asset, _B.count, _B.l0, _B.l1, _B.l2).where(
                _B.scope == bindparam("scope"), _B.level == bindparam("level")
            ),
            {"scope": scope, "level": level},
        )
        for at, asset, count, l0, l1, l2 in stored_rows:
            stored = (int(count), velocity.total_of(l0, l1, l2))
            wanted = implied.pop((int(at), asset), (0, 0))
            if stored != wanted:
                key = f"{velocity.per_name(per)}={list(values)} level {level} at {at} {asset}"
                yield Difference("guard_velocity_buckets", key, _counted(stored), _counted(wanted))
        for (at, asset), wanted in implied.items():
            key = f"{velocity.per_name(per)}={list(values)} level {level} at {at} {asset}"
            yield Difference("guard_velocity_buckets", key, "missing", _counted(wanted))


def _show(held: tuple[Any, ...]) -> str:
    return ", ".join(f"{name}={value}" for name, value in zip(_HELD, held, strict=True))


def _counted(totals: tuple[int, int]) -> str:
    return f"{totals[0]} withdrawals, {totals[1]} base units"
