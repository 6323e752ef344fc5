"""The guard's unit of work on PostgreSQL: a connection the server dropped while it sat in the pool is found in the
transaction's first round trip and replaced (there is no ping before each transaction); one dropped during the
transaction fails it as SERVICE_UNAVAILABLE and is never handed out again; the commit goes with the last writes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import Engine, func, select

from mamori.audit.store import AuditLog
from mamori.errors import MamoriError
from mamori.service.state import unit_of_work
from mamori.store import upgrade
from mamori.store.models import AuditEntry

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
BACKEND = ("SELECT pg_backend_pid()", {})


@pytest.fixture
def pooled(database) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """An engine whose pool holds one connection at most, on a migrated PostgreSQL schema."""
    if not database.is_postgresql:
        pytest.skip("PostgreSQL only: set MAMORI_TEST_DATABASE_URL (SQLite has no server to lose)")
    engine = database.engine(pool_size=1, max_overflow=0)
    upgrade(engine)
    yield engine
    engine.dispose()


def backend_of(engine: Engine) -> int:
    with unit_of_work(engine, NOW, write=False, reads=[BACKEND]) as work:
        return int(work.opened[0][0][0])


def drop(engine: Engine, pid: int) -> None:
    """What a restart of the server, or an idle timeout, does to a pooled connection."""
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        for _ in range(100):  # until the server has let it go
            if admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone() == (0,):
                break
            admin.execute("SELECT pg_sleep(0.01)")


def entries(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


def test_a_write_begins_again_on_a_new_connection_when_the_pooled_one_was_dropped(pooled: Engine) -> None:
    first = backend_of(pooled)
    drop(pooled, first)
    with unit_of_work(pooled, NOW, reads=[BACKEND]) as work:
        assert work.opened[0][0][0] != first
        work.record("test.entry", {"n": 1})
    assert entries(pooled) == 1


def test_a_read_begins_again_too_with_or_without_reads_of_its_own(pooled: Engine) -> None:
    drop(pooled, backend_of(pooled))
    with unit_of_work(pooled, NOW, write=False) as work:  # only a ping goes first
        assert AuditLog(work.connection).size() == 0
    drop(pooled, backend_of(pooled))
    assert backend_of(pooled) > 0


def test_a_connection_lost_during_the_transaction_fails_it_and_the_next_one_works(pooled: Engine) -> None:
    with pytest.raises(MamoriError) as raised, unit_of_work(pooled, NOW, reads=[BACKEND]) as work:
        work.record("test.entry", {"n": 1})
        drop(pooled, int(work.opened[0][0][0]))  # after the first round trip: too late to begin again
    assert raised.value.code == "SERVICE_UNAVAILABLE"
    assert entries(pooled) == 0
    with unit_of_work(pooled, NOW) as work:  # on a new connection
        work.record("test.entry", {"n": 2})
    assert entries(pooled) == 1


def test_an_error_that_is_not_a_lost_connection_is_not_retried(pooled: Engine) -> None:
    with (
        pytest.raises(Exception, match="no_such_table"),
        unit_of_work(pooled, NOW, reads=[("SELECT * FROM no_such_table", {})]),
    ):
        pass
    with unit_of_work(pooled, NOW) as work:
        work.record("test.entry", {"n": 1})
    assert entries(pooled) == 1
