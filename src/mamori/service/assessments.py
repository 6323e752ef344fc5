"""Assessments: one per organisation and year, answered by people (CLI, HTTP, a spreadsheet) and by the platform
itself (machine evidence), with evidence files, remediation items, a reviewer's sign-off and a lock.

Every change is a transaction of its own with an audit entry (``assessment.*``), so who answered what and when is
in the tamper-evident log as well as in the answer's revisions. Nothing is overwritten: an answer's earlier
revisions stay, evidence is withdrawn rather than deleted, and a locked assessment refuses every change
(``ASSESSMENT_LOCKED``) except the progress of its remediation items, which is the plan it set.

At the lock the machine evidence is gathered again and its answers replaced by what the platform shows then; a
reviewer who answered any question cannot sign off (segregation of duties); every asked question must be
answered. The lock's digest (SHA-256 of the canonical record: answers, evidence hashes, scores, sign-off) goes into
the audit log, and :meth:`AssessmentService.verify` recomputes it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from mamori.assess import machine
from mamori.assess.answers import Answer, Source, answer, parse_note
from mamori.assess.framework import Framework, Question
from mamori.assess.scoring import TargetProfile, is_asked
from mamori.assess.snapshot import framework_digest, framework_document
from mamori.assess.trend import Trend, compare
from mamori.errors import InputError, MamoriError
from mamori.guard import format_utc, require_text
from mamori.service.assessment_records import (
    AnswerRecord,
    AssessmentRecord,
    EvidenceRecord,
    Remediation,
    answer_json,
    canonical,
    load_record,
    lock_digest,
    stored_framework,
)
from mamori.service.auth import Principal, authorize
from mamori.service.facts import from_us, to_us
from mamori.service.machine_facts import gather_machine_facts
from mamori.service.state import UnitOfWork, unit_of_work
from mamori.store.assess_models import (
    Assessment,
    AssessmentAnswer,
    AssessmentEvidence,
    EvidenceBlob,
    RemediationItem,
)

MAX_EVIDENCE_BYTES = 25 * 1024 * 1024
MIN_YEAR, MAX_YEAR = 2000, 2100
_ORGANISATION = "abcdefghijklmnopqrstuvwxyz0123456789-_."


class AssessmentService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- creating and reading --------------------------------------------------------------------------------
    def create(
        self,
        actor: Principal,
        *,
        organisation: str,
        name_en: str,
        name_ja: str,
        year: int,
        framework: Framework,
        target: TargetProfile | None = None,
        now: datetime,
    ) -> AssessmentRecord:
        """A new open assessment, its machine evidence answered at once."""
        authorize(actor, "assessment.write")
        if not organisation or len(organisation) > 64 or any(c not in _ORGANISATION for c in organisation):
            raise InputError(
                "FIELD_TYPE_INVALID",
                field="organisation",
                expected="a short id of a-z, 0-9, '-', '_' and '.' (up to 64)",
            )
        require_text(name_en, field="name_en")
        require_text(name_ja, field="name_ja")
        if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
            raise InputError("FIELD_TYPE_INVALID", field="year", expected=f"a year from {MIN_YEAR} to {MAX_YEAR}")
        target = target or TargetProfile()
        assessment_id = str(uuid.uuid4())
        digest = framework_digest(framework)
        try:
            with unit_of_work(self.engine, now) as work:
                work.session.add(
                    Assessment(
                        id=assessment_id,
                        organisation=organisation,
                        organisation_en=name_en,
                        organisation_ja=name_ja,
                        year=year,
                        framework_id=framework.id,
                        framework_version=framework.version,
                        framework_digest=digest,
                        framework_document=canonical(framework_document(framework)),
                        target_document=canonical(target.to_json()),
                        status="open",
                        created_us=to_us(work.now),
                        created_by=actor.name,
                    )
                )
                work.session.flush()
                work.record(
                    "assessment.created",
                    {
                        "assessment": assessment_id,
                        "organisation": organisation,
                        "year": year,
                        "framework": framework.id,
                        "framework_version": framework.version,
                        "framework_digest": digest,
                    },
                )
                self._machine_answers(work, assessment_id, framework, {})
        except IntegrityError as exc:
            raise MamoriError("ASSESSMENT_EXISTS", organisation=organisation, year=year) from exc
        return self.read(actor, assessment_id, now=now)

    def all(self, actor: Principal, *, now: datetime) -> list[dict[str, Any]]:
        authorize(actor, "assessment.read")
        with unit_of_work(self.engine, now, write=False) as work:
            rows = work.session.scalars(select(Assessment).order_by(Assessment.organisation, Assessment.year)).all()
            return [
                {
                    "id": r.id,
                    "organisation": r.organisation,
                    "year": r.year,
                    "status": r.status,
                    "organisation_name": {"en": r.organisation_en, "ja": r.organisation_ja},
                    "framework": {"id": r.framework_id, "version": r.framework_version},
                }
                for r in rows
            ]

    def find(self, actor: Principal, organisation: str, year: int, *, now: datetime) -> AssessmentRecord:
        authorize(actor, "assessment.read")
        with unit_of_work(self.engine, now, write=False) as work:
            found = work.session.scalars(
                select(Assessment.id).where(Assessment.organisation == organisation, Assessment.year == year)
            ).first()
            if found is None:
                raise MamoriError("NOT_FOUND", what="assessment", id=f"{organisation} {year}")
            return load_record(work, found)

    def read(self, actor: Principal, assessment_id: str, *, now: datetime) -> AssessmentRecord:
        authorize(actor, "assessment.read")
        with unit_of_work(self.engine, now, write=False) as work:
            return load_record(work, assessment_id)

    def previous(self, actor: Principal, record: AssessmentRecord, *, now: datetime) -> AssessmentRecord | None:
        """The same organisation's assessment of the year before, if there is one."""
        authorize(actor, "assessment.read")
        with unit_of_work(self.engine, now, write=False) as work:
            found = work.session.scalars(
                select(Assessment.id).where(
                    Assessment.organisation == record.organisation, Assessment.year == record.year - 1
                )
            ).first()
            return load_record(work, found) if found is not None else None

    def trend(self, actor: Principal, assessment_id: str, *, now: datetime) -> Trend | None:
        record = self.read(actor, assessment_id, now=now)
        earlier = self.previous(actor, record, now=now)
        return compare(record.scorecard(), earlier.scorecard()) if earlier is not None else None

    # --- answering -------------------------------------------------------------------------------------------
    def answer(
        self,
        actor: Principal,
        assessment_id: str,
        question_id: str,
        value: object,
        *,
        documentation: object = None,
        note: object = "",
        now: datetime,
    ) -> AnswerRecord | None:
        """Answer one question (``value`` None clears the answer: None is returned)."""
        authorize(actor, "assessment.write")
        with unit_of_work(self.engine, now) as work:
            row, framework = _open_assessment(work, assessment_id)
            question = framework.question(question_id)
            if question.machine is not None:
                raise MamoriError("ANSWER_MACHINE_OWNED", question=question_id, check=question.machine)
            current = _current_answers(work, assessment_id)
            given = None if value is None else answer(question, value, documentation, note)
            if given is not None:
                _require_asked(question, framework, {**{k: r.answer for k, r in current.items()}, question_id: given})
            revision = _write_answer(work, row.id, question_id, given, Source.PERSON, actor.name)
            work.record(
                "assessment.answered",
                {
                    "assessment": row.id,
                    "question": question_id,
                    "revision": revision,
                    "value": given.value_text() if given else None,
                    "by": actor.name,
                },
            )
            return load_record(work, row.id).answers.get(question_id)

    def answer_many(
        self, actor: Principal, assessment_id: str, answers: Mapping[str, Answer], *, source: Source, now: datetime
    ) -> int:
        """Apply a whole set of validated answers in one transaction (a spreadsheet import): all or nothing.
        Answers equal to the current ones are skipped; returns how many changed."""
        authorize(actor, "assessment.write")
        with unit_of_work(self.engine, now) as work:
            row, framework = _open_assessment(work, assessment_id)
            current = {k: r.answer for k, r in _current_answers(work, assessment_id).items()}
            merged = {**current, **answers}
            for question_id, given in answers.items():
                question = framework.question(question_id)
                if question.machine is not None:
                    if current.get(question_id) != given:
                        raise MamoriError("ANSWER_MACHINE_OWNED", question=question_id, check=question.machine)
                    continue
                _require_asked(question, framework, merged)
            changed = [q for q, a in answers.items() if current.get(q) != a and framework.question(q).machine is None]
            for question_id in changed:
                _write_answer(work, row.id, question_id, answers[question_id], source, actor.name)
            digest = hashlib.sha256(canonical({q: answer_json(answers[q]) for q in changed})).hexdigest()
            work.record(
                "assessment.imported",
                {
                    "assessment": row.id,
                    "changed": len(changed),
                    "digest": digest,
                    "source": source.value,
                    "by": actor.name,
                },
            )
            return len(changed)

    def refresh_machine_evidence(self, actor: Principal, assessment_id: str, *, now: datetime) -> list[str]:
        """Answer the machine-evidence questions again from the platform's state; returns those that changed."""
        authorize(actor, "assessment.write")
        with unit_of_work(self.engine, now) as work:
            row, framework = _open_assessment(work, assessment_id)
            return self._machine_answers(work, row.id, framework, _current_answers(work, row.id))

    # --- evidence --------------------------------------------------------------------------------------------
    def add_evidence(
        self,
        actor: Principal,
        assessment_id: str,
        question_id: str,
        content: bytes,
        *,
        filename: str,
        media_type: str = "application/octet-stream",
        description: str = "",
        effective_on: date,
        expires_on: date | None = None,
        now: datetime,
    ) -> EvidenceRecord:
        authorize(actor, "assessment.write")
        if not content:
            raise MamoriError("EVIDENCE_INVALID", reason="the file is empty")
        if len(content) > MAX_EVIDENCE_BYTES:
            raise MamoriError("EVIDENCE_INVALID", reason=f"larger than {MAX_EVIDENCE_BYTES // (1024 * 1024)} MiB")
        if expires_on is not None and expires_on < effective_on:
            raise MamoriError("EVIDENCE_INVALID", reason="it expires before it takes effect")
        require_text(filename, field="filename")
        require_text(media_type, field="media_type")
        parse_note("evidence", description)
        sha256 = hashlib.sha256(content).hexdigest()
        with unit_of_work(self.engine, now) as work:
            row, framework = _open_assessment(work, assessment_id)
            framework.question(question_id)
            if work.session.get(EvidenceBlob, sha256) is None:
                work.session.add(
                    EvidenceBlob(sha256=sha256, size=len(content), content=content, stored_us=to_us(work.now))
                )
                work.session.flush()  # no relationship tells the session the blob goes first
            evidence_id = str(uuid.uuid4())
            work.session.add(
                AssessmentEvidence(
                    id=evidence_id,
                    assessment_id=row.id,
                    question_id=question_id,
                    sha256=sha256,
                    filename=filename,
                    media_type=media_type,
                    description=description.strip(),
                    effective_on=effective_on.isoformat(),
                    expires_on=expires_on.isoformat() if expires_on else None,
                    added_by=actor.name,
                    added_us=to_us(work.now),
                )
            )
            work.session.flush()
            work.record(
                "assessment.evidence_added",
                {
                    "assessment": row.id,
                    "question": question_id,
                    "evidence": evidence_id,
                    "sha256": sha256,
                    "by": actor.name,
                },
            )
            return next(e for e in load_record(work, row.id).evidence if e.id == evidence_id)

    def withdraw_evidence(self, actor: Principal, assessment_id: str, evidence_id: str, *, now: datetime) -> None:
        authorize(actor, "assessment.write")
        with unit_of_work(self.engine, now) as work:
            row, _framework = _open_assessment(work, assessment_id)
            found = work.session.get(AssessmentEvidence, evidence_id) if evidence_id.isascii() else None
            if found is None or found.assessment_id != row.id or found.withdrawn_us is not None:
                raise MamoriError("NOT_FOUND", what="evidence", id=evidence_id)
            found.withdrawn_us = to_us(work.now)
            work.record(
                "assessment.evidence_withdrawn", {"assessment": row.id, "evidence": evidence_id, "by": actor.name}
            )

    def evidence_content(self, actor: Principal, sha256: str, *, now: datetime) -> bytes:
        """An evidence file's bytes, checked against their hash: bytes changed in the database are refused."""
        authorize(actor, "assessment.read")
        with unit_of_work(self.engine, now, write=False) as work:
            blob = work.session.get(EvidenceBlob, sha256) if len(sha256) == 64 and sha256.isascii() else None
            if blob is None:
                raise MamoriError("NOT_FOUND", what="evidence file", id=sha256)
            if hashlib.sha256(blob.content).hexdigest() != sha256:
                raise MamoriError("EVIDENCE_INVALID", reason=f"the stored file {sha256} no longer matches its hash")
            return bytes(blob.content)

    # --- remediation -----------------------------------------------------------------------------------------
    def add_remediation(
        self,
        actor: Principal,
        assessment_id: str,
        *,
        title: str,
        owner: str,
        due_on: date,
        question_id: str | None = None,
        now: datetime,
    ) -> Remediation:
        """A remediation item; allowed on a locked assessment too (the plan follows the sign-off)."""
        authorize(actor, "assessment.write")
        require_text(title, field="title")
        require_text(owner, field="owner")
        with unit_of_work(self.engine, now) as work:
            row = work.fetch(Assessment, assessment_id, what="assessment")
            if question_id is not None:
                stored_framework(row).question(question_id)
            item_id = str(uuid.uuid4())
            work.session.add(
                RemediationItem(
                    id=item_id,
                    assessment_id=row.id,
                    question_id=question_id,
                    title=title,
                    owner=owner,
                    due_on=due_on.isoformat(),
                    status="open",
                    created_by=actor.name,
                    created_us=to_us(work.now),
                )
            )
            work.session.flush()
            work.record(
                "assessment.remediation_added",
                {"assessment": row.id, "item": item_id, "owner": owner, "due_on": due_on.isoformat(), "by": actor.name},
            )
            return next(r for r in load_record(work, row.id).remediation if r.id == item_id)

    def close_remediation(self, actor: Principal, assessment_id: str, item_id: str, *, now: datetime) -> None:
        authorize(actor, "assessment.write")
        with unit_of_work(self.engine, now) as work:
            item = work.session.get(RemediationItem, item_id) if item_id.isascii() else None
            if item is None or item.assessment_id != assessment_id:
                raise MamoriError("NOT_FOUND", what="remediation item", id=item_id)
            if item.status != "done":
                item.status, item.closed_us = "done", to_us(work.now)
                work.record(
                    "assessment.remediation_done", {"assessment": assessment_id, "item": item_id, "by": actor.name}
                )

    # --- sign-off --------------------------------------------------------------------------------------------
    def lock(self, actor: Principal, assessment_id: str, *, note: str = "", now: datetime) -> dict[str, Any]:
        """The reviewer's sign-off: machine evidence re-checked, completeness and independence checked, locked."""
        authorize(actor, "assessment.review")
        parse_note("review", note)
        with unit_of_work(self.engine, now) as work:
            row, framework = _open_assessment(work, assessment_id)
            changed = self._machine_answers(work, row.id, framework, _current_answers(work, row.id))
            record = load_record(work, row.id)
            answerers = {r.by for r in record.answers.values() if r.source is not Source.MACHINE}
            if actor.name in answerers or actor.name == record.created_by:
                raise MamoriError("ASSESSMENT_REVIEWER_CONFLICT", reviewer=actor.name)
            card = record.scorecard()
            missing = [r.question.id for r in card.results if r.asked and r.answer is None]
            missing = [q.id for q in framework.profile if q.id not in record.answers] + missing
            if missing:
                raise MamoriError("ASSESSMENT_INCOMPLETE", assessment=row.id, count=len(missing), first=missing[0])
            row.status, row.locked_us, row.reviewer, row.review_note = "locked", to_us(work.now), actor.name, note
            locked = load_record(work, row.id)
            row.lock_digest = lock_digest(locked)
            row.audit_seq = work.record(
                "assessment.locked",
                {
                    "assessment": row.id,
                    "organisation": row.organisation,
                    "year": row.year,
                    "digest": row.lock_digest,
                    "reviewer": actor.name,
                },
            )
            today = work.now.date()
            expired = [e.id for e in locked.evidence if e.status(today) != "valid"]
            return {
                "assessment": row.id,
                "locked_at": format_utc(work.now),
                "digest": row.lock_digest,
                "audit_seq": row.audit_seq,
                "machine_changed": changed,
                "evidence_not_valid": expired,
                "scores": card.to_json()["overall"],
            }

    def verify(self, actor: Principal, assessment_id: str, *, now: datetime) -> dict[str, Any]:
        """Recompute a locked assessment's digest: equal to the one signed off, or ``ASSESSMENT_TAMPERED``."""
        record = self.read(actor, assessment_id, now=now)
        if not record.locked or record.lock_digest is None:
            raise MamoriError("ASSESSMENT_NOT_LOCKED", assessment=assessment_id)
        digest = lock_digest(record)
        if digest != record.lock_digest:
            raise MamoriError(
                "ASSESSMENT_TAMPERED", assessment=assessment_id, expected=record.lock_digest, found=digest
            )
        return {"assessment": assessment_id, "digest": digest, "intact": True, "audit_seq": record.audit_seq}

    # --- internals -------------------------------------------------------------------------------------------
    def _machine_answers(
        self, work: UnitOfWork, assessment_id: str, framework: Framework, current: Mapping[str, AnswerRecord]
    ) -> list[str]:
        checked = [q for q in framework.questions if q.machine is not None]
        if not checked:
            return []
        facts = gather_machine_facts(work.connection)
        changed = []
        for question in checked:
            finding = machine.evaluate(question.machine or "", facts, now=work.now)
            state = {
                "check": finding.check,
                "detail": {"en": finding.detail.en, "ja": finding.detail.ja},
                "state": finding.state,
                "checked_at": format_utc(work.now),
                **({"unavailable": list(facts.unavailable)} if facts.unavailable else {}),
            }
            given = Answer(question.id, finding.value)
            before = current.get(question.id)
            if before is not None and before.answer == given and _same_state(before.machine, state):
                continue
            _write_answer(work, assessment_id, question.id, given, Source.MACHINE, "mamori", machine_state=state)
            work.record(
                "assessment.machine_answered",
                {"assessment": assessment_id, "question": question.id, "check": finding.check, "value": finding.value},
            )
            changed.append(question.id)
        return changed


