"""Fixtures of the integration tests: real ``mamori serve`` processes on a real database.

``backend`` is a database of either kind in the same run: SQLite always, PostgreSQL (a fresh schema, dropped
afterwards) when ``MAMORI_TEST_DATABASE_URL`` names one, skipped with the reason otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import TestDatabase, sqlite_url
from support.processes import postgresql_database


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabase]:
    if request.param == "sqlite":
        yield TestDatabase(sqlite_url(tmp_path / "mamori.db"), None)
    else:
        yield from postgresql_database()
