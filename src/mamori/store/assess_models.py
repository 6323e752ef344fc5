"""Tables of the Cyber Security Self-Assessment: assessments per organisation and year, their answers (every
revision kept: the current answer is the latest), evidence files stored once by content hash, and remediation items.

An assessment keeps the whole question bank it was taken against (``framework_document``, canonical JSON) and its
target profile, so a bank published later never changes how a past year reads. Times are integer microseconds
since the Unix epoch (UTC); dates of evidence and remediation are ISO dates (``2026-04-01``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mamori.store.models import Base


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("organisation", "year"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation: Mapped[str] = mapped_column(String(64))  # a short id, e.g. "mirai-exchange"
    organisation_en: Mapped[str] = mapped_column(String(200))
    organisation_ja: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)  # the administrative (fiscal) year assessed
    framework_id: Mapped[str] = mapped_column(String(64))
    framework_version: Mapped[str] = mapped_column(String(64))
    framework_digest: Mapped[str] = mapped_column(String(64))
    framework_document: Mapped[bytes] = mapped_column(LargeBinary)
    target_document: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))  # open, locked
    created_us: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(200))
    locked_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reviewer: Mapped[str | None] = mapped_column(String(200), nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    lock_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)  # SHA-256 of the locked record
    audit_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # the audit entry of the sign-off


class AssessmentAnswer(Base):
    """One revision of one answer; ``value`` None clears it."""

    __tablename__ = "assessment_answers"

    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[str | None] = mapped_column(String(2000), nullable=True)  # the text form (assess/answers.py)
    documentation: Mapped[str | None] = mapped_column(String(16), nullable=True)
    note: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # person, machine, import
    machine_state: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # JSON: check, detail, state
    answered_by: Mapped[str] = mapped_column(String(200))
    answered_us: Mapped[int] = mapped_column(BigInteger)


class EvidenceBlob(Base):
    """An evidence file's bytes, once per content (SHA-256), whatever the number of answers it supports."""

    __tablename__ = "evidence_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    stored_us: Mapped[int] = mapped_column(BigInteger)


class AssessmentEvidence(Base):
    __tablename__ = "assessment_evidence"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"), index=True)
    question_id: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(ForeignKey("evidence_blobs.sha256"))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(127))
    description: Mapped[str] = mapped_column(Text)
    effective_on: Mapped[str] = mapped_column(String(10))
    expires_on: Mapped[str | None] = mapped_column(String(10), nullable=True)
    added_by: Mapped[str] = mapped_column(String(200))
    added_us: Mapped[int] = mapped_column(BigInteger)
    withdrawn_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class RemediationItem(Base):
    __tablename__ = "remediation_items"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"), index=True)
    question_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    title: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(16))  # open, done
    created_by: Mapped[str] = mapped_column(String(200))
    created_us: Mapped[int] = mapped_column(BigInteger)
    closed_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
