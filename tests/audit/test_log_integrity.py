"""The audit log's Merkle core as `mamori audit verify` will use it: tampering with entries (modified, removed,
inserted, reordered) changes the root and breaks the proofs a signed head needs; errors are MamoriError
subclasses with stable codes; and pymerkle, an independent implementation, agrees on roots and proofs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from mamori.audit import (
    AuditError,
    AuditInputError,
    MerkleLog,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from mamori.errors import InputError, MamoriError


def synthetic_leaves(count: int, label: str = "mamori audit test") -> list[bytes]:
    return [hashlib.sha256(f"{label} {i}".encode()).digest() for i in range(count)]


# --- tampering: what `mamori audit verify` will rely on ---


def _entries() -> list[bytes]:
    return [json.dumps({"seq": i, "event": "approval", "request": f"wd-{i:04d}"}).encode() for i in range(41)]


@pytest.mark.parametrize(
    ("name", "tamper"),
    [
        ("modified", lambda e: [*e[:17], e[17].replace(b"approval", b"approvaL"), *e[18:]]),
        ("removed", lambda e: e[:17] + e[18:]),
        ("inserted", lambda e: [*e[:17], b'{"seq": 999}', *e[17:]]),
        ("reordered", lambda e: [*e[:17], e[18], e[17], *e[19:]]),
        ("truncated", lambda e: e[:-1]),
        ("replaced last", lambda e: [*e[:-1], b"forged"]),
    ],
)
def test_tampering_changes_the_root_and_breaks_the_old_heads_proofs(
    name: str, tamper: Callable[[list[bytes]], list[bytes]]
) -> None:
    entries = _entries()
    honest = [leaf_hash(e) for e in entries]
    tampered = [leaf_hash(e) for e in tamper(entries)]
    assert root_hash(tampered) != root_hash(honest), name
    assert MerkleLog.from_leaf_hashes(tampered).root() != MerkleLog.from_leaf_hashes(honest).root()
    # A head was signed over the honest log; then the log is "extended" from the tampered history: it cannot
    # prove that it extends that head, whatever it appends.
    old_size, old_root = len(honest), root_hash(honest)
    extension = synthetic_leaves(5)
    honest_grown = [*honest, *extension]
    verify_consistency(  # the control: the honest log proves it
        first=old_size,
        second=len(honest_grown),
        first_root=old_root,
        second_root=root_hash(honest_grown),
        proof=consistency_proof(honest_grown, old_size),
    )
    grown = [*tampered, *extension]
    with pytest.raises(ProofError):
        verify_consistency(
            first=old_size,
            second=len(grown),
            first_root=old_root,
            second_root=root_hash(grown),
            proof=consistency_proof(grown, old_size),
        )


def test_tampered_entry_fails_its_inclusion_proof() -> None:
    entries = _entries()
    leaves = [leaf_hash(e) for e in entries]
    root, proof = root_hash(leaves), inclusion_proof(leaves, 17)
    verify_inclusion(leaf_hash(entries[17]), index=17, size=len(leaves), proof=proof, root=root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(entries[17] + b" "), index=17, size=len(leaves), proof=proof, root=root)


# --- errors: only MamoriError subclasses, with stable codes ---


def test_generation_errors_are_input_errors_with_codes() -> None:
    leaves = synthetic_leaves(4)
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: inclusion_proof(leaves, 4), "AUDIT_RANGE_INVALID"),
        (lambda: inclusion_proof(leaves, -1), "AUDIT_RANGE_INVALID"),
        (lambda: inclusion_proof(leaves, 0, 5), "AUDIT_RANGE_INVALID"),
        (lambda: inclusion_proof(leaves, True), "AUDIT_RANGE_INVALID"),
        (lambda: consistency_proof(leaves, 3, 2), "AUDIT_RANGE_INVALID"),
        (lambda: root_hash(leaves, -1), "AUDIT_RANGE_INVALID"),
        (lambda: root_hash([*leaves[:3], leaves[3][:31]]), "AUDIT_ENTRY_INVALID"),
        (lambda: inclusion_proof([*leaves[:3], "x" * 32], 0), "AUDIT_ENTRY_INVALID"),  # type: ignore[list-item]
        (lambda: leaf_hash("text"), "AUDIT_ENTRY_INVALID"),  # type: ignore[arg-type]
        (lambda: MerkleLog().append(b"\x00" * 31), "AUDIT_ENTRY_INVALID"),
    ]
    for call, code in cases:
        with pytest.raises(AuditInputError) as caught:
            call()
        assert caught.value.code == code
        assert isinstance(caught.value, InputError)
        assert caught.value.message_ja
    # Only the prefix a proof covers has to be well formed.
    assert root_hash([*leaves, b"junk"], 4) == root_hash(leaves)


def test_corrupt_frontier_is_a_state_error() -> None:
    frontier = MerkleLog.from_leaf_hashes(synthetic_leaves(5)).frontier
    for size, hashes in ((5, frontier[:1]), (4, frontier), (5, (frontier[0], b"short")), (-1, ()), (2**64, ())):
        with pytest.raises(AuditError) as caught:
            MerkleLog.from_frontier(size, hashes)
        assert caught.value.code == "AUDIT_STATE_INVALID"
        assert not isinstance(caught.value, InputError)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"index": "0"},
        {"index": True},
        {"index": -1},
        {"size": 2**64},
        {"size": 1.0},
        {"proof": b"\x00" * 32},
        {"proof": "not a list"},
        {"proof": None},
        {"proof": [None]},
        {"proof": [b"\x00" * 32] * 65},
        {"root": None},
        {"root": "00" * 32},
    ],
)
def test_malformed_verification_input_is_a_failed_proof(kwargs: dict[str, Any]) -> None:
    leaves = synthetic_leaves(3)
    args: dict[str, Any] = {
        "index": 1,
        "size": 3,
        "proof": list(inclusion_proof(leaves, 1)),
        "root": root_hash(leaves),
    }
    verify_inclusion(leaves[1], **args)
    with pytest.raises(ProofError) as caught:
        verify_inclusion(leaves[1], **{**args, **kwargs})
    assert caught.value.code == "AUDIT_PROOF_INVALID"
    assert isinstance(caught.value, MamoriError)
    assert "包含" in caught.value.message_ja


# --- differential: pymerkle (an independent implementation with RFC 9162 hashing as its default) ---


def test_differential_against_pymerkle() -> None:
    pymerkle = pytest.importorskip("pymerkle", reason="dev dependency pymerkle not installed")
    entries = [f"entry {i}".encode() for i in range(150)]
    tree = pymerkle.InmemoryTree(algorithm="sha256")  # security mode on: 0x00 / 0x01 prefixes, as RFC 9162
    log = MerkleLog()
    leaves: list[bytes] = []
    for entry in entries:
        tree.append_entry(entry)
        log.append_entry(entry)
        leaves.append(leaf_hash(entry))
        assert tree.get_root() == log.root()
    for size in range(1, len(entries) + 1):
        root = root_hash(leaves, size)
        assert tree.get_root(size) == root
        for index in range(0, size, 7):
            theirs = tree.prove_inclusion(index + 1, size)  # pymerkle counts leaves from one
            theirs.verify(leaves[index], root)
            assert theirs.path[1:] == list(inclusion_proof(leaves, index, size))
        for first in range(1, size + 1, 5):
            # pymerkle's consistency proof has its own layout (it lists the old tree's subtrees, and leaves
            # where RFC 9162 gives their parent), so the proofs are compared through each other's roots.
            first_root = MerkleLog.from_leaf_hashes(leaves[:first]).root()
            tree.prove_consistency(first, size).verify(first_root, root)
            ours = consistency_proof(leaves, first, size)
            verify_consistency(first=first, second=size, first_root=tree.get_root(first), second_root=root, proof=ours)
