"""Reading the audit log through the service: signed tree heads, inclusion and consistency proofs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from mamori.errors import InputError
from mamori.service.auth import Principal, authorize
from mamori.service.state import unit_of_work


class AuditService:
    def __init__(self, engine: Engine, *, guard_key: Ed25519PrivateKey) -> None:
        self.engine = engine
        self.guard_key = guard_key

    def signed_head(self, principal: Principal, *, now: datetime) -> dict[str, Any]:
        authorize(principal, "audit.read")
        with unit_of_work(self.engine, now) as work:
            head = work.log.sign_head(self.guard_key, now=now)
            return head.to_dict()

    def inclusion(self, principal: Principal, seq: int, *, tree_size: int | None, now: datetime) -> dict[str, Any]:
        authorize(principal, "audit.read")
        if seq < 0 or (tree_size is not None and tree_size <= seq):
            raise InputError("FIELD_TYPE_INVALID", field="seq", expected="an entry of the log (0 ≤ seq < tree_size)")
        with unit_of_work(self.engine, now, write=False) as work:
            return work.log.inclusion_proof(seq, size=tree_size).to_dict()

    def consistency(
        self, principal: Principal, old_size: int, *, new_size: int | None, now: datetime
    ) -> dict[str, Any]:
        authorize(principal, "audit.read")
        with unit_of_work(self.engine, now, write=False) as work:
            size = work.log.size() if new_size is None else new_size
            proof = work.log.consistency_proof(old_size, size)
            return {
                "old_size": old_size,
                "new_size": size,
                "old_root": work.log.root(old_size).hex(),
                "new_root": work.log.root(size).hex(),
                "path": [item.hex() for item in proof],
            }
