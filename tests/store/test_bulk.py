"""store/bulk.py against SQLAlchemy Core's insert: the same rows stored, to the byte and the microsecond, on SQLite
and (with MAMORI_TEST_DATABASE_URL) on PostgreSQL, where the rows travel as one JSON document."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, Table, insert, select

from mamori.errors import MamoriError
from mamori.store.bulk import insert_rows
from mamori.store.guard_models import VelocityBucket, Withdrawal
from mamori.store.models import AuditEntry

WITHDRAWALS = cast(Table, Withdrawal.__table__)
ENTRIES = cast(Table, AuditEntry.__table__)
BUCKETS = cast(Table, VelocityBucket.__table__)

# Text as the guard stores it: no NUL (PostgreSQL cannot store it), no lone surrogates; quotes, backslashes,
# JSON escapes and characters beyond the BMP included.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
BIG = st.integers(min_value=-(2**63), max_value=2**63 - 1)
BLOB = st.binary(max_size=80)


@st.composite
def withdrawals(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(st.lists(TEXT.filter(bool), min_size=1, max_size=6, unique=True))
    return [
        {
            "request_id": request_id,
            "status": draw(st.sampled_from(["released", "pending_approval"])),
            "initiator": draw(TEXT),
            "wallet": draw(TEXT),
            "chain": draw(TEXT),
            "asset": draw(TEXT),
            "amount": str(draw(st.integers(min_value=0, max_value=2**120))),
            "destination": draw(TEXT),
            "created_us": draw(BIG),
            "received_us": draw(BIG),
            "request_digest": draw(st.text("0123456789abcdef", min_size=64, max_size=64)),
            "request_document": draw(BLOB),
            "transaction": draw(st.none() | BLOB),
            "signing_hash": draw(st.none() | st.text("0123456789abcdefx", max_size=66)),
            "policy_version": draw(st.none() | st.integers(min_value=-(2**31), max_value=2**31 - 1)),
            "verdict": draw(st.none() | BLOB),
            "decided_us": draw(st.none() | BIG),
            "reserved_us": draw(st.none() | BIG),
        }
        for request_id in ids
    ]


@st.composite
def entries(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(min_value=1, max_value=6))
    moments = st.datetimes(
        min_value=datetime(1970, 1, 2),
        max_value=datetime(2200, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-3, minutes=-30))]),
    )
    return [
        {
            "seq": seq,
            "created_at": draw(moments),
            "kind": draw(TEXT),
            "payload": draw(BLOB),
            "leaf_hash": draw(st.binary(min_size=32, max_size=32)),
        }
        for seq in range(count)
    ]


def stored(engine: Engine, table: Table, rows: Sequence[Mapping[str, Any]], *, bulk: bool) -> list[tuple[Any, ...]]:
    """The table's rows after inserting ``rows`` (bulk or Core) into it, in a transaction then rolled back."""
    with engine.connect() as connection, connection.begin() as transaction:
        if bulk:
            insert_rows(connection, table, rows)
        else:
            connection.execute(insert(table), [dict(row) for row in rows])
        found = [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key.columns))]
        transaction.rollback()
    return found


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=withdrawals())
def test_withdrawal_rows_are_stored_as_core_stores_them(engine: Engine, rows: list[dict[str, Any]]) -> None:
    assert stored(engine, WITHDRAWALS, rows, bulk=True) == stored(engine, WITHDRAWALS, rows, bulk=False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=entries())
def test_audit_entries_keep_their_instant_to_the_microsecond(engine: Engine, rows: list[dict[str, Any]]) -> None:
    bulk, core = stored(engine, ENTRIES, rows, bulk=True), stored(engine, ENTRIES, rows, bulk=False)
    assert bulk == core
    assert [row[0] for row in bulk] == [row["seq"] for row in rows]
    # The same instant whatever the offset it was written with (SQLite keeps what the column type renders).
    assert [row[4] for row in bulk] == [row["leaf_hash"] for row in rows]


