"""Question banks as data: the format of docs/assess-frameworks.md read into frozen models, with every problem
reported at once with its location (``sections[2].questions[5].answer.choices[1].score``) — a bank that cannot be
read whole is not used at all.

A bank is a YAML file, or a folder holding ``framework.yaml`` (header and profile questions) and ``sections/*.yaml``
(one top-level section each, in file-name order). Pure apart from :func:`load_framework`, which reads the files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from mamori.errors import InputError, MamoriError

ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,63}")
CHOICE_ID = re.compile(r"[a-z0-9][a-z0-9\-_]{0,63}")
GUIDELINE_SECTIONS = ("2.1", "2.2", "2.3", "2.4", "2.5", "2.6")  # FSA Cybersecurity Guideline (Oct 2024)
MAX_WEIGHT = 5
# Checks that answer a question from the platform's own state (assess/machine.py evaluates them).
MACHINE_CHECKS = frozenset({"guard.cold-wallet-employee-quorum", "audit.log-verifies", "intel.feeds-fresh"})


class Level(Enum):
    BASIC = "basic"  # 基本的な対応事項
    ADVANCED = "advanced"  # 対応が望ましい事項


class AnswerType(Enum):
    YNPNA = "ynpna"  # yes 1, partial 0.5, no 0; not applicable leaves the question out
    MATURITY = "maturity"  # 0-4, scored level / 4
    SINGLE = "single"  # one choice, scored by the choice
    MULTIPLE = "multiple"  # any choices, scored by their sum, at most 1


@dataclass(frozen=True, slots=True)
class Text:
    en: str
    ja: str


@dataclass(frozen=True, slots=True)
class Choice:
    id: str
    text: Text
    score: float | None  # None for a profile question's choice


@dataclass(frozen=True, slots=True)
class Condition:
    """Shown only when the profile question ``question`` was answered with one of ``any_of``."""

    question: str
    any_of: frozenset[str]


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    text: Text
    level: Level
    weight: int
    answer: AnswerType
    choices: tuple[Choice, ...]
    evidence: tuple[Text, ...]
    when: Condition | None
    csf: tuple[str, ...]
    guideline: tuple[str, ...]
    section: str  # the id of the section that holds it directly
    machine: str | None = None  # a check of assess/machine.py that answers it from the platform's own state


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: Text
    guideline: str | None
    sections: tuple[Section, ...]
    questions: tuple[Question, ...]

    def walk(self) -> Iterator[Question]:
        yield from self.questions
        for section in self.sections:
            yield from section.walk()


@dataclass(frozen=True, slots=True)
class Framework:
    id: str
    version: str
    title: Text
    description: Text | None
    profile: tuple[Question, ...]
    sections: tuple[Section, ...]

    @property
    def questions(self) -> tuple[Question, ...]:
        """Every scored question, in the bank's order."""
        return tuple(question for section in self.sections for question in section.walk())

    def question(self, question_id: str) -> Question:
        for question in (*self.profile, *self.questions):
            if question.id == question_id:
                return question
        raise MamoriError("NOT_FOUND", what="question", id=question_id)


