"""The durable audit log: entries, the hashes of the Merkle tree's complete subtrees, and signed tree heads.

Every method runs on the caller's connection (or session) and inside the caller's transaction, so an entry
is committed, or rolled back, together with the change it records. :meth:`AuditLog.append` writes the entry,
its leaf hash and every subtree it completes; nothing is ever updated or deleted. Appends are serialised:
on PostgreSQL with a transaction-scoped advisory lock, on SQLite by the write lock that
:func:`mamori.store.database.create_engine` takes at ``BEGIN IMMEDIATE``.

A subtree is the ``2**level`` leaves from leaf ``index << level`` on (level 0 holds the leaf hashes again).
Every node an RFC 9162 proof needs is a union of at most log2(n) such subtrees, so roots and proofs read
O(log² n) stored hashes in one query and never the entries; :meth:`AuditLog.verify_all` reads everything.

An entry's leaf is ``leaf_hash`` of its canonical JSON document ``{"at": …, "data": …, "kind": …}`` (sorted
keys, no spaces; ``at`` is the UTC time to the microsecond), built from the stored columns byte for byte.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, Table, and_, bindparam, func, insert, or_, select, text, tuple_
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.orm import Session

from mamori.audit.merkle import (
    EMPTY_ROOT,
    AuditError,
    AuditInputError,
    MerkleLog,
    consistency_path_ranges,
    inclusion_path_ranges,
    leaf_hash,
    node_hash,
    verify_inclusion,
)
from mamori.audit.tree_head import SignedTreeHead, TreeHead, TreeHeadError, sign_tree_head, verify_tree_head
from mamori.store.bulk import insert_rows
from mamori.store.direct import Prepared, run_all
from mamori.store.models import AuditEntry, AuditSubtree, AuditTreeHead

DEFAULT_LOG_ID = "mamori"
# pg_advisory_xact_lock key: "mamori-audit" folded into a signed 64-bit integer; any constant would do.
_PG_LOCK_KEY = int.from_bytes(b"mamoriAL", "big", signed=True)
_KIND = re.compile(r"[a-z][a-z0-9._-]{0,63}")
_QUERY_BATCH = 200
_Key = tuple[int, int]  # (level, index) of a complete subtree


_ENTRIES = AuditEntry.__table__.c
_SUBTREES = AuditSubtree.__table__.c
_LAST_ENTRY = select(_ENTRIES.seq, _ENTRIES.created_at).order_by(_ENTRIES.seq.desc()).limit(1)
_LAST_ENTRY_DIRECT = Prepared(_LAST_ENTRY)
_PG_LOCK_SQL = "SELECT pg_advisory_xact_lock(%(key)s)"
_SQLITE_DATETIME: Callable[[str], datetime] = sqlite_dialect.DATETIME().result_processor(  # type: ignore[assignment,no-untyped-call]
    sqlite_dialect.dialect(), None
)
_SUBTREES_IN = select(_SUBTREES.level, _SUBTREES.idx, _SUBTREES.hash).where(
    tuple_(_SUBTREES.level, _SUBTREES.idx).in_(bindparam("keys", expanding=True))
)
_INSERT_ENTRY = insert(AuditEntry.__table__)  # type: ignore[arg-type]
_INSERT_SUBTREE = insert(AuditSubtree.__table__)  # type: ignore[arg-type]
_ENTRY_TABLE = cast(Table, AuditEntry.__table__)
_SUBTREE_TABLE = cast(Table, AuditSubtree.__table__)


class AuditTamperError(AuditError):
    """``verify_all`` found an entry (or a stored hash, or a signed head) that the log did not write."""

    def __init__(self, seq: int | str, reason: str) -> None:
        super().__init__("AUDIT_LOG_TAMPERED", seq=seq, reason=reason)
        self.seq = seq
        self.reason = reason


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """Leaf ``index`` with ``leaf_hash`` is in the tree of ``tree_size`` leaves with ``root_hash``."""

    leaf_hash: bytes
    index: int
    tree_size: int
    root_hash: bytes
    path: tuple[bytes, ...]
    entry: bytes  # the canonical entry document: leaf_hash(entry) == leaf_hash

    def verify(self) -> None:
        """Raise :class:`~mamori.audit.merkle.ProofError` unless the proof holds."""
        verify_inclusion(self.leaf_hash, index=self.index, size=self.tree_size, proof=self.path, root=self.root_hash)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash.hex(),
            "root_hash": self.root_hash.hex(),
            "path": [h.hex() for h in self.path],
            "entry": self.entry.decode(),
        }


@dataclass(frozen=True, slots=True)
class VerifyReport:
    tree_size: int
    root_hash: bytes
    heads_checked: int


def entry_document(kind: str, created_at: datetime, payload: bytes) -> bytes:
    """The bytes a leaf hashes: canonical JSON of the entry, with the stored payload bytes as they are."""
    at = _utc(created_at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return b'{"at":' + orjson.dumps(at) + b',"data":' + payload + b',"kind":' + orjson.dumps(kind) + b"}"


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8; integers of any size (wei amounts), finite floats, string keys only."""
    _check_json(payload, 0)
    try:
        text_ = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise AuditInputError("AUDIT_ENTRY_INVALID", reason=f"the payload is not JSON: {exc}") from exc
    return text_.encode()


