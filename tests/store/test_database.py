"""Engines and migrations: the tables come from the packaged Alembic revision on an empty database; SQLite runs
with WAL, foreign keys and BEGIN IMMEDIATE; unusable URLs and unreachable servers are DATABASE_UNAVAILABLE."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from mamori.errors import MamoriError
from mamori.store import DatabaseError, create_engine, upgrade
from mamori.store.database import allow_table_scans, downgrade, safe_url

TABLES = {"audit_entries", "audit_subtrees", "audit_tree_heads", "alembic_version"}
HUB_TABLES = {
    "hub_organisations",
    "hub_accounts",
    "hub_sharing_groups",
    "hub_sharing_group_members",
    "taxii_api_roots",
    "taxii_collections",
    "taxii_collection_rights",
    "taxii_objects",
    "taxii_object_readers",
    "taxii_status",
}
ASSESS_TABLES = {"assessments", "assessment_answers", "evidence_blobs", "assessment_evidence", "remediation_items"}


def test_migrations_create_the_tables_from_empty(database) -> None:
    engine = database.engine()
    try:
        assert not TABLES & set(inspect(engine).get_table_names())
        upgrade(engine)
        assert set(inspect(engine).get_table_names()) >= TABLES | HUB_TABLES | ASSESS_TABLES
        columns = {c["name"] for c in inspect(engine).get_columns("audit_entries")}
        assert columns == {"seq", "created_at", "kind", "payload", "leaf_hash"}
        assert {c["name"] for c in inspect(engine).get_columns("audit_subtrees")} == {"level", "idx", "hash"}
        assert inspect(engine).get_pk_constraint("audit_subtrees")["constrained_columns"] == ["level", "idx"]
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0007"
        upgrade(engine)  # already at head: nothing to do, nothing fails
    finally:
        engine.dispose()


def test_downgrade_removes_the_tables(engine: Engine) -> None:
    downgrade(engine, "base")
    assert not ((TABLES | HUB_TABLES | ASSESS_TABLES) - {"alembic_version"}) & set(inspect(engine).get_table_names())


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()


def test_sqlite_transactions_take_the_write_lock_at_begin(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: a second transaction waits for the first instead of failing half-way."""
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    order: list[str] = []
    entered = threading.Event()

    def second() -> None:
        entered.wait()
        with engine.begin() as connection:
            order.append("second")
            connection.execute(text("INSERT INTO t VALUES (2)"))

    worker = threading.Thread(target=second)
    worker.start()
    with engine.begin() as connection:
        entered.set()
        time.sleep(0.3)
        order.append("first")
        connection.execute(text("INSERT INTO t VALUES (1)"))
    worker.join()
    engine.dispose()
    assert order == ["first", "second"]


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "mysql://user@localhost/db",
        "postgresql+psycopg2://postgres@127.0.0.1/test",  # psycopg2, not psycopg 3
        "postgresql+nosuchdriver://postgres@127.0.0.1/test",
        "sqlite://",
    ],
)
def test_unusable_urls_are_refused(url: str) -> None:
    if url == "sqlite://":  # an in-memory database is allowed (no WAL); only schemas are refused on SQLite
        with pytest.raises(DatabaseError):
            create_engine(url, schema="other")
        create_engine(url).dispose()
        return
    with pytest.raises(DatabaseError) as info:
        create_engine(url)
    assert isinstance(info.value, MamoriError)
    assert info.value.code == "DATABASE_UNAVAILABLE"


def test_unreachable_server_is_a_mamori_error_without_the_password() -> None:
    url = "postgresql+psycopg://user:secret@127.0.0.1:1/none"
    with pytest.raises(DatabaseError) as info:
        upgrade(create_engine(url))
    assert "secret" not in str(info.value)
    assert "***" in safe_url(url)


def test_bad_schema_name_is_refused() -> None:
    with pytest.raises(DatabaseError):
        create_engine("postgresql+psycopg://postgres@127.0.0.1/test", schema="x; DROP TABLE y")


def test_the_migrations_build_exactly_the_tables_the_models_describe(engine: Engine) -> None:
    """Alembic's autogenerate comparison of the migrated database with the models finds nothing to add or drop."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    # registers the guard's and the member node's tables on the shared metadata
    import mamori.store.guard_models
    import mamori.store.member_models  # noqa: F401
    from mamori.store.models import Base

    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_postgresql_connections_keep_the_url_s_options_use_generic_plans_and_price_out_table_scans(database) -> None:
    """The guard asks PostgreSQL for generic plans (store/database.py) without dropping options the URL gives —
    a server process started with ``?options=-csearch_path=<schema>`` must still find its tables."""
    if not database.is_postgresql:
        pytest.skip("PostgreSQL only: set MAMORI_TEST_DATABASE_URL")
    from sqlalchemy import make_url

    url = make_url(database.url).update_query_dict({"options": f"-csearch_path={database.schema}"})
    for engine in (create_engine(url.render_as_string(hide_password=False)), database.engine()):
        try:
            with engine.connect() as connection:
                assert connection.execute(text("SHOW plan_cache_mode")).scalar() == "force_generic_plan"
                assert connection.execute(text("SHOW enable_seqscan")).scalar() == "off"
                allow_table_scans(connection)  # for a command that aggregates whole tables, in its transaction
                assert connection.execute(text("SHOW enable_seqscan")).scalar() == "on"
                connection.rollback()
                assert connection.execute(text("SHOW enable_seqscan")).scalar() == "off"
                assert connection.execute(text("SHOW search_path")).scalar() == database.schema
        finally:
            engine.dispose()
