"""Tables of the withdrawal guard service: requests, approvals, releases, the policy's versions, the address book,
approvers' keys, governance changes and API keys.

Times are integer microseconds since the Unix epoch (UTC): one exact, comparable form on SQLite and PostgreSQL.
Amounts are decimal text in base units (wei do not fit SQLite's 64-bit integers), and for reservations also three
40-bit limbs that SQL can sum exactly.
Rows are never deleted — a withdrawal changes ``status``, an address-book entry or key gets ``removed_us`` — except
reservations, a derived index of the withdrawals that hold a velocity reservation.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from mamori.store.models import Base


class PolicyVersion(Base):
    """A version of the withdrawal policy. ``status``: proposed, active, superseded, rejected. One is active."""

    __tablename__ = "guard_policy_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    proposed_by: Mapped[str] = mapped_column(String(256))
    proposed_us: Mapped[int] = mapped_column(BigInteger)
    activated_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ApproverKey(Base):
    """A person's personal Ed25519 key for approvals. ``status``: active or removed (by a later change)."""

    __tablename__ = "guard_approver_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the raw public key, hex
    person: Mapped[str] = mapped_column(String(256), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    status: Mapped[str] = mapped_column(String(16))
    added_us: Mapped[int] = mapped_column(BigInteger)
    removed_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ApiKey(Base):
    """A bearer credential: ``mk_<key_id>_<secret>``. Only SHA-256 of the 32-byte random secret is kept."""

    __tablename__ = "guard_api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    role: Mapped[str] = mapped_column(String(32))
    principal: Mapped[str] = mapped_column(String(256))
    created_us: Mapped[int] = mapped_column(BigInteger)
    revoked_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AddressBookRow(Base):
    """An address-book entry in force since ``effective_us`` (its quorum); cooling-off runs from there."""

    __tablename__ = "guard_address_book"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(256))  # normalised (policy.facts.normalise_address)
    label: Mapped[str] = mapped_column(String(256))
    approved_by: Mapped[str] = mapped_column(Text)  # JSON list of person ids
    effective_us: Mapped[int] = mapped_column(BigInteger)
    removed_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (Index("ix_guard_address_book_chain_address", "chain", "address"),)


class Change(Base):
    """A proposed change of the policy, an approver's key or the address book, applied at its quorum.

    ``kind``: policy, approver_key.add, approver_key.remove, address_book.add, address_book.remove.
    ``status``: open, applied, rejected. ``subject`` is the canonical JSON that approvers sign the digest of.
    """

    __tablename__ = "guard_changes"

    change_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[bytes] = mapped_column(LargeBinary)
    subject_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    proposed_by: Mapped[str] = mapped_column(String(256))
    proposed_us: Mapped[int] = mapped_column(BigInteger)
    expires_us: Mapped[int] = mapped_column(BigInteger)
    decided_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ChangeApproval(Base):
    __tablename__ = "guard_change_approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    change_id: Mapped[str] = mapped_column(ForeignKey("guard_changes.change_id"))
    approver: Mapped[str] = mapped_column(String(256))
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    at_us: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("change_id", "approver", name="uq_guard_change_approvals_change_approver"),)


LIMB_BITS = 40
MAX_AMOUNT = 1 << (3 * LIMB_BITS)  # 2**120 base units: about 1.3e18 ETH; larger amounts are refused


def amount_limbs(amount: int) -> dict[str, int]:
    """The ``amount_l0`` … ``amount_l2`` columns of a reservation of ``amount`` (for inserts that skip defaults)."""
    mask = (1 << LIMB_BITS) - 1
    return {f"amount_l{index}": (amount >> (LIMB_BITS * index)) & mask for index in range(3)}


def _limb(index: int) -> Callable[[DefaultExecutionContext], int]:
    """Column default: limb ``index`` of the row's ``amount``. SQL sums the limbs exactly (each sum stays far below
    2**63 for millions of rows), where SQLite cannot sum the 80-digit amounts themselves."""

    def default(context: DefaultExecutionContext) -> int:
        amount = int(context.get_current_parameters()["amount"])  # type: ignore[no-untyped-call]
        return (amount >> (LIMB_BITS * index)) & ((1 << LIMB_BITS) - 1)

    return default


class Withdrawal(Base):
    """A withdrawal request as the system of record signed it, and where it stands.

    ``status``: awaiting_transaction, pending_approval, released, denied, cancelled. From its first non-deny
    decision (``reserved_us``) until it is denied or cancelled, it counts toward velocity limits.
    """

    __tablename__ = "guard_withdrawals"

    request_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    status: Mapped[str] = mapped_column(String(24))
    initiator: Mapped[str] = mapped_column(String(256))
    wallet: Mapped[str] = mapped_column(String(256))
    chain: Mapped[str] = mapped_column(String(64))
    asset: Mapped[str] = mapped_column(String(64))
    amount: Mapped[str] = mapped_column(String(80))
    destination: Mapped[str] = mapped_column(String(256))
    created_us: Mapped[int] = mapped_column(BigInteger)  # the system of record's time, as signed
    received_us: Mapped[int] = mapped_column(BigInteger)
    request_digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the signed payload and signature
    request_document: Mapped[bytes] = mapped_column(LargeBinary)  # signed fields and signature, canonical JSON
    transaction: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # as attached, canonical JSON
    signing_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    policy_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    verdict: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # the last decision, JSON
    decided_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reserved_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (Index("ix_guard_withdrawals_wallet_reserved", "wallet", "reserved_us"),)