def _check_json(value: object, depth: int) -> None:
    if depth > 64:
        raise AuditInputError("AUDIT_ENTRY_INVALID", reason="the payload is nested too deeply")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if type(key) is not str:
                raise AuditInputError("AUDIT_ENTRY_INVALID", reason=f"payload key {key!r} is not a string")
            _check_json(item, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_json(item, depth + 1)
    elif not (value is None or isinstance(value, str | int | float)):
        raise AuditInputError("AUDIT_ENTRY_INVALID", reason=f"a {type(value).__name__} is not JSON")


class AuditLog:
    """The audit log stored in the database behind ``db`` (a SQLAlchemy Connection or Session)."""

    def __init__(self, db: Connection | Session, *, log_id: str = DEFAULT_LOG_ID) -> None:
        self._db = db
        self.log_id = log_id
        bind = db.get_bind() if isinstance(db, Session) else db
        self._dialect = bind.dialect.name

    # -- writing -------------------------------------------------------------------------------------------

    def append(self, kind: str, payload: Mapping[str, Any], *, now: datetime) -> tuple[int, bytes]:
        """Append one entry in the caller's transaction; returns its sequence number (leaf index) and leaf hash."""
        kind, data, created_at = _checked_entry(kind, payload, now)
        self._lock()
        seq = self.size()
        leaf = leaf_hash(entry_document(kind, created_at, data))
        # Each trailing 1 bit of the old size is a complete left sibling: merging with it completes a subtree.
        lefts = self._nodes([(level, (seq >> level) - 1) for level in range(_trailing_ones(seq))])
        rows = [{"level": 0, "idx": seq, "hash": leaf}]
        node, level, index = leaf, 0, seq
        while index & 1:
            node = node_hash(lefts[(level, index - 1)], node)
            level, index = level + 1, index >> 1
            rows.append({"level": level, "idx": index, "hash": node})
        self._db.execute(
            insert(AuditEntry).values(seq=seq, created_at=created_at, kind=kind, payload=data, leaf_hash=leaf)
        )
        self._db.execute(insert(AuditSubtree), rows)
        return seq, leaf

    def append_many(
        self,
        entries: Sequence[tuple[str, Mapping[str, Any], datetime]],
        *,
        start: int,
        frontier: Sequence[tuple[int, int, bytes]] | None = None,
    ) -> list[tuple[int, int, bytes]]:
        """Append ``entries`` (kind, payload, time) as entries ``start``, ``start + 1``, … in one write per table.

        For a caller that already holds the log's lock (:meth:`lock`) and read the size under it (``start``): the
        frontier of the tree is read once, every completed subtree computed here, and the rows inserted together.
        The entries, hashes and subtrees are exactly those :meth:`append` would write one by one.

        ``frontier`` — the (level, index, hash) of the complete subtrees of the first ``start`` entries, as the last
        call returned it — spares the read when the caller knows the log has not moved since. Returns the new one.
        """
        if not entries:
            return list(frontier) if frontier is not None else self.frontier(start)
        documents = [_checked_entry(kind, payload, now) for kind, payload, now in entries]
        stack = list(frontier) if frontier is not None else self.frontier(start)
        entry_rows: list[dict[str, Any]] = []
        subtree_rows: list[dict[str, Any]] = []
        for offset, (kind, data, created_at) in enumerate(documents):
            seq = start + offset
            leaf = leaf_hash(entry_document(kind, created_at, data))
            entry_rows.append({"seq": seq, "created_at": created_at, "kind": kind, "payload": data, "leaf_hash": leaf})
            subtree_rows.append({"level": 0, "idx": seq, "hash": leaf})
            node, level, index = leaf, 0, seq
            while index & 1:
                left_level, left_index, left = stack.pop()
                if (left_level, left_index) != (level, index - 1):
                    raise AuditError("AUDIT_STATE_INVALID", reason=f"the frontier does not end next to entry {seq}")
                node = node_hash(left, node)
                level, index = level + 1, index >> 1
                subtree_rows.append({"level": level, "idx": index, "hash": node})
            stack.append((level, index, node))
        connection = self._db if isinstance(self._db, Connection) else self._db.connection()
        insert_rows(connection, _ENTRY_TABLE, entry_rows)
        insert_rows(connection, _SUBTREE_TABLE, subtree_rows)
        return stack

    def frontier(self, size: int) -> list[tuple[int, int, bytes]]:
        """The (level, index, hash) of the complete subtrees of the first ``size`` entries (for :meth:`append_many`)."""
        pieces = _pieces(0, size)
        if not pieces:
            return []
        found = {(r.level, r.idx): r.hash for r in self._db.execute(_SUBTREES_IN, {"keys": pieces})}
        missing = [key for key in pieces if key not in found]
        if missing:
            level, index = missing[0]
            raise AuditError("AUDIT_STATE_INVALID", reason=f"the hash of subtree {index} at level {level} is missing")
        return [(level, index, found[(level, index)]) for level, index in pieces]

    def last_entry(self) -> tuple[int, datetime | None]:
        """(size, time of the last entry) in one read: the next entry's sequence number and the log's clock."""
        row = self._db.execute(_LAST_ENTRY).first()
        if row is None:
            return 0, None
        return int(row.seq) + 1, _utc(row.created_at)

    def lock_and_last_entry(
        self, *, also: Sequence[tuple[str, Mapping[str, Any]]] = ()
    ) -> tuple[int, datetime | None, list[list[tuple[Any, ...]]]]:
        """:meth:`lock`, then :meth:`last_entry`, then the reads ``also`` (driver statements, store/direct.py) and
        their rows: on PostgreSQL all in one round trip (the server runs them in order, so every read happens
        under the lock), on the driver's cursor."""
        connection = self._db if isinstance(self._db, Connection) else self._db.connection()
        statements = [_LAST_ENTRY_DIRECT.bind(connection, {}), *also]
        if self._dialect == "postgresql":
            statements.insert(0, (_PG_LOCK_SQL, {"key": _PG_LOCK_KEY}))
        results = run_all(connection, statements)
        read = results[len(results) - len(also) :]
        rows = results[len(results) - len(also) - 1]
        if not rows:
            return 0, None, read
        seq, created_at = rows[0]
        if isinstance(created_at, str):  # SQLite: the text SQLAlchemy's DateTime stores, read back by its type
            created_at = _SQLITE_DATETIME(created_at)
        return int(seq) + 1, _utc(created_at), read

    def sign_head(self, private_key: Ed25519PrivateKey, *, now: datetime) -> SignedTreeHead:
        """Sign the current size and root, store the signed head, and return it."""
        size = self.size()
        signed = sign_tree_head(TreeHead.at(self.log_id, size, self.root(size), now=now), private_key)
        head = signed.head
        self._db.execute(
            insert(AuditTreeHead).values(
                log_id=head.log_id,
                tree_size=head.tree_size,
                root_hash=head.root_hash,
                timestamp_ms=head.timestamp_ms,
                signature=signed.signature,
                key_id=signed.key_id,
            )
        )
        return signed

    # -- reading -------------------------------------------------------------------------------------------

    def size(self) -> int:
        last = self._db.execute(select(func.max(AuditSubtree.idx)).where(AuditSubtree.level == 0)).scalar()
        return 0 if last is None else int(last) + 1

    def root(self, size: int | None = None) -> bytes:
        """The Merkle tree hash of the first ``size`` entries (all of them by default)."""
        size = self._resolve_size(size)
        pieces = _pieces(0, size)
        hashes = self._nodes(pieces)
        return MerkleLog.from_frontier(size, [hashes[k] for k in pieces]).root()

    def inclusion_proof(self, seq: int, *, size: int | None = None) -> InclusionProof:
        """Prove entry ``seq`` is in the tree of ``size`` entries (the current tree by default)."""
        size = self._resolve_size(size)
        ranges = inclusion_path_ranges(seq, size)
        path, root = self._hash_ranges(ranges, size, extra=[(0, seq)])
        row = self._db.execute(
            select(AuditEntry.kind, AuditEntry.created_at, AuditEntry.payload).where(AuditEntry.seq == seq)
        ).one_or_none()
        if row is None:
            raise AuditError("AUDIT_STATE_INVALID", reason=f"entry {seq} is missing")
        leaf = self._nodes([(0, seq)])[(0, seq)]
        return InclusionProof(leaf, seq, size, root, path, entry_document(row.kind, row.created_at, row.payload))

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> tuple[bytes, ...]:
        """PROOF(old_size, D[new_size]) of RFC 9162 §2.1.4.1 (to the current tree by default)."""
        new_size = self._resolve_size(new_size)
        return self._hash_ranges(consistency_path_ranges(old_size, new_size), new_size)[0]

    def heads(self) -> list[SignedTreeHead]:
        """Every stored signed tree head, oldest first."""
        t = AuditTreeHead
        rows = self._db.execute(
            select(t.log_id, t.tree_size, t.root_hash, t.timestamp_ms, t.key_id, t.signature).order_by(t.id)
        )
        try:
            return [
                SignedTreeHead(TreeHead(r.log_id, r.tree_size, r.root_hash, r.timestamp_ms), r.key_id, r.signature)
                for r in rows
            ]
        except TreeHeadError as exc:
            raise AuditTamperError("(signed tree head)", f"a stored signed tree head is malformed: {exc}") from exc

    # -- verification --------------------------------------------------------------------------------------

    def verify_all(self, *, public_key: Ed25519PublicKey | None = None, chunk: int = 1024) -> VerifyReport:
        """Recompute every leaf from the stored entries and the whole tree; raise :class:`AuditTamperError` at the
        first entry that was modified, removed, inserted or reordered, or whose stored hashes disagree.

        Stored subtree hashes and signed heads are checked against the recomputation; with ``public_key``
        each head's signature too. An attacker who rewrites entries and every stored hash consistently is
        caught only by a signed head they cannot re-sign: keep heads (and check them) outside the database.
        """
        size = self.size()
        low, high = self._db.execute(select(func.min(AuditEntry.seq), func.max(AuditEntry.seq))).one()
        if low is not None and low < 0:
            raise AuditTamperError(int(low), "inserted: sequence numbers start at 0")
        upper = size if high is None else max(size, int(high) + 1)
        heads = sorted(self.heads(), key=lambda s: s.head.tree_size)
        for signed in heads:
            self._check_head_signature(signed, public_key)
        pending = [s.head for s in heads]
        self._check_heads_at(pending, 0, EMPTY_ROOT)
        stack: list[tuple[int, bytes]] = []  # the frontier: (level, hash) of the right edge's complete subtrees
        for start in range(0, upper, chunk):
            end = min(start + chunk, upper)
            entries = {r.seq: r for r in self._db.execute(_entries_between(start, end))}
            nodes = self._nodes_completing(start, end, upper)
            for i in range(start, end):
                row = entries.get(i)
                if i >= size:
                    if row is not None:
                        raise AuditTamperError(i, f"inserted: the Merkle tree holds {size} entries, not this one")
                    continue
                if row is None:
                    raise AuditTamperError(i, "removed: the entry is missing from the log")
                computed = leaf_hash(entry_document(row.kind, row.created_at, row.payload))
                if computed != row.leaf_hash:
                    raise AuditTamperError(i, "modified: its contents do not match its leaf hash")
                if computed != nodes.get((0, i)):
                    raise AuditTamperError(i, self._misplaced(i, computed))
                node, level, index = computed, 0, i
                while stack and stack[-1][0] == level:
                    node = node_hash(stack.pop()[1], node)
                    level, index = level + 1, index >> 1
                    if nodes.get((level, index)) != node:
                        first, last = index << level, ((index + 1) << level) - 1
                        raise AuditTamperError(
                            i, f"the stored hash of entries {first}..{last} does not match the entries"
                        )
                stack.append((level, node))
                root = MerkleLog.from_frontier(i + 1, [h for _, h in stack]).root()
                self._check_heads_at(pending, i + 1, root)
        if pending:
            raise AuditTamperError(
                size, f"removed: a signed tree head covers {pending[-1].tree_size} entries, the log holds {size}"
            )
        root = MerkleLog.from_frontier(size, [h for _, h in stack]).root()
        return VerifyReport(size, root, len(heads))

    # -- internals -----------------------------------------------------------------------------------------

    def lock(self) -> None:
        """Take the log's write lock now, until the transaction ends (appends take it anyway). A caller whose
        change depends on what it reads (velocity counters, quorums) takes it first, so that the reads and the
        writes of concurrent transactions, on any number of processes, happen one after another."""
        self._lock()

    def _lock(self) -> None:
        if self._dialect == "postgresql":
            self._db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})

    def _resolve_size(self, size: int | None) -> int:
        current = self.size()
        if size is None:
            return current
        if not (isinstance(size, int) and not isinstance(size, bool) and 0 <= size <= current):
            raise AuditInputError("AUDIT_RANGE_INVALID", reason=f"tree size {size!r} is not within 0..{current}")
        return size

    def _hash_ranges(
        self, ranges: Iterable[tuple[int, int]], size: int, extra: Iterable[_Key] = ()
    ) -> tuple[tuple[bytes, ...], bytes]:
        """The tree hashes of ``ranges`` and the root of the tree of ``size``, from one read of the cache."""
        split = [_pieces(start, end) for start, end in ranges]
        root_pieces = _pieces(0, size)
        hashes = self._nodes([k for pieces in split for k in pieces] + root_pieces + list(extra))
        path = tuple(_fold([hashes[k] for k in pieces]) for pieces in split)
        return path, (_fold([hashes[k] for k in root_pieces]) if size else EMPTY_ROOT)

    def _nodes(self, keys: Iterable[_Key]) -> dict[_Key, bytes]:
        wanted = sorted(set(keys))
        found: dict[_Key, bytes] = {}
        s = AuditSubtree
        for at in range(0, len(wanted), _QUERY_BATCH):
            batch = wanted[at : at + _QUERY_BATCH]
            condition = or_(*(and_(s.level == level, s.idx == index) for level, index in batch))
            for row in self._db.execute(select(s.level, s.idx, s.hash).where(condition)):
                found[(row.level, row.idx)] = row.hash
        missing = [k for k in wanted if k not in found]
        if missing:
            level, index = missing[0]
            raise AuditError("AUDIT_STATE_INVALID", reason=f"the hash of subtree {index} at level {level} is missing")
        return found

    def _nodes_completing(self, start: int, end: int, upper: int) -> dict[_Key, bytes]:
        """Stored subtrees whose last leaf is in ``[start, end)``: node (l, j) ends at leaf ``((j + 1) << l) - 1``."""
        s = AuditSubtree
        conditions = []
        for level in range(upper.bit_length() + 1):
            low, high = ((start + (1 << level)) >> level) - 1, (end >> level) - 1
            if low <= high:
                conditions.append(and_(s.level == level, s.idx >= low, s.idx <= high))
        if not conditions:
            return {}
        rows = self._db.execute(select(s.level, s.idx, s.hash).where(or_(*conditions)))
        return {(r.level, r.idx): r.hash for r in rows}

    def _misplaced(self, i: int, computed: bytes) -> str:
        s = AuditSubtree
        other = self._db.execute(
            select(s.idx).where(s.level == 0, s.hash == computed).order_by(s.idx).limit(1)
        ).scalar()
        if other is not None:
            return f"reordered: it holds the entry recorded at position {other}"
        return f"modified or inserted: it is not the entry recorded at position {i}"

    def _check_head_signature(self, signed: SignedTreeHead, public_key: Ed25519PublicKey | None) -> None:
        where = f"(signed tree head of size {signed.head.tree_size})"
        if signed.head.log_id != self.log_id:
            raise AuditTamperError(where, f"the head is for log {signed.head.log_id!r}, not {self.log_id!r}")
        if public_key is not None:
            try:
                verify_tree_head(signed, public_key, log_id=self.log_id)
            except TreeHeadError as exc:
                raise AuditTamperError(where, exc.details["reason"]) from exc

    @staticmethod
    def _check_heads_at(pending: list[TreeHead], size: int, root: bytes) -> None:
        """Check and drop the heads (sorted by size) of ``size``; they must all carry ``root``."""
        while pending and pending[0].tree_size == size:
            if pending.pop(0).root_hash != root:
                raise AuditTamperError(
                    max(size - 1, 0), f"the entries up to here do not match the signed tree head of size {size}"
                )


