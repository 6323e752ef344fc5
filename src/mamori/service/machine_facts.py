"""What the self-assessment's machine evidence reads of the platform's own state (assess/machine.py decides).

Each fact is read on its own: one that cannot be read (a database that holds no guard, say) is left out and named
in ``unavailable``, and the check that needs it answers ``no``.
"""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError

from mamori.assess.machine import AuditState, FeedState, MachineFacts
from mamori.audit.store import AuditLog, AuditTamperError
from mamori.errors import MamoriError
from mamori.policy.model import Policy
from mamori.service.facts import from_us
from mamori.service.state import PolicyCache
from mamori.store.member_models import IntelSyncState


def gather_machine_facts(connection: Connection, *, policies: PolicyCache | None = None) -> MachineFacts:
    unavailable: list[str] = []
    policy: Policy | None = None
    version: int | None = None
    try:
        with connection.begin_nested():
            version, policy = (policies or PolicyCache()).active(connection)
    except (MamoriError, SQLAlchemyError) as exc:
        unavailable.append(f"policy: {getattr(exc, 'code', type(exc).__name__)}")
    audit: AuditState | None = None
    try:
        with connection.begin_nested():
            report = AuditLog(connection).verify_all()
        audit = AuditState(True, report.tree_size, report.root_hash.hex())
    except AuditTamperError as exc:
        audit = AuditState(False, 0, "", f"entry {exc.seq}: {exc.reason}")
    except (MamoriError, SQLAlchemyError) as exc:
        unavailable.append(f"audit: {getattr(exc, 'code', type(exc).__name__)}")
    feeds: tuple[FeedState, ...] = ()
    try:
        with connection.begin_nested():
            rows = connection.execute(select(IntelSyncState.remote_url, IntelSyncState.synced_us)).all()
        feeds = tuple(FeedState(url, from_us(synced) if synced else None) for url, synced in sorted(rows))
    except SQLAlchemyError as exc:
        unavailable.append(f"feeds: {type(exc).__name__}")
    return MachineFacts(policy, version, audit, feeds, tuple(unavailable))
