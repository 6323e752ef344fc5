"""The guard's hot statements read through indexes on both databases, whatever the tables held when they were
planned: PostgreSQL keeps one generic plan per statement (store/database.py), often made while the tables were
still empty, and a table scan chosen then would grow with every withdrawal (measured: the lookup of a batch's
request ids went from 4 µs to 190 µs over 2,000 withdrawals, docs/benchmarks.md)."""

from __future__ import annotations

import pytest

from mamori.service import velocity
from mamori.service.withdrawals import _digests_query
from mamori.store import upgrade
from support.plans import scans

T0 = 1_772_503_200_000_000  # on an hour boundary
HOUR_US = 3_600_000_000


@pytest.fixture
def engine(database):
    engine = database.engine()
    upgrade(engine)
    yield engine
    engine.dispose()


def test_the_lookup_of_a_batch_s_request_ids_uses_the_primary_key_on_an_empty_table(engine) -> None:
    with engine.connect() as connection:
        found = scans(connection, _digests_query(connection, ["w-1", "w-2"]))
    found = [scan for scan in found if scan.table == "guard_withdrawals"]
    assert len(found) == 1, found
    assert found[0].how not in ("Seq Scan", "SCAN"), found
    assert "request_id" in found[0].index_condition, found


@pytest.mark.parametrize("per", [("wallet",), ("wallet", "asset"), ("destination",)])
def test_a_velocity_window_reads_its_edges_as_ranges_of_an_index_on_an_empty_table(engine, per) -> None:
    # A window with both edges finer than the smallest bucket: two ranges of reservations, and runs of buckets.
    since, until = T0 - 24 * HOUR_US + 1_234, T0 + 5_678
    values = [f"value-{key}" for key in per]
    with engine.connect() as connection:
        statement = velocity.window_query(connection, per, values, since, until)
        found = scans(connection, statement)
    edges = [scan for scan in found if scan.table == "guard_reservations"]
    buckets = [scan for scan in found if scan.table == "guard_velocity_buckets"]
    assert len(edges) == 2, found
    assert buckets, found
    for scan in found:
        assert scan.how not in ("Seq Scan", "SCAN"), found
    for scan in edges:  # the range is what the index serves, not a filter over all of a wallet's reservations
        assert "reserved_us" in scan.index_condition, found
    for scan in buckets:
        assert "start_us" in scan.index_condition, found
