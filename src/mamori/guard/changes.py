"""Approvals of governance changes: a new policy version, an approver's key, an address-book entry.

A change is proposed as a canonical JSON *subject* (what the change does, e.g. the new policy's SHA-256 or the
address and its label); approvers sign, each with their personal Ed25519 key, the digest::

    SHA-256( b"mamori/guard/change/v1\\n" || canonical_json({"change_id", "expires_at", "kind", "subject_sha256"}) )

``subject_sha256`` is SHA-256 of the subject's canonical JSON (64 lowercase hex), ``expires_at`` the change's
expiry (ISO 8601 UTC with ``Z``, as :func:`mamori.guard.format_utc` writes it), every member a JSON string,
keys sorted, no whitespace. The context line keeps these signatures apart from withdrawal approvals
(``mamori/guard/approval/v1``) made with the same key: an approval of a withdrawal can never pass as an approval
of a change, nor the reverse.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mamori.guard import format_utc, require_aware, require_text
from mamori.guard.approval import SIGNATURE_SIZE, ApprovalError

CONTEXT = b"mamori/guard/change/v1\n"
KINDS = frozenset({"policy", "approver_key.add", "approver_key.remove", "address_book.add", "address_book.remove"})
_SHA256 = re.compile(r"[0-9a-f]{64}")


def subject_json(subject: Mapping[str, Any]) -> bytes:
    """Canonical JSON of a change's subject: sorted keys, no whitespace, UTF-8."""
    return orjson.dumps(dict(subject), option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True, slots=True)
class ChangeApprovalSubject:
    change_id: str
    kind: str
    subject_sha256: str
    expires_at: datetime

    def __post_init__(self) -> None:
        require_text(self.change_id, field="change_id")
        if self.kind not in KINDS:
            raise ApprovalError("FIELD_TYPE_INVALID", field="kind", expected=", ".join(sorted(KINDS)))
        if not isinstance(self.subject_sha256, str) or not _SHA256.fullmatch(self.subject_sha256):
            raise ApprovalError("FIELD_TYPE_INVALID", field="subject_sha256", expected="64 lowercase hex digits")
        object.__setattr__(self, "expires_at", require_aware(self.expires_at, field="expires_at").astimezone(UTC))

    def canonical_json(self) -> bytes:
        return orjson.dumps(
            {
                "change_id": self.change_id,
                "expires_at": format_utc(self.expires_at),
                "kind": self.kind,
                "subject_sha256": self.subject_sha256,
            },
            option=orjson.OPT_SORT_KEYS,
        )


def change_digest(subject: ChangeApprovalSubject) -> bytes:
    """The 32 bytes an approver signs to approve the change."""
    return hashlib.sha256(CONTEXT + subject.canonical_json()).digest()


def sign_change(subject: ChangeApprovalSubject, private_key: Ed25519PrivateKey) -> bytes:
    """What an approver's client does; returns the 64-byte signature."""
    return private_key.sign(change_digest(subject))


def verify_change_approval(
    signature: bytes, *, public_key: Ed25519PublicKey, subject: ChangeApprovalSubject, now: datetime
) -> None:
    """Return if ``signature`` is the key holder's approval of exactly ``subject``, before the change expires.

    Raises ``APPROVAL_INVALID`` (bad signature, wrong size) or ``APPROVAL_EXPIRED``.
    """
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_SIZE:
        raise ApprovalError("APPROVAL_INVALID", reason=f"the signature is not {SIGNATURE_SIZE} bytes")
    try:
        public_key.verify(signature, change_digest(subject))
    except InvalidSignature as exc:
        raise ApprovalError("APPROVAL_INVALID", reason="the signature does not verify with the approver's key") from exc
    now = require_aware(now, field="now")
    if now >= subject.expires_at:
        raise ApprovalError("APPROVAL_EXPIRED", expires_at=format_utc(subject.expires_at), now=format_utc(now))
