"""Question banks as data (assess/framework.py): a valid bank read into its model, and every kind of mistake
reported at once with its location."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mamori.assess.framework import (
    AnswerType,
    FrameworkError,
    Level,
    csf_subcategories,
    load_framework,
    parse_framework,
)
from support.banks import BANK


def bank(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(BANK)
    for path, value in changes.items():
        target: Any = document
        *parents, last = path.split("/")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is DELETE:
            del target[int(last) if last.isdigit() else last]
        elif last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value
    return document


DELETE = object()


def problems(document: Any) -> list[tuple[str, str]]:
    with pytest.raises(FrameworkError) as raised:
        parse_framework(document)
    error = raised.value
    assert error.code == "FRAMEWORK_INVALID" and error.message_ja
    assert error.to_dict()["error"]["problems"] == [{"at": at, "problem": p} for at, p in error.problems]
    return error.problems


def test_a_valid_bank_is_read_whole() -> None:
    framework = parse_framework(yaml.safe_load(BANK))
    assert [q.id for q in framework.questions] == ["GV-001", "GV-002", "CX-001"]
    first, vendor, signing = framework.questions
    assert first.weight == 3 and first.level is Level.BASIC and first.answer is AnswerType.YNPNA
    assert first.guideline == ("2.1",) and first.evidence[0].ja == "取締役会議事録" and first.section == "GV"
    assert vendor.guideline == ("2.6",) and vendor.section == "GV.SC" and vendor.level is Level.ADVANCED
    assert vendor.when is not None and vendor.when.any_of == {"outsourced"}
    assert [(c.id, c.score) for c in vendor.choices] == [("all", 1.0), ("some", 0.5)]
    assert signing.guideline == ("2.3",) and signing.weight == 1
    assert framework.question("PROFILE.ops").choices[0].score is None


def test_every_problem_is_reported_with_its_location() -> None:
    document = bank(**{
        "sections/0/questions/0/text": {"en": "Only English"},
        "sections/0/questions/0/weight": 9,
        "sections/0/questions/0/csf": ["GV.OV-99", "XX"],
        "sections/0/sections/0/questions/0/answer/choices/1/score": 2,
        "sections/0/sections/0/questions/0/when": {"question": "PROFILE.ops", "any_of": ["cloud"]},
        "sections/1/questions/0/id": "GV-001",
        "sections/1/questions/0/guideline": "3.1",
        "sections/1/questions/0/colour": "red",
    })  # fmt: skip
    found = problems(document)
    assert found == [
        ("sections[0].questions[0].text.ja", "the Japanese text is missing"),
        ("sections[0].questions[0].weight", "a weight is a whole number from 1 to 5"),
        ("sections[0].questions[0].csf[0]", "'GV.OV-99' is not a NIST CSF 2.0 subcategory"),
        ("sections[0].questions[0].csf[1]", "'XX' is not a NIST CSF 2.0 subcategory"),
        ("sections[0].sections[0].questions[0].answer.choices[1].score", "a score is a number from 0 to 1"),
        ("sections[1].questions[0].colour", found[5][1]),
        ("sections[1].questions[0].id", "'GV-001' is already the id of sections[0].questions[0]"),
        ("sections[1].questions[0].guideline[0]", found[7][1]),
        ("sections[1].questions[0].guideline", "no FSA guideline section: give one here or on its section"),
        ("sections[0].sections[0].questions[0].when.any_of", "'cloud' is not a choice of PROFILE.ops"),
    ]
    assert "unknown field" in found[5][1] and "2.1, 2.2" in found[7][1]


@pytest.mark.parametrize(
    ("change", "where", "says"),
    [
        ({"sections": []}, "sections", "at least one section"),
        ({"sections/0/questions/0/answer": {"type": "essay"}}, "sections[0].questions[0].answer.type", "'essay'"),
        ({"sections/0/questions/0/answer": {"type": "ynpna", "choices": []}}, "sections[0].questions[0].answer.choices",
         "no choices"),
        ({"sections/0/sections/0/questions/0/answer/choices": [{"id": "x", "text": {"en": "a", "ja": "b"},
                                                                 "score": 1}]},
         "sections[0].sections[0].questions[0].answer.choices", "at least two"),
        ({"sections/0/sections/0/questions/0/answer/choices/0/score": 0.9},
         "sections[0].sections[0].questions[0].answer.choices", "scored 1"),
        ({"sections/0/sections/0/questions/0/when": {"question": "GV-001", "any_of": ["x"]}},
         "sections[0].sections[0].questions[0].when", "not a profile question"),
        ({"profile/0/answer/choices/0/score": 1}, "profile[0].answer.choices[0].score", "not scored"),
        ({"sections/0/questions/0/csf": DELETE}, "sections[0].questions[0].csf", "at least one NIST CSF 2.0"),
        ({"sections/0/questions/0/id": "gv lower"}, "sections[0].questions[0].id", "no spaces"),
        ({"title": "just text"}, "title", "en and ja"),
        ({"sections/0/questions/0/level": "expert"}, "sections[0].questions[0].level", "basic, advanced"),
    ],
)  # fmt: skip
def test_each_mistake(change: dict[str, Any], where: str, says: str) -> None:
    found = problems(bank(**change))
    assert any(at == where and says in message for at, message in found), found


def test_not_a_mapping_at_all() -> None:
    assert problems(["a", "list"]) == [("", "a framework is a mapping with id, version, title and sections")]


def test_a_folder_bank_reads_its_sections_in_file_order(tmp_path: Path) -> None:
    document = yaml.safe_load(BANK)
    sections = document.pop("sections")
    (tmp_path / "framework.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    (tmp_path / "sections").mkdir()
    (tmp_path / "sections" / "20-crypto.yaml").write_text(yaml.safe_dump(sections[1], allow_unicode=True))
    (tmp_path / "sections" / "10-governance.yaml").write_text(yaml.safe_dump(sections[0], allow_unicode=True))
    framework = load_framework(tmp_path)
    assert [s.id for s in framework.sections] == ["GV", "CX"]
    (tmp_path / "sections" / "30-broken.yaml").write_text("id: [unclosed")
    with pytest.raises(Exception) as raised:
        load_framework(tmp_path)
    assert getattr(raised.value, "code", None) == "INPUT_UNREADABLE"


def test_the_csf_catalogue_is_csf_2_0() -> None:
    ids = csf_subcategories()
    assert len(ids) == 106
    assert {"GV.OC-01", "GV.SC-10", "ID.AM-08", "PR.DS-11", "DE.AE-08", "RS.MA-05", "RC.CO-04"} <= ids
    assert not {"ID.AM-06", "PR.DS-03", "PR.AC-01", "DE.CM-04"} & ids  # withdrawn or CSF 1.1 ids
