"""Changes to what the guard trusts — the policy, approvers' keys, the address book — made only by a quorum.

A ``policy_admin`` proposes; approvers sign the change digest (guard/changes.py) with their personal keys; the
change applies in the transaction that brings its quorum, which the *active* policy names: ``governance.
change_quorum`` for the policy and keys, ``address_book.add_quorum`` for new addresses (whose cooling-off then
starts). Removing an address-book entry only restricts, so it applies at once. The proposer never counts, and
nobody approves a change of their own key.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, func, select

from mamori.errors import InputError, MamoriError
from mamori.guard import GuardError, format_utc
from mamori.guard.changes import ChangeApprovalSubject, change_digest, subject_json, verify_change_approval
from mamori.policy.approvals import approvals_counting
from mamori.policy.facts import Approval, normalise_address
from mamori.policy.model import Approvals, Policy
from mamori.policy.parse import load_policy_text
from mamori.policy.request import decode_key_or_signature
from mamori.policy.syntax import weak_ed25519_key
from mamori.service.auth import Principal, authorize
from mamori.service.facts import from_us, to_us
from mamori.service.state import PolicyCache, UnitOfWork, printable, unit_of_work
from mamori.store.guard_models import AddressBookRow, ApproverKey, Change, ChangeApproval, PolicyVersion

CHANGE_TTL = timedelta(days=7)
MAX_POLICY_TEXT = 1_000_000


def approver_key_id(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()


def parse_public_key(text: object, *, field: str) -> bytes:
    if not isinstance(text, str):
        raise InputError("FIELD_TYPE_INVALID", field=field, expected="a 32-byte Ed25519 public key in hex or base64")
    raw = decode_key_or_signature(text, field=field, size=32)
    if weak_ed25519_key(raw):
        raise InputError("FIELD_TYPE_INVALID", field=field, expected="an Ed25519 public key that is not of small order")
    try:
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise InputError("FIELD_TYPE_INVALID", field=field, expected="a valid Ed25519 public key") from exc
    return raw


class GovernanceService:
    def __init__(self, engine: Engine, *, policies: PolicyCache) -> None:
        self.engine = engine
        self.policies = policies

    def propose(self, principal: Principal, body: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
        authorize(principal, "change.propose")
        kind = body.get("kind")
        with unit_of_work(self.engine, now) as work:
            version, policy = self.policies.active(work.session)
            subject = self._subject(work, policy, version, kind, body, principal.name)
            change = Change(
                change_id=secrets.token_hex(16),
                kind=str(kind),
                subject=subject_json(subject),
                subject_digest="",
                status="open",
                proposed_by=principal.name,
                proposed_us=to_us(now),
                expires_us=to_us(now + CHANGE_TTL),
            )
            change.subject_digest = hashlib.sha256(change.subject).hexdigest()
            work.session.add(change)
            work.record(
                "change.proposed",
                {"change_id": change.change_id, "kind": change.kind, "subject": subject, "by": principal.name},
            )
            if change.kind == "address_book.remove":
                self._apply(work, change, policy, [])  # only restricts: no quorum needed
            work.session.flush()
            return self._view(work, change, policy)

    def approve(
        self, principal: Principal, change_id: str, body: Mapping[str, Any], *, now: datetime
    ) -> dict[str, Any]:
        authorize(principal, "change.approve")
        signature = body.get("signature")
        if not isinstance(signature, str):
            raise InputError("FIELD_TYPE_INVALID", field="signature", expected="64 bytes in hex or base64")
        raw = decode_key_or_signature(signature, field="signature", size=64)
        refusal: MamoriError | None = None
        with unit_of_work(self.engine, now) as work:
            _, policy = self.policies.active(work.session)
            change = self._get(work, change_id)
            if change.status != "open":
                raise MamoriError("STATE_CONFLICT", what="change", id=change_id, status=change.status, action="approve")
            person = principal.name
            if person not in policy.people:
                raise MamoriError("APPROVER_NOT_ELIGIBLE", person=person, reason="not a person of the active policy")
            if person == change.proposed_by:
                raise MamoriError("APPROVER_NOT_ELIGIBLE", person=person, reason="the proposer of the change")
            subject_doc = orjson.loads(change.subject)
            if change.kind.startswith("approver_key.") and subject_doc.get("person") == person:
                raise MamoriError("APPROVER_NOT_ELIGIBLE", person=person, reason="the change is of their own key")
            key = active_approver_key(work, person, str(body.get("key_id", "")))
            try:
                verify_change_approval(
                    raw,
                    public_key=Ed25519PublicKey.from_public_bytes(key.public_key),
                    subject=_subject(change),
                    now=work.now,  # the log's clock: never earlier than a decision already on record
                )
            except GuardError as exc:
                work.record(
                    "change.approval_refused",
                    {"change_id": change_id, "approver": person, "key_id": key.key_id, "reason": exc.code},
                )
                refusal = exc
            else:
                earlier = work.session.scalars(
                    select(ChangeApproval).where(
                        ChangeApproval.change_id == change_id, ChangeApproval.approver == person
                    )
                ).first()
                # An earlier approval made with a key since removed no longer counts: this one replaces it.
                if earlier is None or earlier.key_id != key.key_id:
                    if earlier is None:
                        earlier = ChangeApproval(change_id=change_id, approver=person)
                        work.session.add(earlier)
                    earlier.key_id, earlier.signature, earlier.at_us = key.key_id, raw, to_us(now)
                    work.record(
                        "change.approved",
                        {"change_id": change_id, "approver": person, "key_id": key.key_id, "signature": raw.hex()},
                    )
                    work.session.flush()
                    approvers = _approvers(work, change_id, counting=True)
                    needed = _quorum(policy, change.kind)
                    have = approvals_counting(
                        policy.people, needed, [Approval(a, now) for a in approvers], initiator=change.proposed_by
                    )
                    if have >= needed.count:
                        self._apply(work, change, policy, approvers)
                    work.session.flush()
                view = self._view(work, change, policy)
        if refusal is not None:
            raise refusal
        return view

    def read(self, principal: Principal, change_id: str, *, now: datetime) -> dict[str, Any]:
        authorize(principal, "change.read")
        with unit_of_work(self.engine, now, write=False) as work:
            _, policy = self.policies.active(work.session)
            return self._view(work, self._get(work, change_id), policy)

    def list_open(self, principal: Principal, *, now: datetime) -> list[dict[str, Any]]:
        authorize(principal, "change.read")
        with unit_of_work(self.engine, now, write=False) as work:
            _, policy = self.policies.active(work.session)
            rows = work.session.scalars(
                select(Change)
                .where(Change.status == "open", Change.expires_us > to_us(now))
                .order_by(Change.proposed_us)
            )
            return [self._view(work, row, policy) for row in rows]

    def policy(self, principal: Principal, *, now: datetime) -> dict[str, Any]:
        authorize(principal, "policy.read")
        with unit_of_work(self.engine, now, write=False) as work:
            version, policy = self.policies.active(work.session)
            row = work.session.get(PolicyVersion, version)
            assert row is not None  # noqa: S101 - active() just read it
            return {"version": version, "id": policy.id, "digest": policy.digest, "text": row.text}

    def address_book(self, principal: Principal, *, now: datetime) -> list[dict[str, Any]]:
        authorize(principal, "policy.read")
        with unit_of_work(self.engine, now, write=False) as work:
            rows = work.session.scalars(
                select(AddressBookRow).where(AddressBookRow.removed_us.is_(None)).order_by(AddressBookRow.id)
            )
            return [
                {
                    "chain": row.chain,
                    "address": row.address,
                    "label": row.label,
                    "approved_by": orjson.loads(row.approved_by),
                    "effective_at": format_utc(from_us(row.effective_us)),
                }
                for row in rows
            ]

    def approvers(self, principal: Principal, *, now: datetime) -> list[dict[str, Any]]:
        authorize(principal, "policy.read")
        with unit_of_work(self.engine, now, write=False) as work:
            rows = work.session.scalars(
                select(ApproverKey).where(ApproverKey.status == "active").order_by(ApproverKey.person)
            )
            return [
                {
                    "person": r.person,
                    "key_id": r.key_id,
                    "public_key": r.public_key.hex(),
                    "added_at": format_utc(from_us(r.added_us)),
                }
                for r in rows
            ]

    # --- internals ---------------------------------------------------------------------------------------------
    def _subject(
        self, work: UnitOfWork, policy: Policy, version: int, kind: object, body: Mapping[str, Any], proposer: str
    ) -> dict[str, Any]:
        if kind == "policy":
            text = body.get("text")
            if not isinstance(text, str) or not text or len(text) > MAX_POLICY_TEXT:
                raise InputError("FIELD_TYPE_INVALID", field="text", expected="the policy's YAML text")
            proposed = load_policy_text(text)  # POLICY_INVALID with every problem
            number = (work.session.scalar(select(func.max(PolicyVersion.version))) or 0) + 1
            work.session.add(
                PolicyVersion(
                    version=number,
                    digest=proposed.digest,
                    text=text,
                    status="proposed",
                    proposed_by=proposer,
                    proposed_us=to_us(work.now),
                )
            )
            return {"version": number, "policy_id": proposed.id, "digest": proposed.digest, "replaces": version}
        if kind in ("approver_key.add", "approver_key.remove"):
            person = body.get("person")
            if not isinstance(person, str) or person not in policy.people:
                raise InputError("FIELD_TYPE_INVALID", field="person", expected="a person of the active policy")
            if kind == "approver_key.add":
                raw = parse_public_key(body.get("public_key"), field="public_key")
                if work.session.get(ApproverKey, approver_key_id(raw)) is not None:
                    raise MamoriError("CHANGE_INVALID", reason="this key is already registered")
                return {"person": person, "public_key": raw.hex(), "key_id": approver_key_id(raw)}
            key_id = body.get("key_id")
            row = work.session.get(ApproverKey, key_id) if printable(key_id) else None
            if row is None or row.person != person or row.status != "active":
                raise MamoriError("CHANGE_INVALID", reason="no such active key of this person")
            return {"person": person, "key_id": row.key_id}
        if kind in ("address_book.add", "address_book.remove"):
            chain, address = body.get("chain"), body.get("address")
            if not isinstance(chain, str) or chain not in {w.chain for w in policy.wallets.values()}:
                raise InputError("FIELD_TYPE_INVALID", field="chain", expected="a chain of the policy's wallets")
            if not isinstance(address, str) or not printable(address) or not address.strip():
                raise InputError("FIELD_TYPE_INVALID", field="address", expected="an address")
            normalised = normalise_address(chain, address)
            active = _book_entry(work, chain, normalised)
            if kind == "address_book.add":
                label = body.get("label", "")
                if not printable(label):
                    raise InputError(
                        "FIELD_TYPE_INVALID", field="label", expected="printable text of at most 256 characters"
                    )
                if active is not None:
                    raise MamoriError("CHANGE_INVALID", reason="the address is already in the address book")
                return {"chain": chain, "address": normalised, "label": label}
            if active is None:
                raise MamoriError("CHANGE_INVALID", reason="the address is not in the address book")
            return {"chain": chain, "address": normalised}
        raise InputError(
            "FIELD_TYPE_INVALID",
            field="kind",
            expected="policy, approver_key.add, approver_key.remove, address_book.add or address_book.remove",
        )

    def _apply(self, work: UnitOfWork, change: Change, policy: Policy, approvers: list[str]) -> None:
        subject = orjson.loads(change.subject)
        now_us = to_us(work.now)
        if change.kind == "policy":
            active = work.session.scalars(select(PolicyVersion).where(PolicyVersion.status == "active")).one()
            proposed = work.session.get(PolicyVersion, subject["version"])
            if proposed is None or active.version != subject["replaces"]:
                # Another version became active since: approving this one would silently undo it.
                if proposed is not None:
                    proposed.status = "rejected"
                self._reject(work, change, "the policy changed since")
                return
            active.status, proposed.status, proposed.activated_us = "superseded", "active", now_us
        elif change.kind == "approver_key.add":
            if work.session.get(ApproverKey, subject["key_id"]) is not None:
                # Another change registered this key since this one was proposed (for this person or another).
                self._reject(work, change, "the key was registered since")
                return
            work.session.add(
                ApproverKey(
                    key_id=subject["key_id"],
                    person=subject["person"],
                    public_key=bytes.fromhex(subject["public_key"]),
                    status="active",
                    added_us=now_us,
                )
            )
        elif change.kind == "approver_key.remove":
            key = work.session.get(ApproverKey, subject["key_id"])
            if key is not None:
                key.status, key.removed_us = "removed", now_us
        elif change.kind == "address_book.add":
            if _book_entry(work, subject["chain"], subject["address"]) is not None:
                # Added by another change since: a second entry would survive the removal of the first.
                self._reject(work, change, "the address was added to the address book since")
                return
            work.session.add(
                AddressBookRow(
                    chain=subject["chain"],
                    address=subject["address"],
                    label=subject["label"],
                    approved_by=orjson.dumps(sorted(approvers)).decode(),
                    effective_us=now_us,
                )
            )
        elif change.kind == "address_book.remove":
            for entry in _book_entries(work, subject["chain"], subject["address"]):  # every one: it only restricts
                entry.removed_us = now_us
        change.status, change.decided_us = "applied", now_us
        work.record("change.applied", {"change_id": change.change_id, "kind": change.kind, "approvers": approvers})

    @staticmethod
    def _reject(work: UnitOfWork, change: Change, reason: str) -> None:
        change.status, change.decided_us = "rejected", to_us(work.now)
        work.record("change.rejected", {"change_id": change.change_id, "reason": reason})

    @staticmethod
    def _get(work: UnitOfWork, change_id: str) -> Change:
        return work.fetch(Change, change_id, what="change")

    @staticmethod
    def _view(work: UnitOfWork, change: Change, policy: Policy) -> dict[str, Any]:
        needed = _quorum(policy, change.kind)
        subject = _subject(change)
        return {
            "change_id": change.change_id,
            "kind": change.kind,
            "status": change.status,
            "subject": orjson.loads(change.subject),
            "proposed_by": change.proposed_by,
            "proposed_at": format_utc(from_us(change.proposed_us)),
            "expires_at": format_utc(from_us(change.expires_us)),
            "approvals": _approvers(work, change.change_id),
            "quorum": {"count": needed.count, "groups": sorted(needed.groups)},
            "approval_subject": orjson.loads(subject.canonical_json()),
            "digest": change_digest(subject).hex(),
        }


def _subject(change: Change) -> ChangeApprovalSubject:
    return ChangeApprovalSubject(change.change_id, change.kind, change.subject_digest, from_us(change.expires_us))


def _quorum(policy: Policy, kind: str) -> Approvals:
    if kind == "address_book.add":
        return policy.address_book.add_quorum
    if kind == "address_book.remove":
        return Approvals(0)
    return policy.change_quorum


def _approvers(work: UnitOfWork, change_id: str, *, counting: bool = False) -> list[str]:
    """Who approved the change; ``counting``: only approvals made with a key that is still active (a key is
    removed because it is lost or compromised: what it signed no longer speaks for its owner)."""
    query = select(ChangeApproval.approver).where(ChangeApproval.change_id == change_id)
    if counting:
        query = query.join(ApproverKey, ApproverKey.key_id == ChangeApproval.key_id).where(
            ApproverKey.status == "active"
        )
    return list(work.session.scalars(query.order_by(ChangeApproval.id)))


def _book_entries(work: UnitOfWork, chain: str, address: str) -> list[AddressBookRow]:
    return list(
        work.session.scalars(
            select(AddressBookRow).where(
                AddressBookRow.chain == chain, AddressBookRow.address == address, AddressBookRow.removed_us.is_(None)
            )
        )
    )


def _book_entry(work: UnitOfWork, chain: str, address: str) -> AddressBookRow | None:
    entries = _book_entries(work, chain, address)
    return entries[0] if entries else None


def active_approver_key(work: UnitOfWork, person: str, key_id: str) -> ApproverKey:
    """The person's active key named ``key_id``, or their only active key when none is named."""
    if not printable(key_id):
        raise MamoriError("APPROVER_KEY_UNKNOWN", person=person, key_id="(not a key id)")
    query = select(ApproverKey).where(ApproverKey.person == person, ApproverKey.status == "active")
    if key_id:
        query = query.where(ApproverKey.key_id == key_id)
    keys = list(work.session.scalars(query))
    if len(keys) != 1:
        raise MamoriError("APPROVER_KEY_UNKNOWN", person=person, key_id=key_id or "(none named)")
    return keys[0]
