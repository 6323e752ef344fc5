"""`mamori audit verify` and `mamori audit proof` run as a user runs them, in a separate process on a temporary
SQLite file: exit 0 intact, 1 tampered (with the entry and reason), 2 bad input; the printed proof checks with
the pure verifier. The audit app is registered on the real entry point exactly as main.py will register it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mamori.audit.merkle import verify_inclusion
from mamori.audit.store import AuditLog
from mamori.store import create_engine, upgrade

NOW = datetime(2026, 11, 26, tzinfo=UTC)
ENTRY_POINT = "from mamori.cli import audit, main; main.app.add_typer(audit.app, name='audit'); main.main()"


def mamori(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY_POINT, "audit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "mamori.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.begin() as connection:
        log = AuditLog(connection)
        for i in range(11):
            log.append("request.created", {"i": i}, now=NOW)
    engine.dispose()
    return path


def test_verify_an_intact_log(log_file: Path) -> None:
    result = mamori("verify", "--database", f"sqlite:///{log_file}")
    assert result.returncode == 0, result.stderr
    assert "11 entries" in result.stdout
    as_json = mamori("verify", "--database", f"sqlite:///{log_file}", "--json")
    assert json.loads(as_json.stdout)["intact"] is True


def test_verify_reads_the_url_from_the_environment(log_file: Path) -> None:
    import os

    env = {**os.environ, "MAMORI_DATABASE_URL": f"sqlite:///{log_file}"}
    assert mamori("verify", env=env).returncode == 0


def test_verify_reports_the_tampered_entry(log_file: Path) -> None:
    with sqlite3.connect(log_file) as connection:
        connection.execute("DELETE FROM audit_entries WHERE seq = 3")
    result = mamori("verify", "--database", f"sqlite:///{log_file}")
    assert result.returncode == 1
    assert "entry 3: removed" in result.stdout
    as_json = json.loads(mamori("verify", "--database", f"sqlite:///{log_file}", "--json").stdout)
    assert as_json["intact"] is False
    assert as_json["error"]["code"] == "AUDIT_LOG_TAMPERED"
    assert as_json["error"]["details"]["seq"] == 3


def test_proof_checks_with_the_pure_verifier(log_file: Path) -> None:
    result = mamori("proof", "7", "--database", f"sqlite:///{log_file}", "--json")
    assert result.returncode == 0, result.stderr
    proof = json.loads(result.stdout)
    assert (proof["index"], proof["tree_size"]) == (7, 11)
    verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        index=proof["index"],
        size=proof["tree_size"],
        proof=[bytes.fromhex(h) for h in proof["path"]],
        root=bytes.fromhex(proof["root_hash"]),
    )
    text = mamori("proof", "7", "--database", f"sqlite:///{log_file}")
    assert text.returncode == 0
    assert proof["root_hash"] in text.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["proof", "11"],  # no such entry
        ["proof", "3", "--size", "20"],  # no such tree size
        ["proof", "-1"],
        ["proof", "x"],
    ],
)
def test_bad_proof_requests_exit_2(log_file: Path, args: list[str]) -> None:
    result = mamori(*args, "--database", f"sqlite:///{log_file}")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("database", ["sqlite:///{missing}", "mysql://x@y/z", "nonsense", "sqlite:///{empty}"])
def test_bad_databases_exit_2(tmp_path: Path, database: str) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    url = database.format(missing=tmp_path / "missing.db", empty=empty)
    result = mamori("verify", "--database", url)
    assert result.returncode == 2
    assert "DATABASE_UNAVAILABLE" in result.stderr
    assert not (tmp_path / "missing.db").exists()


def test_no_database_exits_2() -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k != "MAMORI_DATABASE_URL"}
    result = mamori("verify", env=env)
    assert result.returncode == 2
    assert "USAGE_INVALID" in result.stderr