class FrameworkError(MamoriError):
    """A bank that cannot be used; ``problems`` lists every (location, message) found."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        first = f"{problems[0][0]}: {problems[0][1]}" if problems else "empty"
        super().__init__("FRAMEWORK_INVALID", source=source, count=len(problems), first=first)

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["error"]["problems"] = [{"at": at, "problem": problem} for at, problem in self.problems]
        return body


@lru_cache(maxsize=1)
def csf_subcategories() -> frozenset[str]:
    """Every NIST CSF 2.0 subcategory id (content/csf2.yaml)."""
    text = resources.files("mamori.content").joinpath("csf2.yaml").read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    return frozenset(
        sub["id"]
        for function in document["functions"]
        for category in function["categories"]
        for sub in category["subcategories"]
    )


def mamori_bank_path() -> Path:
    """The mamori bank shipped in the package (content/cssa)."""
    return Path(str(resources.files("mamori.content").joinpath("cssa")))


def load_framework(path: str | Path, *, csf: frozenset[str] | None = None) -> Framework:
    """The bank at ``path``: a YAML file, or a folder with ``framework.yaml`` and ``sections/*.yaml``."""
    source = Path(path)
    if source.is_dir():
        document = _read_yaml(source / "framework.yaml")
        if isinstance(document, dict):
            files = sorted((source / "sections").glob("*.yaml"))
            document = {**document, "sections": [*document.get("sections", []), *(_read_yaml(f) for f in files)]}
    else:
        document = _read_yaml(source)
    return parse_framework(document, source=str(source), csf=csf)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError("INPUT_UNREADABLE", source=str(path), reason=exc.strerror or str(exc)) from exc
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError("INPUT_UNREADABLE", source=str(path), reason=f"not YAML: {exc}") from exc


def parse_framework(document: Any, *, source: str = "framework", csf: frozenset[str] | None = None) -> Framework:
    """The bank of a parsed YAML ``document``; :class:`FrameworkError` with every problem if it has any."""
    reader = _Reader(csf if csf is not None else csf_subcategories())
    framework = reader.framework(document)
    if reader.problems or framework is None:
        raise FrameworkError(source, reader.problems or [("", "empty")])
    return framework


class _Reader:
    """Reads a document, noting every problem with its location instead of stopping at the first."""

    def __init__(self, csf: frozenset[str]) -> None:
        self.csf = csf
        self.problems: list[tuple[str, str]] = []
        self.ids: dict[str, str] = {}  # id -> where it was first defined

    def problem(self, at: str, message: str) -> None:
        self.problems.append((at, message))

    def framework(self, document: Any) -> Framework | None:
        if not isinstance(document, Mapping):
            self.problem("", "a framework is a mapping with id, version, title and sections")
            return None
        self.keys(document, "", {"id", "version", "title", "description", "profile", "sections"})
        framework_id = self.text_field(document, "id", "")
        version = self.text_field(document, "version", "")
        title = self.text(document.get("title"), "title")
        description = self.text(document["description"], "description") if "description" in document else None
        profile = tuple(
            q
            for index, item in enumerate(self.items(document, "profile", "", required=False))
            if (q := self.question(item, f"profile[{index}]", section="PROFILE", guideline=None, profile=True))
        )
        sections = tuple(
            s
            for index, item in enumerate(self.items(document, "sections", ""))
            if (s := self.section(item, f"sections[{index}]", guideline=None))
        )
        self.conditions(profile, sections)
        if not sections:
            self.problem("sections", "a framework needs at least one section")
        if framework_id is None or version is None or title is None:
            return None
        return Framework(framework_id, version, title, description, profile, sections)

    def section(self, item: Any, at: str, *, guideline: str | None) -> Section | None:
        if not isinstance(item, Mapping):
            self.problem(at, "a section is a mapping with id, title and questions or sections")
            return None
        self.keys(item, at, {"id", "title", "guideline", "sections", "questions"})
        section_id = self.identifier(item, at)
        title = self.text(item.get("title"), f"{at}.title")
        if "guideline" in item:
            guideline = self.guideline(item["guideline"], f"{at}.guideline")
        questions = tuple(
            q
            for index, child in enumerate(self.items(item, "questions", at, required=False))
            if (q := self.question(child, f"{at}.questions[{index}]", section=section_id or "", guideline=guideline))
        )
        children = tuple(
            s
            for index, child in enumerate(self.items(item, "sections", at, required=False))
            if (s := self.section(child, f"{at}.sections[{index}]", guideline=guideline))
        )
        if not children and not questions and "questions" not in item and "sections" not in item:
            self.problem(at, "a section holds questions or sections")
        if section_id is None or title is None:
            return None
        return Section(section_id, title, guideline, children, questions)

    def question(
        self, item: Any, at: str, *, section: str, guideline: str | None, profile: bool = False
    ) -> Question | None:
        if not isinstance(item, Mapping):
            self.problem(at, "a question is a mapping with id, text, answer and csf")
            return None
        allowed = {"id", "text", "answer"} if profile else {"id", "text", "level", "weight", "answer", "evidence",
                                                              "when", "csf", "guideline", "machine"}  # fmt: skip
        self.keys(item, at, allowed)
        question_id = self.identifier(item, at)
        text = self.text(item.get("text"), f"{at}.text")
        level = self.enum(Level, item.get("level", "basic"), f"{at}.level")
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= MAX_WEIGHT:
            self.problem(f"{at}.weight", f"a weight is a whole number from 1 to {MAX_WEIGHT}")
            weight = 1
        answer, choices = self.answer(item.get("answer"), f"{at}.answer", profile=profile)
        evidence = tuple(
            t
            for index, hint in enumerate(self.items(item, "evidence", at, required=False))
            if (t := self.text(hint, f"{at}.evidence[{index}]"))
        )
        when = self.condition(item["when"], f"{at}.when") if "when" in item else None
        csf = tuple(self.csf_ids(item, at)) if not profile else ()
        if "guideline" in item:
            value = item["guideline"]
            listed = value if isinstance(value, list) else [value]
            sections = tuple(
                g for index, v in enumerate(listed) if (g := self.guideline(v, f"{at}.guideline[{index}]"))
            )
        else:
            sections = (guideline,) if guideline else ()
        if not profile and not sections:
            self.problem(f"{at}.guideline", "no FSA guideline section: give one here or on its section")
        machine = item.get("machine")
        if machine is not None and (machine not in MACHINE_CHECKS or answer is not AnswerType.YNPNA):
            known = ", ".join(sorted(MACHINE_CHECKS))
            self.problem(f"{at}.machine", f"a machine check is one of {known}, on a ynpna question")
            machine = None
        if question_id is None or text is None or level is None or answer is None:
            return None
        return Question(
            question_id, text, level, weight, answer, choices, evidence, when, csf, sections, section, machine
        )

    def answer(self, item: Any, at: str, *, profile: bool) -> tuple[AnswerType | None, tuple[Choice, ...]]:
        if not isinstance(item, Mapping):
            self.problem(at, "an answer is a mapping with a type (ynpna, maturity, single, multiple)")
            return None, ()
        self.keys(item, at, {"type", "choices"})
        kind = self.enum(AnswerType, item.get("type"), f"{at}.type")
        if profile and kind not in (AnswerType.SINGLE, AnswerType.MULTIPLE, None):
            self.problem(f"{at}.type", "a profile question is single or multiple choice")
        if kind not in (AnswerType.SINGLE, AnswerType.MULTIPLE):
            if "choices" in item:
                self.problem(f"{at}.choices", f"a {kind.value if kind else 'typeless'} answer has no choices")
            return kind, ()
        choices: list[Choice] = []
        seen: set[str] = set()
        for index, choice in enumerate(self.items(item, "choices", at)):
            where = f"{at}.choices[{index}]"
            if not isinstance(choice, Mapping):
                self.problem(where, "a choice is a mapping with id, text and score")
                continue
            self.keys(choice, where, {"id", "text", "score"})
            choice_id = choice.get("id")
            if not isinstance(choice_id, str) or not CHOICE_ID.fullmatch(choice_id):
                self.problem(f"{where}.id", "a choice id is lower-case letters, digits, '-' and '_'")
                choice_id = None
            elif choice_id in seen:
                self.problem(f"{where}.id", f"choice {choice_id!r} is given twice")
            seen.add(choice_id or "")
            text = self.text(choice.get("text"), f"{where}.text")
            score = choice.get("score")
            if profile:
                if score is not None:
                    self.problem(f"{where}.score", "a profile question is not scored")
            elif isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
                self.problem(f"{where}.score", "a score is a number from 0 to 1")
                score = None
            if choice_id is not None and text is not None:
                choices.append(Choice(choice_id, text, float(score) if score is not None else None))
        if len(choices) < 2 and not any(p[0].startswith(f"{at}.choices") for p in self.problems):
            self.problem(f"{at}.choices", "a choice question needs at least two choices")
        scored = not profile and choices and all(c.score is not None for c in choices)
        if scored and kind is AnswerType.SINGLE and max(c.score or 0 for c in choices) != 1:
            self.problem(f"{at}.choices", "a single-choice question needs a choice scored 1 (full marks)")
        return kind, tuple(choices)

    def condition(self, item: Any, at: str) -> Condition | None:
        if not isinstance(item, Mapping) or not isinstance(item.get("question"), str):
            self.problem(at, "a condition is a mapping with question and any_of")
            return None
        self.keys(item, at, {"question", "any_of"})
        values = item.get("any_of")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            self.problem(f"{at}.any_of", "any_of is a non-empty list of choice ids")
            return None
        return Condition(item["question"], frozenset(values))

    def conditions(self, profile: Sequence[Question], sections: Sequence[Section]) -> None:
        """Every condition names a profile question and some of its choices."""
        choices = {q.id: {c.id for c in q.choices} for q in profile}
        for question in (q for s in sections for q in s.walk()):
            if question.when is None:
                continue
            at = self.ids.get(question.id, question.id) + ".when"
            known = choices.get(question.when.question)
            if known is None:
                self.problem(at, f"{question.when.question!r} is not a profile question")
                continue
            for unknown in sorted(question.when.any_of - known):
                self.problem(f"{at}.any_of", f"{unknown!r} is not a choice of {question.when.question}")

    def csf_ids(self, item: Mapping[str, Any], at: str) -> Iterator[str]:
        values = item.get("csf")
        if not isinstance(values, list) or not values:
            self.problem(f"{at}.csf", "at least one NIST CSF 2.0 subcategory id (e.g. GV.OC-01)")
            return
        for index, value in enumerate(values):
            if value not in self.csf:
                self.problem(f"{at}.csf[{index}]", f"{value!r} is not a NIST CSF 2.0 subcategory")
            else:
                yield value

    def guideline(self, value: Any, at: str) -> str | None:
        text = str(value) if isinstance(value, str | float) else None
        if text not in GUIDELINE_SECTIONS:
            self.problem(at, f"an FSA guideline section is one of {', '.join(GUIDELINE_SECTIONS)} (as text)")
            return None
        return text

    def identifier(self, item: Mapping[str, Any], at: str) -> str | None:
        value = item.get("id")
        if not isinstance(value, str) or not ID.fullmatch(value):
            self.problem(f"{at}.id", "an id is letters, digits, '.' and '-' (up to 64, no spaces)")
            return None
        if value in self.ids:
            self.problem(f"{at}.id", f"{value!r} is already the id of {self.ids[value]}")
            return None
        self.ids[value] = at
        return value

    def text(self, item: Any, at: str) -> Text | None:
        if not isinstance(item, Mapping):
            self.problem(at, "a text is a mapping with en and ja")
            return None
        self.keys(item, at, {"en", "ja"})
        values = []
        for language in ("en", "ja"):
            value = item.get(language)
            if not isinstance(value, str) or not value.strip():
                self.problem(f"{at}.{language}", f"the {'English' if language == 'en' else 'Japanese'} text is missing")
            values.append(value if isinstance(value, str) else "")
        return Text(values[0].strip(), values[1].strip()) if all(v.strip() for v in values) else None

    def text_field(self, item: Mapping[str, Any], name: str, at: str) -> str | None:
        value = item.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            self.problem(f"{at}.{name}".lstrip("."), f"{name} is required text")
            return None
        return value.strip()

    def enum(self, kind: type[Level] | type[AnswerType], value: Any, at: str) -> Any:
        try:
            return kind(value)
        except ValueError:
            self.problem(at, f"{value!r} is not one of {', '.join(member.value for member in kind)}")
            return None

    def items(self, item: Mapping[str, Any], name: str, at: str, *, required: bool = True) -> list[Any]:
        where = f"{at}.{name}".lstrip(".")
        if name not in item:
            if required:
                self.problem(where, f"{name} is required")
            return []
        value = item[name]
        if not isinstance(value, list):
            self.problem(where, f"{name} is a list")
            return []
        return value

    def keys(self, item: Mapping[str, Any], at: str, allowed: set[str]) -> None:
        for key in item:
            if key not in allowed:
                self.problem(f"{at}.{key}".lstrip("."), f"unknown field (expected {', '.join(sorted(allowed))})")
