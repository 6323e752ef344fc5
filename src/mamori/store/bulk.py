"""Many rows into one table in one statement, for the guard's hot path (a group commit writes a batch's
withdrawals, reservations, releases, velocity buckets and audit entries at once).

SQLAlchemy's Core ``execute(insert(table), rows)`` processes every value of every row in Python — the binary
columns alone are wrapped one by one — which cost more than the rest of a decision's writes together
(docs/benchmarks.md). Here the statement is rendered once per table, dialect and column set, and the values go
straight to the driver (store/direct.py), converted where the column type asks for it (a datetime on SQLite).

On PostgreSQL the rows go as **one JSON document**, ``INSERT … SELECT … FROM json_to_recordset(…)``: one
parameter whatever the number of rows. psycopg costs about 25 µs of Python per row of an ``executemany`` and 2 µs
per value of ``unnest`` arrays, where ``orjson`` writes the whole document in a few microseconds (measured on the
bucket upsert of one decision, 14 rows: 340 / 235 / 15 µs). Binary values travel as hex and are decoded by the
server; every field is typed by the column it fills, so the server converts exactly what the driver would have.
On SQLite, in-process, ``executemany`` is the cheapest form.
A differential test holds both to Core's insert (tests/store/test_bulk.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, Connection, DateTime, Integer, LargeBinary, String, Table

from mamori.errors import MamoriError
from mamori.store.direct import execute, run_many

_Processor = Callable[[Any], Any]
# (SQL, values converted before they are sent: (column key, conversion))
_Rendered = tuple[str, tuple[tuple[str, _Processor], ...]]
_RENDERED: dict[tuple[str, str, tuple[str, ...], str], _Rendered] = {}


def insert_rows(
    connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *, on_conflict: str = ""
) -> None:
    """Insert ``rows`` (mappings with the same keys, each a column of ``table``) in one statement.

    ``on_conflict``: an ``ON CONFLICT …`` clause (an upsert); no two rows may then share a key (PostgreSQL cannot
    update one row twice in a statement). Column defaults are not applied: every row names every value it stores
    (an autoincrement key may be left out).
    """
    if not rows:
        return
    names = tuple(rows[0])
    if any(tuple(row) != names for row in rows):
        raise MamoriError("INTERNAL_ERROR", reason=f"rows for {table.name} do not all name the same columns")
    sql, processors = _rendered(connection, table, names, on_conflict)
    if processors:
        converted = []
        for row in rows:
            values = dict(row)
            for name, process in processors:
                value = values[name]
                if value is not None:
                    values[name] = process(value)
            converted.append(values)
        rows = converted
    if connection.dialect.name != "postgresql":
        run_many(connection, sql, rows)
        return
    try:
        document = orjson.dumps(rows).decode()
    except TypeError as exc:  # a value JSON cannot carry exactly (an integer beyond 64 bits): a programming error
        raise MamoriError("INTERNAL_ERROR", reason=f"rows for {table.name}: {exc}") from exc
    queued: list[_Queued] | None = connection.info.get(_QUEUE)
    if queued is None:
        execute(connection, sql, {"rows": document})
        return
    if any(earlier.table is table for earlier in queued):  # a table twice in one statement: the earlier rows first
        _flush(connection, queued)
    queued.append(_Queued(table, sql, document))


@contextmanager
def combined(connection: Connection) -> Iterator[None]:
    """On PostgreSQL, the inserts of :func:`insert_rows` inside go to the server as **one statement** when the block
    ends (each table's insert in a ``WITH`` clause of the last one): the writes that end a decision's transaction —
    withdrawals, reservations, releases, velocity buckets, audit entries and subtrees — cost psycopg one statement
    instead of six. Every clause sees the same snapshot, none reads what another writes, and foreign keys are
    checked when the statement ends. Nothing changes on SQLite or when the block fails."""
    if connection.dialect.name != "postgresql" or _QUEUE in connection.info:
        yield
        return
    queued: list[_Queued] = []
    connection.info[_QUEUE] = queued
    try:
        yield
    finally:
        del connection.info[_QUEUE]
    _flush(connection, queued)


@dataclass(frozen=True, slots=True)
class _Queued:
    table: Table
    sql: str  # the table's own INSERT (its document as %(rows)s)
    document: str


_QUEUE = "mamori.bulk.queued"
_COMBINED: dict[tuple[str, ...], str] = {}


def _flush(connection: Connection, queued: list[_Queued]) -> None:
    if not queued:
        return
    key = tuple(item.sql for item in queued)
    sql = _COMBINED.get(key)
    if sql is None:
        clauses = [item.sql.replace("%(rows)s", f"%(rows_{i})s") for i, item in enumerate(queued)]
        *first, last = clauses
        sql = last if not first else "WITH " + ", ".join(f"w{i} AS ({c})" for i, c in enumerate(first)) + " " + last
        _COMBINED[key] = sql
    parameters = {f"rows_{i}": item.document for i, item in enumerate(queued)}
    queued.clear()
    execute(connection, sql, parameters)


def _rendered(connection: Connection, table: Table, names: tuple[str, ...], on_conflict: str) -> _Rendered:
    dialect = connection.dialect
    key = (dialect.name, table.fullname, names, on_conflict)
    found = _RENDERED.get(key)
    if found is None:
        preparer = dialect.identifier_preparer
        columns = [table.c[name] for name in names]  # KeyError: a programming error, not input
        # Names and types from the table's metadata, quoted by the dialect; every value is a parameter.
        quoted = [preparer.format_column(column) for column in columns]
        into = f"{preparer.format_table(table)} ({', '.join(quoted)})"
        processors: list[tuple[str, _Processor]] = []
        if dialect.name == "postgresql":
            fields, values = [], []
            for column, name in zip(columns, quoted, strict=True):
                if column.key != column.name:
                    raise MamoriError("INTERNAL_ERROR", reason=f"{table.name}.{column.name} is keyed otherwise")
                if isinstance(column.type, LargeBinary):
                    fields.append(f"{name} text")
                    values.append(f"decode(x.{name}, 'hex')")
                    processors.append((column.key, bytes.hex))
                elif isinstance(column.type, String | Integer | BigInteger | DateTime):
                    if isinstance(column.type, DateTime):
                        processors.append((column.key, _aware))
                    fields.append(f"{name} {column.type.compile(dialect=dialect)}")
                    values.append(f"x.{name}")
                else:
                    raise MamoriError("INTERNAL_ERROR", reason=f"no bulk insert of {column.type} values")
            sql = (
                f"INSERT INTO {into} SELECT {', '.join(values)}"  # noqa: S608
                f" FROM json_to_recordset(%(rows)s::json) AS x({', '.join(fields)}) {on_conflict}"
            )
        elif dialect.name == "sqlite":
            sql = f"INSERT INTO {into} VALUES ({', '.join(f':{c.key}' for c in columns)}) {on_conflict}"  # noqa: S608
            for column in columns:
                if isinstance(column.type, LargeBinary):
                    continue  # bytes are what sqlite3 takes for a binary column
                # The dialect's own type (SQLite's DATETIME renders text); the generic one converts nothing.
                process = column.type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    processors.append((column.key, process))
        else:
            raise MamoriError("INTERNAL_ERROR", reason=f"no bulk insert for the {dialect.name} dialect")
        found = _RENDERED[key] = (sql.rstrip(), tuple(processors))
    return found


def _aware(moment: datetime) -> datetime:
    """A datetime for a JSON field: with its offset, or the server would read it in its own time zone."""
    if moment.tzinfo is None:
        raise MamoriError("INTERNAL_ERROR", reason="a naive datetime cannot be stored in bulk")
    return moment
