"""`mamori demo`: the README's main command, run as a user runs it (a child process that starts the service)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mamori.audit.store import AuditLog
from mamori.store import create_engine

ROOT = Path(__file__).resolve().parents[2]
INTEL = ROOT.parent / "shared" / "data" / "intel"


def demo(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mamori.cli.main", "demo", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
    )


def test_the_demo_walks_through_the_four_stories(tmp_path: Path) -> None:
    kept = tmp_path / "exchange"
    result = demo("--lang", "en", "--intel", str(INTEL), "--keep", str(kept))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.index("1. A routine hot-wallet withdrawal") < out.index("2. A cold-wallet withdrawal")
    assert "decision / 判定: allow" in out
    assert "status / 状態: released (2 approval(s))" in out
    assert "DELEGATECALL_UNTRUSTED" in out
    assert "HTTP 422 REQUEST_NOT_AUTHENTIC" in out
    assert "Every step behaved as the guard promises" in out
    # What it left behind is a real guard database whose log verifies and records each story.
    engine = create_engine(f"sqlite:///{kept / 'mamori.db'}")
    with engine.connect() as connection, connection.begin():
        log = AuditLog(connection)
        assert log.verify_all().tree_size == log.size() > 20
        kinds = [row[0] for row in connection.exec_driver_sql("SELECT kind FROM audit_entries ORDER BY seq")]
    engine.dispose()
    assert kinds.count("withdrawal.released") == 2
    assert kinds.count("withdrawal.approved") == 2
    assert "withdrawal.refused" in kinds


def test_the_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "something").write_text("x")
    result = demo("--intel", str(INTEL), "--keep", str(tmp_path))
    assert result.returncode == 2
    assert "USAGE_INVALID" in result.stderr


def test_the_demo_finds_the_shared_lists_from_the_repository(tmp_path: Path) -> None:
    result = demo("--lang", "ja", "--keep", str(tmp_path / "x"))  # run from the repository root, as `make run` does
    assert result.returncode == 0, result.stdout + result.stderr
    assert "すべての手順がガードの約束どおりに動作しました" in result.stdout
