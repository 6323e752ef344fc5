"""The guard's unit of work: one database transaction, serialised by the audit log's lock, with the active
policy and the log at hand. Every change and its audit entry commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from threading import Lock
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from mamori.audit.store import AuditLog
from mamori.errors import MamoriError
from mamori.policy.model import Policy
from mamori.policy.parse import load_policy_text
from mamori.store.guard_models import PolicyVersion


@dataclass(frozen=True, slots=True)
class UnitOfWork:
    session: Session
    log: AuditLog
    now: datetime

    def record(self, kind: str, payload: dict[str, Any]) -> int:
        """Append an audit entry in this transaction; returns its sequence number."""
        seq, _ = self.log.append(kind, payload, now=self.now)
        return seq


class PolicyCache:
    """Parsed policy versions by number: a version's text never changes, so it is parsed once per process."""

    def __init__(self) -> None:
        self._parsed: dict[int, Policy] = {}
        self._lock = Lock()

    def active(self, session: Session) -> tuple[int, Policy]:
        row = session.execute(
            select(PolicyVersion.version, PolicyVersion.text).where(PolicyVersion.status == "active")
        ).first()
        if row is None:
            raise MamoriError("GUARD_NOT_INITIALISED")
        return row.version, self.get(row.version, row.text)

    def get(self, version: int, text: str) -> Policy:
        with self._lock:
            policy = self._parsed.get(version)
            if policy is None:
                policy = self._parsed[version] = load_policy_text(text)
            return policy


@contextmanager
def unit_of_work(engine: Engine, now: datetime, *, write: bool = True) -> Iterator[UnitOfWork]:
    """A transaction; ``write`` takes the log's lock first so that what it reads stays true until commit."""
    try:
        with Session(engine) as session, session.begin():
            log = AuditLog(session)
            if write:
                log.lock()
            yield UnitOfWork(session, log, now)
    except OperationalError as exc:
        # Lost connection, lock timeout, disk full: the transaction rolled back; nothing was changed.
        raise MamoriError("SERVICE_UNAVAILABLE", reason=type(exc.orig).__name__ if exc.orig else "database") from exc
