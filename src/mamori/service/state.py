"""The guard's unit of work: one database transaction, serialised by the audit log's lock, with the active
policy and the log at hand. Every change and its audit entry commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from threading import Lock
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, RootTransaction, Table, bindparam, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from mamori.audit.store import AuditLog
from mamori.errors import MamoriError
from mamori.policy.model import Policy
from mamori.policy.parse import load_policy_text
from mamori.service.facts import FactCache
from mamori.store.bulk import combined, insert_rows
from mamori.store.direct import Prepared, Statement, pipeline, run_all
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
    their sequence numbers are known at once, because the log's lock is held from the start (writes only).
    Rows given to :meth:`insert_later` are written then too, one statement per table.

    The transaction is the ``connection``'s; an ORM :attr:`session` joins it the first time one is asked for (the
    hot path — a group commit of fresh submissions — needs none, and spares its bookkeeping)."""

    connection: Connection
    log: AuditLog
    now: datetime
    next_seq: int = 0
    pending: list[tuple[str, dict[str, Any], datetime]] = field(default_factory=list)
    writable: bool = True
    later: list[tuple[Table, dict[str, Any]]] = field(default_factory=list)
    facts: FactCache = field(default_factory=FactCache)
    opened: list[list[tuple[Any, ...]]] = field(default_factory=list)  # the rows of ``unit_of_work``'s ``reads``
    _session: Session | None = None

    @property
    def session(self) -> Session:
        """An ORM session in this transaction (flushed before the transaction ends, never committing it)."""
        if self._session is None:
            self._session = Session(bind=self.connection)  # joins the transaction, never commits it
        return self._session

    def flush(self) -> None:
        if self._session is not None:
            self._session.flush()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

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

    def insert_later(self, table: Table, row: dict[str, Any]) -> None:
        """Insert ``row`` (every column it stores, store/bulk.py) at commit, with the other rows of its table in one
        statement; tables are written in the order they were first given (one referred to by another first)."""
        if not self.writable:
            raise MamoriError("INTERNAL_ERROR", reason="a row inserted in a read-only transaction")
        self.later.append((table, row))

    def mark(self) -> tuple[int, int]:
        """Where the staged entries and rows end now, to drop what a failed step staged after it (:meth:`undo`)."""
        return len(self.pending), len(self.later)

    def undo(self, mark: tuple[int, int]) -> None:
        del self.pending[mark[0] :]
        del self.later[mark[1] :]

    def write_later(self) -> None:
        by_table: dict[Table, list[dict[str, Any]]] = {}
        for table, row in self.later:
            by_table.setdefault(table, []).append(row)
        self.later.clear()
        connection = self.connection
        for table, rows in by_table.items():
            insert_rows(connection, table, rows)
        self.facts.write(connection)


class PolicyCache:
    """Parsed policy versions by number: a version's text never changes, so it is parsed (and read) once."""

    def __init__(self) -> None:
        self._parsed: dict[int, Policy] = {}
        self._lock = Lock()
        # The policy last seen active, for what is checked or read ahead before a transaction knows the active one.
        self.last_active: tuple[int, Policy] | None = None

    @property
    def last(self) -> Policy | None:
        return self.last_active[1] if self.last_active is not None else None

    def active(self, db: Session | Connection) -> tuple[int, Policy]:
        connection = db if isinstance(db, Connection) else db.connection()
        return self.of_version(connection, ACTIVE_VERSION.rows(connection, {}))

    def of_version(self, connection: Connection, rows: list[tuple[Any, ...]]) -> tuple[int, Policy]:
        """The active version and its policy, from the rows of :data:`ACTIVE_VERSION` (read with other statements)."""
        if not rows:
            raise MamoriError("GUARD_NOT_INITIALISED")
        version = int(rows[0][0])
        with self._lock:
            policy = self._parsed.get(version)
        if policy is None:
            text = connection.execute(_VERSION_TEXT, {"version": version}).scalar_one()
            policy = self.get(version, text)
        self.last_active = (version, policy)
        return version, policy

    def get(self, version: int, text: str) -> Policy:
        with self._lock:
            policy = self._parsed.get(version)
            if policy is None:
                policy = self._parsed[version] = load_policy_text(text)
            return policy


