"""Content of the mamori CSSA bank shipped in the package (content/cssa/): enough questions for every FSA guideline
section and for the crypto-asset extension, every NIST CSF 2.0 subcategory covered, multiple-choice questions that can
score full marks, and bilingual texts that are really in both languages."""

from __future__ import annotations

import re
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from mamori.assess.framework import AnswerType, Framework, Question, Section, csf_subcategories, load_framework

GENERAL_SECTIONS = {"GV": "2.1", "ID": "2.2", "PR": "2.3", "DE": "2.4", "RR": "2.5", "TP": "2.6"}
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")  # hiragana, katakana, kanji


@pytest.fixture(scope="module")
def bank() -> Framework:
    return load_framework(Path(str(resources.files("mamori.content").joinpath("cssa"))))


def crypto(question: Question) -> bool:
    return question.section == "CX" or question.section.startswith("CX.")


def texts(framework: Framework) -> list[tuple[str, str, str]]:
    """(where, en, ja) of every bilingual text of the bank."""
    found = [("title", framework.title.en, framework.title.ja)]
    if framework.description is not None:
        found.append(("description", framework.description.en, framework.description.ja))

    def walk(sections: tuple[Section, ...]) -> None:
        for section in sections:
            found.append((section.id, section.title.en, section.title.ja))
            walk(section.sections)

    walk(framework.sections)
    for question in (*framework.profile, *framework.questions):
        found.append((question.id, question.text.en, question.text.ja))
        found.extend((f"{question.id} evidence", e.en, e.ja) for e in question.evidence)
        found.extend((f"{question.id} {c.id}", c.text.en, c.text.ja) for c in question.choices)
    return found


def test_enough_general_and_crypto_asset_questions(bank: Framework) -> None:
    general = [q for q in bank.questions if not crypto(q)]
    assert len(general) >= 150
    assert len([q for q in bank.questions if crypto(q)]) >= 40


def test_every_guideline_section_has_at_least_15_questions(bank: Framework) -> None:
    per_section = {s.id: len(list(s.walk())) for s in bank.sections}
    for section_id, guideline in GENERAL_SECTIONS.items():
        assert per_section.get(section_id, 0) >= 15, section_id
        section = next(s for s in bank.sections if s.id == section_id)
        assert section.guideline == guideline
    by_guideline = Counter(g for q in bank.questions for g in q.guideline)
    assert all(by_guideline[g] >= 15 for g in GENERAL_SECTIONS.values())


def test_every_csf_subcategory_is_covered(bank: Framework) -> None:
    covered = {csf for q in bank.questions for csf in q.csf}
    assert csf_subcategories() - covered == set()


def test_multiple_choice_questions_can_reach_full_marks(bank: Framework) -> None:
    multiple = [q for q in bank.questions if q.answer is AnswerType.MULTIPLE]
    full = [q for q in multiple if sum(c.score or 0 for c in q.choices) >= 1 - 1e-9]
    assert len(full) >= 8
    assert full == multiple  # none that can never score full marks


def test_question_ids_are_unique(bank: Framework) -> None:
    ids = [q.id for q in (*bank.profile, *bank.questions)]
    assert [i for i, n in Counter(ids).items() if n > 1] == []


def test_texts_are_bilingual(bank: Framework) -> None:
    for where, en, ja in texts(bank):
        assert en.strip() and ja.strip(), where
        assert en.strip() != ja.strip(), where
        assert JAPANESE.search(ja), where