def _open_assessment(work: UnitOfWork, assessment_id: str) -> tuple[Assessment, Framework]:
    row = work.fetch(Assessment, assessment_id, what="assessment")
    if row.status == "locked":
        raise MamoriError("ASSESSMENT_LOCKED", assessment=row.id, locked_at=format_utc(from_us(row.locked_us or 0)))
    return row, stored_framework(row)


def _require_asked(question: Question, framework: Framework, answers: Mapping[str, Answer]) -> None:
    profile = {q.id: answers[q.id] for q in framework.profile if q.id in answers}
    if question.when is not None and question.section != "PROFILE" and not is_asked(question, profile):
        raise MamoriError("QUESTION_NOT_ASKED", question=question.id, profile=question.when.question)


def _write_answer(
    work: UnitOfWork,
    assessment_id: str,
    question_id: str,
    given: Answer | None,
    source: Source,
    by: str,
    *,
    machine_state: dict[str, Any] | None = None,
) -> int:
    last = work.session.scalar(
        select(func.max(AssessmentAnswer.revision)).where(
            AssessmentAnswer.assessment_id == assessment_id, AssessmentAnswer.question_id == question_id
        )
    )
    revision = (last or 0) + 1
    work.session.add(
        AssessmentAnswer(
            assessment_id=assessment_id,
            question_id=question_id,
            revision=revision,
            value=given.value_text() if given is not None else None,
            documentation=given.documentation.value if given is not None and given.documentation else None,
            note=given.note if given is not None else "",
            source=source.value,
            machine_state=canonical(machine_state) if machine_state is not None else None,
            answered_by=by,
            answered_us=to_us(work.now),
        )
    )
    work.session.flush()
    return revision


def _current_answers(work: UnitOfWork, assessment_id: str) -> Mapping[str, AnswerRecord]:
    return load_record(work, assessment_id).answers


def _same_state(before: dict[str, Any] | None, after: dict[str, Any]) -> bool:
    """Whether a machine answer's linked state is unchanged (when it was checked aside)."""
    if before is None:
        return False
    return {k: v for k, v in before.items() if k != "checked_at"} == {
        k: v for k, v in after.items() if k != "checked_at"
    }
