"""Bucketed velocity counters (service/velocity.py): windows cut into whole buckets and edges, buckets kept exact
through additions, removals and moves, and the counts equal to a scan of the reservations themselves."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from mamori.service import velocity
from mamori.service.velocity import LEVELS, RAW, cover
from mamori.store.guard_models import amount_limbs
from support.velocity import assert_buckets_match_reservations

SECOND, MINUTE, HOUR = 1_000_000, 60_000_000, 3_600_000_000
T0 = 1_772_503_200_000_000  # 2026-03-03T02:00:00Z, on an hour boundary
PERS: list[tuple[str, ...]] = [("wallet",), ("wallet", "asset"), ("destination",), ()]
ALL_TIME = (-(2**62), 2**62)


def bucket_times() -> st.SearchStrategy[int]:
    """Times on and next to bucket boundaries of every level, and anywhere within two days."""
    near = st.builds(
        lambda base, size, k, d: base + k * size + d,
        st.just(T0),
        st.sampled_from(LEVELS),
        st.integers(-50, 50),
        st.sampled_from([-1, 0, 1]),
    )
    return near | st.integers(T0 - 2 * 86_400 * SECOND, T0 + 2 * 86_400 * SECOND)


@given(start=bucket_times(), length=st.integers(0, 3 * 86_400 * SECOND) | st.sampled_from([0, 1, SECOND, HOUR]))
def test_a_window_is_cut_into_disjoint_aligned_pieces_that_cover_it_exactly(start: int, length: int) -> None:
    end = start + length
    pieces = cover(start, end)
    position = start
    for level, first, last in sorted(pieces, key=lambda piece: piece[1]):
        assert first == position and first < last  # contiguous, no gap, no overlap, nothing empty
        if level != RAW:
            assert first % LEVELS[level] == 0 and last % LEVELS[level] == 0
        position = last
    assert position == end or (not pieces and start == end)
    assert sum(level == RAW for level, _, _ in pieces) <= 2
    assert sum(level != RAW for level, _, _ in pieces) <= 2 * len(LEVELS) - 1
    # What no bucket covers is less than a finest bucket at each edge.
    assert sum(last - first for level, first, last in pieces if level == RAW) < 2 * LEVELS[0]
    # Whatever the length, the whole buckets below the top level number fewer than two of the level above.
    for level in range(len(LEVELS) - 1):
        read = sum((last - first) // LEVELS[level] for piece_level, first, last in pieces if piece_level == level)
        assert read <= 2 * (LEVELS[level + 1] // LEVELS[level] - 1)


def test_a_day_from_a_ragged_time_reads_few_buckets() -> None:
    """From 02:17:03.251234 to the same time the next day: hours in the middle, ever finer buckets towards each
    edge, and 1.234 ms at each end read from the reservations."""
    ms = 1_000
    start = T0 + 17 * MINUTE + 3 * SECOND + 251_234
    end = start + 24 * HOUR
    pieces = cover(start, end)
    day = T0 + 24 * HOUR
    assert pieces == [
        (RAW, start, T0 + 17 * MINUTE + 3 * SECOND + 260 * ms),
        (0, T0 + 17 * MINUTE + 3 * SECOND + 260 * ms, T0 + 17 * MINUTE + 3 * SECOND + 300 * ms),
        (1, T0 + 17 * MINUTE + 3 * SECOND + 300 * ms, T0 + 17 * MINUTE + 4 * SECOND),
        (2, T0 + 17 * MINUTE + 4 * SECOND, T0 + 17 * MINUTE + 10 * SECOND),
        (3, T0 + 17 * MINUTE + 10 * SECOND, T0 + 18 * MINUTE),
        (4, T0 + 18 * MINUTE, T0 + 20 * MINUTE),
        (5, T0 + 20 * MINUTE, T0 + HOUR),
        (6, T0 + HOUR, day),
        (5, day, day + 10 * MINUTE),
        (4, day + 10 * MINUTE, day + 17 * MINUTE),
        (2, day + 17 * MINUTE, day + 17 * MINUTE + 3 * SECOND),
        (1, day + 17 * MINUTE + 3 * SECOND, day + 17 * MINUTE + 3 * SECOND + 200 * ms),
        (0, day + 17 * MINUTE + 3 * SECOND + 200 * ms, day + 17 * MINUTE + 3 * SECOND + 250 * ms),
        (RAW, day + 17 * MINUTE + 3 * SECOND + 250 * ms, end),
    ]
    read = sum((last - first) // LEVELS[level] for level, first, last in pieces if level != RAW)
    assert read == 4 + 7 + 6 + 5 + 2 + 4 + 23 + 1 + 7 + 3 + 2 + 5


def test_limbs_put_any_amount_back_together() -> None:
    for amount in (0, 1, -1, 2**40 - 1, 2**40, -(2**40), 2**120 - 1, -(2**120) + 7, 123456789 * 10**18):
        l0, l1, l2 = velocity.limbs(amount)
        assert 0 <= l0 < 2**40 and 0 <= l1 < 2**40
        assert l0 + (l1 << 40) + (l2 << 80) == amount


WALLETS = ("hot-1", "cold-1")
ASSETS = ("ETH", "USDC")
DESTINATIONS = ("0xaa", "0xbb", "0xcc")

operations = st.lists(
    st.tuples(
        st.sampled_from(["add", "add", "add", "remove", "move"]),
        st.sampled_from(WALLETS),
        st.sampled_from(ASSETS),
        st.sampled_from(DESTINATIONS),
        st.integers(1, 2**120 - 1) | st.sampled_from([1, 2**40 - 1, 2**80 - 1, 2**120 - 1]),
        bucket_times(),
    ),
    max_size=40,
)
windows = st.tuples(bucket_times(), st.sampled_from([SECOND, MINUTE, 600 * SECOND, HOUR, 86_400 * SECOND]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=operations, probes=st.lists(windows, min_size=1, max_size=6), early=st.sampled_from(PERS))
def test_bucketed_counts_equal_a_scan_of_the_reservations(
    engine: Engine,
    steps: list[tuple[str, str, str, str, int, int]],
    probes: list[tuple[int, int]],
    early: tuple[str, ...],
) -> None:
    """Reservations are added, removed and moved, as the service does (the buckets of every registered ``per``
    changed in the same transaction, in one upsert that carries between limbs — amounts up to 2^120); ``early``
    is registered before any of it, the others are filled from the reservations when first counted. Every window
    then counts what a scan of the reservations counts, for every scope."""
    with engine.connect() as connection, connection.begin() as transaction:
        known: set[tuple[str, ...]] = set()
        velocity.ensure_registered(connection, early, known, now_us=T0)
        held: dict[str, dict[str, Any]] = {}
        for index, (action, wallet, asset, destination, amount, at) in enumerate(steps):
            if action == "add" or not held:
                row = {
                    "request_id": f"wd-{index}",
                    "wallet": wallet,
                    "asset": asset,
                    "destination": destination,
                    "initiator": "ops",
                    "reserved_us": at,
                    "amount": str(amount),
                }
                _insert(connection, row)
                velocity.apply_changes(connection, [(row, 1)], known)
                held[row["request_id"]] = row
                continue
            victim = held.pop(sorted(held)[amount % len(held)])
            connection.execute(
                text("DELETE FROM guard_reservations WHERE request_id = :id"), {"id": victim["request_id"]}
            )
            changes = [(victim, -1)]
            if action == "move":
                moved = victim | {"reserved_us": at}
                _insert(connection, moved)
                changes.append((moved, 1))
                held[moved["request_id"]] = moved
            velocity.apply_changes(connection, changes, known)
        for per in PERS:
            velocity.ensure_registered(connection, per, known, now_us=T0)
        for until, length in probes:
            since = until - length
            for per in PERS:
                for values in {tuple(row[key] for key in per) for row in held.values()} | {
                    tuple("nobody" for _ in per)
                }:
                    expected = velocity.scan_totals(connection, per, values, [(since + 1, until + 1)])
                    assert velocity.window_totals(connection, per, values, since, until) == expected
                    everything = velocity.scan_totals(connection, per, values, [ALL_TIME])
                    assert velocity.window_totals(connection, per, values, *ALL_TIME) == everything
        assert_buckets_match_reservations(connection, held_by_withdrawals=False)  # bare reservations here
        transaction.rollback()


def _insert(connection: Any, row: dict[str, Any]) -> None:
    columns = row | amount_limbs(int(row["amount"]))
    names = ", ".join(columns)
    values = ", ".join(f":{name}" for name in columns)
    connection.execute(text(f"INSERT INTO guard_reservations ({names}) VALUES ({values})"), columns)  # noqa: S608
