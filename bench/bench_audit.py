"""Benchmark: the audit log's Merkle core — appends, roots, proofs — against named peers in the same run.

    .venv/bin/python bench/bench_audit.py [--count 1000000] [--recursive-count 2000] [--proofs 20] [--no-pymerkle]

Input: ``--count`` deterministic entries ``b"mamori bench entry <i>"`` (and their RFC 9162 leaf hashes).
Measured, in one run:
  appends   MerkleLog.append of leaf hashes (frontier only, O(log n) memory), with and without a root after each
            append; MerkleLog.append_entry (leaf hashing included) with a root after each append
  peers     pymerkle 7 InmemoryTree.append_entry + get_root (an independent RFC 9162-hashing tree that keeps every
            node in memory), and the RFC 9162 §2.1.1 definition as written (recursive MTH recomputed after each
            append, the obvious way to re-derive a root) for ``--recursive-count`` appends
  proofs    inclusion and consistency proof generation from leaf hashes (O(n): the proof summarises every other
            leaf) and verification (O(log n)), at several tree sizes, against pymerkle's stored-tree proofs
Memory: RSS delta (Linux /proc/self/statm) across building each structure, after gc.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib
import os
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

from mamori.audit import (
    MerkleLog,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    gc.collect()
    with open("/proc/self/statm", encoding="ascii") as statm:  # noqa: PTH123  # one read of a proc file
        return int(statm.read().split()[1]) * PAGE


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def timed(function: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def row(label: str, per_second: float, peer: float | None = None) -> None:
    ratio = ""
    if peer:
        # A proof generated from leaf hashes can be thousands of times slower than a stored tree's: keep digits.
        ratio = f"   {per_second / peer:8.2f}x" if per_second >= peer / 100 else f"   {per_second / peer:8.1e}x"
    print(f"  {label:<66} {per_second:>13,.0f} /s{ratio}")


def recursive_mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 as written: split at the largest power of two smaller than n, recurse on slices."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + recursive_mth(leaves[:k]) + recursive_mth(leaves[k:])).digest()


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"benchmark aborted: {message}")


def mamori_appends(entries: list[bytes], leaves: list[bytes]) -> tuple[dict[str, float], bytes]:
    """Rates of the three MerkleLog append loops, and the root they agree on."""

    def append_only() -> MerkleLog:
        log = MerkleLog()
        append = log.append
        for h in leaves:
            append(h)
        return log

    def append_with_root() -> bytes:
        log = MerkleLog()
        append, root = log.append, log.root
        r = b""
        for h in leaves:
            append(h)
            r = root()
        return r

    def append_entry_with_root() -> bytes:
        log = MerkleLog()
        append, root = log.append_entry, log.root
        r = b""
        for e in entries:
            append(e)
            r = root()
        return r

    count = len(leaves)
    before = rss()
    log, seconds = timed(append_only)
    memory = rss() - before
    rates = {"append": rate(count, seconds)}
    final_root, seconds = timed(append_with_root)
    rates["append+root"] = rate(count, seconds)
    entry_root, seconds = timed(append_entry_with_root)
    rates["entry+root"] = rate(count, seconds)
    check(final_root == entry_root == log.root(), "the append loops disagree")
    _, seconds = timed(lambda: root_hash(leaves))
    print(f"  root_hash of all {count:,} leaf hashes at once: {seconds:.2f} s")
    print(f"  memory: MerkleLog {memory / 2**20:,.1f} MiB ({len(log.frontier)} frontier hashes)")
    return rates, final_root


def pymerkle_appends(pymerkle: Any, entries: list[bytes], expected_root: bytes) -> float:
    def peer() -> tuple[bytes, Any]:
        tree = pymerkle.InmemoryTree(algorithm="sha256")
        append, root = tree.append_entry, tree.get_root
        r = b""
        for e in entries:
            append(e)
            r = root()
        return r, tree

    before = rss()
    (peer_root, tree), seconds = timed(peer)
    memory = rss() - before
    check(peer_root == expected_root, "pymerkle disagrees with mamori")
    del tree
    print(f"  memory: pymerkle InmemoryTree {memory / 2**20:,.1f} MiB")
    return rate(len(entries), seconds)


def recursive_appends(leaves: list[bytes]) -> float:
    def peer() -> bytes:
        r = b""
        for n in range(1, len(leaves) + 1):
            r = recursive_mth(leaves[:n])
        return r

    recursive_root, seconds = timed(peer)
    check(recursive_root == root_hash(leaves), "the recursive definition disagrees with mamori")
    return rate(len(leaves), seconds)


def bench_appends(entries: list[bytes], leaves: list[bytes], recursive_count: int, pymerkle: Any) -> None:
    print(f"\nappends of {len(leaves):,} entries")
    rates, final_root = mamori_appends(entries, leaves)
    recursive_rate = recursive_appends(leaves[:recursive_count])
    peer_rate = pymerkle_appends(pymerkle, entries, final_root) if pymerkle is not None else None
    if peer_rate:
        row("peer: pymerkle 7 InmemoryTree.append_entry + get_root", peer_rate, peer_rate)
    row(f"peer: recursive MTH recomputed per append ({recursive_count:,} appends)", recursive_rate, recursive_rate)
    baseline = peer_rate or recursive_rate
    row("mamori MerkleLog.append_entry + root (leaf hashing included)", rates["entry+root"], baseline)
    row("mamori MerkleLog.append + root (leaf hash given)", rates["append+root"], baseline)
    row("mamori MerkleLog.append only", rates["append"], baseline)
    print(f"  mamori append + root vs the recursive definition: {rates['append+root'] / recursive_rate:,.0f}x")


def proofs_at(size: int, entries: list[bytes], leaves: list[bytes], proofs: int, pymerkle: Any) -> None:
    print(f"\nproofs in a tree of {size:,} leaves ({proofs} of each kind, spread over the log)")
    prefix = leaves[:size]
    root = root_hash(prefix)
    indices = [(i * 7_919 + 13) % size for i in range(proofs)]
    firsts = [max(1, (i * 104_729 + 7) % size) for i in range(proofs)]
    first_roots = {first: MerkleLog.from_leaf_hashes(prefix[:first]).root() for first in firsts}
    repeat = max(1, 20_000 // proofs)

    paths, seconds = timed(lambda: [inclusion_proof(prefix, i) for i in indices])
    mamori = {"ig": rate(proofs, seconds)}
    cons, seconds = timed(lambda: [consistency_proof(prefix, f) for f in firsts])
    mamori["cg"] = rate(proofs, seconds)

    def verify_all_inclusion() -> None:
        for _ in range(repeat):
            for i, path in zip(indices, paths, strict=True):
                verify_inclusion(prefix[i], index=i, size=size, proof=path, root=root)

    def verify_all_consistency() -> None:
        for _ in range(repeat):
            for f, proof in zip(firsts, cons, strict=True):
                verify_consistency(first=f, second=size, first_root=first_roots[f], second_root=root, proof=proof)

    _, seconds = timed(verify_all_inclusion)
    mamori["iv"] = rate(proofs * repeat, seconds)
    _, seconds = timed(verify_all_consistency)
    mamori["cv"] = rate(proofs * repeat, seconds)

    peers: dict[str, float] = {}
    if pymerkle is not None:
        tree = pymerkle.InmemoryTree.init_from_entries(entries[:size], algorithm="sha256")
        theirs, seconds = timed(lambda: [tree.prove_inclusion(i + 1) for i in indices])
        peers["ig"] = rate(proofs, seconds)
        theirs_c, seconds = timed(lambda: [tree.prove_consistency(f) for f in firsts])
        peers["cg"] = rate(proofs, seconds)

        def peer_verify_inclusion() -> None:
            for _ in range(repeat):
                for i, proof in zip(indices, theirs, strict=True):
                    pymerkle.verify_inclusion(prefix[i], root, proof)

        def peer_verify_consistency() -> None:
            for _ in range(repeat):
                for f, proof in zip(firsts, theirs_c, strict=True):
                    pymerkle.verify_consistency(first_roots[f], root, proof)

        _, seconds = timed(peer_verify_inclusion)
        peers["iv"] = rate(proofs * repeat, seconds)
        _, seconds = timed(peer_verify_consistency)
        peers["cv"] = rate(proofs * repeat, seconds)
        del tree
    labels = {
        "ig": ("pymerkle prove_inclusion (stored tree)", "mamori inclusion_proof from leaf hashes"),
        "cg": ("pymerkle prove_consistency (stored tree)", "mamori consistency_proof from leaf hashes"),
        "iv": ("pymerkle verify_inclusion", "mamori verify_inclusion (RFC 9162 §2.1.3.2)"),
        "cv": ("pymerkle verify_consistency", "mamori verify_consistency (RFC 9162 §2.1.4.2)"),
    }
    for key, (peer_label, mamori_label) in labels.items():
        if key in peers:
            row(f"peer: {peer_label}", peers[key], peers[key])
        row(mamori_label, mamori[key], peers.get(key))


def bench_proofs(entries: list[bytes], leaves: list[bytes], proofs: int, pymerkle: Any) -> None:
    for size in sorted({size for size in (1_000, 65_537, len(leaves)) if size <= len(leaves)}):
        proofs_at(size, entries, leaves, proofs, pymerkle)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--recursive-count", type=int, default=2_000)
    parser.add_argument("--proofs", type=int, default=20)
    parser.add_argument("--no-pymerkle", action="store_true", help="skip the pymerkle peer")
    arguments = parser.parse_args()
    pymerkle: Any = None
    if not arguments.no_pymerkle:
        try:
            pymerkle = importlib.import_module("pymerkle")  # a dev-only peer: imported by name, untyped
        except ImportError:
            print("pymerkle is not installed (pip install pymerkle): its rows are left out")
        else:
            warnings.simplefilter("ignore", DeprecationWarning)
            print(f"peer: pymerkle {pymerkle.__version__}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    entries = [f"mamori bench entry {i}".encode() for i in range(arguments.count)]
    leaves = [leaf_hash(entry) for entry in entries]
    bench_appends(entries, leaves, arguments.recursive_count, pymerkle)
    bench_proofs(entries, leaves, arguments.proofs, pymerkle)


if __name__ == "__main__":
    main()
