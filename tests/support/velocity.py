"""The velocity buckets' invariant (service/velocity.py), checked by the tests that change reservations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from mamori.service import velocity
from mamori.service.integrity import differences


def assert_buckets_match_reservations(connection: Any, *, held_by_withdrawals: bool = True) -> None:
    """Every registered ``per``'s buckets are the sums of exactly the reservations in them (rows at zero aside);
    with ``held_by_withdrawals``, every reservation is also the hold of its withdrawal, and none is missing."""
    known = velocity.registered(connection)
    assert known, "no velocity scope registered: nothing to check"
    rows = [dict(row._mapping) for row in connection.execute(text("SELECT * FROM guard_reservations"))]
    expected = {
        key: (count, amount)
        for key, (count, amount) in velocity.bucket_changes([(row, 1) for row in rows], known).items()
        if count or amount
    }
    stored = {}
    for scope, level, start, asset, count, l0, l1, l2 in connection.execute(
        text('SELECT scope, level, start_us, asset, "count", l0, l1, l2 FROM guard_velocity_buckets')
    ):
        amount = int(l0) + (int(l1) << 40) + (int(l2) << 80)
        if count or amount:
            stored[(scope, level, start, asset)] = (count, amount)
    differing = {
        key: (stored.get(key), expected.get(key))
        for key in stored.keys() | expected.keys()
        if stored.get(key) != expected.get(key)
    }
    assert not differing, f"buckets (stored, from reservations) differ at: {list(differing.items())[:6]}"
    if held_by_withdrawals:
        # The same, independently, by the operator's check (SQL aggregates), with the reservations against the
        # withdrawals that hold them.
        assert differences(connection) == []
