"""Statements of the guard's hot path, run on the driver's own cursor inside SQLAlchemy's transaction.

A decision reads a dozen small things (the log's end, the active policy, balances, the address book, velocity
buckets) and writes a few rows. Through SQLAlchemy's ``Connection.execute`` each statement costs 40-150 µs of
Python around a SQLite query that itself takes 1-20 µs (docs/benchmarks.md): the compile-cache lookup, parameter
and result processing, the result object. A :class:`Prepared` statement is compiled once per dialect into the
driver's SQL with named parameters and executed on the connection's driver cursor, in the same transaction.

Values go in and come out as the driver has them — text, integers, bytes, None; ``Decimal`` for PostgreSQL's
sums — so only statements over such columns belong here (no datetimes). Driver errors are wrapped as SQLAlchemy's
(``OperationalError`` for a lost connection or a lock timeout), like everywhere else.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from mamori.errors import MamoriError

# The dialects compiled for: SQLite's named ``:name`` and psycopg's ``%(name)s`` parameters take a mapping.
_COMPILERS: dict[str, Dialect] = {
    "sqlite": sqlite.dialect(paramstyle="named"),
    "postgresql": postgresql.psycopg.dialect(paramstyle="pyformat"),  # type: ignore[no-untyped-call]
}


Statement = tuple[str, Mapping[str, Any]]  # the driver's SQL and its parameters, to run with :func:`run_all`


class Prepared:
    """A Core statement run on the driver's cursor. Bound values given in the statement (``.limit(1)``) are kept;
    the caller gives the others by name."""

    __slots__ = ("_compiled", "statement")

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, dict[str, Any]]] = {}

    def sql(self, dialect_name: str) -> tuple[str, dict[str, Any]]:
        """The driver's SQL for ``dialect_name`` and the values bound in the statement itself."""
        found = self._compiled.get(dialect_name)
        if found is None:
            compiler = _COMPILERS.get(dialect_name)
            if compiler is None:
                raise MamoriError("INTERNAL_ERROR", reason=f"no direct statements for the {dialect_name} dialect")
            compiled = self.statement.compile(dialect=compiler)
            if not isinstance(compiled, SQLCompiler):
                raise MamoriError("INTERNAL_ERROR", reason="only SQL statements can be prepared")
            if compiled.literal_execute_params or compiled.post_compile_params:
                raise MamoriError("INTERNAL_ERROR", reason="an expanding parameter cannot be prepared once")
            bound = {name: value for name, value in compiled.params.items() if value is not None}
            found = self._compiled[dialect_name] = (str(compiled), bound)
        return found

    def rows(self, connection: Connection, parameters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return run(connection, *self.bind(connection, parameters))

    def bind(self, connection: Connection | Engine, parameters: Mapping[str, Any]) -> Statement:
        """The SQL and every parameter, to run with :func:`run_all` (an engine will do: only its dialect counts)."""
        sql, bound = self.sql(connection.dialect.name)
        return sql, ({**bound, **parameters} if bound else parameters)

    def first(self, connection: Connection, parameters: Mapping[str, Any]) -> tuple[Any, ...] | None:
        found = self.rows(connection, parameters)
        return found[0] if found else None

    def scalar(self, connection: Connection, parameters: Mapping[str, Any]) -> Any:
        found = self.first(connection, parameters)
        return found[0] if found is not None else None


def run(connection: Connection, sql: str, parameters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Execute ``sql`` (the driver's own, named parameters; a statement that returns rows) with ``parameters``;
    every row it returns."""
    with _cursor(connection, sql, parameters) as cursor:
        cursor.execute(sql, parameters)
        # Always fetched: inside a psycopg pipeline a result has no description until it is fetched (a test of
        # the description there read every result as empty). ``sql`` must be a statement that returns rows.
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


@contextmanager
def _cursor(connection: Connection, sql: str, parameters: Any) -> Iterator[Any]:
    """The driver's cursor on ``connection``, closed after use; its errors raised as :func:`driver_error`'s."""
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cursor
    except connection.dialect.dbapi.Error as exc:  # type: ignore[union-attr]
        raise driver_error(connection, sql, parameters, exc) from exc
    finally:
        cursor.close()


def run_all(connection: Connection, statements: Sequence[Statement]) -> list[list[tuple[Any, ...]]]:
    """The rows of each of ``statements``, run in order. On PostgreSQL they go to the server together (one round
    trip instead of one each); none may depend on another's result."""
    if connection.dialect.name != "postgresql" or len(statements) < 2:
        return [run(connection, sql, parameters) for sql, parameters in statements]
    driver = connection.connection.driver_connection
    dbapi_error = connection.dialect.dbapi.Error  # type: ignore[union-attr]
    cursors = []
    try:
        with driver.pipeline():  # type: ignore[union-attr]
            for sql, parameters in statements:
                cursor = driver.cursor()  # type: ignore[union-attr]
                cursors.append(cursor)
                cursor.execute(sql, parameters)
        return [cursor.fetchall() for cursor in cursors]
    except dbapi_error as exc:
        raise driver_error(connection, "pipeline", None, exc) from exc
    finally:
        for cursor in cursors:
            cursor.close()


def execute(connection: Connection, sql: str, parameters: Mapping[str, Any]) -> None:
    """Execute ``sql`` (a statement that returns no rows) once, with ``parameters``."""
    with _cursor(connection, sql, parameters) as cursor:
        cursor.execute(sql, parameters)


def run_many(connection: Connection, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Execute ``sql`` once per row of ``rows`` in one driver call (``executemany``)."""
    with _cursor(connection, sql, rows) as cursor:
        cursor.executemany(sql, rows)


def driver_error(connection: Connection, statement: str, parameters: Any, error: Exception) -> DBAPIError:
    """The driver's ``error`` as SQLAlchemy would have raised it from ``Connection.execute``: wrapped in its class
    (``OperationalError`` for a lost connection), and a connection the server dropped invalidated, so that the
    pool never hands it out again (``connection_invalidated`` then tells the caller)."""
    dialect = connection.dialect
    disconnect = bool(dialect.is_disconnect(error, connection.connection.dbapi_connection, None))  # type: ignore[arg-type]
    if disconnect:
        connection.invalidate(error)
    return DBAPIError.instance(  # type: ignore[return-value]  # always a DBAPIError for a driver's error
        statement,
        parameters,
        error,
        dialect.dbapi.Error,  # type: ignore[union-attr]
        connection_invalidated=disconnect,
        dialect=dialect,
    )


@contextmanager
def pipeline(connection: Connection, *, commit: bool = False) -> Iterator[None]:
    """On PostgreSQL, what runs inside goes to the server together (psycopg's pipeline mode): the writes that end a
    transaction cost one round trip instead of one each. With ``commit``, the transaction's COMMIT goes with them,
    and the block ends once the server has made it durable (the caller's transaction then has nothing left to
    commit: psycopg's commit of an idle connection does nothing). Elsewhere (SQLite is in-process) nothing changes,
    and the caller commits as usual."""
    if connection.dialect.name != "postgresql":
        yield
        return
    dbapi_error = connection.dialect.dbapi.Error  # type: ignore[union-attr]
    driver = connection.connection.driver_connection
    try:
        with driver.pipeline():  # type: ignore[union-attr]
            yield
            if commit:
                driver.commit()  # type: ignore[union-attr]
    except dbapi_error as exc:
        raise driver_error(connection, "pipeline", None, exc) from exc
