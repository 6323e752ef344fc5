"""The plans the databases make for the guard's hot statements, to check that they read through indexes.

PostgreSQL: the statement is prepared under the engine's settings (``plan_cache_mode=force_generic_plan``) and
``EXPLAIN EXECUTE`` shows the generic plan — the one the guard's connections keep for thousands of runs, whatever
the tables held when it was made. SQLite: ``EXPLAIN QUERY PLAN``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from mamori.store.direct import Statement


@dataclass(frozen=True)
class Scan:
    """One read of a table in a plan: how (``Seq Scan``, ``Index Scan``, SQLite's ``SEARCH``/``SCAN``), and the
    conditions the index serves (PostgreSQL's Index Cond, SQLite's constraint text)."""

    table: str
    how: str
    index_condition: str


def scans(connection: Connection, statement: Statement) -> list[Scan]:
    if connection.dialect.name == "postgresql":
        return list(_postgresql_scans(_generic_plan(connection, statement)))
    return _sqlite_scans(connection, statement)


def _generic_plan(connection: Connection, statement: Statement) -> dict[str, Any]:
    import psycopg

    sql, parameters = statement
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    numbered = re.sub(r"%\((\w+)\)s", number, sql)
    with psycopg.ClientCursor(connection.connection.driver_connection) as cursor:  # type: ignore[arg-type]
        cursor.execute(f"PREPARE mamori_plan_probe AS {numbered}")
        try:
            values = ", ".join(cursor.mogrify("%s", [parameters[name]]) for name in names)
            cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE mamori_plan_probe({values})")
            row = cursor.fetchone()
        finally:
            cursor.execute("DEALLOCATE mamori_plan_probe")
    assert row is not None
    plan: dict[str, Any] = row[0][0]["Plan"]
    return plan


def _postgresql_scans(node: dict[str, Any]) -> Iterator[Scan]:
    children = node.get("Plans", ())
    if "Relation Name" in node:
        condition = node.get("Index Cond", "")
        if node["Node Type"] == "Bitmap Heap Scan":  # the index conditions are its Bitmap Index Scans'
            condition = " ".join(_index_conditions(children))
            children = ()
        yield Scan(node["Relation Name"], node["Node Type"], condition)
    for child in children:
        yield from _postgresql_scans(child)


def _index_conditions(nodes: Any) -> Iterator[str]:
    for node in nodes:
        if "Index Cond" in node:
            yield node["Index Cond"]
        yield from _index_conditions(node.get("Plans", ()))


def _sqlite_scans(connection: Connection, statement: Statement) -> list[Scan]:
    sql, parameters = statement
    driver = connection.connection.driver_connection
    found = []
    for *_, detail in driver.execute(f"EXPLAIN QUERY PLAN {sql}", parameters).fetchall():  # type: ignore[union-attr]
        match = re.match(r"(SEARCH|SCAN) (\w+)(.*)", detail)
        if match:
            how, table, rest = match.groups()
            condition = re.search(r"\((.*)\)", rest)
            found.append(Scan(table, how, condition.group(1) if condition else ""))
    return found
