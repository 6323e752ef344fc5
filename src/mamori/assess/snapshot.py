"""A bank written back as the document it was read from, so that an assessment keeps the exact questions it was
answered against: ``parse_framework(framework_document(f)) == f`` (tested), and :func:`framework_digest` names that
content whatever the layout of the files it came from.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from mamori.assess.framework import Framework, Question, Section, Text


def framework_document(framework: Framework) -> dict[str, Any]:
    document: dict[str, Any] = {"id": framework.id, "version": framework.version, "title": _text(framework.title)}
    if framework.description is not None:
        document["description"] = _text(framework.description)
    if framework.profile:
        document["profile"] = [_question(q, profile=True) for q in framework.profile]
    document["sections"] = [_section(s) for s in framework.sections]
    return document


def framework_digest(framework: Framework) -> str:
    """SHA-256 of the bank's canonical JSON document."""
    return hashlib.sha256(orjson.dumps(framework_document(framework), option=orjson.OPT_SORT_KEYS)).hexdigest()


def _text(text: Text) -> dict[str, str]:
    return {"en": text.en, "ja": text.ja}


def _section(section: Section) -> dict[str, Any]:
    item: dict[str, Any] = {"id": section.id, "title": _text(section.title)}
    if section.guideline is not None:
        item["guideline"] = section.guideline
    if section.questions:
        item["questions"] = [_question(q) for q in section.questions]
    if section.sections:
        item["sections"] = [_section(s) for s in section.sections]
    return item


def _question(question: Question, *, profile: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {"type": question.answer.value}
    if question.choices:
        answer["choices"] = [
            {"id": c.id, "text": _text(c.text), **({"score": c.score} if c.score is not None else {})}
            for c in question.choices
        ]
    item: dict[str, Any] = {"id": question.id, "text": _text(question.text), "answer": answer}
    if profile:
        return item
    item |= {
        "level": question.level.value,
        "weight": question.weight,
        "csf": list(question.csf),
        "guideline": list(question.guideline),
    }
    if question.evidence:
        item["evidence"] = [_text(t) for t in question.evidence]
    if question.when is not None:
        item["when"] = {"question": question.when.question, "any_of": sorted(question.when.any_of)}
    if question.machine is not None:
        item["machine"] = question.machine
    return item