def _entries_between(start: int, end: int) -> Any:
    e = AuditEntry
    return select(e.seq, e.created_at, e.kind, e.payload, e.leaf_hash).where(e.seq >= start, e.seq < end)


def _checked_entry(kind: object, payload: object, now: object) -> tuple[str, bytes, datetime]:
    """(kind, canonical payload, UTC time) of an entry to append, or AUDIT_ENTRY_INVALID."""
    if not (isinstance(kind, str) and _KIND.fullmatch(kind)):
        raise AuditInputError("AUDIT_ENTRY_INVALID", reason=f"kind {kind!r} is not 1-64 of a-z 0-9 . _ -")
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise AuditInputError("AUDIT_ENTRY_INVALID", reason="the time must be a timezone-aware datetime")
    if not isinstance(payload, Mapping):
        raise AuditInputError("AUDIT_ENTRY_INVALID", reason="the payload must be a JSON object")
    return kind, canonical_json(payload), _utc(now)


def _utc(moment: datetime) -> datetime:
    """A stored time in UTC; SQLite hands back naive datetimes, which were stored as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _trailing_ones(n: int) -> int:
    return (n ^ (n + 1)).bit_length() - 1


def _pieces(start: int, end: int) -> list[_Key]:
    """``[start, end)`` as complete aligned subtrees, largest first (any node of an RFC 9162 tree splits so)."""
    pieces: list[_Key] = []
    position, length = start, end - start
    for level in range(length.bit_length() - 1, -1, -1):
        if length >> level & 1:
            if position % (1 << level):
                raise AuditError("AUDIT_STATE_INVALID", reason=f"range {start}..{end} is not a node of the tree")
            pieces.append((level, position >> level))
            position += 1 << level
    return pieces


def _fold(hashes: list[bytes]) -> bytes:
    """The tree hash of consecutive complete subtrees, largest first: RFC 9162 splits at the largest one."""
    result = hashes[-1]
    for h in reversed(hashes[:-1]):
        result = node_hash(h, result)
    return result
