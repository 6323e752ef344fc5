"""The records of the self-assessment as the service reads them back: an assessment with its current answers
(each with who gave it, when and, for machine evidence, the state it is linked to), its evidence and its remediation
items; their JSON; and the lock digest that the sign-off records. Read-only: the changes are service/assessments.py's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import select

from mamori.assess.answers import Answer, Source, answer
from mamori.assess.framework import Framework, parse_framework
from mamori.assess.scoring import Scorecard, TargetProfile, parse_target_profile, score
from mamori.assess.snapshot import framework_digest
from mamori.guard import format_utc
from mamori.service.facts import from_us, to_us
from mamori.service.state import UnitOfWork
from mamori.store.assess_models import (
    Assessment,
    AssessmentAnswer,
    AssessmentEvidence,
    EvidenceBlob,
    RemediationItem,
)


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    answer: Answer
    source: Source
    by: str
    at: datetime
    revision: int
    machine: dict[str, Any] | None = None  # check, detail (en, ja), state


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    id: str
    question: str
    sha256: str
    filename: str
    media_type: str
    size: int
    description: str
    effective_on: date
    expires_on: date | None
    added_by: str
    added_at: datetime

    def status(self, today: date) -> str:
        if today < self.effective_on:
            return "not-yet-effective"
        if self.expires_on is not None and today > self.expires_on:
            return "expired"
        return "valid"


@dataclass(frozen=True, slots=True)
class Remediation:
    id: str
    question: str | None
    title: str
    owner: str
    due_on: date
    status: str
    created_by: str
    created_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class AssessmentRecord:
    id: str
    organisation: str
    organisation_en: str
    organisation_ja: str
    year: int
    framework: Framework
    framework_digest: str
    target: TargetProfile
    status: str
    created_by: str
    created_at: datetime
    locked_at: datetime | None
    reviewer: str | None
    review_note: str | None
    lock_digest: str | None
    audit_seq: int | None
    answers: Mapping[str, AnswerRecord] = field(default_factory=dict)
    evidence: tuple[EvidenceRecord, ...] = ()
    remediation: tuple[Remediation, ...] = ()

    @property
    def locked(self) -> bool:
        return self.status == "locked"

    def scorecard(self) -> Scorecard:
        return score(self.framework, {k: r.answer for k, r in self.answers.items()}, self.target)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "organisation": self.organisation,
            "organisation_name": {"en": self.organisation_en, "ja": self.organisation_ja},
            "year": self.year,
            "framework": {"id": self.framework.id, "version": self.framework.version, "digest": self.framework_digest},
            "status": self.status,
            "created_by": self.created_by,
            "created_at": format_utc(self.created_at),
            "locked_at": format_utc(self.locked_at) if self.locked_at else None,
            "reviewer": self.reviewer,
            "review_note": self.review_note,
            "lock_digest": self.lock_digest,
            "audit_seq": self.audit_seq,
        }

    def to_json(self, *, today: date) -> dict[str, Any]:
        """The whole record: what the HTTP API and ``mamori assess show --json`` give."""
        answers = {}
        for question_id, record in self.answers.items():
            answers[question_id] = {
                "value": record.answer.value_text(),
                "documentation": record.answer.documentation.value if record.answer.documentation else None,
                "note": record.answer.note,
                "source": record.source.value,
                "by": record.by,
                "at": format_utc(record.at),
                "revision": record.revision,
                **({"machine": record.machine} if record.machine is not None else {}),
            }
        return {
            **self.summary(),
            "target": self.target.to_json(),
            "answers": answers,
            "evidence": [evidence_json(e, today) for e in self.evidence],
            "remediation": [remediation_json(r, today) for r in self.remediation],
            "scores": self.scorecard().to_json(),
        }


def lock_digest(record: AssessmentRecord) -> str:
    """SHA-256 of the canonical signed-off record: answers, evidence, scores and the sign-off. Remediation items
    are left out: their progress after the sign-off is the plan being carried out, not a change of the record."""
    document = {
        "assessment": record.id,
        "organisation": record.organisation,
        "year": record.year,
        "names": [record.organisation_en, record.organisation_ja],
        "framework_digest": framework_digest(record.framework),  # recomputed: the stored questions themselves
        "target": record.target.to_json(),
        "answers": {
            q: {**answer_json(r.answer), "source": r.source.value, "by": r.by, "revision": r.revision}
            for q, r in sorted(record.answers.items())
        },
        "evidence": sorted(
            [e.question, e.sha256, e.effective_on.isoformat(), e.expires_on.isoformat() if e.expires_on else None]
            for e in record.evidence
        ),
        "scores": record.scorecard().to_json(),
        "reviewer": record.reviewer,
        "locked_us": to_us(record.locked_at) if record.locked_at else None,
    }
    return hashlib.sha256(canonical(document)).hexdigest()


def answer_json(given: Answer) -> dict[str, Any]:
    return {
        "value": given.value_text(),
        "documentation": given.documentation.value if given.documentation else None,
        "note": given.note,
    }


def canonical(document: Any) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def stored_framework(row: Assessment) -> Framework:
    return _parsed_framework(bytes(row.framework_document))


@lru_cache(maxsize=16)
def _parsed_framework(document: bytes) -> Framework:
    """A stored bank, parsed once per process per content (the bytes themselves are the key)."""
    return parse_framework(orjson.loads(document), source="assessment")


def load_record(work: UnitOfWork, assessment_id: str) -> AssessmentRecord:
    row = work.fetch(Assessment, assessment_id, what="assessment")
    framework = stored_framework(row)
    target = parse_target_profile(orjson.loads(row.target_document), framework)
    latest: dict[str, AssessmentAnswer] = {}
    for item in work.session.scalars(
        select(AssessmentAnswer)
        .where(AssessmentAnswer.assessment_id == row.id)
        .order_by(AssessmentAnswer.question_id, AssessmentAnswer.revision)
    ):
        latest[item.question_id] = item
    answers: dict[str, AnswerRecord] = {}
    for question_id, item in latest.items():
        if item.value is None:
            continue
        question = framework.question(question_id)
        parsed = answer(question, item.value, item.documentation, item.note)
        answers[question_id] = AnswerRecord(
            parsed,
            Source(item.source),
            item.answered_by,
            from_us(item.answered_us),
            item.revision,
            orjson.loads(item.machine_state) if item.machine_state is not None else None,
        )
    evidence = tuple(
        EvidenceRecord(
            e.id,
            e.question_id,
            e.sha256,
            e.filename,
            e.media_type,
            size,
            e.description,
            date.fromisoformat(e.effective_on),
            date.fromisoformat(e.expires_on) if e.expires_on else None,
            e.added_by,
            from_us(e.added_us),
        )
        for e, size in work.session.execute(
            select(AssessmentEvidence, EvidenceBlob.size)
            .join(EvidenceBlob, EvidenceBlob.sha256 == AssessmentEvidence.sha256)
            .where(AssessmentEvidence.assessment_id == row.id, AssessmentEvidence.withdrawn_us.is_(None))
            .order_by(AssessmentEvidence.added_us, AssessmentEvidence.id)
        )
    )
    remediation = tuple(
        Remediation(
            r.id,
            r.question_id,
            r.title,
            r.owner,
            date.fromisoformat(r.due_on),
            r.status,
            r.created_by,
            from_us(r.created_us),
            from_us(r.closed_us) if r.closed_us else None,
        )
        for r in work.session.scalars(
            select(RemediationItem)
            .where(RemediationItem.assessment_id == row.id)
            .order_by(RemediationItem.due_on, RemediationItem.created_us)
        )
    )
    return AssessmentRecord(
        row.id,
        row.organisation,
        row.organisation_en,
        row.organisation_ja,
        row.year,
        framework,
        row.framework_digest,
        target,
        row.status,
        row.created_by,
        from_us(row.created_us),
        from_us(row.locked_us) if row.locked_us else None,
        row.reviewer,
        row.review_note,
        row.lock_digest,
        row.audit_seq,
        answers,
        evidence,
        remediation,
    )


def evidence_json(evidence: EvidenceRecord, today: date) -> dict[str, Any]:
    return {
        "id": evidence.id,
        "question": evidence.question,
        "sha256": evidence.sha256,
        "filename": evidence.filename,
        "media_type": evidence.media_type,
        "size": evidence.size,
        "description": evidence.description,
        "effective_on": evidence.effective_on.isoformat(),
        "expires_on": evidence.expires_on.isoformat() if evidence.expires_on else None,
        "status": evidence.status(today),
        "added_by": evidence.added_by,
        "added_at": format_utc(evidence.added_at),
    }


def remediation_json(item: Remediation, today: date) -> dict[str, Any]:
    return {
        "id": item.id,
        "question": item.question,
        "title": item.title,
        "owner": item.owner,
        "due_on": item.due_on.isoformat(),
        "status": item.status,
        "overdue": item.status != "done" and item.due_on < today,
        "created_by": item.created_by,
        "created_at": format_utc(item.created_at),
        "closed_at": format_utc(item.closed_at) if item.closed_at else None,
    }
