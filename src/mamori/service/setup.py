"""What the operator does with direct access to the database: initialise the guard once, issue and revoke API
keys, and the guard's own Ed25519 key. Everything here is recorded in the audit log like any other change.

The initial trust (first policy, approvers' keys, the exchange's existing address book) cannot come through a
quorum that does not exist yet: ``initialise`` writes it once, and refuses a database that already has a policy.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select

from mamori.errors import InputError, MamoriError
from mamori.guard import format_utc
from mamori.policy.facts import normalise_address
from mamori.policy.parse import load_policy_text
from mamori.policy.request import parse_timestamp
from mamori.service.auth import ROLES, Principal, new_api_key, parse_token, secret_matches
from mamori.service.facts import to_us
from mamori.service.governance import approver_key_id, parse_public_key
from mamori.service.state import unit_of_work
from mamori.store.guard_models import AddressBookRow, ApiKey, ApproverKey, PolicyVersion


def initialise(
    engine: Engine,
    *,
    policy_text: str,
    approver_keys: Mapping[str, str],
    address_book: Sequence[Mapping[str, Any]] = (),
    operator: str,
    now: datetime,
) -> dict[str, Any]:
    """Install the first policy (version 1), approvers' public keys (person -> hex/base64) and the address book.

    An address-book entry may carry ``effective_at`` and ``approved_by`` from the exchange's previous records:
    cooling-off counts from ``effective_at`` (default: now), and ``approved_by`` must meet the policy's quorum
    for the entry to be used (the evaluator checks it on every decision).
    """
    policy = load_policy_text(policy_text)
    keys: list[ApproverKey] = []
    for person, text in approver_keys.items():
        if person not in policy.people:
            raise InputError("FIELD_TYPE_INVALID", field=f"approvers.{person}", expected="a person of the policy")
        raw = parse_public_key(text, field=f"approvers.{person}")
        keys.append(
            ApproverKey(key_id=approver_key_id(raw), person=person, public_key=raw, status="active", added_us=0)
        )
    if len({key.key_id for key in keys}) != len(keys):
        raise InputError("FIELD_TYPE_INVALID", field="approvers", expected="one distinct key per person")
    entries = [
        _book_entry(item, index, policy_chains={w.chain for w in policy.wallets.values()}, now=now)
        for index, item in enumerate(address_book)
    ]
    with unit_of_work(engine, now) as work:
        if work.session.scalars(select(PolicyVersion.version).limit(1)).first() is not None:
            raise MamoriError("GUARD_ALREADY_INITIALISED")
        work.session.add(
            PolicyVersion(
                version=1,
                digest=policy.digest,
                text=policy_text,
                status="active",
                proposed_by=operator,
                proposed_us=to_us(now),
                activated_us=to_us(now),
            )
        )
        for key in keys:
            key.added_us = to_us(now)
            work.session.add(key)
        work.session.add_all(entries)
        summary = {
            "policy": {"version": 1, "id": policy.id, "digest": policy.digest},
            "approvers": {key.person: key.key_id for key in keys},
            "address_book": [
                {"chain": e.chain, "address": e.address, "label": e.label, "approved_by": orjson.loads(e.approved_by)}
                for e in entries
            ],
            "by": operator,
        }
        work.record("guard.initialised", summary)
    return summary


def _book_entry(item: Mapping[str, Any], index: int, *, policy_chains: set[str], now: datetime) -> AddressBookRow:
    at = f"address_book[{index}]"
    chain, address, label = item.get("chain"), item.get("address"), item.get("label", "")
    if not isinstance(chain, str) or chain not in policy_chains:
        raise InputError("FIELD_TYPE_INVALID", field=f"{at}.chain", expected="a chain of the policy's wallets")
    if not isinstance(address, str) or not isinstance(label, str):
        raise InputError("FIELD_TYPE_INVALID", field=at, expected="an address and a label")
    approved = item.get("approved_by", [])
    if not isinstance(approved, list) or not all(isinstance(p, str) for p in approved):
        raise InputError("FIELD_TYPE_INVALID", field=f"{at}.approved_by", expected="a list of people")
    effective = parse_timestamp(item["effective_at"], field=f"{at}.effective_at") if "effective_at" in item else now
    return AddressBookRow(
        chain=chain,
        address=normalise_address(chain, address),
        label=label,
        approved_by=orjson.dumps(sorted(approved)).decode(),
        effective_us=to_us(min(effective, now)),
    )


def create_api_key(engine: Engine, *, role: str, principal: str, now: datetime) -> tuple[str, str]:
    """A new API key for ``principal`` (a service account, or a person of the policy for approvers) in ``role``.
    Returns (token, key_id); the token is shown once and never stored."""
    if role not in ROLES:
        raise InputError("FIELD_TYPE_INVALID", field="role", expected=", ".join(ROLES))
    if not principal or len(principal) > 256 or not principal.isprintable():
        raise InputError("FIELD_TYPE_INVALID", field="principal", expected="printable text of 1 to 256 characters")
    token, key_id, secret_hash = new_api_key()
    with unit_of_work(engine, now) as work:
        work.session.add(
            ApiKey(key_id=key_id, secret_sha256=secret_hash, role=role, principal=principal, created_us=to_us(now))
        )
        work.record("api_key.created", {"key_id": key_id, "role": role, "principal": principal})
    return token, key_id


def revoke_api_key(engine: Engine, key_id: str, *, now: datetime) -> None:
    with unit_of_work(engine, now) as work:
        row = work.session.get(ApiKey, key_id)
        if row is None:
            raise MamoriError("NOT_FOUND", what="API key", id=key_id)
        if row.revoked_us is None:
            row.revoked_us = to_us(now)
            work.record("api_key.revoked", {"key_id": key_id, "at": format_utc(now)})


def authenticate(engine: Engine, token: str, *, now: datetime) -> Principal:
    """The principal behind a bearer token; ``AUTH_INVALID`` for anything else (same answer for every failure)."""
    key_id, presented = parse_token(token)
    with unit_of_work(engine, now, write=False) as work:
        row = work.session.get(ApiKey, key_id)
        if row is None or row.revoked_us is not None or not secret_matches(row.secret_sha256, presented):
            raise MamoriError("AUTH_INVALID")
        return Principal(key_id=row.key_id, role=row.role, name=row.principal)


def load_guard_key(path: Path) -> Ed25519PrivateKey:
    """The guard's signing key: a file holding the 32-byte Ed25519 seed in hex, readable by its owner only."""
    try:
        mode = path.stat().st_mode
        text = path.read_text().strip()
    except OSError as exc:
        raise MamoriError("GUARD_KEY_INVALID", path=str(path), reason=exc.strerror or type(exc).__name__) from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MamoriError("GUARD_KEY_INVALID", path=str(path), reason="others can read it: chmod 600")
    try:
        seed = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        seed = b""
    if len(seed) != 32:
        raise MamoriError("GUARD_KEY_INVALID", path=str(path), reason="not a 32-byte Ed25519 seed in hex")
    return Ed25519PrivateKey.from_private_bytes(seed)


