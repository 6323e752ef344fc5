"""Assessments on the database (SQLite, or PostgreSQL in CI): answers with their revisions, machine evidence from
the sample exchange's guard, evidence by content hash, the sign-off and lock, tampering found after it, the trend."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import pytest
import yaml
from sqlalchemy import select, text, update

from mamori.assess.answers import Source, answer
from mamori.assess.framework import parse_framework
from mamori.assess.scoring import TargetProfile
from mamori.audit.store import AuditLog
from mamori.errors import MamoriError
from mamori.service.assessments import AssessmentService
from mamori.service.auth import Principal
from mamori.store.assess_models import Assessment, AssessmentAnswer, EvidenceBlob
from mamori.store.guard_models import PolicyVersion
from support.banks import SCORING_BANK

BANK = parse_framework(yaml.safe_load(SCORING_BANK))
AIKO = Principal("k1", "assessor", "aiko")
KENJI = Principal("k2", "assessor", "kenji")
MINA = Principal("k3", "reviewer", "mina")
AUDITOR = Principal("k4", "auditor", "audit-office")


def code_of(call: Any) -> str:
    with pytest.raises(MamoriError) as caught:
        call()
    assert caught.value.message_en and caught.value.message_ja
    return caught.value.code


@pytest.fixture
def service(exchange: Any) -> AssessmentService:
    return AssessmentService(exchange.engine)


def create(service: AssessmentService, exchange: Any, year: int = 2026, **kwargs: Any) -> str:
    record = service.create(
        AIKO,
        organisation="mirai",
        name_en="Mirai Exchange",
        name_ja="株式会社みらい暗号資産取引所",
        year=year,
        framework=kwargs.pop("framework", BANK),
        now=exchange.clock.now,
        **kwargs,
    )
    return record.id


def answer_all(service: AssessmentService, exchange: Any, assessment: str) -> None:
    now = exchange.clock.now
    service.answer(AIKO, assessment, "PROFILE.signing", "multisig,mpc", now=now)
    for question, value in (("GV-1", "yes"), ("GV-2", "3"), ("CX-1", "two"), ("CX-2", "decode"), ("CX-3", "no")):
        service.answer(KENJI, assessment, question, value, documentation="partial", now=now)


def test_machine_evidence_is_answered_at_creation_from_the_guard_policy(
    service: AssessmentService, exchange: Any
) -> None:
    record = service.read(AUDITOR, create(service, exchange), now=exchange.clock.now)
    machine = record.answers["CX-4"]
    assert machine.source is Source.MACHINE and machine.answer.value == "no"  # the sample asks one employee only
    assert machine.machine is not None and machine.machine["state"]["short_wallets"] == ["eth-cold-1"]
    assert "employee" in machine.machine["detail"]["en"] and machine.machine["detail"]["ja"]
    assert record.framework == BANK and record.status == "open"


def test_answers_keep_every_revision_and_are_validated(service: AssessmentService, exchange: Any) -> None:
    assessment = create(service, exchange)
    now = exchange.clock.now
    service.answer(AIKO, assessment, "GV-1", "yes", documentation="yes", note="承認済み", now=now)
    latest = service.answer(KENJI, assessment, "GV-1", "partial", documentation="no", now=now)
    assert latest is not None and latest.answer.value == "partial" and latest.revision == 2 and latest.by == "kenji"
    with exchange.engine.connect() as connection:
        rows = connection.execute(
            select(AssessmentAnswer.revision, AssessmentAnswer.value, AssessmentAnswer.answered_by)
            .where(AssessmentAnswer.question_id == "GV-1")
            .order_by(AssessmentAnswer.revision)
        ).all()
    assert [tuple(r) for r in rows] == [(1, "yes", "aiko"), (2, "partial", "kenji")]
    assert service.answer(AIKO, assessment, "GV-1", None, now=now) is None  # cleared, as a third revision
    assert "GV-1" not in service.read(AIKO, assessment, now=now).answers
    assert code_of(lambda: service.answer(AIKO, assessment, "GV-1", "maybe", now=now)) == "ANSWER_INVALID"
    assert code_of(lambda: service.answer(AIKO, assessment, "NOPE", "yes", now=now)) == "NOT_FOUND"
    assert code_of(lambda: service.answer(AIKO, assessment, "CX-4", "yes", now=now)) == "ANSWER_MACHINE_OWNED"
    assert code_of(lambda: service.answer(AUDITOR, assessment, "GV-1", "yes", now=now)) == "PERMISSION_DENIED"
    assert code_of(lambda: service.answer(AIKO, "no-such", "GV-1", "yes", now=now)) == "NOT_FOUND"


def test_a_question_the_profile_rules_out_cannot_be_answered(service: AssessmentService, exchange: Any) -> None:
    assessment = create(service, exchange)
    now = exchange.clock.now
    service.answer(AIKO, assessment, "CX-3", "yes", documentation="yes", now=now)  # profile not known yet: asked
    service.answer(AIKO, assessment, "PROFILE.signing", "multisig", now=now)
    assert code_of(lambda: service.answer(AIKO, assessment, "CX-3", "no", now=now)) == "QUESTION_NOT_ASKED"
    card = service.read(AIKO, assessment, now=now).scorecard()
    result = card.result("CX-3")
    assert result is not None and not result.asked  # its old answer no longer counts


def test_evidence_is_stored_once_by_content_hash_and_checked_on_read(service: AssessmentService, exchange: Any) -> None:
    assessment = create(service, exchange)
    now = exchange.clock.now
    content = "取締役会議事録 2026-04-01".encode()
    first = service.add_evidence(
        AIKO,
        assessment,
        "GV-1",
        content,
        filename="minutes.pdf",
        media_type="application/pdf",
        effective_on=date(2026, 4, 1),
        expires_on=date(2027, 3, 31),
        now=now,
    )
    second = service.add_evidence(
        AIKO, assessment, "GV-2", content, filename="minutes-copy.pdf", effective_on=date(2026, 4, 1), now=now
    )
    assert first.sha256 == second.sha256 == hashlib.sha256(content).hexdigest()
    assert first.status(date(2026, 3, 31)) == "not-yet-effective" and first.status(date(2027, 4, 1)) == "expired"
    with exchange.engine.connect() as connection:
        assert connection.execute(select(EvidenceBlob.sha256)).scalars().all() == [first.sha256]
    assert service.evidence_content(AUDITOR, first.sha256, now=now) == content
    with exchange.engine.begin() as connection:
        connection.execute(update(EvidenceBlob).values(content=b"forged"))
    assert code_of(lambda: service.evidence_content(AUDITOR, first.sha256, now=now)) == "EVIDENCE_INVALID"
    for bad in (
        {"content": b""},
        {"content": b"x" * (25 * 1024 * 1024 + 1)},
        {"content": b"x", "expires_on": date(2026, 3, 1)},
    ):
        arguments = {"filename": "f", "effective_on": date(2026, 4, 1), **bad}
        body = arguments.pop("content")
        assert code_of(
            lambda body=body, arguments=arguments: service.add_evidence(
                AIKO, assessment, "GV-1", body, now=now, **arguments
            )
        ) == ("EVIDENCE_INVALID")
    service.withdraw_evidence(AIKO, assessment, second.id, now=now)
    assert [e.id for e in service.read(AIKO, assessment, now=now).evidence] == [first.id]


def test_sign_off_checks_independence_and_completeness_then_locks(service: AssessmentService, exchange: Any) -> None:
    assessment = create(service, exchange)
    now = exchange.clock.now
    assert code_of(lambda: service.lock(MINA, assessment, now=now)) == "ASSESSMENT_INCOMPLETE"
    answer_all(service, exchange, assessment)
    assert code_of(lambda: service.lock(Principal("k", "reviewer", "kenji"), assessment, now=now)) == (
        "ASSESSMENT_REVIEWER_CONFLICT"
    )
    assert code_of(lambda: service.lock(AIKO, assessment, now=now)) == "PERMISSION_DENIED"  # an assessor cannot
    exchange.clock.advance(hours=1)
    locked = service.lock(MINA, assessment, note="確認しました", now=exchange.clock.now)
    assert locked["machine_changed"] == [] and len(locked["digest"]) == 64
    record = service.read(AUDITOR, assessment, now=exchange.clock.now)
    assert record.locked and record.reviewer == "mina" and record.review_note == "確認しました"
    for change in (
        lambda: service.answer(AIKO, assessment, "GV-1", "no", now=now),
        lambda: service.add_evidence(
            AIKO, assessment, "GV-1", b"x", filename="x", effective_on=date(2026, 1, 1), now=now
        ),
        lambda: service.lock(MINA, assessment, now=now),
        lambda: service.answer_many(AIKO, assessment, {}, source=Source.IMPORT, now=now),
    ):
        assert code_of(change) == "ASSESSMENT_LOCKED"
    # The plan goes on after the sign-off.
    item = service.add_remediation(
        AIKO,
        assessment,
        title="二人目の従業員承認者を追加",
        owner="treasury",
        due_on=date(2026, 9, 30),
        question_id="CX-4",
        now=now,
    )
    service.close_remediation(AIKO, assessment, item.id, now=now)
    assert service.read(AIKO, assessment, now=now).remediation[0].status == "done"
    assert service.verify(AUDITOR, assessment, now=now)["intact"]
    with exchange.engine.connect() as connection:
        entry = AuditLog(connection).inclusion_proof(locked["audit_seq"]).entry
    assert b"assessment.locked" in entry and locked["digest"].encode() in entry


def test_a_change_after_the_lock_is_found(service: AssessmentService, exchange: Any) -> None:
    assessment = create(service, exchange)
    answer_all(service, exchange, assessment)
    service.lock(MINA, assessment, now=exchange.clock.now)
    with exchange.engine.connect() as connection:
        stored = connection.execute(select(Assessment.framework_document)).scalar_one()
    edits = [
        (update(AssessmentAnswer).where(AssessmentAnswer.question_id == "CX-1").values(value="three")),
        # the question asked, reworded in the stored bank: scores unchanged, the record is not what was signed
        (update(Assessment).values(framework_document=stored.replace(b"Strategy?", b"Strategy!"))),
    ]
    for edit in edits:
        with exchange.engine.begin() as connection:
            connection.execute(edit)
        assert code_of(lambda: service.verify(AUDITOR, assessment, now=exchange.clock.now)) == "ASSESSMENT_TAMPERED"
        with exchange.engine.begin() as connection:  # put it back: the next edit is found on its own
            connection.execute(
                update(AssessmentAnswer).where(AssessmentAnswer.question_id == "CX-1").values(value="two")
            )
            connection.execute(update(Assessment).values(framework_document=stored))
        assert service.verify(AUDITOR, assessment, now=exchange.clock.now)["intact"]


def test_machine_evidence_is_checked_again_at_the_lock(service: AssessmentService, exchange: Any) -> None:
    assessment = create(service, exchange)
    answer_all(service, exchange, assessment)
    with exchange.engine.begin() as connection:  # the policy now asks two employees for the cold wallet
        active = connection.execute(select(PolicyVersion).where(PolicyVersion.status == "active")).one()
        document = yaml.safe_load(active.text)
        rule = next(r for r in document["rules"] if r["id"] == "cold-two-approvals")
        assert rule["approvals"]["min_employees"] == 1
        rule["approvals"]["min_employees"] = 2
        policy = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        connection.execute(update(PolicyVersion).values(status="superseded"))
        connection.execute(
            PolicyVersion.__table__.insert().values(
                version=active.version + 1,
                digest=hashlib.sha256(policy.encode()).hexdigest(),
                text=policy,
                status="active",
                proposed_by="test",
                proposed_us=active.proposed_us,
                activated_us=active.proposed_us,
            )
        )
    locked = service.lock(MINA, assessment, now=exchange.clock.now)
    assert locked["machine_changed"] == ["CX-4"]
    record = service.read(AUDITOR, assessment, now=exchange.clock.now)
    assert record.answers["CX-4"].answer.value == "yes" and record.answers["CX-4"].revision == 2


def test_an_import_applies_everything_or_nothing(service: AssessmentService, exchange: Any) -> None:
    assessment = create(service, exchange)
    now = exchange.clock.now
    good = {q: answer(BANK.question(q), v, "yes") for q, v in (("GV-1", "yes"), ("CX-1", "three"))}
    bad = {**good, "CX-4": answer(BANK.question("CX-4"), "yes")}  # a machine answer changed in the sheet
    assert code_of(lambda: service.answer_many(AIKO, assessment, bad, source=Source.IMPORT, now=now)) == (
        "ANSWER_MACHINE_OWNED"
    )
    assert set(service.read(AIKO, assessment, now=now).answers) == {"CX-4"}  # nothing of it was applied
    assert service.answer_many(AIKO, assessment, good, source=Source.IMPORT, now=now) == 2
    assert service.answer_many(AIKO, assessment, good, source=Source.IMPORT, now=now) == 0  # unchanged: skipped
    assert service.read(AIKO, assessment, now=now).answers["GV-1"].source is Source.IMPORT


def test_one_assessment_per_organisation_and_year_and_the_trend(service: AssessmentService, exchange: Any) -> None:
    last_year = create(service, exchange, year=2025)
    assert code_of(lambda: create(service, exchange, year=2025)) == "ASSESSMENT_EXISTS"
    this_year = create(service, exchange, year=2026, target=TargetProfile(basic=0.5))
    now = exchange.clock.now
    service.answer(AIKO, last_year, "GV-1", "no", documentation="no", now=now)
    service.answer(AIKO, this_year, "GV-1", "yes", documentation="yes", now=now)
    trend = service.trend(AUDITOR, this_year, now=now)
    assert trend is not None and [c.question for c in trend.improved] == ["GV-1"]
    assert service.trend(AUDITOR, last_year, now=now) is None
    assert [a["year"] for a in service.all(AUDITOR, now=now)] == [2025, 2026]
    assert service.find(AUDITOR, "mirai", 2026, now=now).target.basic == 0.5
    bad_inputs = [{"organisation": "Mirai Exchange"}, {"year": 1999}, {"name_ja": ""}]
    for bad in bad_inputs:
        arguments = {"organisation": "x", "name_en": "X", "name_ja": "エックス", "year": 2026, **bad}
        assert code_of(lambda arguments=arguments: service.create(AIKO, framework=BANK, now=now, **arguments)) == (
            "FIELD_TYPE_INVALID"
        )


def test_the_log_records_who_answered(service: AssessmentService, exchange: Any) -> None:
    assessment = create(service, exchange)
    service.answer(KENJI, assessment, "GV-1", "yes", now=exchange.clock.now)
    with exchange.engine.connect() as connection:
        kinds = connection.execute(text("SELECT kind, payload FROM audit_entries ORDER BY seq")).all()
    answered = [payload for kind, payload in kinds if kind == "assessment.answered"]
    assert len(answered) == 1 and b'"by":"kenji"' in bytes(answered[0])
    assert [kind for kind, _ in kinds if kind.startswith("assessment.")][:2] == [
        "assessment.created",
        "assessment.machine_answered",
    ]
