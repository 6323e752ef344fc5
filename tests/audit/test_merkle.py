"""RFC 9162 Merkle hashing and proofs against the Certificate Transparency reference vectors
(tests/vectors/audit/rfc6962_vectors.json, with provenance), the RFC's recursive definitions transcribed here a
second time, and the upstream tampering probes. Tampering with entries, error codes and the pymerkle differential
are in test_log_integrity.py; hypothesis properties in test_merkle_properties.py."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from mamori.audit import (
    EMPTY_ROOT,
    AuditInputError,
    MerkleLog,
    ProofError,
    consistency_path_ranges,
    consistency_proof,
    inclusion_path_ranges,
    inclusion_proof,
    leaf_hash,
    merkle_tree_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "audit" / "rfc6962_vectors.json").read_text(encoding="utf-8")
)
INPUTS = [bytes.fromhex(h) for h in VECTORS["leaf_inputs"]]
LEAVES = [leaf_hash(entry) for entry in INPUTS]
ROOTS = [bytes.fromhex(h) for h in VECTORS["roots"]]
SOME_HASH = bytes.fromhex(VECTORS["some_hash"])


def hx(values: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def synthetic_leaves(count: int, label: str = "mamori audit test") -> list[bytes]:
    return [hashlib.sha256(f"{label} {i}".encode()).digest() for i in range(count)]


# --- RFC 9162 §2.1 transcribed literally (slices and recursion), independent of the module's unrolled code ---


def _ref_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _ref_k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(leaves: Sequence[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _ref_k(len(leaves))
    return _ref_node(ref_mth(leaves[:k]), ref_mth(leaves[k:]))


def ref_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _ref_k(len(leaves))
    if m < k:
        return [*ref_path(m, leaves[:k]), ref_mth(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [ref_mth(leaves)]
    k = _ref_k(n)
    if m <= k:
        return [*ref_subproof(m, leaves[:k], b), ref_mth(leaves[k:])]
    return [*ref_subproof(m - k, leaves[k:], False), ref_mth(leaves[:k])]


def node_range(level: int, index: int) -> tuple[int, int]:
    return index << level, (index + 1) << level


def layout_ranges(case: dict[str, Any]) -> list[tuple[int, int]]:
    """Upstream node ids to RFC path ranges: a rehashed run of ids is one right-edge node spanning them all."""
    ranges = [node_range(level, index) for level, index in case["ids"]]
    if case["rehash"]:
        begin, end = case["rehash"]
        run = ranges[begin:end]
        ranges[begin:end] = [(min(s for s, _ in run), max(e for _, e in run))]
    return ranges


# --- reference vectors ---


def test_hasher_known_answers() -> None:
    hasher = VECTORS["hasher"]
    assert EMPTY_ROOT.hex() == hasher["empty_root"] == merkle_tree_hash([]).hex() == root_hash([]).hex()
    for case in hasher["leaf_hashes"]:
        assert leaf_hash(bytes.fromhex(case["input"])).hex() == case["hash"]
    for case in hasher["node_hashes"]:
        assert node_hash(bytes.fromhex(case["left"]), bytes.fromhex(case["right"])).hex() == case["hash"]
    # The empty tree's hash is not the hash of an empty leaf (RFC 9162 §2.1.1).
    assert leaf_hash(b"") != EMPTY_ROOT


def test_every_complete_subtree_of_the_reference_tree() -> None:
    for level, hashes in enumerate(VECTORS["node_hashes"]):
        for index, expected in enumerate(hashes):
            start, end = node_range(level, index)
            assert root_hash(LEAVES[start:end]).hex() == expected, (level, index)


def test_root_of_every_size_of_the_reference_tree() -> None:
    log = MerkleLog()
    assert log.root() == ROOTS[0]
    for size, expected in enumerate(ROOTS):
        assert root_hash(LEAVES, size) == expected
        assert merkle_tree_hash(INPUTS[:size]) == expected
        assert ref_mth(LEAVES[:size]) == expected
        if size:
            log.append_entry(INPUTS[size - 1])
            assert log.root() == expected


def test_frontier_is_the_reference_compact_range() -> None:
    nodes = VECTORS["node_hashes"]
    for size, ids in enumerate(VECTORS["compact_ranges"]):
        log = MerkleLog.from_leaf_hashes(LEAVES[:size])
        assert [h.hex() for h in log.frontier] == [nodes[level][index] for level, index in ids]


def test_inclusion_proof_vectors_and_upstream_probes() -> None:
    for case in VECTORS["inclusion_proofs"]:
        index, size, path = case["leaf_index"], case["tree_size"], hx(case["path"])
        assert list(inclusion_proof(LEAVES, index, size)) == path
        verify_inclusion(LEAVES[index], index=index, size=size, proof=path, root=ROOTS[size])
        for name, probe in inclusion_probes(LEAVES[index], index, size, path, ROOTS[size]):
            with pytest.raises(ProofError, match="AUDIT_PROOF_INVALID"):
                probe()
            assert name


def test_consistency_proof_vectors_and_upstream_probes() -> None:
    for case in VECTORS["consistency_proofs"]:
        first, second, proof = case["first"], case["second"], hx(case["proof"])
        assert list(consistency_proof(LEAVES, first, second)) == proof
        verify_consistency(first=first, second=second, first_root=ROOTS[first], second_root=ROOTS[second], proof=proof)
        if proof:  # upstream probes only non-trivial proofs, as an empty one has nothing to tamper with
            for name, probe in consistency_probes(first, second, ROOTS[first], ROOTS[second], proof):
                with pytest.raises(ProofError):
                    probe()
                assert name


def test_proof_layouts_match_upstream_node_ids() -> None:
    for case in VECTORS["inclusion_layouts"]:
        assert list(inclusion_path_ranges(case["leaf_index"], case["tree_size"])) == layout_ranges(case), case
    for size, index in VECTORS["inclusion_layout_errors"]:
        with pytest.raises(AuditInputError, match="AUDIT_RANGE_INVALID"):
            inclusion_path_ranges(index, size)
    for case in VECTORS["consistency_layouts"]:
        assert list(consistency_path_ranges(case["first"], case["second"])) == layout_ranges(case), case
    for first, second in VECTORS["consistency_layout_errors"]:
        with pytest.raises(AuditInputError, match="AUDIT_RANGE_INVALID"):
            consistency_path_ranges(first, second)


def test_upstream_consistency_edge_cases() -> None:
    for case in VECTORS["consistency_edge_cases"]:
        kwargs = {
            "first": case["first"],
            "second": case["second"],
            "first_root": bytes.fromhex(case["first_root"]),
            "second_root": bytes.fromhex(case["second_root"]),
            "proof": hx(case["proof"]),
        }
        assert case["mamori_error"]
        with pytest.raises(ProofError):
            verify_consistency(**kwargs)
    # What upstream accepts with placeholder roots, with well-formed 32-byte roots instead.
    verify_consistency(first=0, second=0, first_root=EMPTY_ROOT, second_root=EMPTY_ROOT, proof=[])
    verify_consistency(first=0, second=1, first_root=EMPTY_ROOT, second_root=SOME_HASH, proof=[])
    verify_consistency(first=1, second=1, first_root=SOME_HASH, second_root=SOME_HASH, proof=[])
    with pytest.raises(ProofError, match="first root"):  # stricter than upstream: a size-0 head has one root
        verify_consistency(first=0, second=1, first_root=SOME_HASH, second_root=SOME_HASH, proof=[])


def test_upstream_inclusion_edge_cases() -> None:
    edge = VECTORS["inclusion_edge_cases"]
    for index, size in edge["probes"]:
        for pair in edge["probe_pairs"]:
            with pytest.raises(ProofError):
                verify_inclusion(
                    bytes.fromhex(pair["leaf"]), index=index, size=size, proof=[], root=bytes.fromhex(pair["root"])
                )
    single = leaf_hash(bytes.fromhex(edge["single_entry_input"]))
    verify_inclusion(single, index=0, size=1, proof=[], root=single)
    for leaf, root in ((single, b""), (b"", single), (b"", b"")):
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index=0, size=1, proof=[], root=root)


# --- the upstream tampering probes (corruptInclusionProof / corruptConsistencyProof), as callables ---


def inclusion_probes(
    leaf: bytes, index: int, size: int, path: list[bytes], root: bytes
) -> list[tuple[str, Callable[[], None]]]:
    def probe(i: int = index, n: int = size, p: Sequence[bytes] = path, r: bytes = root, h: bytes = leaf) -> None:
        verify_inclusion(h, index=i, size=n, proof=p, root=r)

    probes: list[tuple[str, Callable[[], None]]] = [
        ("index - 1", lambda: probe(i=index - 1)),
        ("index + 1", lambda: probe(i=index + 1)),
        ("index ^ 2", lambda: probe(i=index ^ 2)),
        ("size * 2", lambda: probe(n=size * 2)),
        ("size // 2", lambda: probe(n=size // 2)),
        ("wrong leaf", lambda: probe(h=b"WrongLeaf")),
        ("empty root", lambda: probe(r=EMPTY_ROOT)),
        ("random root", lambda: probe(r=SOME_HASH)),
        ("trailing garbage", lambda: probe(p=[*path, b""])),
        ("trailing root", lambda: probe(p=[*path, root])),
        ("preceding garbage", lambda: probe(p=[b"", *path])),
        ("preceding root", lambda: probe(p=[root, *path])),
    ]
    for j in range(len(path)):
        flipped = list(path)
        flipped[j] = bytes([flipped[j][0] ^ 8]) + flipped[j][1:]
        probes.append((f"proof[{j}] bit 3", lambda p=flipped: probe(p=p)))  # type: ignore[misc]
    if path:
        probes.append(("removed component", lambda: probe(p=path[:-1])))
    if len(path) > 1:
        probes.append(("inserted component", lambda: probe(p=[path[0], SOME_HASH, *path[1:]])))
    return probes


def consistency_probes(
    first: int, second: int, root1: bytes, root2: bytes, proof: list[bytes]
) -> list[tuple[str, Callable[[], None]]]:
    def probe(
        m: int = first, n: int = second, r1: bytes = root1, r2: bytes = root2, p: Sequence[bytes] = proof
    ) -> None:
        verify_consistency(first=m, second=n, first_root=r1, second_root=r2, proof=p)

    probes: list[tuple[str, Callable[[], None]]] = [
        ("first - 1", lambda: probe(m=first - 1)),
        ("first + 1", lambda: probe(m=first + 1)),
        ("first ^ 2", lambda: probe(m=first ^ 2)),
        ("second * 2", lambda: probe(n=second * 2)),
        ("second // 2", lambda: probe(n=second // 2)),
        ("wrong root1", lambda: probe(r1=b"WrongRoot")),
        ("wrong root2", lambda: probe(r2=b"WrongRoot")),
        ("swapped roots", lambda: probe(r1=root2, r2=root1)),
        ("empty proof", lambda: probe(p=[])),
        ("trailing garbage", lambda: probe(p=[*proof, b""])),
        ("trailing root1", lambda: probe(p=[*proof, root1])),
        ("trailing root2", lambda: probe(p=[*proof, root2])),
        ("preceding garbage", lambda: probe(p=[b"", *proof])),
        ("preceding root1", lambda: probe(p=[root1, *proof])),
        ("preceding root2", lambda: probe(p=[root2, *proof])),
        ("preceding proof[0]", lambda: probe(p=[proof[0], *proof])),
        ("truncated proof", lambda: probe(p=proof[:-1])),
    ]
    for j in range(len(proof)):
        flipped = list(proof)
        flipped[j] = bytes([flipped[j][0] ^ 16]) + flipped[j][1:]
        probes.append((f"proof[{j}] bit 4", lambda p=flipped: probe(p=p)))  # type: ignore[misc]
    return probes


# --- the module against the RFC's recursive definitions ---


def test_incremental_root_equals_the_recursive_definition_for_every_size_up_to_300() -> None:
    leaves = synthetic_leaves(300)
    log = MerkleLog()
    for size in range(301):
        expected = ref_mth(leaves[:size])
        assert log.root() == expected == root_hash(leaves, size), size
        assert MerkleLog.from_frontier(size, log.frontier).root() == expected
        if size < 300:
            assert log.append(leaves[size]) == size
    assert log.size == 300


def test_every_inclusion_proof_equals_the_recursive_path_and_verifies() -> None:
    leaves = synthetic_leaves(64)
    for size in range(1, 65):
        root = ref_mth(leaves[:size])
        for index in range(size):
            proof = inclusion_proof(leaves, index, size)
            assert list(proof) == ref_path(index, leaves[:size]), (index, size)
            verify_inclusion(leaves[index], index=index, size=size, proof=proof, root=root)
            for name, probe in inclusion_probes(leaves[index], index, size, list(proof), root):
                with pytest.raises(ProofError):
                    probe()
                assert name


def test_every_consistency_proof_equals_the_recursive_proof_and_verifies() -> None:
    leaves = synthetic_leaves(70)
    roots = [ref_mth(leaves[:n]) for n in range(71)]
    longest = 0
    for second in range(71):
        for first in range(second + 1):
            proof = consistency_proof(leaves, first, second)
            expected = ref_subproof(first, leaves[:second], True) if first > 0 else []
            assert list(proof) == expected, (first, second)
            longest = max(longest, len(proof))
            verify_consistency(
                first=first, second=second, first_root=roots[first], second_root=roots[second], proof=proof
            )
            if proof and second < 40:
                for name, probe in consistency_probes(first, second, roots[first], roots[second], list(proof)):
                    with pytest.raises(ProofError):
                        probe()
                    assert name
    assert longest == 8  # ceil(log2 70) + 1: the RFC's bound is reached, so the walk is exercised to the top


def test_a_root_hash_alone_does_not_fix_the_size() -> None:
    """RFC 6962/9162 property the callers must respect (hence verify_entry_in_head): leaf 0's path in the tree
    of 5 is also a well-formed path for a tree of 6 with the same shape above it, so verifying it against
    (size 6, root of 5) passes. Against the real root of 6 it fails; a signed head fixes size and root together."""
    leaves = synthetic_leaves(6)
    proof = inclusion_proof(leaves, 0, 5)
    verify_inclusion(leaves[0], index=0, size=6, proof=proof, root=root_hash(leaves, 5))
    with pytest.raises(ProofError):
        verify_inclusion(leaves[0], index=0, size=6, proof=proof, root=root_hash(leaves, 6))
