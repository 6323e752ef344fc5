"""Answers to a bank's questions, read from text at the edge (CLI, HTTP, a spreadsheet cell) into frozen values.

Every question has an *implementation* answer of its type and, unless it is a profile question, a separate
*documentation* answer (is the control written down and approved: yes / partial / no), scored apart:
an exchange that does something nobody wrote down, or wrote down what nobody does, sees it.

Text forms: ynpna ``yes`` ``partial`` ``no`` ``na``; maturity ``0``..``4``; single: a choice id; multiple: choice
ids separated by commas (nothing chosen: ``none``). Anything else is refused with ``ANSWER_INVALID``, naming the
question and what it accepts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from mamori.assess.framework import AnswerType, Question
from mamori.errors import MamoriError

YNPNA = ("yes", "partial", "no", "na")
MATURITY_LEVELS = 4
NOTHING_CHOSEN = "none"
MAX_NOTE = 4000


class Documentation(Enum):
    YES = "yes"
    PARTIAL = "partial"
    NO = "no"

    @property
    def score(self) -> float:
        return {"yes": 1.0, "partial": 0.5, "no": 0.0}[self.value]


class Source(Enum):
    PERSON = "person"
    MACHINE = "machine"  # derived from the platform's own state (assess/machine.py), re-checked at the lock
    IMPORT = "import"  # read from a spreadsheet


AnswerValue = str | int | frozenset[str]


@dataclass(frozen=True, slots=True)
class Answer:
    question: str
    value: AnswerValue
    documentation: Documentation | None = None
    note: str = ""

    @property
    def not_applicable(self) -> bool:
        return self.value == "na"

    def value_text(self) -> str:
        """The answer's text form (the inverse of :func:`parse_value`)."""
        if isinstance(self.value, frozenset):
            return ",".join(sorted(self.value)) or NOTHING_CHOSEN
        return str(self.value)


class AnswerError(MamoriError):
    def __init__(self, question: str, given: object, accepted: str) -> None:
        super().__init__("ANSWER_INVALID", question=question, given=str(given)[:80], accepted=accepted)


def accepted_values(question: Question) -> str:
    """What an answer to ``question`` may be, as a person reads it."""
    if question.answer is AnswerType.YNPNA:
        return "yes, partial, no, na"
    if question.answer is AnswerType.MATURITY:
        return "0, 1, 2, 3, 4"
    ids = ", ".join(c.id for c in question.choices)
    if question.answer is AnswerType.SINGLE:
        return f"one of {ids}"
    return f"any of {ids} separated by commas, or {NOTHING_CHOSEN}"


def parse_value(question: Question, given: object) -> AnswerValue:
    """The value of an answer to ``question`` from its text form (or an int / a list where that is natural)."""
    if question.answer is AnswerType.MATURITY:
        level = _maturity(given)
        if level is None:
            raise AnswerError(question.id, given, accepted_values(question))
        return level
    if question.answer is AnswerType.MULTIPLE:
        return _choices(question, given)
    text = given.strip().lower() if isinstance(given, str) else None
    if question.answer is AnswerType.YNPNA:
        if text not in YNPNA:
            raise AnswerError(question.id, given, accepted_values(question))
        return text
    if text not in {c.id for c in question.choices}:
        raise AnswerError(question.id, given, accepted_values(question))
    return text


def parse_documentation(question: str, given: object) -> Documentation:
    text = given.strip().lower() if isinstance(given, str) else None
    try:
        return Documentation(text)
    except ValueError:
        raise AnswerError(question, given, "yes, partial, no") from None


def parse_note(question: str, given: object) -> str:
    if not isinstance(given, str) or len(given) > MAX_NOTE or any(ord(c) < 32 and c not in "\n\t" for c in given):
        raise AnswerError(question, "(note)", f"text of at most {MAX_NOTE} characters")
    return given.strip()


def answer(question: Question, value: object, documentation: object = None, note: object = "") -> Answer:
    """A validated answer; a documentation answer only for a scored question whose answer is not ``na``."""
    parsed = parse_value(question, value)
    profile = question.section == "PROFILE"
    doc = None
    if documentation is not None and documentation != "":
        if profile or parsed == "na":
            raise AnswerError(question.id, documentation, "no documentation answer for a profile or na question")
        doc = parse_documentation(question.id, documentation)
    return Answer(question.id, parsed, doc, parse_note(question.id, note if note is not None else ""))


def _maturity(given: object) -> int | None:
    if isinstance(given, bool):
        return None
    if isinstance(given, int):
        level = given
    elif isinstance(given, float) and given.is_integer():
        level = int(given)
    elif isinstance(given, str) and given.strip().isdigit() and given.strip().isascii():
        level = int(given.strip())
    else:
        return None
    return level if 0 <= level <= MATURITY_LEVELS else None


def _choices(question: Question, given: object) -> frozenset[str]:
    if isinstance(given, str):
        text = given.strip().lower()
        items: Iterable[object] = [] if text == NOTHING_CHOSEN else [p.strip() for p in text.split(",")]
    elif isinstance(given, list | tuple | frozenset | set):
        items = [p.strip().lower() if isinstance(p, str) else p for p in given]
    else:
        raise AnswerError(question.id, given, accepted_values(question))
    known = {c.id for c in question.choices}
    chosen = list(items)
    if any(not isinstance(item, str) or item not in known for item in chosen) or len(set(chosen)) != len(chosen):
        raise AnswerError(question.id, given, accepted_values(question))
    return frozenset(str(item) for item in chosen)
