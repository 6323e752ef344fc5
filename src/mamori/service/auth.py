"""API keys, roles and what each role may do.

A key is ``mk_<key_id>_<secret>``: ``key_id`` 16 hex digits (public, names the key in logs), ``secret`` 43
base64url characters (32 random bytes). Only SHA-256 of the secret is stored: the secret has 256 bits of
entropy, so a slow password hash would add nothing, and the comparison is constant-time.

Roles (one per key): ``initiator`` (the exchange's system of record: submits requests, attaches transactions,
fetches releases, reports balances), ``approver`` (a person: approves withdrawals and changes with their own
Ed25519 key), ``policy_admin`` (proposes policy, approver-key and address-book changes; cannot approve them),
``auditor`` (reads everything, including the audit log, and changes nothing), ``assessor`` (answers the cyber
security self-assessment, adds its evidence and remediation items) and ``reviewer`` (signs it off and locks it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from mamori.errors import MamoriError

ROLES = ("initiator", "approver", "policy_admin", "auditor", "assessor", "reviewer")
_TOKEN = re.compile(r"mk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")

# action -> roles allowed; every endpoint names exactly one action (docs/guard.md prints this table).
PERMISSIONS: Mapping[str, frozenset[str]] = {
    "request.submit": frozenset({"initiator"}),
    "request.attach": frozenset({"initiator"}),
    "request.release": frozenset({"initiator"}),
    "request.cancel": frozenset({"initiator"}),
    "request.read": frozenset({"initiator", "approver", "auditor"}),
    "request.approve": frozenset({"approver"}),
    "balance.report": frozenset({"initiator"}),
    "change.propose": frozenset({"policy_admin"}),
    "change.approve": frozenset({"approver"}),
    "change.read": frozenset({"policy_admin", "approver", "auditor"}),
    "policy.read": frozenset({"policy_admin", "approver", "auditor"}),
    "audit.read": frozenset({"auditor"}),
    "assessment.read": frozenset({"assessor", "reviewer", "auditor"}),
    "assessment.write": frozenset({"assessor"}),
    "assessment.review": frozenset({"reviewer"}),
    "service.read": frozenset(ROLES),  # the guard's public key, the OpenAPI description, who am I
}

ACTION_TEXT = {
    "request.submit": "submit withdrawal requests",
    "request.attach": "attach transactions",
    "request.release": "fetch release attestations",
    "request.cancel": "cancel withdrawals",
    "request.read": "read withdrawals",
    "request.approve": "approve withdrawals",
    "balance.report": "report balances",
    "change.propose": "propose changes",
    "change.approve": "approve changes",
    "change.read": "read changes",
    "policy.read": "read the policy, address book and approvers",
    "audit.read": "read the audit log",
    "assessment.read": "read self-assessments",
    "assessment.write": "answer self-assessments",
    "assessment.review": "sign off self-assessments",
    "service.read": "read the service description",
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's id, its role, and the service account or person it belongs to."""

    key_id: str
    role: str
    name: str


def authorize(principal: Principal, action: str) -> None:
    """Raise ``PERMISSION_DENIED`` unless ``principal``'s role may perform ``action``."""
    if principal.role not in PERMISSIONS[action]:
        raise MamoriError("PERMISSION_DENIED", role=principal.role, action=ACTION_TEXT[action])


def new_api_key() -> tuple[str, str, bytes]:
    """A fresh key: (token to hand out once, key_id, SHA-256 of the secret to store)."""
    key_id = secrets.token_hex(8)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    return f"mk_{key_id}_{secret}", key_id, hashlib.sha256(secret.encode()).digest()


def parse_token(token: str) -> tuple[str, bytes]:
    """(key_id, SHA-256 of the secret) of a well-formed token; ``AUTH_INVALID`` otherwise."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise MamoriError("AUTH_INVALID")
    return match.group(1), hashlib.sha256(match.group(2).encode()).digest()


def secret_matches(stored: bytes, presented: bytes) -> bool:
    return hmac.compare_digest(stored, presented)
