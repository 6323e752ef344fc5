"""The guard's unit of work: one database transaction, serialised by the audit log's lock, with the active
policy and the log at hand. Every change and its audit entry commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from threading import Lock
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, bindparam, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from mamori.audit.store import AuditLog
from mamori.errors import MamoriError
from mamori.policy.model import Policy
from mamori.policy.parse import load_policy_text
from mamori.store.guard_models import PolicyVersion


def printable(value: object, *, limit: int = 256) -> bool:
    """Whether ``value`` is text an id or label of the guard can be: no control characters (PostgreSQL cannot
    store NUL), no lone surrogates, at most ``limit`` characters. Anything else names nothing stored."""
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


Row = TypeVar("Row")


@dataclass(slots=True)
class UnitOfWork:
    """One transaction. Audit entries are staged by :meth:`record` and written together just before commit;
    their sequence numbers are known at once, because the log's lock is held from the start (writes only)."""

    session: Session
    log: AuditLog
    now: datetime
    next_seq: int = 0
    pending: list[tuple[str, dict[str, Any], datetime]] = field(default_factory=list)
    writable: bool = True

    @property
    def connection(self) -> Connection:
        """The transaction's connection, for Core statements on the hot path (no ORM bookkeeping)."""
        return self.session.connection()

    def fetch(self, model: type[Row], key: str, *, what: str) -> Row:
        """The row of ``model`` with primary key ``key``, or NOT_FOUND (also for text no row can be keyed by)."""
        row = self.session.get(model, key) if printable(key) else None
        if row is None:
            raise MamoriError("NOT_FOUND", what=what, id=key)
        return row

    def record(self, kind: str, payload: dict[str, Any]) -> int:
        """Stage an audit entry of this transaction; returns its sequence number."""
        if not self.writable:
            raise MamoriError("INTERNAL_ERROR", reason="an audit entry recorded in a read-only transaction")
        self.pending.append((kind, payload, self.now))
        return self.next_seq + len(self.pending) - 1


class PolicyCache:
    """Parsed policy versions by number: a version's text never changes, so it is parsed (and read) once."""

    def __init__(self) -> None:
        self._parsed: dict[int, Policy] = {}
        self._lock = Lock()
        self.last: Policy | None = None  # the policy last seen active, for checks made before a transaction

    def active(self, session: Session) -> tuple[int, Policy]:
        connection = session.connection()
        version = connection.execute(_ACTIVE_VERSION).scalar()
        if version is None:
            raise MamoriError("GUARD_NOT_INITIALISED")
        with self._lock:
            policy = self._parsed.get(version)
        if policy is None:
            text = connection.execute(_VERSION_TEXT, {"version": version}).scalar_one()
            policy = self.get(version, text)
        self.last = policy
        return version, policy

    def get(self, version: int, text: str) -> Policy:
        with self._lock:
            policy = self._parsed.get(version)
            if policy is None:
                policy = self._parsed[version] = load_policy_text(text)
            return policy


_ACTIVE_VERSION = select(PolicyVersion.version).where(PolicyVersion.status == "active")
_VERSION_TEXT = select(PolicyVersion.text).where(PolicyVersion.version == bindparam("version"))
_READ_ONLY: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()
# The Merkle frontier after this process's last commit, by engine: (log size, complete subtrees' hashes).
_FRONTIERS: WeakKeyDictionary[Engine, tuple[int, list[tuple[int, int, bytes]]]] = WeakKeyDictionary()


def _read_only(engine: Engine) -> Engine:
    """The engine with ``mamori_read_only`` set: SQLite then opens a plain (deferred) transaction, without the
    write lock that every writing transaction takes up front (store/database.py)."""
    found = _READ_ONLY.get(engine)
    if found is None:
        found = _READ_ONLY[engine] = engine.execution_options(mamori_read_only=True)
    return found


@contextmanager
def unit_of_work(engine: Engine, now: datetime, *, write: bool = True) -> Iterator[UnitOfWork]:
    """A transaction. ``write`` takes the log's lock first, so that what it reads stays true until commit, and
    moves ``now`` to the log's last entry if that is later: the caller read its clock before it got the lock, and
    transactions committed in between wrote (and reserved) at later times that counters bounded by ``now`` would
    miss. Every write is stamped in its audit entries, so time then follows the log's order."""
    try:
        with Session(engine if write else _read_only(engine)) as session, session.begin():
            log = AuditLog(session.connection())
            if not write:
                yield UnitOfWork(session, log, now, writable=False)
                return
            log.lock()
            size, last = log.last_entry()
            work = UnitOfWork(session, log, max(now, last) if last is not None else now, next_seq=size)
            yield work
            session.flush()
            known = _FRONTIERS.get(engine)
            frontier = log.append_many(
                work.pending, start=size, frontier=known[1] if known is not None and known[0] == size else None
            )
        # Committed: the next transaction of this process starts from this frontier if no other wrote since.
        _FRONTIERS[engine] = (size + len(work.pending), frontier)
    except OperationalError as exc:
        # Lost connection, lock timeout, disk full: the transaction rolled back; nothing was changed.
        raise MamoriError("SERVICE_UNAVAILABLE", reason=type(exc.orig).__name__ if exc.orig else "database") from exc
