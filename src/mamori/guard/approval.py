"""What an approver signs, and the check of an approval: the request, the policy, and the exact hash to be signed.

An approver confirms, over a channel independent of the guard's web UI, *what* they approve: the withdrawal
(request id, wallet, chain, asset, amount, destination), the policy version that asked for the approval, and the
hash their signer's device will show. Binding that hash is what stops a Bybit-style swap: an approval for one
transaction cannot release another, and an approval of one request cannot be replayed onto another.

Digest (:func:`approval_digest`), the 32 bytes the approver signs with Ed25519::

    SHA-256( b"mamori/guard/approval/v1\\n" || canonical_json(subject) )

``canonical_json`` is the JSON object of exactly these nine members, keys sorted by code point, no whitespace
(``{"amount":…,"asset":…}``), encoded as UTF-8 with non-ASCII characters written as themselves (not ``\\u``
escapes; orjson's output), every value a JSON string:

    ==============  ====================================================================================
    amount          base units (wei, satoshi) as a decimal integer, no sign, no leading zeros: ``"1000"``
    asset           as given, e.g. ``"ETH"``
    chain           as given, CAIP-2 style, e.g. ``"eip155:1"``
    destination     normalised (:func:`mamori.policy.facts.normalise_address`): EVM ``0x`` + 40 lowercase hex
    expires_at      ISO 8601 UTC with ``Z``, microseconds only when non-zero: ``"2026-11-26T03:15:00Z"``
    policy_digest   SHA-256 of the policy text, 64 lowercase hex digits (``Policy.digest``)
    request_id      as given
    signing_hash    ``0x`` + 64 lowercase hex: the safeTxHash / EVM signing hash / PSBT unsigned txid
    wallet          as given
    ==============  ====================================================================================

The context line ``mamori/guard/approval/v1\\n`` separates these signatures from anything else the same key
might sign (no other mamori message starts with it) and names the format version. Text fields must be
printable Unicode (no control characters, no lone surrogates) of at most 256 characters (``require_text``);
JSON then gives each subject exactly one byte string, so two different subjects never share a digest.
See docs/attestation.md.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mamori.guard import GuardError, format_utc, normalise_signing_hash, require_aware, require_text
from mamori.policy.facts import normalise_address

CONTEXT = b"mamori/guard/approval/v1\n"
SIGNATURE_SIZE = 64
_POLICY_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


class ApprovalError(GuardError):
    """An approval that must not count: bad signature, another request or hash, expired, or malformed."""


@dataclass(frozen=True, slots=True)
class ApprovalSubject:
    """What one approval approves. Built through the constructor, which validates and normalises every field:
    the destination to its comparison form, the signing hash to ``0x``-lowercase, the expiry to UTC."""

    request_id: str
    wallet: str
    chain: str
    asset: str
    amount: int
    destination: str
    signing_hash: str
    policy_digest: str
    expires_at: datetime

    def __post_init__(self) -> None:
        for name in ("request_id", "wallet", "chain", "asset"):
            require_text(getattr(self, name), field=name)
        if not isinstance(self.amount, int) or isinstance(self.amount, bool) or self.amount <= 0:
            raise ApprovalError("FIELD_TYPE_INVALID", field="amount", expected="a positive integer in base units")
        destination = normalise_address(self.chain, require_text(self.destination, field="destination"))
        object.__setattr__(self, "destination", destination)
        object.__setattr__(self, "signing_hash", normalise_signing_hash(self.signing_hash))
        if not isinstance(self.policy_digest, str) or not _POLICY_DIGEST.fullmatch(self.policy_digest):
            raise ApprovalError("FIELD_TYPE_INVALID", field="policy_digest", expected="64 hex digits (SHA-256)")
        object.__setattr__(self, "policy_digest", self.policy_digest.lower())
        expires_at = require_aware(self.expires_at, field="expires_at").astimezone(UTC)
        object.__setattr__(self, "expires_at", expires_at)

    def canonical_json(self) -> bytes:
        """The canonical encoding documented in the module docstring."""
        document = {
            "amount": str(self.amount),
            "asset": self.asset,
            "chain": self.chain,
            "destination": self.destination,
            "expires_at": format_utc(self.expires_at),
            "policy_digest": self.policy_digest,
            "request_id": self.request_id,
            "signing_hash": self.signing_hash,
            "wallet": self.wallet,
        }
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True, slots=True)
class Approval:
    """An approver's Ed25519 signature over :func:`approval_digest` of ``subject``."""

    subject: ApprovalSubject
    signature: bytes


def approval_digest(subject: ApprovalSubject) -> bytes:
    """The 32 bytes an approver signs: SHA-256 over the context line and the subject's canonical JSON."""
    if not isinstance(subject, ApprovalSubject):
        raise ApprovalError("APPROVAL_INVALID", reason="only an ApprovalSubject has an approval digest")
    return hashlib.sha256(CONTEXT + subject.canonical_json()).digest()


def sign_approval(subject: ApprovalSubject, private_key: Ed25519PrivateKey) -> Approval:
    """What an approver's client does: sign the digest of ``subject`` with the approver's personal key."""
    if not isinstance(private_key, Ed25519PrivateKey):
        raise ApprovalError("APPROVAL_INVALID", reason="the approver's key is not an Ed25519 private key")
    return Approval(subject, private_key.sign(approval_digest(subject)))


def verify_approval(
    approval: Approval, *, public_key: Ed25519PublicKey, expected: ApprovalSubject, now: datetime
) -> None:
    """Return if ``approval`` is the holder of ``public_key`` approving exactly ``expected`` before it expires.

    Raises :class:`ApprovalError`: ``APPROVAL_INVALID`` (malformed, or the signature does not verify with this
    key: a forged or altered approval), ``APPROVAL_SUBJECT_MISMATCH`` (a genuine approval of another request,
    hash, amount, policy… replayed here), ``APPROVAL_EXPIRED`` (``now`` is at or after ``expires_at``).
    Whether the key belongs to an approver with the right role is the caller's question, not this one's.
    """
    if not isinstance(approval, Approval) or not isinstance(approval.subject, ApprovalSubject):
        raise ApprovalError("APPROVAL_INVALID", reason="not an approval")
    if not isinstance(expected, ApprovalSubject):
        raise ApprovalError("APPROVAL_INVALID", reason="the expected subject is not an ApprovalSubject")
    if not isinstance(public_key, Ed25519PublicKey):
        raise ApprovalError("APPROVAL_INVALID", reason="the approver's key is not an Ed25519 public key")
    now = require_aware(now, field="now")
    if not isinstance(approval.signature, bytes) or len(approval.signature) != SIGNATURE_SIZE:
        raise ApprovalError("APPROVAL_INVALID", reason=f"the signature is not {SIGNATURE_SIZE} bytes")
    try:
        public_key.verify(approval.signature, approval_digest(approval.subject))
    except InvalidSignature as exc:
        raise ApprovalError("APPROVAL_INVALID", reason="the signature does not verify with the approver's key") from exc
    differing = [
        f.name for f in fields(ApprovalSubject) if getattr(approval.subject, f.name) != getattr(expected, f.name)
    ]
    if differing:
        raise ApprovalError("APPROVAL_SUBJECT_MISMATCH", fields=", ".join(differing))
    if now >= approval.subject.expires_at:
        raise ApprovalError("APPROVAL_EXPIRED", expires_at=format_utc(approval.subject.expires_at), now=format_utc(now))
