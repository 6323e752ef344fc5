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


# --- signed heads: against the guard's key, and heads published outside the database ------------------------------
def _signed_log(path: Path, key: object, entries: int) -> dict[str, object]:
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.begin() as connection:
        log = AuditLog(connection)
        for i in range(entries):
            log.append("request.created", {"i": i}, now=NOW)
        head = log.sign_head(key, now=NOW).to_dict()  # type: ignore[arg-type]
    engine.dispose()
    return head


def test_verify_checks_the_signed_heads_with_the_guard_key(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    guard, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    _signed_log(tmp_path / "m.db", guard, 5)
    url = f"sqlite:///{tmp_path / 'm.db'}"
    for key, expected in ((guard, 0), (other, 1)):
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
        result = mamori("verify", "--database", url, "--public-key", public)
        assert result.returncode == expected, result.stdout + result.stderr
    assert "with the guard key" in mamori("verify", "--database", url, "--public-key", public_hex(guard)).stdout
    assert mamori("verify", "--database", url, "--public-key", "not-a-key").returncode == 2


def public_hex(key: object) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()  # type: ignore[attr-defined]


def test_a_published_head_catches_a_log_rewritten_from_scratch(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    guard = Ed25519PrivateKey.generate()
    path = tmp_path / "m.db"
    published = tmp_path / "head.json"
    published.write_text(json.dumps(_signed_log(path, guard, 7)))
    url = f"sqlite:///{path}"
    ok = mamori("verify", "--database", url, "--public-key", public_hex(guard), "--head", str(published))
    assert ok.returncode == 0, ok.stderr
    # An insider with the database rebuilds a self-consistent log (entries, subtrees, no heads) with entry 3 changed.
    with sqlite3.connect(path) as connection:
        for table in ("audit_entries", "audit_subtrees", "audit_tree_heads"):
            connection.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        log = AuditLog(connection)
        for i in range(8):
            log.append("request.created", {"i": i if i != 3 else 333}, now=NOW)
    engine.dispose()
    assert mamori("verify", "--database", url, "--public-key", public_hex(guard)).returncode == 0  # self-consistent
    caught = mamori("verify", "--database", url, "--public-key", public_hex(guard), "--head", str(published))
    assert caught.returncode == 1
    assert "published head of size 7" in caught.stdout
    assert mamori("verify", "--database", url, "--head", str(published)).returncode == 2  # a head needs the key