def write_guard_key(path: Path, seed: bytes | None = None) -> Ed25519PrivateKey:
    """Create the guard key file (mode 600); refuses to overwrite an existing one."""
    seed = seed if seed is not None else os.urandom(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise MamoriError("GUARD_KEY_INVALID", path=str(path), reason=exc.strerror or type(exc).__name__) from exc
    with os.fdopen(descriptor, "w") as handle:
        handle.write(seed.hex() + "\n")
    return Ed25519PrivateKey.from_private_bytes(seed)


class Authenticator:
    """:func:`authenticate` with a short memory: a key seen valid is trusted for ``ttl_seconds`` without asking the
    database again, which spares every request a transaction of its own. Revoking a key therefore takes effect
    within ``ttl_seconds`` (2 s by default); failures are never remembered."""

    def __init__(self, engine: Engine, *, ttl_seconds: float = 2.0, monotonic: Callable[[], float] = time.monotonic):
        self.engine = engine
        self.ttl_seconds = ttl_seconds
        self.monotonic = monotonic
        self._seen: dict[bytes, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def __call__(self, token: str, *, now: datetime) -> Principal:
        remembered = self.remembered(token)
        if remembered is not None:
            return remembered
        principal = authenticate(self.engine, token, now=now)
        if self.ttl_seconds <= 0:
            return principal
        key, moment = _token_key(token), self.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:  # many keys, or someone cycling through valid ones: start afresh
                self._seen.clear()
            self._seen[key] = (moment, principal)
        return principal

    def remembered(self, token: str) -> Principal | None:
        """The principal of a key seen valid less than ``ttl_seconds`` ago, without the database; else None."""
        if self.ttl_seconds <= 0:
            return None
        with self._lock:
            seen = self._seen.get(_token_key(token))
        if seen is not None and self.monotonic() - seen[0] < self.ttl_seconds:
            return seen[1]
        return None


def _token_key(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
