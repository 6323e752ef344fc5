"""The self-assessment over HTTP: an assessor answers the mamori bank, a reviewer signs off, an auditor verifies."""

from __future__ import annotations

import base64
import hashlib
import io
from typing import Any

from pypdf import PdfReader

from mamori.assess.framework import load_framework, mamori_bank_path
from mamori.service.setup import create_api_key
from support.guard import Exchange, error, ok

BANK = load_framework(mamori_bank_path())


def tokens(exchange: Exchange) -> dict[str, str]:
    now = exchange.clock.now
    return {
        "assessor": create_api_key(exchange.engine, role="assessor", principal="kenji", now=now)[0],
        "reviewer": create_api_key(exchange.engine, role="reviewer", principal="mina", now=now)[0],
        "auditor": exchange.keys.auditor,
    }


def first_choice(question: Any) -> Any:
    kind = question.answer.value
    return {"ynpna": "yes", "maturity": 3}.get(kind) or (
        question.choices[0].id if kind == "single" else [question.choices[0].id]
    )


def test_an_assessment_answered_signed_off_and_verified_over_http(exchange: Exchange) -> None:
    keys = tokens(exchange)
    body = {
        "organisation": "mirai",
        "name_en": "Mirai Exchange",
        "name_ja": "株式会社みらい暗号資産取引所",
        "year": 2026,
    }
    created = ok(exchange.call("POST", "/v1/assessments", keys["assessor"], body))
    assessment = created["id"]
    assert created["framework"]["id"] == BANK.id
    error(exchange.call("POST", "/v1/assessments", keys["assessor"], body), 409, "ASSESSMENT_EXISTS")
    path = f"/v1/assessments/{assessment}"
    for question in BANK.profile:
        ok(exchange.call("PUT", f"{path}/answers/{question.id}", keys["assessor"], {"value": first_choice(question)}))
    shown = ok(exchange.call("GET", path, keys["auditor"]))
    for question in BANK.questions:
        if question.machine is not None or question.id in shown["answers"]:
            continue
        result = exchange.call(
            "PUT",
            f"{path}/answers/{question.id}",
            keys["assessor"],
            {"value": first_choice(question), "documentation": "yes"},
        )
        if result.status_code != 200:  # ruled out by the profile answers given
            error(result, 422, "QUESTION_NOT_ASKED")
    error(exchange.call("PUT", f"{path}/answers/GV-001", keys["assessor"], {"value": "maybe"}), 422, "ANSWER_INVALID")
    error(
        exchange.call("PUT", f"{path}/answers/CX-048", keys["assessor"], {"value": "yes"}), 422, "ANSWER_MACHINE_OWNED"
    )
    content = "取締役会議事録".encode()
    evidence = {
        "question": "GV-001",
        "filename": "minutes.txt",
        "media_type": "text/plain; charset=utf-8",
        "content_base64": base64.b64encode(content).decode(),
        "effective_on": "2026-04-01",
        "expires_on": "2027-03-31",
    }
    added = ok(exchange.call("POST", f"{path}/evidence", keys["assessor"], evidence))
    assert added["sha256"] == hashlib.sha256(content).hexdigest()
    stored = exchange.call("GET", f"{path}/evidence/{added['sha256']}", keys["auditor"])
    assert stored.status_code == 200 and stored.content == content
    error(
        exchange.call("POST", f"{path}/evidence", keys["assessor"], {**evidence, "content_base64": "%%"}),
        422,
        "BODY_INVALID",
    )
    item = ok(
        exchange.call(
            "POST",
            f"{path}/remediation",
            keys["assessor"],
            {"title": "従業員承認者の追加", "owner": "treasury", "due_on": "2026-09-30", "question": "CX-048"},
        )
    )
    scores = ok(exchange.call("GET", f"{path}/scores", keys["auditor"]))
    assert set(scores["csf_functions"]) == {"GV", "ID", "PR", "DE", "RS", "RC"}
    assert [gap["question"] for gap in scores["gaps"]][:1] == ["CX-048"]  # the sample policy: one employee only
    error(exchange.call("POST", f"{path}/lock", keys["assessor"], {}), 403, "PERMISSION_DENIED")
    locked = ok(exchange.call("POST", f"{path}/lock", keys["reviewer"], {"note": "確認済み"}))
    assert len(locked["digest"]) == 64
    error(exchange.call("PUT", f"{path}/answers/GV-001", keys["assessor"], {"value": "no"}), 409, "ASSESSMENT_LOCKED")
    ok(exchange.call("POST", f"{path}/remediation/{item['id']}/done", keys["assessor"]))
    assert ok(exchange.call("GET", f"{path}/verify", keys["auditor"]))["intact"] is True
    error(exchange.call("GET", f"{path}/trend", keys["auditor"]), 404, "NOT_FOUND")
    page = exchange.call("GET", f"{path}/report?language=en&format=html", keys["auditor"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Mirai Exchange" in page.text and "<svg" in page.text
    pdf = exchange.call("GET", f"{path}/report?language=ja&format=pdf", keys["auditor"])
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "株式会社みらい暗号資産取引所" in text
    error(exchange.call("GET", f"{path}/report?format=docx", keys["auditor"]), 422, "FIELD_TYPE_INVALID")
    listed = ok(exchange.call("GET", "/v1/assessments", keys["auditor"]))
    assert [(a["organisation"], a["year"], a["status"]) for a in listed] == [("mirai", 2026, "locked")]