ACTIVE_VERSION = Prepared(select(PolicyVersion.version).where(PolicyVersion.status == "active"))
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


_Opening = tuple[int, "datetime | None", list[list[tuple[Any, ...]]]]
_PING: Statement = ("SELECT 1", {})


def _begin(engine: Engine, *, write: bool, reads: Sequence[Statement]) -> tuple[Connection, RootTransaction, _Opening]:
    """A connection in a new transaction, and what its first round trip read: for a write, the log's lock, its
    size and last time and ``reads``; otherwise ``reads`` (or, on PostgreSQL, a ping).

    The pool does not ask a connection whether the server still has it before handing it out (SQLAlchemy's
    pre-ping: one more round trip per transaction, on the guard's hot path). A connection the server dropped while
    it sat in the pool (a restart, an idle timeout) fails this first round trip instead, before anything was
    written: every pooled connection is then let go, and the transaction begun once more on a new one."""
    opener = engine if write else _read_only(engine)
    for attempt in (1, 2):
        connection = opener.connect()
        try:
            transaction = connection.begin()
            if write:
                opening = AuditLog(connection).lock_and_last_entry(also=reads)
            elif reads or connection.dialect.name != "postgresql":  # SQLite is in-process: no connection to lose
                opening = (0, None, run_all(connection, reads))
            else:
                run_all(connection, [_PING])
                opening = (0, None, [])
        except DBAPIError as exc:
            connection.close()
            if attempt == 2 or not exc.connection_invalidated:
                raise
            engine.dispose(close=False)  # the others of the pool are as stale: dropped, never used again
            continue
        except BaseException:
            connection.close()
            raise
        return connection, transaction, opening
    raise AssertionError("unreachable")


@contextmanager
def unit_of_work(
    engine: Engine, now: datetime, *, write: bool = True, reads: Sequence[Statement] = ()
) -> Iterator[UnitOfWork]:
    """A transaction. ``write`` takes the log's lock first, so that what it reads stays true until commit, and
    moves ``now`` to the log's last entry if that is later: the caller read its clock before it got the lock, and
    transactions committed in between wrote (and reserved) at later times that counters bounded by ``now`` would
    miss. Every write is stamped in its audit entries, so time then follows the log's order.

    ``reads`` (driver statements, store/direct.py) run with the lock, in the same round trip on PostgreSQL; their
    rows are in :attr:`UnitOfWork.opened`. On PostgreSQL the writes that end the transaction and its commit go as
    one more round trip."""
    work: UnitOfWork | None = None
    try:
        connection, transaction, (size, last, opened) = _begin(engine, write=write, reads=reads)
        with connection, transaction:
            log = AuditLog(connection)
            if not write:
                work = UnitOfWork(connection, log, now, writable=False, opened=opened)
                yield work
                return
            work = UnitOfWork(connection, log, max(now, last) if last is not None else now, next_seq=size)
            work.opened = opened
            yield work
            work.flush()
            known = _FRONTIERS.get(engine)
            # Read before the pipeline: inside it, results come back only at its end.
            start = known[1] if known is not None and known[0] == size else log.frontier(size)
            work.facts.ready(work.connection)
            with pipeline(work.connection, commit=True), combined(work.connection):
                work.write_later()
                frontier = log.append_many(work.pending, start=size, frontier=start)
        # Committed: the next transaction of this process starts from this frontier if no other wrote since.
        _FRONTIERS[engine] = (size + len(work.pending), frontier)
    except OperationalError as exc:
        # Lost connection, lock timeout, disk full: the transaction rolled back and nothing was changed — or, lost
        # while the commit was under way, it may have committed; the caller cannot tell, and a retry of the same
        # request is answered as the first was.
        raise MamoriError("SERVICE_UNAVAILABLE", reason=type(exc.orig).__name__ if exc.orig else "database") from exc
    finally:
        if work is not None:
            work.close()