class Reservation(Base):
    """A withdrawal's hold on the velocity limits, from its first non-deny decision until it is denied or cancelled.

    A narrow copy of what the counters read (service/facts.py), so that they scan small rows in one index range;
    deleted when the hold ends (the withdrawal itself keeps its history). The amount is also kept as three
    40-bit limbs, which SQL sums exactly on SQLite too.
    """

    __tablename__ = "guard_reservations"

    request_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    wallet: Mapped[str] = mapped_column(String(256))
    asset: Mapped[str] = mapped_column(String(64))
    destination: Mapped[str] = mapped_column(String(256))
    initiator: Mapped[str] = mapped_column(String(256))
    reserved_us: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[str] = mapped_column(String(80))
    amount_l0: Mapped[int] = mapped_column(BigInteger, default=_limb(0))  # bits 0-39 of amount
    amount_l1: Mapped[int] = mapped_column(BigInteger, default=_limb(1))  # bits 40-79
    amount_l2: Mapped[int] = mapped_column(BigInteger, default=_limb(2))  # bits 80-119

    __table_args__ = (
        Index("ix_guard_reservations_wallet_reserved", "wallet", "reserved_us"),
        Index("ix_guard_reservations_reserved", "reserved_us"),  # the edges of a bucketed window (velocity.py)
    )


class VelocityScope(Base):
    """A key combination of velocity limits (``per``, e.g. "wallet,asset") whose buckets are kept: registered, and
    filled from the reservations, the first time a limit with that ``per`` is counted (service/velocity.py)."""

    __tablename__ = "guard_velocity_scopes"

    per: Mapped[str] = mapped_column(String(64), primary_key=True)
    registered_us: Mapped[int] = mapped_column(BigInteger)


class VelocityBucket(Base):
    """Reservations summed per scope, asset and aligned time bucket (1 s, 1 min, 1 h: ``level`` 0, 1, 2), so that
    a velocity counter reads a few hundred buckets whatever the number of withdrawals in its window.

    ``scope``: SHA-256 (first 16 bytes, hex) of the ``per`` names and their values. The amount is kept as three
    40-bit limbs that an upsert adds with carries (``l2`` takes what is above 80 bits), so it stays exact.
    """

    __tablename__ = "guard_velocity_buckets"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    start_us: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    asset: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    l0: Mapped[int] = mapped_column(BigInteger)
    l1: Mapped[int] = mapped_column(BigInteger)
    l2: Mapped[int] = mapped_column(BigInteger)


class WithdrawalApproval(Base):
    """An approver's Ed25519 signature over the approval digest (guard/approval.py) of one withdrawal."""

    __tablename__ = "guard_withdrawal_approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("guard_withdrawals.request_id"))
    approver: Mapped[str] = mapped_column(String(256))
    key_id: Mapped[str] = mapped_column(String(64))
    signing_hash: Mapped[str] = mapped_column(String(66))
    policy_digest: Mapped[str] = mapped_column(String(64))
    # the version that was active: a later version with the same text (a return to it) starts without approvals
    policy_version: Mapped[int] = mapped_column(Integer)
    expires_us: Mapped[int] = mapped_column(BigInteger)
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    at_us: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("request_id", "approver", "signing_hash", name="uq_guard_withdrawal_approvals_once"),
    )


class Release(Base):
    """A release attestation as issued (guard/attestation.py): its audit entry is in the same transaction."""

    __tablename__ = "guard_releases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("guard_withdrawals.request_id"), index=True)
    signing_hash: Mapped[str] = mapped_column(String(66))
    token: Mapped[str] = mapped_column(Text)
    issued_us: Mapped[int] = mapped_column(BigInteger)
    expires_us: Mapped[int] = mapped_column(BigInteger)
    audit_seq: Mapped[int] = mapped_column(BigInteger)


class Balance(Base):
    """A wallet's balance of an asset as the system of record last reported it (balance-percent limits)."""

    __tablename__ = "guard_balances"

    wallet: Mapped[str] = mapped_column(String(256), primary_key=True)
    asset: Mapped[str] = mapped_column(String(64), primary_key=True)
    amount: Mapped[str] = mapped_column(String(80))
    as_of_us: Mapped[int] = mapped_column(BigInteger)
    reported_by: Mapped[str] = mapped_column(String(256))
