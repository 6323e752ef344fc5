"""Property tests (hypothesis) for the audit log's Merkle proofs: every honest proof verifies, and any single-bit
change to a proof, leaf hash, index, size or root makes verification raise ProofError.

A size needs care. The root hash does not commit to the tree size (see test_a_root_hash_alone_does_not_fix_the_size
in test_merkle.py), so a changed size is checked against the genuine root of the tree of that size, as a
signed tree head would pair them; sizes past the generated leaves have a taller tree than any path here can
climb, so they must fail against the original root as well."""

from __future__ import annotations

import contextlib
import hashlib
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.audit import (
    MerkleLog,
    ProofError,
    consistency_proof,
    inclusion_proof,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from mamori.errors import MamoriError

MAX_SIZE = 160
# Twice the largest size: a size whose bits are flipped below its top bit stays under this, so its genuine
# root is known.
LEAVES = [hashlib.sha256(f"mamori property leaf {i}".encode()).digest() for i in range(2 * MAX_SIZE + 2)]


@cache
def root(size: int) -> bytes:
    return root_hash(LEAVES, size)


def flip(value: bytes, bit: int) -> bytes:
    data = bytearray(value)
    data[bit // 8] ^= 1 << (bit % 8)
    return bytes(data)


def root_for(size: int, fallback: bytes) -> bytes:
    """The genuine root of ``size`` when the leaves reach it; else the fallback (such sizes fail on height)."""
    return root(size) if 0 <= size <= len(LEAVES) else fallback


@settings(max_examples=40, deadline=None)
@given(size=st.integers(1, MAX_SIZE), seed=st.binary(min_size=1, max_size=8))
def test_every_inclusion_proof_of_every_leaf_verifies(size: int, seed: bytes) -> None:
    leaves = [hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(size)]
    log = MerkleLog.from_leaf_hashes(leaves)
    tree_root = log.root()
    assert tree_root == root_hash(leaves)
    for index in range(size):
        verify_inclusion(leaves[index], index=index, size=size, proof=inclusion_proof(leaves, index), root=tree_root)


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(1, MAX_SIZE),
    data=st.data(),
    target=st.sampled_from(["proof", "leaf", "root", "index", "size"]),
)
def test_any_single_bit_change_to_an_inclusion_check_fails(size: int, data: st.DataObject, target: str) -> None:
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = list(inclusion_proof(LEAVES, index, size))
    args: dict[str, Any] = {"index": index, "size": size, "proof": proof, "root": root(size)}
    leaf = LEAVES[index]
    verify_inclusion(leaf, **args)
    if target == "proof":
        if not proof:
            return  # the one-leaf tree's proof is empty: nothing to flip
        j = data.draw(st.integers(0, len(proof) - 1), label="element")
        proof[j] = flip(proof[j], data.draw(st.integers(0, 255), label="bit"))
    elif target == "leaf":
        leaf = flip(leaf, data.draw(st.integers(0, 255), label="bit"))
    elif target == "root":
        args["root"] = flip(args["root"], data.draw(st.integers(0, 255), label="bit"))
    elif target == "index":
        args["index"] = index ^ (1 << data.draw(st.integers(0, 63), label="bit"))
    else:
        args["size"] = size ^ (1 << data.draw(st.integers(0, 63), label="bit"))
        args["root"] = root_for(args["size"], args["root"])
    with pytest.raises(ProofError):
        verify_inclusion(leaf, **args)


@settings(max_examples=200, deadline=None)
@given(second=st.integers(0, MAX_SIZE), data=st.data())
def test_consistency_proofs_between_any_sizes_verify(second: int, data: st.DataObject) -> None:
    first = data.draw(st.integers(0, second), label="first")
    proof = consistency_proof(LEAVES, first, second)
    verify_consistency(first=first, second=second, first_root=root(first), second_root=root(second), proof=proof)


@settings(max_examples=300, deadline=None)
@given(
    second=st.integers(2, MAX_SIZE),
    data=st.data(),
    target=st.sampled_from(["proof", "first_root", "second_root", "first", "second"]),
)
def test_any_single_bit_change_to_a_consistency_check_fails(second: int, data: st.DataObject, target: str) -> None:
    first = data.draw(st.integers(1, second - 1), label="first")  # a non-trivial proof, as upstream tampers
    proof = list(consistency_proof(LEAVES, first, second))
    args: dict[str, Any] = {
        "first": first,
        "second": second,
        "first_root": root(first),
        "second_root": root(second),
        "proof": proof,
    }
    verify_consistency(**args)
    bit = data.draw(st.integers(0, 255), label="bit")
    if target == "proof":
        j = data.draw(st.integers(0, len(proof) - 1), label="element")
        proof[j] = flip(proof[j], bit)
    elif target in ("first_root", "second_root"):
        args[target] = flip(args[target], bit)
    else:
        changed = args[target] ^ (1 << (bit % 64))
        args[target] = changed
        args[f"{target}_root"] = root_for(changed, args[f"{target}_root"])
    with pytest.raises(ProofError):
        verify_consistency(**args)


_ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.binary(max_size=40),
    st.text(max_size=40),
    st.lists(st.binary(min_size=0, max_size=33), max_size=70),
)


@settings(max_examples=300, deadline=None)
@given(leaf=_ANYTHING, index=_ANYTHING, size=_ANYTHING, proof=_ANYTHING, root_value=_ANYTHING)
def test_arbitrary_input_to_verification_only_raises_proof_error(
    leaf: Any, index: Any, size: Any, proof: Any, root_value: Any
) -> None:
    # Passing is allowed (random hashes can form a valid one-leaf or empty case); any other exception is not.
    with contextlib.suppress(ProofError):
        verify_inclusion(leaf, index=index, size=size, proof=proof, root=root_value)
    with contextlib.suppress(ProofError):
        verify_consistency(first=index, second=size, first_root=leaf, second_root=root_value, proof=proof)


@settings(max_examples=200, deadline=None)
@given(leaf_hashes=_ANYTHING, index=_ANYTHING, size=_ANYTHING)
def test_arbitrary_input_to_generation_only_raises_mamori_error(leaf_hashes: Any, index: Any, size: Any) -> None:
    for call in (
        lambda: inclusion_proof(leaf_hashes, index, size),
        lambda: consistency_proof(leaf_hashes, index, size),
        lambda: root_hash(leaf_hashes, size),
        lambda: MerkleLog().append(leaf_hashes),
    ):
        with contextlib.suppress(MamoriError):
            call()
