"""service/integrity.py: the reservations and velocity buckets recomputed from the withdrawals — equal after the
guard's own decisions, and every kind of change made behind its back named."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from mamori.demo import exchange as sample
from mamori.service.integrity import differences
from support.guard import hot_request as hot


def decided(exchange: Any) -> Any:
    """Four hot withdrawals over two minutes, reserved: whole buckets at several levels."""
    exchange.report_balances()
    for n in range(4):
        assert exchange.submit(hot(exchange, f"wd-{n}", amount=(n + 1) * sample.ETHER)).json()["status"] == "released"
        exchange.clock.advance(seconds=37)
    return exchange.engine


def test_the_guard_s_own_decisions_leave_no_difference(exchange: Any) -> None:
    engine = decided(exchange)
    with engine.connect() as connection:
        assert differences(connection) == []
        assert connection.execute(text("SELECT COUNT(*) FROM guard_reservations")).scalar_one() == 4


TAMPERING = {
    "a bucket removed": ("DELETE FROM guard_velocity_buckets WHERE level = 6", "guard_velocity_buckets", "missing"),
    "a count lowered": (
        'UPDATE guard_velocity_buckets SET "count" = "count" - 1 WHERE level = 3',
        "guard_velocity_buckets",
        "withdrawals",
    ),
    "a reservation removed": (
        "DELETE FROM guard_reservations WHERE request_id = 'wd-2'",
        "guard_reservations",
        "missing",
    ),
    "an amount lowered": (
        "UPDATE guard_reservations SET amount = '1' WHERE request_id = 'wd-3'",
        "guard_reservations",
        "amount=1",
    ),
    "a bucket of no reservation": (
        'INSERT INTO guard_velocity_buckets (scope, level, start_us, asset, "count", l0, l1, l2)'
        " VALUES ('ffffffffffffffffffffffffffffffff', 0, 0, 'ETH', 1, 0, 0, 0)",
        "guard_velocity_buckets",
        "no reservation",
    ),
    "a hold released in the withdrawal only": (
        "UPDATE guard_withdrawals SET reserved_us = NULL WHERE request_id = 'wd-1'",
        "guard_reservations",
        "no hold",
    ),
}


@pytest.mark.parametrize("change", list(TAMPERING))
def test_a_change_behind_the_guard_s_back_is_named(exchange: Any, change: str) -> None:
    statement, table, words = TAMPERING[change]
    engine = decided(exchange)
    with engine.begin() as connection:
        connection.execute(text(statement))
    with engine.connect() as connection:
        found = differences(connection)
    assert found, change
    assert any(d.table == table and words in d.text() for d in found), [d.text() for d in found]


def test_the_report_stops_at_its_limit(exchange: Any) -> None:
    engine = decided(exchange)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM guard_velocity_buckets"))
    with engine.connect() as connection:
        assert len(differences(connection, limit=3)) == 3
        assert len(differences(connection)) > 3


def test_mamori_guard_check_exits_1_on_a_difference_and_0_when_consistent(exchange: Any, database: Any) -> None:
    """The command an operator (or a scheduled job) runs: bilingual text, JSON, and the exit code."""
    import json
    import subprocess
    import sys

    from support.processes import child_url

    engine = decided(exchange)
    url = child_url(database)

    def check(*options: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "mamori.cli.main", "guard", "check", "--database", url, *options]
        return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)

    consistent = check()
    assert consistent.returncode == 0, consistent.stderr
    assert "consistent" in consistent.stdout and "一致しています" in consistent.stdout
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM guard_reservations WHERE request_id = 'wd-0'"))
    differing = check()
    assert differing.returncode == 1
    assert "DIFFER" in differing.stdout and "一致しません" in differing.stdout and "wd-0" in differing.stdout
    report = json.loads(check("--json").stdout)
    assert report["consistent"] is False
    assert {"table": "guard_reservations", "key": "wd-0"}.items() <= report["differences"][0].items()
