"""The release attestation: the guard's short-lived, signed word that one exact transaction may be signed.

Once the policy allows a withdrawal (and its quorum of approvals is in), the guard gives the signer (HSM, MPC
node, or the person holding a hardware wallet) a token binding the request to the exact hash the signer is
about to sign. The signer checks it offline with the guard's public key (``mamori attest verify``) and signs
only if it holds: a compromised UI that swaps the transaction (Bybit, Feb 2025) changes the hash, and the
attestation no longer matches.

Token layout (ASCII)::

    base64url(payload) "." base64url(signature)

base64url is RFC 4648 §5 without ``=`` padding, in its one canonical form (unused trailing bits zero).
``payload`` is canonical JSON (keys sorted, no whitespace, UTF-8) of exactly these members::

    chain          string   e.g. "eip155:1"
    expires_at     string   ISO 8601 UTC, whole seconds: "2026-11-26T03:05:00Z"; at most 3600 s after issued_at
    issued_at      string   same form; the token is not valid before it
    key_id         string   64 lowercase hex: SHA-256 of the guard's raw 32-byte Ed25519 public key
    request_id     string   the withdrawal request
    signing_hash   string   "0x" + 64 lowercase hex: safeTxHash, EVM signing hash, or PSBT unsigned txid
    version        integer  1
    wallet         string   the wallet that signs

``signature`` is the 64-byte Ed25519 signature by the guard's key over::

    b"mamori/guard/attestation/v1\\n" || payload

The context line keeps these signatures apart from anything else the guard key signs (approvals, tree heads).
A verifier accepts only the canonical form (any other JSON spelling or base64 form of the same content is
refused), so each attestation has exactly one token. Valid from ``issued_at`` (inclusive) until ``expires_at``
(exclusive). See docs/attestation.md for a worked example.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mamori.guard import GuardError, format_utc, normalise_signing_hash, require_aware, require_text

CONTEXT = b"mamori/guard/attestation/v1\n"
VERSION = 1
SIGNATURE_SIZE = 64
DEFAULT_TTL_SECONDS = 300
MAX_TTL_SECONDS = 3600
MAX_TOKEN_LENGTH = 4096
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_KEY_ID = re.compile(r"[0-9a-f]{64}")
_MEMBERS = frozenset({"version", "key_id", "request_id", "chain", "wallet", "signing_hash", "issued_at", "expires_at"})


class AttestationError(GuardError):
    """A release attestation that must not be acted on: do not sign."""


@dataclass(frozen=True, slots=True)
class Attestation:
    """A verified (or just issued) release: ``wallet`` may sign ``signing_hash`` for ``request_id`` on ``chain``
    from ``issued_at`` until ``expires_at``, on the word of the guard key ``key_id``."""

    version: int
    key_id: str
    request_id: str
    chain: str
    wallet: str
    signing_hash: str
    issued_at: datetime
    expires_at: datetime

    def payload(self) -> bytes:
        """The canonical JSON payload (the first part of the token, before base64url)."""
        return orjson.dumps(self.to_dict(), option=orjson.OPT_SORT_KEYS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "key_id": self.key_id,
            "request_id": self.request_id,
            "chain": self.chain,
            "wallet": self.wallet,
            "signing_hash": self.signing_hash,
            "issued_at": format_utc(self.issued_at),
            "expires_at": format_utc(self.expires_at),
        }


def key_id(public_key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, in hex: names the key so a signer can pick it; proves nothing."""
    if not isinstance(public_key, Ed25519PublicKey):
        raise AttestationError("ATTESTATION_INVALID", reason="the guard key is not an Ed25519 public key")
    return hashlib.sha256(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()


def issue_attestation(
    *,
    request_id: str,
    chain: str,
    wallet: str,
    signing_hash: bytes | str,
    private_key: Ed25519PrivateKey,
    now: datetime,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
) -> str:
    """Sign a release of ``signing_hash`` valid from ``now`` (whole seconds, rounded down) for ``ttl_seconds``.

    The caller (the guard service) has already decided that the policy allows it; this only makes the token.
    """
    if not isinstance(private_key, Ed25519PrivateKey):
        raise AttestationError("ATTESTATION_INVALID", reason="the guard's signing key is not an Ed25519 private key")
    if not isinstance(ttl_seconds, int) or isinstance(ttl_seconds, bool) or not 0 < ttl_seconds <= MAX_TTL_SECONDS:
        raise AttestationError(
            "FIELD_TYPE_INVALID", field="ttl_seconds", expected=f"an integer from 1 to {MAX_TTL_SECONDS}"
        )
    issued_at = require_aware(now, field="now").astimezone(UTC).replace(microsecond=0)
    try:
        expires_at = issued_at + timedelta(seconds=ttl_seconds)
    except OverflowError as exc:
        raise AttestationError("FIELD_TYPE_INVALID", field="now", expected="a time before year 9999") from exc
    attestation = Attestation(
        version=VERSION,
        key_id=key_id(private_key.public_key()),
        request_id=require_text(request_id, field="request_id"),
        chain=require_text(chain, field="chain"),
        wallet=require_text(wallet, field="wallet"),
        signing_hash=normalise_signing_hash(signing_hash),
        issued_at=issued_at,
        expires_at=expires_at,
    )
    payload = attestation.payload()
    return _b64encode(payload) + "." + _b64encode(private_key.sign(CONTEXT + payload))


def verify_attestation(
    token: str, *, public_key: Ed25519PublicKey, now: datetime, expected_signing_hash: bytes | str | None = None
) -> Attestation:
    """Return the attestation if ``public_key`` issued ``token``, it is valid at ``now`` and, when given, it
    releases exactly ``expected_signing_hash`` (what the signer is about to sign). Otherwise raise:

    ``ATTESTATION_INVALID`` (malformed, another key, bad signature), ``ATTESTATION_NOT_YET_VALID`` (``now`` before
    ``issued_at``), ``ATTESTATION_EXPIRED`` (``now`` at or after ``expires_at``), ``ATTESTATION_HASH_MISMATCH``;
    ``HASH_INVALID`` if ``expected_signing_hash`` itself is not a 32-byte hash.
    """
    expected = None if expected_signing_hash is None else normalise_signing_hash(expected_signing_hash)
    expected_key_id = key_id(public_key)
    now = require_aware(now, field="now")
    payload, signature = _split(token)
    try:
        public_key.verify(signature, CONTEXT + payload)
    except InvalidSignature as exc:
        reason = "the signature does not verify with the guard's key"
        try:
            named = _parse(payload).key_id
        except AttestationError:
            named = expected_key_id
        if named != expected_key_id:
            reason = f"it names another guard key ({named}), not {expected_key_id}"
        raise AttestationError("ATTESTATION_INVALID", reason=reason) from exc
    attestation = _parse(payload)
    if attestation.key_id != expected_key_id:
        raise AttestationError("ATTESTATION_INVALID", reason="it names another guard key")
    if now < attestation.issued_at:
        raise AttestationError(
            "ATTESTATION_NOT_YET_VALID", issued_at=format_utc(attestation.issued_at), now=format_utc(now)
        )
    if now >= attestation.expires_at:
        raise AttestationError(
            "ATTESTATION_EXPIRED", expires_at=format_utc(attestation.expires_at), now=format_utc(now)
        )
    if expected is not None and attestation.signing_hash != expected:
        raise AttestationError("ATTESTATION_HASH_MISMATCH", attested=attestation.signing_hash, expected=expected)
    return attestation


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str, *, part: str) -> bytes:
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise AttestationError("ATTESTATION_INVALID", reason=f"the {part} is not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise AttestationError("ATTESTATION_INVALID", reason=f"the {part} is not base64url") from exc
    if _b64encode(data) != text:  # non-zero unused bits: another spelling of the same bytes
        raise AttestationError("ATTESTATION_INVALID", reason=f"the {part} is not canonical base64url")
    return data


def _split(token: object) -> tuple[bytes, bytes]:
    if not isinstance(token, str):
        raise AttestationError("ATTESTATION_INVALID", reason="a token is text")
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise AttestationError("ATTESTATION_INVALID", reason=f"a token has 1 to {MAX_TOKEN_LENGTH} characters")
    parts = token.split(".")
    if len(parts) != 2:
        raise AttestationError("ATTESTATION_INVALID", reason="a token is two base64url parts joined by '.'")
    payload = _b64decode(parts[0], part="payload")
    signature = _b64decode(parts[1], part="signature")
    if len(signature) != SIGNATURE_SIZE:
        raise AttestationError("ATTESTATION_INVALID", reason=f"the signature is not {SIGNATURE_SIZE} bytes")
    return payload, signature


def _parse(payload: bytes) -> Attestation:
    """The payload's members, checked one by one; only the canonical byte form is accepted."""
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise AttestationError("ATTESTATION_INVALID", reason="the payload is not JSON") from exc
    if not isinstance(document, dict) or set(document) != _MEMBERS:
        raise AttestationError(
            "ATTESTATION_INVALID", reason=f"the payload must be an object with exactly {sorted(_MEMBERS)}"
        )
    version = document["version"]
    if type(version) is not int or version != VERSION:
        raise AttestationError("ATTESTATION_INVALID", reason=f"unsupported version {version!r}")
    if not isinstance(document["key_id"], str) or not _KEY_ID.fullmatch(document["key_id"]):
        raise AttestationError("ATTESTATION_INVALID", reason="key_id is not 64 lowercase hex digits")
    try:
        texts = {name: require_text(document[name], field=name) for name in ("request_id", "chain", "wallet")}
        signing_hash = normalise_signing_hash(document["signing_hash"])
    except GuardError as exc:
        raise AttestationError("ATTESTATION_INVALID", reason=exc.message_en) from exc
    issued_at = _parse_time(document["issued_at"], field="issued_at")
    expires_at = _parse_time(document["expires_at"], field="expires_at")
    if not timedelta(0) < expires_at - issued_at <= timedelta(seconds=MAX_TTL_SECONDS):
        raise AttestationError(
            "ATTESTATION_INVALID", reason=f"expires_at must be 1 to {MAX_TTL_SECONDS} seconds after issued_at"
        )
    attestation = Attestation(
        version=VERSION,
        key_id=document["key_id"],
        request_id=texts["request_id"],
        chain=texts["chain"],
        wallet=texts["wallet"],
        signing_hash=signing_hash,
        issued_at=issued_at,
        expires_at=expires_at,
    )
    if attestation.payload() != payload:
        raise AttestationError("ATTESTATION_INVALID", reason="the payload is not in canonical form")
    return attestation


def _parse_time(value: object, *, field: str) -> datetime:
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise AttestationError("ATTESTATION_INVALID", reason=f"{field} is not YYYY-MM-DDTHH:MM:SSZ")
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise AttestationError("ATTESTATION_INVALID", reason=f"{field} is not a valid time") from exc
