"""The self-assessment's HTTP API under ``/v1/assessments``: what the CLI does, for an exchange's own tools (a web
page comes later). Roles: ``assessor`` answers, adds evidence and remediation; ``reviewer`` signs off; ``auditor``
reads. Evidence travels as base64 in JSON within the API's body limit (1 MiB); larger files go through
``mamori assess evidence add``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Query
from fastapi.responses import Response
from pydantic import Field

from mamori.api.schemas import Strict
from mamori.assess.framework import Framework, load_framework, mamori_bank_path
from mamori.assess.scoring import parse_target_profile
from mamori.errors import MamoriError
from mamori.service.assessment_report import render_report
from mamori.service.assessments import AssessmentService
from mamori.service.auth import Principal

Clock = Callable[[], datetime]
TOKYO = ZoneInfo("Asia/Tokyo")  # a report's dates (overdue items, "generated at") are the exchange's


class AssessmentBody(Strict):
    organisation: str = Field(min_length=1, max_length=64)
    name_en: str = Field(min_length=1, max_length=200)
    name_ja: str = Field(min_length=1, max_length=200)
    year: int
    target: dict[str, Any] | None = Field(default=None, description="a target profile (docs/assess.md)")


class AnswerBody(Strict):
    value: str | int | list[str] = Field(description="yes/partial/no/na, 0-4, a choice id, or a list of choice ids")
    documentation: Literal["yes", "partial", "no"] | None = None
    note: str = Field(default="", max_length=4000)


class EvidenceBody(Strict):
    question: str = Field(min_length=1, max_length=64)
    filename: str = Field(min_length=1, max_length=255)
    media_type: str = Field(default="application/octet-stream", min_length=1, max_length=127)
    content_base64: str = Field(min_length=1)
    effective_on: str = Field(description="YYYY-MM-DD")
    expires_on: str | None = Field(default=None, description="YYYY-MM-DD")
    description: str = Field(default="", max_length=4000)


class RemediationBody(Strict):
    title: str = Field(min_length=1, max_length=256)
    owner: str = Field(min_length=1, max_length=200)
    due_on: str = Field(description="YYYY-MM-DD")
    question: str | None = Field(default=None, max_length=64)


class LockBody(Strict):
    note: str = Field(default="", max_length=4000)


def add_assessment_routes(
    app: FastAPI,
    caller: Callable[..., Awaitable[Principal]],
    service: AssessmentService,
    clock: Clock,
    respond: Callable[[Any], Response],
) -> None:
    """The routes, on the app itself (each one a plain route, as the permission table of tests/api expects)."""
    who = Depends(caller)

    def route(method: str, path: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
        decorator: Callable[[Callable[..., Response]], Callable[..., Response]] = getattr(app, method)(
            "/v1/assessments" + path, tags=["assessments"]
        )
        return decorator

    def framework() -> Framework:
        return load_framework(mamori_bank_path())

    @route("get", "")
    def list_assessments(principal: Principal = who) -> Response:
        return respond(service.all(principal, now=clock()))

    @route("post", "")
    def start(body: AssessmentBody, principal: Principal = who) -> Response:
        """Open an organisation's assessment of a year against the mamori bank; machine evidence answered."""
        bank = framework()
        target = parse_target_profile(body.target, bank) if body.target is not None else None
        record = service.create(principal, organisation=body.organisation, name_en=body.name_en,
                                name_ja=body.name_ja, year=body.year, framework=bank, target=target,
                                now=clock())  # fmt: skip
        return respond(record.summary())

    @route("get", "/{assessment_id}")
    def read(assessment_id: str, principal: Principal = who) -> Response:
        now = clock()
        return respond(service.read(principal, assessment_id, now=now).to_json(today=now.date()))

    @route("put", "/{assessment_id}/answers/{question_id}")
    def answer(assessment_id: str, question_id: str, body: AnswerBody, principal: Principal = who) -> Response:
        given = service.answer(principal, assessment_id, question_id, body.value, documentation=body.documentation,
                               note=body.note, now=clock())  # fmt: skip
        recorded = {"value": given.answer.value_text(), "revision": given.revision} if given else {}
        return respond({"question": question_id, **recorded})

    @route("delete", "/{assessment_id}/answers/{question_id}")
    def clear(assessment_id: str, question_id: str, principal: Principal = who) -> Response:
        service.answer(principal, assessment_id, question_id, None, now=clock())
        return respond({"question": question_id, "value": None})

    @route("post", "/{assessment_id}/evidence")
    def add_evidence(assessment_id: str, body: EvidenceBody, principal: Principal = who) -> Response:
        try:
            content = base64.b64decode(body.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MamoriError("BODY_INVALID", at="body.content_base64", reason="not base64") from exc
        added = service.add_evidence(
            principal, assessment_id, body.question, content, filename=body.filename, media_type=body.media_type,
            description=body.description, effective_on=_date(body.effective_on, "effective_on"),
            expires_on=_date(body.expires_on, "expires_on") if body.expires_on else None, now=clock(),
        )  # fmt: skip
        return respond({"id": added.id, "sha256": added.sha256, "size": added.size})

    @route("get", "/{assessment_id}/evidence/{sha256}")
    def evidence_file(assessment_id: str, sha256: str, principal: Principal = who) -> Response:
        record = service.read(principal, assessment_id, now=clock())
        linked = next((e for e in record.evidence if e.sha256 == sha256), None)
        if linked is None:
            raise MamoriError("NOT_FOUND", what="evidence file", id=sha256)
        content = service.evidence_content(principal, sha256, now=clock())
        return Response(content, media_type=linked.media_type)

    @route("post", "/{assessment_id}/remediation")
    def add_remediation(assessment_id: str, body: RemediationBody, principal: Principal = who) -> Response:
        item = service.add_remediation(principal, assessment_id, title=body.title, owner=body.owner,
                                       due_on=_date(body.due_on, "due_on"), question_id=body.question,
                                       now=clock())  # fmt: skip
        return respond({"id": item.id, "due_on": item.due_on.isoformat(), "status": item.status})

    @route("post", "/{assessment_id}/remediation/{item_id}/done")
    def remediation_done(assessment_id: str, item_id: str, principal: Principal = who) -> Response:
        service.close_remediation(principal, assessment_id, item_id, now=clock())
        return respond({"id": item_id, "status": "done"})

    @route("get", "/{assessment_id}/scores")
    def scores(assessment_id: str, principal: Principal = who) -> Response:
        record = service.read(principal, assessment_id, now=clock())
        return respond(record.scorecard().to_json())

    @route("get", "/{assessment_id}/trend")
    def trend(assessment_id: str, principal: Principal = who) -> Response:
        found = service.trend(principal, assessment_id, now=clock())
        if found is None:
            raise MamoriError("NOT_FOUND", what="assessment of the year before", id=assessment_id)
        return respond(found.to_json())

    @route("post", "/{assessment_id}/machine-evidence")
    def refresh(assessment_id: str, principal: Principal = who) -> Response:
        return respond({"changed": service.refresh_machine_evidence(principal, assessment_id, now=clock())})

    @route("post", "/{assessment_id}/lock")
    def lock(assessment_id: str, body: LockBody, principal: Principal = who) -> Response:
        """The reviewer's sign-off (the reviewer must not have answered): machine evidence re-checked, locked."""
        return respond(service.lock(principal, assessment_id, note=body.note, now=clock()))

    @route("get", "/{assessment_id}/report")
    def report(
        assessment_id: str,
        language: str = "ja",
        kind: str = Query("html", alias="format", description="html or pdf"),
        principal: Principal = who,
    ) -> Response:
        """The report in ja or en, as html or pdf (radar by CSF function, bars by guideline section, gaps, plan)."""
        now = clock()
        record = service.read(principal, assessment_id, now=now)
        previous = service.previous(principal, record, now=now)
        data, media_type = render_report(record, previous, language=language, kind=kind,
                                         generated_at=now.astimezone(TOKYO))  # fmt: skip
        return Response(data, media_type=media_type)

    @route("get", "/{assessment_id}/verify")
    def verify(assessment_id: str, principal: Principal = who) -> Response:
        return respond(service.verify(principal, assessment_id, now=clock()))


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise MamoriError("BODY_INVALID", at=f"body.{field}", reason="a date as YYYY-MM-DD") from exc
