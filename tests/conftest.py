"""Database fixtures shared by the store and audit tests.

Every test gets a database of its own: a fresh SQLite file by default, or, when ``MAMORI_TEST_DATABASE_URL``
is set (CI sets it to PostgreSQL), a fresh schema in that database, dropped afterwards, so runs never collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from mamori.store import create_engine, upgrade

TEST_DATABASE_URL = os.environ.get("MAMORI_TEST_DATABASE_URL", "")


@dataclass(frozen=True)
class TestDatabase:
    url: str
    schema: str | None

    @property
    def is_postgresql(self) -> bool:
        return self.url.startswith("postgresql")

    def engine(self, **kwargs: Any) -> Engine:
        return create_engine(self.url, schema=self.schema, **kwargs)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[TestDatabase]:
    if not TEST_DATABASE_URL:
        yield TestDatabase(sqlite_url(tmp_path / "mamori.db"), None)
        return
    yield from postgresql_schema()


def postgresql_schema() -> Iterator[TestDatabase]:
    """A fresh schema in the PostgreSQL database of ``MAMORI_TEST_DATABASE_URL``, dropped afterwards."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(TEST_DATABASE_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield TestDatabase(TEST_DATABASE_URL, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def engine(database: TestDatabase) -> Iterator[Engine]:
    """An engine on a migrated, empty database."""
    migrated = database.engine()
    upgrade(migrated)
    yield migrated
    migrated.dispose()


@pytest.fixture
def exchange(engine: Engine, tmp_path: Path) -> Any:
    """The sample exchange initialised on this test's database, behind an in-process client (tests/support)."""
    from support.guard import make_exchange

    made = make_exchange(engine, tmp_path)
    yield made
    made.client.close()
