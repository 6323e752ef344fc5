"""An assessment's report (assess/report.py, report_html.py, pdf.py) from what the database holds: this year's
record, last year's scorecard, the remediation plan and the machine evidence behind the answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from mamori.assess.framework import Text
from mamori.assess.pdf import render_pdf
from mamori.assess.report import MachineNote, RemediationItem, ReportInput
from mamori.assess.report_html import render_html
from mamori.errors import InputError
from mamori.guard import format_utc
from mamori.service.assessment_records import AssessmentRecord

FORMATS = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


def report_input(record: AssessmentRecord, previous: AssessmentRecord | None) -> ReportInput:
    status: Literal["open", "locked"] = "locked" if record.locked else "open"
    remediation = tuple(
        RemediationItem(r.id, r.question, r.title, r.owner, r.due_on, "done" if r.status == "done" else "open")
        for r in record.remediation
    )
    machine = tuple(
        MachineNote(
            question,
            str(a.machine["check"]),
            Text(a.machine["detail"]["en"], a.machine["detail"]["ja"]),
            str(a.machine["checked_at"]),
        )
        for question, a in record.answers.items()
        if a.machine is not None
    )
    return ReportInput(
        framework=record.framework,
        scorecard=record.scorecard(),
        organisation_en=record.organisation_en,
        organisation_ja=record.organisation_ja,
        year=record.year,
        status=status,
        locked_at=format_utc(record.locked_at) if record.locked_at else None,
        reviewer=record.reviewer,
        remediation=remediation,
        previous=previous.scorecard() if previous is not None else None,
        machine_evidence=machine,
    )


def render_report(
    record: AssessmentRecord, previous: AssessmentRecord | None, *, language: str, kind: str, generated_at: datetime
) -> tuple[bytes, str]:
    """The report's bytes and media type; ``kind`` is html or pdf, ``language`` ja or en."""
    if kind not in FORMATS:
        raise InputError("FIELD_TYPE_INVALID", field="format", expected="html or pdf")
    report = report_input(record, previous)
    if kind == "pdf":
        return render_pdf(report, language=language, generated_at=generated_at), FORMATS[kind]
    return render_html(report, language=language, generated_at=generated_at).encode("utf-8"), FORMATS[kind]
