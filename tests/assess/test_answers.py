"""Answers read from their text forms; every bad one refused with ANSWER_INVALID naming what is accepted."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from mamori.assess.answers import Answer, Documentation, answer
from mamori.assess.framework import Framework, load_framework, parse_framework
from mamori.assess.snapshot import framework_digest, framework_document
from mamori.errors import MamoriError
from support.banks import SCORING_BANK

BANK = parse_framework(yaml.safe_load(SCORING_BANK))


@pytest.mark.parametrize(
    ("question", "given", "value"),
    [
        ("GV-1", "yes", "yes"),
        ("GV-1", " Partial ", "partial"),
        ("GV-1", "NA", "na"),
        ("GV-2", "0", 0),
        ("GV-2", 4, 4),
        ("GV-2", 3.0, 3),  # a spreadsheet cell's number
        ("CX-1", "two", "two"),
        ("CX-2", "allowlist, decode", frozenset({"decode", "allowlist"})),
        ("CX-2", ["simulate"], frozenset({"simulate"})),
        ("CX-2", "none", frozenset()),
        ("PROFILE.signing", "mpc", frozenset({"mpc"})),
    ],
)
def test_answers_in_their_text_forms(question: str, given: Any, value: Any) -> None:
    parsed = answer(BANK.question(question), given)
    assert parsed.value == value
    assert answer(BANK.question(question), parsed.value_text()) == parsed  # the text form reads back the same


@pytest.mark.parametrize(
    ("question", "given"),
    [
        ("GV-1", "maybe"),
        ("GV-1", True),
        ("GV-1", None),
        ("GV-2", "5"),
        ("GV-2", -1),
        ("GV-2", 2.5),
        ("GV-2", True),
        ("GV-2", "３"),  # a full-width digit is not read as 3
        ("CX-1", "four"),
        ("CX-1", "two,three"),
        ("CX-2", "decode,decode"),
        ("CX-2", "decode,unknown"),
        ("CX-2", ""),
        ("CX-2", 3),
        ("PROFILE.signing", "cloud"),
    ],
)
def test_bad_answers_name_the_question_and_what_it_accepts(question: str, given: Any) -> None:
    with pytest.raises(MamoriError) as caught:
        answer(BANK.question(question), given)
    assert caught.value.code == "ANSWER_INVALID"
    assert caught.value.details["question"] == question
    assert caught.value.details["accepted"]
    assert caught.value.message_ja


def test_documentation_answers() -> None:
    assert answer(BANK.question("GV-1"), "yes", "Partial").documentation is Documentation.PARTIAL
    for bad in (("GV-1", "yes", "sometimes"), ("GV-1", "na", "yes"), ("PROFILE.signing", "mpc", "yes")):
        with pytest.raises(MamoriError, match="ANSWER_INVALID"):
            answer(BANK.question(bad[0]), bad[1], bad[2])


def test_notes_are_text_without_control_characters() -> None:
    assert answer(BANK.question("GV-1"), "yes", None, " 取締役会で承認\n済み ").note == "取締役会で承認\n済み"
    for bad in ("a\x00b", "x" * 4001, 12):
        with pytest.raises(MamoriError, match="ANSWER_INVALID"):
            answer(BANK.question("GV-1"), "yes", None, bad)
    assert Answer("GV-1", "yes").not_applicable is False


def shipped() -> Framework:
    from importlib import resources
    from pathlib import Path

    return load_framework(Path(str(resources.files("mamori.content").joinpath("cssa"))))


def test_a_bank_written_back_reads_as_the_same_bank() -> None:
    for framework in (BANK, shipped()):
        assert parse_framework(framework_document(framework)) == framework
    assert framework_digest(BANK) == framework_digest(parse_framework(framework_document(BANK)))
    assert framework_digest(BANK) != framework_digest(shipped())