def test_an_upsert_adds_to_the_rows_already_there(engine: Engine) -> None:
    """``on_conflict`` applies to existing rows; the new ones are inserted (the velocity buckets' form)."""
    on_conflict = (
        'ON CONFLICT (scope, level, start_us, asset) DO UPDATE SET "count" = guard_velocity_buckets."count"'
        ' + excluded."count", l0 = guard_velocity_buckets.l0 + excluded.l0'
    )

    def bucket(start: int, count: int, l0: int) -> dict[str, Any]:
        return {"scope": "s" * 32, "level": 0, "start_us": start, "asset": "ETH", "count": count}, {
            "l0": l0,
            "l1": 0,
            "l2": 0,
        }

    rows = [a | b for a, b in (bucket(10, 1, 5), bucket(20, 2, 7))]
    with engine.begin() as connection:
        insert_rows(connection, BUCKETS, rows, on_conflict=on_conflict)
        insert_rows(
            connection, BUCKETS, [a | b for a, b in (bucket(20, 3, 1), bucket(30, 1, 2**62))], on_conflict=on_conflict
        )
        found = connection.execute(select(BUCKETS.c.start_us, BUCKETS.c.count, BUCKETS.c.l0).order_by("start_us"))
        assert [tuple(row) for row in found] == [(10, 1, 5), (20, 5, 8), (30, 1, 2**62)]


def test_nothing_to_insert_is_no_statement(engine: Engine) -> None:
    with engine.begin() as connection:
        insert_rows(connection, WITHDRAWALS, [])
        assert connection.execute(select(WITHDRAWALS)).all() == []


def test_rows_must_name_the_same_columns(engine: Engine) -> None:
    with engine.begin() as connection, pytest.raises(MamoriError) as raised:
        insert_rows(connection, BUCKETS, [{"scope": "a"}, {"level": 1}])
    assert raised.value.code == "INTERNAL_ERROR"


def test_a_naive_time_is_refused_on_postgresql(engine: Engine) -> None:
    """JSON carries no time zone of its own: the server would read a naive time in its own zone."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite stores what the column type renders")
    row = {"seq": 0, "created_at": datetime(2026, 3, 3, 2, 0), "kind": "k", "payload": b"", "leaf_hash": b"\0" * 32}
    with engine.begin() as connection, pytest.raises(MamoriError) as raised:
        insert_rows(connection, ENTRIES, [row])
    assert raised.value.code == "INTERNAL_ERROR"


def test_inserts_combined_in_a_block_store_what_they_store_one_by_one(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``combined``: on PostgreSQL the inserts of a block go as one statement (a WITH clause per table, the bucket
    upsert included), with the same rows as separate statements; a table given twice keeps both sets of rows."""
    from mamori.store import bulk

    statements: list[str] = []
    real = bulk.execute
    monkeypatch.setattr(bulk, "execute", lambda c, sql, p: (statements.append(sql), real(c, sql, p))[1])
    moment = datetime(2026, 3, 3, 2, 0, 0, 123_456, tzinfo=UTC)
    entry = {"seq": 0, "created_at": moment, "kind": "k", "payload": b"{}", "leaf_hash": b"\1" * 32}
    bucket = {"scope": "s" * 32, "level": 0, "start_us": 10, "asset": "ETH", "count": 1, "l0": 5, "l1": 0, "l2": 0}
    with engine.begin() as connection, bulk.combined(connection):
        insert_rows(connection, ENTRIES, [entry])
        insert_rows(connection, BUCKETS, [bucket], on_conflict="ON CONFLICT DO NOTHING")
        insert_rows(connection, ENTRIES, [entry | {"seq": 1}])
    with engine.connect() as connection:
        found = connection.execute(select(ENTRIES.c.seq, ENTRIES.c.created_at).order_by(ENTRIES.c.seq)).all()
        # SQLite hands the time back naive (stored as UTC)
        assert [(seq, at if at.tzinfo else at.replace(tzinfo=UTC)) for seq, at in found] == [(0, moment), (1, moment)]
        assert connection.execute(select(BUCKETS.c.start_us, BUCKETS.c.l0)).all() == [(10, 5)]
    if engine.dialect.name == "postgresql":
        assert len(statements) == 2  # entries and buckets together; the second entries after them
        assert statements[0].startswith("WITH w0 AS (INSERT INTO audit_entries")


def test_a_combined_block_that_fails_writes_nothing(engine: Engine) -> None:
    from mamori.store import bulk

    entry = {"seq": 0, "created_at": datetime(2026, 3, 3, tzinfo=UTC), "kind": "k", "payload": b"", "leaf_hash": b""}
    with pytest.raises(RuntimeError), engine.begin() as connection, bulk.combined(connection):
        insert_rows(connection, ENTRIES, [entry])
        raise RuntimeError("the caller failed before the end of the block")
    with engine.connect() as connection:
        assert connection.execute(select(ENTRIES)).all() == []
        assert bulk._QUEUE not in connection.info
