"""Many rows into one table in one driver call, for the guard's hot path (a group commit writes a batch's
withdrawals, reservations, releases and audit entries at once).

SQLAlchemy's Core ``execute(insert(table), rows)`` processes every value of every row in Python — the binary
columns alone are wrapped one by one — which cost more than the rest of a decision's writes together
(docs/benchmarks.md). Here the statement is rendered once per table, dialect and column set, the values that need
a conversion (a datetime on SQLite) are converted by the column type's own bind processor, and the rest (text,
integers, bytes, None: what sqlite3 and psycopg take as they are) go straight to the driver (store/direct.py).
A differential test holds it to Core's insert on both backends (tests/store/test_bulk.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, LargeBinary, Table

from mamori.errors import MamoriError
from mamori.store.direct import run_many

_Processor = Callable[[Any], Any]
_PARAMETER = {"sqlite": ":{}", "postgresql": "%({})s"}  # named parameters of sqlite3 and of psycopg
_Rendered = tuple[str, tuple[tuple[str, _Processor], ...]]
_RENDERED: dict[tuple[str, str, tuple[str, ...], str], _Rendered] = {}


def insert_rows(
    connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *, on_conflict: str = ""
) -> None:
    """Insert ``rows`` (mappings with the same keys, each a column of ``table``) in one ``executemany`` (psycopg
    sends it as one pipeline; one multi-row statement or ``unnest`` arrays measured no faster on PostgreSQL).

    ``on_conflict``: an ``ON CONFLICT …`` clause (an upsert). Column defaults are not applied: every row names every
    value it stores (an autoincrement key may be left out).
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
                values[name] = process(values[name])
            converted.append(values)
        rows = converted
    run_many(connection, sql, rows)


def _rendered(connection: Connection, table: Table, names: tuple[str, ...], on_conflict: str) -> _Rendered:
    dialect = connection.dialect
    key = (dialect.name, table.fullname, names, on_conflict)
    found = _RENDERED.get(key)
    if found is None:
        preparer = dialect.identifier_preparer
        columns = [table.c[name] for name in names]  # KeyError: a programming error, not input
        # Names and types from the table's metadata, quoted by the dialect; every value is a parameter.
        into = f"{preparer.format_table(table)} ({', '.join(preparer.format_column(c) for c in columns)})"
        parameter = _PARAMETER.get(dialect.name)
        if parameter is None:
            raise MamoriError("INTERNAL_ERROR", reason=f"no bulk insert for the {dialect.name} dialect")
        values = ", ".join(parameter.format(name) for name in names)
        sql = f"INSERT INTO {into} VALUES ({values}) {on_conflict}".rstrip()  # noqa: S608
        processors = []
        for column in columns:
            if isinstance(column.type, LargeBinary):
                continue  # bytes are what both drivers take for a binary column
            process = column.type.bind_processor(dialect)
            if process is not None:
                processors.append((column.key, process))
        found = _RENDERED[key] = (sql, tuple(processors))
    return found
