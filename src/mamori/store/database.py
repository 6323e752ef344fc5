"""Engines from a database URL, and migrations run from code (no ``alembic.ini`` needed).

- SQLite: ``sqlite:///path/to/mamori.db``. WAL journal, foreign keys on, a busy timeout, and every
  transaction opened with ``BEGIN IMMEDIATE``: it takes the write lock up front, so two writers serialise
  instead of one failing to upgrade its read lock half-way through (concurrent appends to the audit log).
- PostgreSQL: ``postgresql+psycopg://user@host:5432/db`` (psycopg 3).

Reading ``MAMORI_DATABASE_URL`` is the CLI's job, not this module's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from mamori.errors import MamoriError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30.0


class DatabaseError(MamoriError):
    """The database cannot be reached, is not a mamori database, or the URL is unusable (DATABASE_UNAVAILABLE)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__("DATABASE_UNAVAILABLE", url=url, reason=reason)


def safe_url(url: str | sqlalchemy.URL) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def create_engine(url: str, *, schema: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (SQLite or PostgreSQL via psycopg 3); ``schema`` sets PostgreSQL's search path."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(safe_url(url), "not a database URL (sqlite:///path or postgresql+psycopg://…)") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if schema is not None:
            raise DatabaseError(safe_url(url), "SQLite has no schemas")
        return _sqlite_engine(parsed, **kwargs)
    if backend == "postgresql":
        if _driver(parsed) != "psycopg":
            raise DatabaseError(safe_url(url), "PostgreSQL is used through psycopg 3: postgresql+psycopg://…")
        connect_args: dict[str, Any] = dict(kwargs.pop("connect_args", {}))
        # The guard's statements run thousands of times with other values (psycopg prepares them after five):
        # one generic plan each, not a new plan at every run (half the time of a velocity window, measured). That
        # plan is made once, often while the tables are still small, where reading a whole table costs less than an
        # index: with table scans priced out (enable_seqscan=off adds a large cost, it forbids nothing), the lookup
        # of a batch's request ids stays an index scan instead of a table scan that grew with every withdrawal
        # (4 µs against 190 µs at 2,000 rows). Every statement of the guard's hot path has its index; a command
        # that aggregates whole tables (mamori guard check) allows table scans for its transaction.
        options = ["-c plan_cache_mode=force_generic_plan", "-c enable_seqscan=off"]
        given = connect_args.get("options", parsed.query.get("options"))  # the URL's own (``?options=…``) kept
        if given:
            options.extend([given] if isinstance(given, str) else list(given))
        if schema is not None:
            if not schema.isidentifier():
                raise DatabaseError(safe_url(url), f"schema {schema!r} is not a plain identifier")
            options.append(f"-c search_path={schema}")
        connect_args["options"] = " ".join(options)
        # No pre-ping: the guard's transactions find a dropped connection in their first round trip and begin again
        # on a new one (service/state.py), without a ping before every transaction.
        return _engine(parsed, connect_args=connect_args, **kwargs)
    raise DatabaseError(safe_url(url), f"unsupported database {backend!r}: use SQLite or PostgreSQL")


def _driver(url: sqlalchemy.URL) -> str:
    try:
        return str(url.get_dialect().driver)
    except NoSuchModuleError as exc:
        raise DatabaseError(safe_url(url), str(exc)) from exc


def _engine(url: sqlalchemy.URL, **kwargs: Any) -> Engine:
    try:
        return sqlalchemy.create_engine(url, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise DatabaseError(safe_url(url), str(exc)) from exc


def _sqlite_engine(url: sqlalchemy.URL, **kwargs: Any) -> Engine:
    connect_args: dict[str, Any] = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
    connect_args.setdefault("check_same_thread", False)
    engine = _engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite, which would otherwise BEGIN (deferred) on its own.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if url.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=FULL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sqlalchemy.Connection) -> None:
        # A transaction that only reads (execution option ``mamori_read_only``) needs no write lock.
        read_only = connection.get_execution_options().get("mamori_read_only", False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def allow_table_scans(connection: sqlalchemy.Connection) -> None:
    """For the rest of ``connection``'s transaction, let PostgreSQL read whole tables where that is cheapest
    (``create_engine`` prices table scans out for the guard's lookups): for commands that aggregate whole tables."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL enable_seqscan = on")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (the latest by default) with the packaged Alembic migrations."""
    _migrate(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to ``revision`` (``"base"``: no mamori tables); for operators and tests."""
    _migrate(engine, command.downgrade, revision)


def _migrate(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            step(config, revision)
    except SQLAlchemyError as exc:
        raise DatabaseError(safe_url(engine.url), type(exc).__name__) from exc
