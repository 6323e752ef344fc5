"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, inclusion and consistency proofs, and an
incremental log.

Hashing is RFC 9162 §2.1.1 with SHA-256: a leaf hashes as ``SHA-256(0x00 || entry)`` and an interior node as
``SHA-256(0x01 || left || right)``; the distinct prefixes stop a node being passed off as a leaf (second
preimage). The tree over ``n`` entries splits at the largest power of two smaller than ``n``, so its shape is
fixed by ``n`` alone and a tree of size ``m`` is a prefix of every later tree: that is what makes consistency
proofs possible. The empty tree's hash is ``SHA-256("")``.

Everything here works from *leaf hashes*, not entries, so that a store keeps one 32-byte hash per entry and
never has to re-read the entries to prove anything. Proof generation from leaf hashes costs O(n) hashing (the
proof's siblings summarise every other leaf). A store that wants O(log n) proofs can cache the hashes of
complete subtrees: :func:`inclusion_path_ranges` and :func:`consistency_path_ranges` say which leaf ranges a
proof needs, from the sizes alone. Verification follows the algorithms of §2.1.3.2 and §2.1.4.2 and never
returns a bool: it returns ``None`` or raises :class:`ProofError`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence

from mamori.errors import InputError, MamoriError

HASH_SIZE = 32
# RFC 9162 tree sizes and leaf indices are uint64; bounding them also bounds every verification loop.
MAX_TREE_SIZE = (1 << 64) - 1
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_sha256 = hashlib.sha256


class AuditError(MamoriError):
    """Root of the audit log's errors; raised as is when stored log state is corrupt (AUDIT_STATE_INVALID)."""


class AuditInputError(AuditError, InputError):
    """A caller asked for something that does not exist or passed a malformed hash (exit 2 at the CLI)."""


class ProofError(AuditError):
    """An inclusion or consistency proof does not verify: the log cannot show what is claimed. Deny."""

    def __init__(self, proof: str, reason: str) -> None:
        super().__init__("AUDIT_PROOF_INVALID", proof=proof, proof_ja=_PROOF_JA.get(proof, proof), reason=reason)


_PROOF_JA = {"inclusion": "包含", "consistency": "整合性"}


def leaf_hash(entry: bytes) -> bytes:
    """``SHA-256(0x00 || entry)``: the hash a leaf stores for one log entry (its canonical bytes)."""
    if not isinstance(entry, bytes):
        raise AuditInputError("AUDIT_ENTRY_INVALID", reason=f"an entry must be bytes, not {type(entry).__name__}")
    return _sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an interior node."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def merkle_tree_hash(entries: Iterable[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 §2.1.1 over the entries themselves (hashes each as a leaf first)."""
    return root_hash([leaf_hash(entry) for entry in _iterable(entries, "entries")])


def root_hash(leaf_hashes: Sequence[bytes], size: int | None = None) -> bytes:
    """MTH of the first ``size`` leaves (all of them by default), given their leaf hashes."""
    size = _prefix_size(leaf_hashes, size)
    _check_leaf_hashes(leaf_hashes, size)
    return _range_hash(leaf_hashes, 0, size) if size else EMPTY_ROOT


def inclusion_path_ranges(index: int, size: int) -> tuple[tuple[int, int], ...]:
    """The leaf ranges ``[start, end)`` whose tree hashes form PATH(index, D[size]), leaf side first.

    RFC 9162 §2.1.3.1: below a split ``k`` the path continues in the half holding the leaf and records the
    other half's hash; the recursion is unrolled here and reversed, because the path is read bottom-up.
    """
    _check_size(size, "tree size")
    if not (_is_uint(index) and index < size):
        raise AuditInputError("AUDIT_RANGE_INVALID", reason=f"leaf index {index!r} is not in a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        split = start + _split(end - start)
        if index < split:
            ranges.append((split, end))
            end = split
        else:
            ranges.append((start, split))
            start = split
    ranges.reverse()
    return tuple(ranges)


def consistency_path_ranges(first: int, second: int) -> tuple[tuple[int, int], ...]:
    """The leaf ranges whose tree hashes form PROOF(first, D[second]) of RFC 9162 §2.1.4.1.

    SUBPROOF(m, D[n], b) records the half that the old tree does not decide, and ends at the node whose hash
    equals the old tree's subtree; that node is recorded only when it is not the old root itself (``b`` is
    false once the recursion has gone right). ``first`` of 0 or equal to ``second`` needs no proof.
    """
    _check_size(second, "second tree size")
    if not (_is_uint(first) and first <= second):
        raise AuditInputError("AUDIT_RANGE_INVALID", reason=f"first size {first!r} is not within 0..{second}")
    if first in (0, second):
        return ()
    ranges: list[tuple[int, int]] = []
    start, m, n, old_root_is_node = 0, first, second, True
    while m != n:
        split = _split(n)
        if m <= split:
            ranges.append((start + split, start + n))
            n = split
        else:
            ranges.append((start, start + split))
            start, m, n, old_root_is_node = start + split, m - split, n - split, False
    if not old_root_is_node:
        ranges.append((start, start + n))
    ranges.reverse()
    return tuple(ranges)


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int | None = None) -> tuple[bytes, ...]:
    """PATH(index, D[size]) (RFC 9162 §2.1.3.1) from the log's leaf hashes; ``size`` defaults to all of them."""
    size = _prefix_size(leaf_hashes, size)
    ranges = inclusion_path_ranges(index, size)
    _check_leaf_hashes(leaf_hashes, size)
    return tuple(_range_hash(leaf_hashes, start, end) for start, end in ranges)


def consistency_proof(leaf_hashes: Sequence[bytes], first: int, second: int | None = None) -> tuple[bytes, ...]:
    """PROOF(first, D[second]) (RFC 9162 §2.1.4.1) from the log's leaf hashes; ``second`` defaults to all."""
    second = _prefix_size(leaf_hashes, second)
    ranges = consistency_path_ranges(first, second)
    _check_leaf_hashes(leaf_hashes, second)
    return tuple(_range_hash(leaf_hashes, start, end) for start, end in ranges)


def verify_inclusion(leaf_hash: bytes, *, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves whose hash is ``root``.

    The algorithm of RFC 9162 §2.1.3.2. ``fn`` walks the leaf's position up the tree and ``sn`` the last
    leaf's; where they meet (``fn == sn``) the leaf's subtree is the right edge, which may be promoted past
    levels without a sibling. Raises :class:`ProofError` unless the path is used up exactly (``sn == 0``)
    and reproduces ``root``. The root hash does not commit to the size: a path also fits any other size
    whose tree has the same shape along this leaf's path, so ``size`` and ``root`` must come from one signed
    tree head (:func:`mamori.audit.tree_head.verify_entry_in_head`).
    """
    _check_proof_sizes("inclusion", size, "tree size", index, "leaf index")
    if index >= size:
        raise ProofError("inclusion", f"leaf index {index} is not in a tree of size {size}")
    _check_proof_hashes("inclusion", proof, 64, leaf_hash, root)
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion", "the path is longer than the tree is high")
        if fn & 1 or fn == sn:
            r = _sha256(_NODE_PREFIX + p + r).digest()
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = _sha256(_NODE_PREFIX + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion", "the path is shorter than the tree is high")
    if not hmac.compare_digest(r, root):
        raise ProofError("inclusion", "the path does not lead to the root hash")


def verify_consistency(
    *, first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``second`` leaves with hash ``second_root`` extends the one of ``first`` leaves.

    The algorithm of RFC 9162 §2.1.4.2, for ``0 < first < second``: the proof is replayed twice, once
    rebuilding the old root (``fr``) from the nodes left of the old edge and once the new root (``sr``) from
    all of them. RFC 9162 defines no proof for the other sizes; here ``first == second`` needs an empty proof
    and equal roots, and ``first == 0`` an empty proof and ``first_root`` equal to the empty tree's hash
    (stricter than libraries that ignore the old root then: a size-0 head with any other root is corrupt).
    Raises :class:`ProofError` on any failure.
    """
    _check_proof_sizes("consistency", second, "second tree size", first, "first tree size")
    if first > second:
        raise ProofError("consistency", f"the first tree ({first}) is larger than the second ({second})")
    _check_proof_hashes("consistency", proof, 65, first_root, second_root)
    if first in (0, second):
        if proof:
            raise ProofError("consistency", f"a proof from size {first} to {second} must be empty")
        expected = EMPTY_ROOT if first == 0 else second_root
        if not hmac.compare_digest(first_root, expected):
            raise ProofError("consistency", "the first root hash does not match")
        return
    if not proof:
        raise ProofError("consistency", "the proof is empty")
    path = list(proof)
    # Step 2: an old tree of 2**k leaves is one complete node of the new tree, and the proof leaves it out.
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency", "the proof is longer than the trees need")
        if fn & 1 or fn == sn:
            fr = _sha256(_NODE_PREFIX + c + fr).digest()
            sr = _sha256(_NODE_PREFIX + c + sr).digest()
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = _sha256(_NODE_PREFIX + sr + c).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency", "the proof is shorter than the trees need")
    if not hmac.compare_digest(fr, first_root):
        raise ProofError("consistency", "the proof does not lead to the first root hash")
    if not hmac.compare_digest(sr, second_root):
        raise ProofError("consistency", "the proof does not lead to the second root hash")


class MerkleLog:
    """An append-only Merkle tree that keeps only its right edge (the "compact range" or frontier).

    The frontier holds one hash per set bit of the size: the roots of the complete subtrees that the tree's
    leaves decompose into, largest (leftmost) first. Appending merges equal-sized subtrees like a binary
    counter carrying (amortised one hash per append, at most log2(n)); the root folds the frontier from the
    right, which is exactly RFC 9162's split at the largest power of two, in O(log n) hashes. Memory is
    O(log n): the leaf hashes themselves belong to the store, which can restore a log with
    :meth:`from_frontier`.
    """

    __slots__ = ("_frontier", "_size")

    def __init__(self) -> None:
        self._frontier: list[bytes] = []
        self._size = 0

    @classmethod
    def from_frontier(cls, size: int, frontier: Sequence[bytes]) -> MerkleLog:
        """Restore a log of ``size`` leaves from its :attr:`frontier`; a frontier that cannot be one is corrupt."""
        if not _is_uint(size):
            raise AuditError("AUDIT_STATE_INVALID", reason=f"size {size!r} is not a tree size")
        if isinstance(frontier, bytes | str) or not isinstance(frontier, Sequence):
            raise AuditError("AUDIT_STATE_INVALID", reason="the frontier is not a sequence of hashes")
        if len(frontier) != size.bit_count():
            raise AuditError(
                "AUDIT_STATE_INVALID",
                reason=f"a tree of size {size} has {size.bit_count()} frontier hashes, not {len(frontier)}",
            )
        if not all(type(h) is bytes and len(h) == HASH_SIZE for h in frontier):
            raise AuditError("AUDIT_STATE_INVALID", reason="a frontier hash is not 32 bytes")
        log = cls()
        log._frontier = list(frontier)
        log._size = size
        return log

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Iterable[bytes]) -> MerkleLog:
        log = cls()
        log.extend(leaf_hashes)
        return log

    @property
    def size(self) -> int:
        return self._size

    @property
    def frontier(self) -> tuple[bytes, ...]:
        """The complete-subtree roots along the right edge, largest first: all a store needs to keep appending."""
        return tuple(self._frontier)

    def append(self, leaf_hash: bytes) -> int:
        """Append one leaf hash; returns its index."""
        if type(leaf_hash) is not bytes or len(leaf_hash) != HASH_SIZE:
            raise AuditInputError("AUDIT_ENTRY_INVALID", reason="a leaf hash must be 32 bytes")
        frontier = self._frontier
        node = leaf_hash
        carry = self._size
        # Each trailing 1 bit of the old size is a complete subtree of the same height as ``node``: merge.
        while carry & 1:
            node = _sha256(_NODE_PREFIX + frontier.pop() + node).digest()
            carry >>= 1
        frontier.append(node)
        self._size += 1
        return self._size - 1

    def append_entry(self, entry: bytes) -> int:
        """Hash ``entry`` as a leaf (:func:`leaf_hash`) and append it; returns its index."""
        return self.append(leaf_hash(entry))

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        for h in _iterable(leaf_hashes, "leaf hashes"):
            self.append(h)

    def root(self) -> bytes:
        """MTH of every leaf appended so far, in O(log n) hashes."""
        frontier = self._frontier
        if not frontier:
            return EMPTY_ROOT
        r = frontier[-1]
        for h in reversed(frontier[:-1]):
            r = _sha256(_NODE_PREFIX + h + r).digest()
        return r


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2): where RFC 9162 splits a tree of n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_hash(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH(D[start:end]) for ``end > start``.

    Unrolling the recursion, the range splits into complete subtrees sized by the bits of its length, largest
    first (each left part of a split is a complete subtree); those hash bottom-up with no odd node left over,
    and fold from the right as the recursion would.
    """
    parts: list[bytes] = []
    pos, remaining = start, end - start
    while remaining:
        width = 1 << (remaining.bit_length() - 1)
        level = list(leaves[pos : pos + width])
        while len(level) > 1:
            pairs = iter(level)
            level = [_sha256(_NODE_PREFIX + left + right).digest() for left, right in zip(pairs, pairs, strict=True)]
        parts.append(level[0])
        pos += width
        remaining -= width
    r = parts[-1]
    for h in reversed(parts[:-1]):
        r = _sha256(_NODE_PREFIX + h + r).digest()
    return r


def _prefix_size(leaf_hashes: Sequence[bytes], size: int | None) -> int:
    if isinstance(leaf_hashes, bytes | str) or not isinstance(leaf_hashes, Sequence):
        raise AuditInputError("AUDIT_ENTRY_INVALID", reason="leaf hashes must be a sequence of 32-byte hashes")
    if size is None:
        return len(leaf_hashes)
    _check_size(size, "tree size")
    if size > len(leaf_hashes):
        raise AuditInputError("AUDIT_RANGE_INVALID", reason=f"tree size {size} exceeds the {len(leaf_hashes)} leaves")
    return size


def _iterable(values: Iterable[bytes], what: str) -> Iterable[bytes]:
    if isinstance(values, bytes | str) or not isinstance(values, Iterable):
        raise AuditInputError("AUDIT_ENTRY_INVALID", reason=f"{what} must be an iterable of bytes")
    return values


def _is_uint(value: object) -> bool:
    """An unsigned 64-bit integer; ``bool`` is excluded, since True would silently mean leaf 1."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TREE_SIZE


def _check_size(size: object, what: str) -> None:
    if not _is_uint(size):
        raise AuditInputError("AUDIT_RANGE_INVALID", reason=f"{what} {size!r} is not an integer in 0..2**64-1")


def _check_leaf_hashes(leaf_hashes: Sequence[bytes], size: int) -> None:
    # map() keeps the check at C speed (about a tenth of hashing the leaves), and a wrong-length "hash"
    # would otherwise hash silently into a root that no honest log can reproduce.
    prefix = leaf_hashes[:size]
    if size and (set(map(type, prefix)) != {bytes} or set(map(len, prefix)) != {HASH_SIZE}):
        raise AuditInputError("AUDIT_ENTRY_INVALID", reason="every leaf hash must be 32 bytes")


def _check_proof_sizes(proof: str, size: object, size_name: str, other: object, other_name: str) -> None:
    for value, name in ((size, size_name), (other, other_name)):
        if not _is_uint(value):
            raise ProofError(proof, f"{name} {value!r} is not an integer in 0..2**64-1")


def _check_proof_hashes(proof: str, path: Sequence[bytes], limit: int, *hashes: bytes) -> None:
    if isinstance(path, bytes | str) or not isinstance(path, Sequence):
        raise ProofError(proof, "the proof must be a sequence of hashes")
    # Checked before anything is copied or hashed: each proof hash moves the walk up at least one level of a
    # tree of at most 2**64 leaves (plus, for consistency, the starting node).
    if len(path) > limit:
        raise ProofError(proof, f"the proof has {len(path)} hashes; no tree of 2**64 leaves needs more than {limit}")
    for h in (*hashes, *path):
        if type(h) is not bytes or len(h) != HASH_SIZE:
            raise ProofError(proof, "every hash must be 32 bytes")
