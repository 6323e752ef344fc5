"""A log the guard service wrote (releases, approvals, a denial), tampered with in SQL as an attacker with the
database would: ``mamori audit verify`` exits 1 and names the entry. tests/audit/test_store.py covers the store on
synthetic entries, tests/store/test_cli_audit.py the CLI in a separate process; this is the service's own log,
checked by the CLI's app in process (the crash and concurrency tests run it as a process).

Each tampering is undone afterwards, and the log verifies again: the tampering, nothing else, was found.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from sqlalchemy import Connection, Engine, text
from typer.testing import CliRunner

from mamori.cli.main import app
from mamori.demo import exchange as sample
from support.processes import child_url

pytestmark = pytest.mark.integration

Columns = tuple[Any, str, bytes, bytes]  # created_at, kind, payload, leaf_hash
INSERT = "INSERT INTO audit_entries (seq, created_at, kind, payload, leaf_hash) VALUES (:s, :c, :k, :p, :h)"


def audit_verify(url: str) -> Any:
    """``mamori audit verify --database URL``: its exit code and output."""
    result = CliRunner().invoke(app, ["audit", "verify", "--database", url])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def write_log(exchange: Any) -> dict[str, list[int]]:
    """A released hot withdrawal, a denied one (above the single limit) and a cold one released by two approvals;
    returns the sequence numbers of each kind of entry."""
    exchange.report_balances()
    now = exchange.clock.now
    for request_id, amount in (("wd-hot-1", sample.ETHER), ("wd-hot-2", 11 * sample.ETHER)):
        document = exchange.ledger.request(
            request_id,
            wallet=sample.HOT_WALLET,
            amount=amount,
            destination=sample.CUSTOMER,
            now=now,
            transaction=sample.hot_transfer(sample.CUSTOMER, amount, nonce=int(request_id[-1])),
        )
        assert exchange.submit(document).status_code == 200
    cold = exchange.ledger.request(
        "wd-cold-1",
        wallet=sample.COLD_WALLET,
        amount=sample.ETHER,
        destination=sample.EXCHANGE_DEPOSIT,
        now=now,
        transaction=sample.cold_transfer(sample.EXCHANGE_DEPOSIT, sample.ETHER),
    )
    assert exchange.submit(cold).json()["status"] == "pending_approval"
    assert exchange.approve("aiko", "wd-cold-1").status_code == 200
    assert exchange.approve("kenji", "wd-cold-1").json()["status"] == "released"
    seqs: dict[str, list[int]] = {}
    with exchange.engine.connect() as connection:
        for seq, kind, payload in connection.execute(text("SELECT seq, kind, payload FROM audit_entries ORDER BY seq")):
            seqs.setdefault(kind, []).append(seq)
            if kind == "withdrawal.decided" and orjson.loads(payload)["decision"] == "deny":
                seqs.setdefault("denial", []).append(seq)
    return seqs


def read(connection: Connection, seq: int) -> Columns:
    row = connection.execute(
        text("SELECT created_at, kind, payload, leaf_hash FROM audit_entries WHERE seq = :s"), {"s": seq}
    ).one()
    return row.created_at, row.kind, bytes(row.payload), bytes(row.leaf_hash)


def write(connection: Connection, seq: int, columns: Columns) -> None:
    created_at, kind, payload, leaf = columns
    connection.execute(
        text("UPDATE audit_entries SET created_at = :c, kind = :k, payload = :p, leaf_hash = :h WHERE seq = :s"),
        {"c": created_at, "k": kind, "p": payload, "h": leaf, "s": seq},
    )


def modify_one_byte(engine: Engine, seq: int) -> Callable[[], None]:
    """Change the last hex digit of the released transaction's signing hash."""
    with engine.begin() as connection:
        original = read(connection, seq)
        payload = original[2]
        at = payload.index(b'"signing_hash":"0x') + len(b'"signing_hash":"0x') + 63
        changed = payload[:at] + (b"1" if payload[at : at + 1] != b"1" else b"2") + payload[at + 1 :]
        write(connection, seq, (original[0], original[1], changed, original[3]))
    return lambda: _restore(engine, {seq: original})


def delete(engine: Engine, seq: int) -> Callable[[], None]:
    """Remove the entry (a denial: hide that the guard refused something)."""
    with engine.begin() as connection:
        original = read(connection, seq)
        connection.execute(text("DELETE FROM audit_entries WHERE seq = :s"), {"s": seq})

    def restore() -> None:
        with engine.begin() as connection:
            created_at, kind, payload, leaf = original
            connection.execute(
                text(
                    "INSERT INTO audit_entries (seq, created_at, kind, payload, leaf_hash) VALUES (:s, :c, :k, :p, :h)"
                ),
                {"s": seq, "c": created_at, "k": kind, "p": payload, "h": leaf},
            )

    return restore


def swap(engine: Engine, first: int, second: int) -> Callable[[], None]:
    """Exchange two entries, each with its own leaf hash (the order of two approvals)."""
    with engine.begin() as connection:
        a, b = read(connection, first), read(connection, second)
        write(connection, first, b)
        write(connection, second, a)
    return lambda: _restore(engine, {first: a, second: b})


def _restore(engine: Engine, originals: dict[int, Columns]) -> None:
    with engine.begin() as connection:
        for seq, columns in originals.items():
            write(connection, seq, columns)


def test_verify_names_the_entry_tampered_with_in_a_log_the_service_wrote(database: Any, exchange: Any) -> None:
    seqs = write_log(exchange)
    url = child_url(database)
    intact = audit_verify(url)
    assert intact.exit_code == 0, intact.output
    released = seqs["withdrawal.released"][0]
    denial = seqs["denial"][0]
    first, second = seqs["withdrawal.approved"][:2]
    cases: list[tuple[Callable[[], Callable[[], None]], str]] = [
        (lambda: modify_one_byte(exchange.engine, released), f"TAMPERED entry {released}: modified"),
        (lambda: delete(exchange.engine, denial), f"TAMPERED entry {denial}: removed"),
        (
            lambda: swap(exchange.engine, first, second),
            f"TAMPERED entry {first}: reordered: it holds the entry recorded at position {second}",
        ),
    ]
    for tamper, expected in cases:
        restore = tamper()
        result = audit_verify(url)
        assert result.exit_code == 1, result.output
        assert result.stdout.startswith(expected), result.stdout
        restore()
    after = audit_verify(url)
    assert after.exit_code == 0, after.output
