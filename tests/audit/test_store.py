"""The durable audit log (mamori.audit.store) on SQLite, or on PostgreSQL with MAMORI_TEST_DATABASE_URL: roots
and proofs agree with the pure Merkle core; entries live and die with the caller's transaction; tampering done
directly in SQL is found by verify_all at the right entry; concurrent appenders never collide."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session

from mamori.audit import (
    AuditInputError,
    MerkleLog,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
    verify_tree_head,
)
from mamori.audit.store import AuditLog, AuditTamperError, VerifyReport, entry_document
from mamori.errors import MamoriError
from mamori.store.models import AuditEntry

NOW = datetime(2026, 11, 26, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=9)))
KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"mamori audit store test key").digest())


def fill(engine: Engine, count: int, *, start: int = 0) -> list[bytes]:
    leaves = []
    with engine.begin() as connection:
        log = AuditLog(connection)
        for i in range(start, start + count):
            seq, leaf = log.append("request.created", {"n": i, "amount": 10**20 + i, "memo": "出金"}, now=NOW)
            assert seq == i
            leaves.append(leaf)
    return leaves


def verify_all(engine: Engine, **kwargs: Any) -> VerifyReport:
    with engine.begin() as connection:
        return AuditLog(connection).verify_all(**kwargs)


def tamper(engine: Engine, *statements: str) -> None:
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def tampered_at(engine: Engine) -> AuditTamperError:
    with pytest.raises(AuditTamperError) as info:
        verify_all(engine)
    assert info.value.code == "AUDIT_LOG_TAMPERED"
    return info.value


def test_appends_and_roots_equal_the_pure_merkle_log(engine: Engine) -> None:
    reference = MerkleLog()
    with engine.begin() as connection:
        log = AuditLog(connection)
        assert log.size() == 0
        assert log.root() == reference.root()
        for i in range(70):
            payload = {"i": i, "b": [1, 2], "a": None}
            seq, leaf = log.append("policy.changed", payload, now=NOW + timedelta(seconds=i))
            assert seq == reference.append(leaf)
            expected = leaf_hash(
                b'{"at":"%s","data":{"a":null,"b":[1,2],"i":%d},"kind":"policy.changed"}'
                % ((NOW + timedelta(seconds=i)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode(), i)
            )
            assert leaf == expected
            assert log.root() == reference.root()
            assert log.size() == i + 1
    report = verify_all(engine)
    assert (report.tree_size, report.root_hash) == (70, reference.root())


def test_a_session_works_as_well_as_a_connection(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        log = AuditLog(session)
        assert log.append("approval.given", {"by": "alice"}, now=NOW) == (0, log.inclusion_proof(0).leaf_hash)
    assert verify_all(engine).tree_size == 1


def test_inclusion_and_consistency_proofs_verify_for_many_sizes(engine: Engine) -> None:
    leaves = fill(engine, 33)
    with engine.begin() as connection:
        log = AuditLog(connection)
        for size in range(1, 34):
            root = log.root(size)
            for index in range(size):
                proof = log.inclusion_proof(index, size=size)
                assert proof.path == inclusion_proof(leaves, index, size)  # the pure core, from all leaves
                verify_inclusion(leaves[index], index=index, size=size, proof=proof.path, root=root)
                assert leaf_hash(proof.entry) == leaves[index]
            for first in range(size + 1):
                path = log.consistency_proof(first, size)
                assert path == consistency_proof(leaves, first, size)
                verify_consistency(first=first, second=size, first_root=log.root(first), second_root=root, proof=path)
        with pytest.raises(ProofError):
            bad = log.inclusion_proof(5)
            verify_inclusion(leaves[6], index=5, size=bad.tree_size, proof=bad.path, root=bad.root_hash)


def test_larger_log_proofs_read_the_cache(engine: Engine) -> None:
    leaves = fill(engine, 300)
    with engine.begin() as connection:
        log = AuditLog(connection)
        for index in (0, 1, 127, 128, 255, 256, 298, 299):
            log.inclusion_proof(index).verify()
        for first in (1, 128, 129, 256, 299):
            path = log.consistency_proof(first)
            verify_consistency(first=first, second=300, first_root=log.root(first), second_root=log.root(), proof=path)
    assert verify_all(engine, chunk=64).root_hash == MerkleLog.from_leaf_hashes(leaves).root()


def test_an_entry_is_rolled_back_with_the_callers_transaction(engine: Engine) -> None:
    fill(engine, 3)
    with engine.connect() as connection:
        transaction = connection.begin()
        AuditLog(connection).append("release.made", {"tx": "0xabc"}, now=NOW)
        transaction.rollback()
    fill(engine, 2, start=3)
    assert verify_all(engine).tree_size == 5


@pytest.mark.parametrize(
    ("kind", "payload", "now"),
    [
        ("", {}, NOW),
        ("Has Space", {}, NOW),
        ("ok", {}, datetime(2026, 1, 1)),  # naive time
        ("ok", ["not", "an", "object"], NOW),
        ("ok", {"amount": 1.5j}, NOW),
        ("ok", {1: "non-string key"}, NOW),
    ],
)
def test_bad_appends_are_input_errors(engine: Engine, kind: str, payload: object, now: datetime) -> None:
    with engine.begin() as connection, pytest.raises(AuditInputError) as info:
        AuditLog(connection).append(kind, payload, now=now)
    assert info.value.code == "AUDIT_ENTRY_INVALID"


def test_out_of_range_requests_are_input_errors(engine: Engine) -> None:
    fill(engine, 4)
    with engine.begin() as connection:
        log = AuditLog(connection)
        for call in (
            lambda: log.inclusion_proof(4),
            lambda: log.inclusion_proof(-1),
            lambda: log.inclusion_proof(0, size=5),
            lambda: log.consistency_proof(5),
            lambda: log.root(9),
        ):
            with pytest.raises(AuditInputError) as info:
                call()
            assert info.value.code == "AUDIT_RANGE_INVALID"


def test_signed_heads_are_stored_and_checked(engine: Engine) -> None:
    fill(engine, 5)
    with engine.begin() as connection:
        log = AuditLog(connection)
        signed = log.sign_head(KEY, now=NOW)
        assert verify_tree_head(signed, KEY.public_key(), log_id="mamori") == signed.head
        assert (signed.head.tree_size, signed.head.root_hash) == (5, log.root())
        assert log.heads() == [signed]
    fill(engine, 3, start=5)
    with engine.begin() as connection:
        AuditLog(connection).sign_head(KEY, now=NOW)
    assert verify_all(engine, public_key=KEY.public_key()).heads_checked == 2
    other = Ed25519PrivateKey.from_private_bytes(b"\x01" * 32)
    with pytest.raises(AuditTamperError, match="signing key"):
        verify_all(engine, public_key=other.public_key())


def test_a_forged_head_root_is_detected(engine: Engine) -> None:
    fill(engine, 6)
    with engine.begin() as connection:
        AuditLog(connection).sign_head(KEY, now=NOW)
    tamper(engine, "UPDATE audit_tree_heads SET tree_size = 4")
    error = tampered_at(engine)
    assert error.seq == 3
    assert "signed tree head of size 4" in error.reason


def test_removing_the_tail_under_a_signed_head_is_detected(engine: Engine) -> None:
    fill(engine, 6)
    with engine.begin() as connection:
        AuditLog(connection).sign_head(KEY, now=NOW)
    # A careful attacker removes the last entry and its stored hashes (leaf 5; subtree level 1 index 2).
    tamper(
        engine,
        "DELETE FROM audit_entries WHERE seq = 5",
        "DELETE FROM audit_subtrees WHERE (level = 0 AND idx = 5) OR (level = 1 AND idx = 2)",
    )
    error = tampered_at(engine)
    assert (error.seq, error.reason.split(":")[0]) == (5, "removed")


def test_modified_payload_is_detected_at_its_entry(engine: Engine) -> None:
    fill(engine, 10)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET payload = :p WHERE seq = 6"), {"p": b'{"n":999}'})
    error = tampered_at(engine)
    assert (error.seq, error.reason.split(":")[0]) == (6, "modified")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET kind = 'approval.given' WHERE seq = 4",
        "UPDATE audit_entries SET created_at = created_at + INTERVAL '1 second' WHERE seq = 4",
        # the payload and its leaf hash rewritten together: the tree's own record of leaf 4 disagrees
        "UPDATE audit_entries SET leaf_hash = (SELECT leaf_hash FROM audit_entries WHERE seq = 9) WHERE seq = 4",
    ],
)
def test_other_modifications_are_detected_at_their_entry(engine: Engine, statement: str) -> None:
    fill(engine, 10)
    if "INTERVAL" in statement and engine.dialect.name == "sqlite":
        statement = "UPDATE audit_entries SET created_at = '2020-01-01 00:00:00.000000' WHERE seq = 4"
    tamper(engine, statement)
    assert tampered_at(engine).seq == 4


def test_a_consistent_rewrite_of_entry_and_leaf_hash_is_detected(engine: Engine) -> None:
    fill(engine, 10)
    with engine.begin() as connection:
        e = AuditEntry
        row = connection.execute(select(e.kind, e.created_at, e.payload).where(e.seq == 2)).one()
        forged = b'{"n":2,"amount":1}'
        new_leaf = leaf_hash(entry_document(row.kind, row.created_at, forged))
        connection.execute(
            text("UPDATE audit_entries SET payload = :p, leaf_hash = :h WHERE seq = 2"), {"p": forged, "h": new_leaf}
        )
    error = tampered_at(engine)
    assert (error.seq, error.reason.split(":")[0]) == (2, "modified or inserted")


def test_deleted_entry_is_detected(engine: Engine) -> None:
    fill(engine, 10)
    tamper(engine, "DELETE FROM audit_entries WHERE seq = 3")
    error = tampered_at(engine)
    assert (error.seq, error.reason.split(":")[0]) == (3, "removed")


def test_deleted_last_entry_is_detected(engine: Engine) -> None:
    fill(engine, 8)
    tamper(engine, "DELETE FROM audit_entries WHERE seq = 7")
    assert tampered_at(engine).seq == 7


@pytest.mark.parametrize("count", [7, 8])  # appended after an odd and after an even number of leaves
def test_entry_appended_behind_the_logs_back_is_detected(engine: Engine, count: int) -> None:
    fill(engine, count)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_entries (seq, created_at, kind, payload, leaf_hash) "
                "SELECT :n, created_at, kind, payload, leaf_hash FROM audit_entries WHERE seq = 0"
            ),
            {"n": count},
        )
    error = tampered_at(engine)
    assert (error.seq, error.reason.split(":")[0]) == (count, "inserted")


def test_entry_inserted_in_the_middle_is_detected(engine: Engine) -> None:
    """Later entries moved up one place and a well-formed entry (its leaf hash right) put in the gap."""
    fill(engine, 10)
    tamper(
        engine,
        "UPDATE audit_entries SET seq = seq + 1000 WHERE seq >= 4",
        "UPDATE audit_entries SET seq = seq - 999 WHERE seq >= 1000",
    )
    payload = b'{"to":"attacker"}'
    with engine.begin() as connection:
        connection.execute(
            insert(AuditEntry).values(
                seq=4,
                created_at=NOW.astimezone(UTC),  # as the log stores it
                kind="release.made",
                payload=payload,
                leaf_hash=leaf_hash(entry_document("release.made", NOW, payload)),
            )
        )
    error = tampered_at(engine)
    assert (error.seq, error.reason.split(":")[0]) == (4, "modified or inserted")


def test_entry_inserted_before_the_first_is_detected(engine: Engine) -> None:
    fill(engine, 3)
    tamper(
        engine,
        "INSERT INTO audit_entries (seq, created_at, kind, payload, leaf_hash) "
        "SELECT -1, created_at, kind, payload, leaf_hash FROM audit_entries WHERE seq = 0",
    )
    assert tampered_at(engine).seq == -1


def test_swapped_entries_are_detected_as_reordered(engine: Engine) -> None:
    fill(engine, 10)
    tamper(
        engine,
        "UPDATE audit_entries SET seq = 100 WHERE seq = 2",
        "UPDATE audit_entries SET seq = 2 WHERE seq = 7",
        "UPDATE audit_entries SET seq = 7 WHERE seq = 100",
    )
    error = tampered_at(engine)
    assert (error.seq, error.reason) == (2, "reordered: it holds the entry recorded at position 7")


def test_a_rewritten_subtree_hash_is_detected(engine: Engine) -> None:
    fill(engine, 10)
    tamper(
        engine,
        "UPDATE audit_subtrees SET hash = (SELECT hash FROM audit_subtrees WHERE level = 0 AND idx = 0) "
        "WHERE level = 2 AND idx = 1",
    )
    error = tampered_at(engine)
    assert error.seq == 7
    assert "entries 4..7" in error.reason
    assert isinstance(error, MamoriError)


def test_concurrent_appends_never_collide(database) -> None:
    """Two appenders on separate connections (threads): unique, gapless sequence numbers and a root equal to
    the recomputation from the stored leaves."""
    from mamori.store import upgrade

    engines = [database.engine(), database.engine()]
    upgrade(engines[0])
    per_thread, errors = 40, []
    barrier = threading.Barrier(2)

    def appender(number: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                with engines[number].begin() as connection:
                    AuditLog(connection).append("request.created", {"thread": number, "i": i}, now=NOW)
        except Exception as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=appender, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engines[0].begin() as connection:
        seqs = [r.seq for r in connection.execute(text("SELECT seq FROM audit_entries ORDER BY seq"))]
        leaves = [r.leaf_hash for r in connection.execute(text("SELECT leaf_hash FROM audit_entries ORDER BY seq"))]
        assert seqs == list(range(2 * per_thread))
        assert AuditLog(connection).root() == MerkleLog.from_leaf_hashes(leaves).root()
    assert verify_all(engines[1]).tree_size == 2 * per_thread
    for engine in engines:
        engine.dispose()


def test_append_many_writes_what_append_writes(engine: Engine, tmp_path: Any) -> None:
    """Batches of every size from 0 to 9, with and without the frontier handed back: the same entries, subtrees
    and roots as appending one by one in another database."""
    from mamori.store import create_engine as make_engine
    from mamori.store import upgrade

    reference = make_engine(f"sqlite:///{tmp_path / 'one-by-one.db'}")
    upgrade(reference)
    entries = [("request.created", {"i": i}, NOW + timedelta(seconds=i)) for i in range(45)]
    with reference.begin() as connection:
        for kind, payload, moment in entries:
            AuditLog(connection).append(kind, payload, now=moment)
    position, frontier, size = 0, None, 0
    for batch_size in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9):
        batch = entries[position : position + batch_size]
        with engine.begin() as connection:
            log = AuditLog(connection)
            assert log.last_entry()[0] == size
            # Hand the frontier back every other batch: both ways must agree.
            frontier = log.append_many(batch, start=size, frontier=frontier if batch_size % 2 else None)
        position += batch_size
        size += batch_size
    assert size == len(entries)

    def dump(target: Engine) -> tuple[list[Any], list[Any], bytes]:
        with target.connect() as connection:
            rows = connection.execute(text("SELECT seq, kind, payload, leaf_hash FROM audit_entries ORDER BY seq"))
            subtrees = connection.execute(text("SELECT level, idx, hash FROM audit_subtrees ORDER BY level, idx"))
            return [tuple(r) for r in rows], [tuple(r) for r in subtrees], AuditLog(connection).root()

    assert dump(engine) == dump(reference)
    assert verify_all(engine).tree_size == len(entries)
    with engine.connect() as connection:
        assert AuditLog(connection).last_entry() == (45, (NOW + timedelta(seconds=44)).astimezone(UTC))
    reference.dispose()


def test_the_locked_read_of_the_log_s_end_equals_the_plain_one(engine: Engine) -> None:
    """lock_and_last_entry (the driver's cursor; on PostgreSQL the lock and the read in one round trip) reads the
    same size and time, to the microsecond, as last_entry through SQLAlchemy — also on an empty log."""
    with engine.begin() as connection:
        log = AuditLog(connection)
        assert log.lock_and_last_entry()[:2] == log.last_entry() == (0, None)
        for micros in (0, 1, 999_999, 123_456):
            log.append("test.entry", {"n": micros}, now=datetime(2026, 3, 3, 2, 0, 0, micros, tzinfo=UTC))
            size, at, _ = log.lock_and_last_entry()
            assert (size, at) == log.last_entry()
            assert at == datetime(2026, 3, 3, 2, 0, 0, micros, tzinfo=UTC)
        log.append("test.entry", {}, now=datetime(2026, 3, 3, 11, 0, tzinfo=timezone(timedelta(hours=9))))
        assert log.lock_and_last_entry()[:2] == (5, datetime(2026, 3, 3, 2, 0, tzinfo=UTC))
