"""Withdrawals through the guard: submit a signed request, attach the transaction, approve, release, cancel.

Each operation is one transaction under the audit log's lock (service/state.py): the velocity counters and the
quorum it reads cannot change before it commits, on any number of server processes, and its audit entries
commit with it. A refusal that must be on record (a request not signed by the system of record, a forged or
replayed approval) is committed first and raised after.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, Engine, Table, bindparam, delete, insert, select

from mamori.errors import InputError, MamoriError
from mamori.guard import GuardError, format_utc, require_text
from mamori.guard.approval import Approval, ApprovalSubject, approval_digest, verify_approval
from mamori.guard.attestation import DEFAULT_TTL_SECONDS, issue_attestation
from mamori.policy.check import verify_attached
from mamori.policy.evaluate import Verdict, evaluate, reason
from mamori.policy.facts import TransactionFacts
from mamori.policy.model import Policy
from mamori.policy.request import (
    WithdrawalRequest,
    decode_key_or_signature,
    parse_request,
    parse_timestamp,
    signature_problem,
)
from mamori.service import velocity
from mamori.service.auth import Principal, authorize
from mamori.service.batching import GroupCommit
from mamori.service.facts import RESERVING, FactCache, Screen, from_us, gather_facts, to_us
from mamori.service.governance import active_approver_key
from mamori.service.state import ACTIVE_VERSION, PolicyCache, UnitOfWork, unit_of_work
from mamori.store.direct import Statement
from mamori.store.guard_models import (
    MAX_AMOUNT,
    Balance,
    Release,
    Reservation,
    Withdrawal,
    WithdrawalApproval,
    amount_limbs,
)
from mamori.verify.registry import ContractRegistry

MAX_APPROVAL_TTL = timedelta(hours=24)
# What verifying an attached transaction established: (facts, signing hash, why it cannot be verified).
Verification = tuple[TransactionFacts | None, str | None, str | None]
MAX_DOCUMENT_DEPTH = 32


@dataclass(frozen=True, slots=True)
class _Refusal:
    """An error to raise once the transaction that records it has committed."""

    error: MamoriError


@dataclass(frozen=True, slots=True)
class Submission:
    """A submission checked and parsed, waiting for its transaction (``WithdrawalService.prepare``)."""

    principal: Principal
    request: WithdrawalRequest
    document: Mapping[str, Any]
    stored: bytes
    digest: str
    now: datetime
    # The attached transaction verified before the lock against the policy of this digest (None: not done);
    # used under the lock only if that policy is still the active one.
    verified: tuple[str, Verification] | None = None


class WithdrawalService:
    def __init__(
        self,
        engine: Engine,
        *,
        guard_key: Ed25519PrivateKey,
        registry: ContractRegistry,
        policies: PolicyCache,
        screen: Screen | None = None,
        screened_lists: frozenset[str] | Callable[[], frozenset[str]] = frozenset(),
        release_ttl_seconds: int = DEFAULT_TTL_SECONDS,
        group_commit: bool = True,
    ) -> None:
        """``screened_lists``: the lists consulted, or a function giving them at each decision (a feed that has
        gone stale drops out, and a policy that requires it denies)."""
        self.engine = engine
        self.guard_key = guard_key
        self.registry = registry
        self.policies = policies
        self.screen = screen
        self.screened_lists = screened_lists
        self.release_ttl_seconds = release_ttl_seconds
        # Submissions arriving together share one transaction and one durable commit (service/batching.py).
        self.batcher: GroupCommit[Submission, dict[str, Any]] | None = (
            GroupCommit(self.submit_batch) if group_commit else None
        )

    # --- operations ------------------------------------------------------------------------------------------
    def submit(self, principal: Principal, document: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
        """Store a request signed by the system of record; with ``transaction`` in it, decide it at once."""
        item = self.prepare(principal, document, now=now)
        return self.batcher.run(item) if self.batcher is not None else self._submit_alone(item)

    async def submit_async(self, principal: Principal, document: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
        """:meth:`submit` for the event loop: the checks before the transaction run here (they take a fraction of
        a millisecond), the decision on the group commit's writer thread, while the loop serves other requests."""
        item = self.prepare(principal, document, now=now)
        if self.batcher is not None:
            return await self.batcher.run_async(item)
        return await asyncio.to_thread(self._submit_alone, item)

    def prepare(self, principal: Principal, document: Mapping[str, Any], *, now: datetime) -> Submission:
        """Everything about a submission that needs no transaction: permission, parsing, the signature check."""
        authorize(principal, "request.submit")
        request = parse_request(document)
        for name in ("request_id", "initiator", "wallet", "chain", "asset", "destination"):
            # Stored, shown to approvers and bound in their signatures: printable text only (no NUL, which
            # PostgreSQL cannot store, no control characters).
            require_text(getattr(request, name), field=name)
        if request.amount >= MAX_AMOUNT:
            raise InputError("FIELD_TYPE_INVALID", field="amount", expected="fewer than 2**120 base units")
        last = self.policies.last
        verified = None
        if last is not None:
            # Checked now, outside the decision lock, against the policy last seen active; under the lock it is
            # checked again against the policy then active (a remembered answer when it is the same key).
            signature_problem(request, {key.id: key.ed25519 for key in last.system_of_record})
            if request.transaction is not None:
                # The transaction's verification depends only on its bytes and the policy: done here, outside
                # the lock every decision waits for, and used under it if the policy has not changed meanwhile.
                verified = (last.digest, self._verify(request, last))
        return Submission(
            principal=principal,
            request=request,
            document=document,
            stored=_canonical({k: v for k, v in document.items() if k != "transaction"}),
            digest=hashlib.sha256(_canonical(document)).hexdigest(),
            now=now,
            verified=verified,
        )

    def _submit_alone(self, item: Submission) -> dict[str, Any]:
        outcome = self.submit_batch([item])[0]
        if isinstance(outcome, MamoriError):
            raise outcome
        return outcome

    def submit_batch(self, items: list[Submission]) -> list[dict[str, Any] | MamoriError]:
        """Decide several submissions in one transaction: one lock, one frontier read, one commit (group commit).

        A submission writes nothing to the database until the transaction ends: its audit entries are staged in
        memory and its rows given to ``insert_later`` as its very last step (``_submit_in``), so one that fails
        is undone by dropping what it staged, and leaves the others, and the log, as they were. Its facts are
        read through the transaction's ``FactCache``, which counts the reservations of the submissions decided
        before it. A failure of the database itself fails the whole transaction, and every submission of the
        batch gets the error.
        """
        results: list[dict[str, Any] | MamoriError] = []
        now = max(item.now for item in items)
        ids = list({item.request.request_id for item in items})
        # Read with the lock, in its round trip: the active version, the registered velocity combinations, the ids
        # already stored and — ahead, under the policy last seen active and this clock — the batch's facts.
        guess = self.policies.last_active
        ahead = (
            FactCache().reads_for(self.engine, guess[1], [item.request for item in items], now=now)
            if guess is not None
            else None
        )
        reads = [ACTIVE_VERSION.bind(self.engine, {}), velocity.registered_query(self.engine)]
        reads += [_digests_query(self.engine, ids), *(ahead.statements if ahead is not None else ())]
        with unit_of_work(self.engine, now, reads=reads) as work:
            version_rows, registered_rows, digest_rows, *fact_rows = work.opened
            active = self.policies.of_version(work.connection, version_rows)
            registered = work.facts.registered_from(registered_rows)
            known: dict[str, str] = dict(digest_rows)
            fresh = [item.request for item in items if item.request.request_id not in known]
            still = guess is not None and guess[1] is active[1] and work.now == now
            if ahead is not None and still and ahead.pers <= registered:
                work.facts.take(ahead, fact_rows)
            else:  # another policy, a later clock in the log, or a combination to register first: read again
                work.facts.prefetch(work.connection, active[1], fresh, now=work.now)
            answered: dict[str, dict[str, Any]] = {}  # request id -> answer, for a repeat in this same batch
            for item in items:
                mark = work.mark()
                try:
                    outcome = self._submit_in(work, item, active, known, answered)
                except MamoriError as exc:
                    work.undo(mark)
                    results.append(exc)
                    continue
                results.append(outcome.error if isinstance(outcome, _Refusal) else outcome)
        return results

    def _submit_in(
        self,
        work: UnitOfWork,
        item: Submission,
        active: tuple[int, Policy],
        known: dict[str, str],
        answered: dict[str, dict[str, Any]],
    ) -> dict[str, Any] | _Refusal:
        """One submission of a batch. ``known``: request id -> digest of the requests stored before the batch or
        decided earlier in it (updated here); ``answered``: the answers given earlier in the batch."""
        principal, request, document, stored, digest, now = (
            item.principal,
            item.request,
            item.document,
            item.stored,
            item.digest,
            item.now,
        )
        outcome: dict[str, Any] | _Refusal
        version, policy = active
        keys = {key.id: key.ed25519 for key in policy.system_of_record}
        problem = signature_problem(request, keys)
        existing = known.get(request.request_id)
        if problem is not None:
            code, key_id = problem
            work.record(
                "withdrawal.refused",
                {"request_id": request.request_id, "request_sha256": digest, "reason": code, "key_id": key_id}
                | {"by": principal.key_id},
            )
            outcome = _Refusal(MamoriError("REQUEST_NOT_AUTHENTIC", reason=code, detail=key_id or "no signature"))
        elif existing is not None:
            if existing != digest:
                raise MamoriError("REQUEST_ID_REUSED", request_id=request.request_id)
            # A retry: the same answer (the request was stored before this batch, or earlier in it).
            earlier = answered.get(request.request_id)
            outcome = earlier if earlier is not None else self._view(work, self._get(work, request.request_id))
        else:
            row = Withdrawal(
                request_id=request.request_id,
                status="awaiting_transaction",
                initiator=request.initiator,
                wallet=request.wallet,
                chain=request.chain,
                asset=request.asset,
                amount=str(request.amount),
                destination=request.destination,
                created_us=to_us(request.created_at),
                received_us=to_us(now),
                request_digest=digest,
                request_document=stored,
                policy_version=version,
            )
            work.record(
                "withdrawal.submitted",
                {
                    "request_id": request.request_id,
                    "request_sha256": digest,
                    "signed_payload": request.signed_payload.decode(),
                    "key_id": request.signature.key_id if request.signature else "",
                    "by": principal.key_id,
                },
            )
            release = None
            if request.transaction is not None:
                verified = item.verified[1] if item.verified and item.verified[0] == policy.digest else None
                release = self._attach(
                    work, row, request, document["transaction"], policy, version, fresh=True, verified=verified
                )
            outcome = self._view(work, row, fresh=release or {})
            # The last step, which cannot fail: the rows, written when the transaction ends (submit_batch relies
            # on it). The hot path of the guard, in Core statements (no ORM bookkeeping).
            work.insert_later(_WITHDRAWALS, _columns(row))
            if row.reserved_us is not None:
                reservation = _reservation(row, row.reserved_us)
                work.insert_later(_RESERVATIONS, reservation | amount_limbs(int(row.amount)))
                work.facts.reserved(reservation)
            if release is not None:
                work.insert_later(_RELEASES, release)
            known[request.request_id] = digest
            answered[request.request_id] = outcome
        return outcome

    def attach(
        self, principal: Principal, request_id: str, transaction: Mapping[str, Any], *, now: datetime
    ) -> dict[str, Any]:
        authorize(principal, "request.attach")
        with unit_of_work(self.engine, now) as work:
            row = self._get(work, request_id)
            if row.status != "awaiting_transaction":
                if row.transaction is not None and row.transaction == _canonical(transaction):
                    return self._view(work, row)  # the same transaction again: an idempotent retry
                raise _conflict(row, "attach a transaction")
            version, policy = self.policies.active(work.session)
            request = parse_request({**orjson.loads(row.request_document), "transaction": transaction})
            self._store_release(work, self._attach(work, row, request, transaction, policy, version))
            return self._view(work, row)

    def approve(
        self, principal: Principal, request_id: str, body: Mapping[str, Any], *, now: datetime
    ) -> dict[str, Any]:
        """Record an approver's signature over the approval digest, then decide again."""
        authorize(principal, "request.approve")
        signed = _approval_from_body(body)
        outcome: dict[str, Any] | _Refusal
        with unit_of_work(self.engine, now) as work:
            row = self._get(work, request_id)
            version, policy = self.policies.active(work.session)
            if row.status != "pending_approval":
                raise _conflict(row, "approve")
            person = principal.name
            eligible = person != row.initiator and person in policy.people
            key = active_approver_key(work, person, str(body.get("key_id", ""))) if eligible else None
            expected = self._subject(row, policy, signed.subject.expires_at)
            try:
                # Refused before any signature is checked, and on record like every refused approval.
                _check_eligible(person, row, policy)
                _check_lifetime(signed, work.now)
                assert key is not None  # noqa: S101 - eligible
                public_key = Ed25519PublicKey.from_public_bytes(key.public_key)
                verify_approval(signed, public_key=public_key, expected=expected, now=work.now)
            except GuardError as exc:
                work.record(
                    "withdrawal.approval_refused",
                    {
                        "request_id": request_id,
                        "approver": person,
                        "key_id": key.key_id if key else "",
                        "reason": exc.code,
                    },
                )
                outcome = _Refusal(exc)
            else:
                earlier = work.session.scalars(
                    select(WithdrawalApproval).where(
                        WithdrawalApproval.request_id == request_id,
                        WithdrawalApproval.approver == person,
                        WithdrawalApproval.signing_hash == expected.signing_hash,
                    )
                ).first()
                # An earlier approval of this hash that still counts makes this one a retry; one that no longer
                # counts (expired, or given under another policy) is replaced by this one.
                counts = earlier is not None and (
                    earlier.policy_digest == expected.policy_digest
                    and earlier.policy_version == version
                    and earlier.expires_us > to_us(now)
                    and earlier.key_id == key.key_id  # made with a key since removed, it no longer counts
                )
                if not counts:
                    if earlier is None:
                        earlier = WithdrawalApproval(request_id=request_id, approver=person)
                        work.session.add(earlier)
                    earlier.key_id = key.key_id
                    earlier.signing_hash = expected.signing_hash
                    earlier.policy_digest = expected.policy_digest
                    earlier.policy_version = version
                    earlier.expires_us = to_us(expected.expires_at)
                    earlier.signature = signed.signature
                    earlier.at_us = to_us(now)
                    work.record(
                        "withdrawal.approved",
                        {
                            "request_id": request_id,
                            "approver": person,
                            "key_id": key.key_id,
                            "subject": orjson.loads(expected.canonical_json()),
                            "signature": signed.signature.hex(),
                        },
                    )
                    work.session.flush()
                    self._store_release(work, self._decide(work, row, self._stored_request(row), policy, version))
                outcome = self._view(work, row)
        if isinstance(outcome, _Refusal):
            raise outcome.error
        return outcome

    def release(self, principal: Principal, request_id: str, *, now: datetime) -> dict[str, Any]:
        """The current release; a new one (after deciding again on today's facts) when the last has expired."""
        authorize(principal, "request.release")
        with unit_of_work(self.engine, now) as work:
            row = self._get(work, request_id)
            if row.status != "released":
                raise _conflict(row, "release")
            current = self._latest_release(work, request_id)
            if current is None or current.expires_us <= to_us(now):
                version, policy = self.policies.active(work.session)
                self._store_release(work, self._decide(work, row, self._stored_request(row), policy, version))
            return self._view(work, row)

    def cancel(self, principal: Principal, request_id: str, *, now: datetime) -> dict[str, Any]:
        authorize(principal, "request.cancel")
        with unit_of_work(self.engine, now) as work:
            row = self._get(work, request_id)
            # A released withdrawal may already be signed: cancelling it would free its reservation falsely.
            if row.status not in ("awaiting_transaction", "pending_approval"):
                raise _conflict(row, "cancel")
            row.status, row.reserved_us = "cancelled", None
            _sync_reservation(work, row)
            work.record("withdrawal.cancelled", {"request_id": request_id, "by": principal.key_id})
            work.session.flush()
            return self._view(work, row)

    def read(self, principal: Principal, request_id: str, *, now: datetime) -> dict[str, Any]:
        authorize(principal, "request.read")
        with unit_of_work(self.engine, now, write=False) as work:
            return self._view(work, self._get(work, request_id))

    def approval_subject(
        self, principal: Principal, request_id: str, *, expires_at: datetime, now: datetime
    ) -> dict[str, Any]:
        """What an approver's client signs for this withdrawal, for the approver to check against the ledger and
        their signing device before signing it."""
        authorize(principal, "request.read")
        with unit_of_work(self.engine, now, write=False) as work:
            row = self._get(work, request_id)
            if row.signing_hash is None:
                raise _conflict(row, "be approved yet")
            _, policy = self.policies.active(work.session)
            subject = self._subject(row, policy, expires_at)
            return {"subject": orjson.loads(subject.canonical_json()), "digest": approval_digest(subject).hex()}

    def report_balance(self, principal: Principal, body: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
        authorize(principal, "balance.report")
        wallet, asset = _text(body, "wallet"), _text(body, "asset")
        amount = _base_units(body.get("amount"), field="amount")
        with unit_of_work(self.engine, now) as work:
            _, policy = self.policies.active(work.session)
            if wallet not in policy.wallets or asset not in policy.wallets[wallet].assets:
                raise InputError("FIELD_TYPE_INVALID", field="wallet", expected="a wallet and asset of the policy")
            row = work.session.get(Balance, (wallet, asset))
            if row is None:
                row = Balance(wallet=wallet, asset=asset, amount="0", as_of_us=0, reported_by="")
                work.session.add(row)
            row.amount, row.as_of_us, row.reported_by = str(amount), to_us(now), principal.key_id
            work.record("balance.reported", {"wallet": wallet, "asset": asset, "amount": str(amount)})
            return {"wallet": wallet, "asset": asset, "amount": str(amount), "as_of": format_utc(now)}

    # --- deciding ----------------------------------------------------------------------------------------------
    def _attach(
        self,
        work: UnitOfWork,
        row: Withdrawal,
        request: WithdrawalRequest,
        transaction: Mapping[str, Any],
        policy: Policy,
        version: int,
        *,
        fresh: bool = False,
        verified: Verification | None = None,
    ) -> dict[str, Any] | None:
        row.transaction = _canonical(transaction)
        work.record(
            "withdrawal.transaction_attached",
            {"request_id": row.request_id, "transaction_sha256": hashlib.sha256(row.transaction).hexdigest()},
        )
        return self._decide(work, row, request, policy, version, fresh=fresh, verified=verified)

    def _decide(
        self,
        work: UnitOfWork,
        row: Withdrawal,
        request: WithdrawalRequest,
        policy: Policy,
        version: int,
        *,
        fresh: bool = False,
        verified: Verification | None = None,
    ) -> dict[str, Any] | None:
        """Decide ``row`` again on today's facts; the release to store if it is allowed (``_store_release``).
        ``verified``: the transaction already verified against this very policy (``prepare``)."""
        now = work.now
        transaction, signing_hash, problem = verified if verified is not None else self._verify(request, policy)
        row.signing_hash = signing_hash
        if problem is not None:
            denial = reason("TX_UNVERIFIABLE", "transaction", reason=problem)
            verdict = Verdict("deny", (denial,), (), policy.id, policy.digest, request.request_id)
        else:
            facts = gather_facts(
                work.connection,
                policy,
                request,
                transaction,
                signing_hash=signing_hash,
                now=now,
                screen=self.screen,
                screened_lists=self.screened_lists() if callable(self.screened_lists) else self.screened_lists,
                policy_version=version,
                fresh=fresh,
                cache=work.facts,
            )
            verdict = evaluate(request, policy, facts, now=now)
        if verdict.decision == "allow" and signing_hash is None:
            # Nothing to bind a release to (no transaction attached): a release must name exact bytes.
            verdict = Verdict(
                "deny",
                (reason("TX_MISSING", "require_transaction", tier=policy.wallets[request.wallet].tier),),
                (),
                policy.id,
                policy.digest,
                request.request_id,
            )
        row.verdict = orjson.dumps(verdict.to_json())
        row.decided_us = to_us(now)
        row.policy_version = version
        if verdict.decision == "deny":
            row.status, row.reserved_us = "denied", None
        else:
            row.status = "released" if verdict.decision == "allow" else "pending_approval"
            # A release holds the limits from the moment it is issued: a withdrawal that waited for its approvals
            # longer than a window must not leave that window before it can be signed. Moving the hold later only
            # ever counts it in more windows, never fewer.
            released = verdict.decision == "allow"
            row.reserved_us = to_us(now) if released or row.reserved_us is None else row.reserved_us
        if not fresh:  # a fresh row is written, with its reservation, at the very end (_submit_in)
            _sync_reservation(work, row)
        work.record(
            "withdrawal.decided",
            {
                "request_id": request.request_id,
                "decision": verdict.decision,
                "reasons": [item.code for item in verdict.reasons],
                "policy_version": version,
                "policy_digest": policy.digest,
                "signing_hash": signing_hash,
            },
        )
        if verdict.decision == "allow" and signing_hash is not None:
            return self._issue_release(work, row, signing_hash)
        return None

    def _verify(self, request: WithdrawalRequest, policy: Policy) -> Verification:
        """(facts, signing hash, why it cannot be verified). Anything not verifiable denies, never raises."""
        try:
            verified = verify_attached(request, policy, self.registry)
        except MamoriError as exc:
            return None, None, exc.code
        if verified is None:
            return None, None, None
        return verified[0], verified[1], None

    def _issue_release(self, work: UnitOfWork, row: Withdrawal, signing_hash: str) -> dict[str, Any]:
        """Sign the release and stage its audit entry; the caller stores the returned row once the withdrawal's
        own row is written (``_store_release``)."""
        token = issue_attestation(
            request_id=row.request_id,
            chain=row.chain,
            wallet=row.wallet,
            signing_hash=signing_hash,
            private_key=self.guard_key,
            now=work.now,
            ttl_seconds=self.release_ttl_seconds,
        )
        issued_at = work.now.replace(microsecond=0)  # as the token says: whole seconds, rounded down
        seq = work.record(
            "withdrawal.released",
            {"request_id": row.request_id, "signing_hash": signing_hash, "token": token},
        )
        return {
            "request_id": row.request_id,
            "signing_hash": signing_hash,
            "token": token,
            "issued_us": to_us(issued_at),
            "expires_us": to_us(issued_at + timedelta(seconds=self.release_ttl_seconds)),
            "audit_seq": seq,
        }

    @staticmethod
    def _store_release(work: UnitOfWork, release: dict[str, Any] | None) -> None:
        if release is not None:
            work.session.flush()  # the withdrawal row first: the release refers to it
            work.connection.execute(_INSERT_RELEASE, release)

    # --- reading -----------------------------------------------------------------------------------------------
    @staticmethod
    def _get(work: UnitOfWork, request_id: str) -> Withdrawal:
        return work.fetch(Withdrawal, request_id, what="withdrawal")

    @staticmethod
    def _stored_request(row: Withdrawal) -> WithdrawalRequest:
        document = orjson.loads(row.request_document)
        if row.transaction is not None:
            document["transaction"] = orjson.loads(row.transaction)
        return parse_request(document)

    @staticmethod
    def _subject(row: Withdrawal, policy: Policy, expires_at: datetime) -> ApprovalSubject:
        if row.signing_hash is None:
            raise _conflict(row, "approve")
        return ApprovalSubject(
            request_id=row.request_id,
            wallet=row.wallet,
            chain=row.chain,
            asset=row.asset,
            amount=int(row.amount),
            destination=row.destination,
            signing_hash=row.signing_hash,
            policy_digest=policy.digest,
            expires_at=expires_at,
        )

    @staticmethod
    def _latest_release(work: UnitOfWork, request_id: str) -> Release | None:
        return work.session.scalars(
            select(Release).where(Release.request_id == request_id).order_by(Release.id.desc()).limit(1)
        ).first()

    def _view(self, work: UnitOfWork, row: Withdrawal, *, fresh: dict[str, Any] | None = None) -> dict[str, Any]:
        """What the API answers. ``fresh``: the row was written in this transaction, with this release (or ``{}``),
        and has no approvals: nothing needs reading back."""
        if fresh is not None:
            approvals: Any = ()
            release: Any = SimpleNamespace(**fresh) if fresh else None
        else:
            approvals = work.connection.execute(_APPROVALS_OF, {"request_id": row.request_id})
            release = self._latest_release(work, row.request_id) if row.status == "released" else None
        return {
            "request_id": row.request_id,
            "status": row.status,
            "initiator": row.initiator,
            "wallet": row.wallet,
            "chain": row.chain,
            "asset": row.asset,
            "amount": row.amount,
            "destination": row.destination,
            "created_at": format_utc(from_us(row.created_us)),
            "signing_hash": row.signing_hash,
            "reserved": row.status in RESERVING,
            "decision": orjson.loads(row.verdict) if row.verdict is not None else None,
            "approvals": [
                {"approver": approver, "signing_hash": hash_, "at": format_utc(from_us(at))}
                for approver, hash_, at in approvals
            ],
            "release": (
                {
                    "token": release.token,
                    "signing_hash": release.signing_hash,
                    "issued_at": format_utc(from_us(release.issued_us)),
                    "expires_at": format_utc(from_us(release.expires_us)),
                }
                if release is not None
                else None
            ),
        }


def _approval_from_body(body: Mapping[str, Any]) -> Approval:
    subject = body.get("subject")
    signature = body.get("signature")
    if not isinstance(subject, Mapping):
        raise InputError("FIELD_TYPE_INVALID", field="subject", expected="the approval subject that was signed")
    if not isinstance(signature, str):
        raise InputError("FIELD_TYPE_INVALID", field="signature", expected="64 bytes in hex or base64")
    amount = _base_units(subject.get("amount"), field="subject.amount")
    text = {name: subject.get(name) for name in ("request_id", "wallet", "chain", "asset", "destination")}
    for name in ("signing_hash", "policy_digest"):
        text[name] = subject.get(name)
    for name, value in text.items():
        if not isinstance(value, str):
            raise InputError("FIELD_TYPE_INVALID", field=f"subject.{name}", expected="a string")
    return Approval(
        ApprovalSubject(
            request_id=str(text["request_id"]),
            wallet=str(text["wallet"]),
            chain=str(text["chain"]),
            asset=str(text["asset"]),
            amount=amount,
            destination=str(text["destination"]),
            signing_hash=str(text["signing_hash"]),
            policy_digest=str(text["policy_digest"]),
            expires_at=parse_timestamp(subject.get("expires_at"), field="subject.expires_at"),
        ),
        decode_key_or_signature(signature, field="signature", size=64),
    )


def _check_eligible(person: str, row: Withdrawal, policy: Policy) -> None:
    if person == row.initiator:
        raise GuardError("APPROVER_NOT_ELIGIBLE", person=person, reason="the initiator of the withdrawal")
    if person not in policy.people:
        raise GuardError("APPROVER_NOT_ELIGIBLE", person=person, reason="not a person of the active policy")


def _check_lifetime(approval: Approval, now: datetime) -> None:
    if approval.subject.expires_at > now + MAX_APPROVAL_TTL:
        raise GuardError("APPROVAL_INVALID", reason="an approval must expire within 24 hours")


def _conflict(row: Withdrawal, action: str) -> MamoriError:
    return MamoriError("STATE_CONFLICT", what="withdrawal", id=row.request_id, status=row.status, action=action)


def _base_units(value: object, *, field: str) -> int:
    """An amount in base units written as decimal ASCII digits (str.isdigit() alone also accepts "²", which int()
    refuses, and "١٠٠", which it reads as 100)."""
    if not isinstance(value, str) or not (value.isascii() and value.isdigit()) or len(value) > 78:
        raise InputError("FIELD_TYPE_INVALID", field=field, expected="base units as a decimal string")
    return int(value)


def _text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise InputError("FIELD_TYPE_INVALID", field=name, expected="a non-empty string")
    return value


def _canonical(document: Mapping[str, Any]) -> bytes:
    try:
        return orjson.dumps(dict(document), option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:
        raise InputError("REQUEST_INVALID", reason=f"not representable as JSON: {exc}") from exc


_WITHDRAWALS = cast(Table, Withdrawal.__table__)
_RESERVATIONS = cast(Table, Reservation.__table__)
_RELEASES = cast(Table, Release.__table__)
_INSERT_RELEASE = insert(_RELEASES)
_APPROVALS_OF = (
    select(WithdrawalApproval.approver, WithdrawalApproval.signing_hash, WithdrawalApproval.at_us)
    .where(WithdrawalApproval.request_id == bindparam("request_id"))
    .order_by(WithdrawalApproval.id)
)


def _digests_query(db: Connection | Engine, request_ids: list[str]) -> Statement:
    """The statement reading request id -> digest of those of ``request_ids`` already stored: one statement text for
    any number of ids (an array on PostgreSQL, which the server prepares once; a JSON array on SQLite)."""
    if db.dialect.name == "postgresql":
        return _DIGESTS_ANY, {"request_ids": request_ids}
    return _DIGESTS_JSON, {"request_ids": orjson.dumps(request_ids).decode()}


_DIGESTS_ANY = "SELECT request_id, request_digest FROM guard_withdrawals WHERE request_id = ANY(%(request_ids)s)"
_DIGESTS_JSON = (
    "SELECT request_id, request_digest FROM guard_withdrawals"
    " WHERE request_id IN (SELECT value FROM json_each(:request_ids))"
)


def _columns(row: Withdrawal) -> dict[str, Any]:
    """The values of a withdrawal built in memory (never added to the session), for one Core insert."""
    return {column.key: getattr(row, column.key) for column in _WITHDRAWALS.columns}


_INSERT_RESERVATION = insert(_RESERVATIONS)
_DELETE_RESERVATION = delete(_RESERVATIONS).where(Reservation.request_id == bindparam("request_id"))


def _reservation(row: Withdrawal, reserved_us: int) -> dict[str, Any]:
    return {
        "request_id": row.request_id,
        "wallet": row.wallet,
        "asset": row.asset,
        "destination": row.destination,
        "initiator": row.initiator,
        "reserved_us": reserved_us,
        "amount": row.amount,
    }


def _sync_reservation(work: UnitOfWork, row: Withdrawal) -> None:
    """Keep the reservations table (what the velocity counters read) and its buckets in step with the withdrawal's
    hold: the hold as stored is replaced by the hold as it is now."""
    connection = work.connection
    held = velocity.held_reservation(connection, row.request_id)
    holds = _reservation(row, row.reserved_us) if row.reserved_us is not None else None
    if held is not None and holds is not None and held["reserved_us"] == holds["reserved_us"]:
        return
    changes: list[tuple[Mapping[str, Any], int]] = []
    if held is not None:
        connection.execute(_DELETE_RESERVATION, {"request_id": row.request_id})
        changes.append((held, -1))
    if holds is not None:
        connection.execute(_INSERT_RESERVATION, holds | amount_limbs(int(row.amount)))
        changes.append((holds, 1))
    if changes:
        work.facts.changed(connection, changes)
