"""Scores of an assessment: a pure function of the bank, the answers and the target profile.

Per question, implementation scores 0..1 by answer type (ynpna yes 1 / partial 0.5 / no 0, ``na`` leaves the
question out; maturity level / 4; single: the choice's score; multiple: the sum of the chosen scores, at most 1) and
documentation scores yes 1 / partial 0.5 / no 0. A question asked but not answered scores 0 on both: an assessment
is never flattered by its blanks. A machine-evidence question (the platform answers it from its own state) has no
documentation answer and is left out of the documentation score. A question whose condition the profile rules out is
not asked; one whose profile question is unanswered is asked (the safe reading).

A group's score (top-level section, CSF 2.0 function, FSA guideline section, level) is the weighted mean of its
questions, as a percentage; implementation and documentation separately. A question mapped to two functions counts
in both. The gap list holds every asked question whose implementation is below its target, ordered by weight
(heaviest first), then level (basic first), then size of the gap, then the bank's order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mamori.assess.answers import Answer
from mamori.assess.framework import AnswerType, Framework, Level, Question, Section
from mamori.errors import MamoriError

CSF_FUNCTIONS = ("GV", "ID", "PR", "DE", "RS", "RC")
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class TargetProfile:
    """The implementation score (0..1) wanted of each question: by level, overridden by section, then question."""

    basic: float = 1.0
    advanced: float = 0.5
    sections: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # section id -> (basic, advanced)
    questions: Mapping[str, float] = field(default_factory=dict)

    def target(self, question: Question, ancestry: tuple[str, ...]) -> float:
        if question.id in self.questions:
            return self.questions[question.id]
        for section in reversed(ancestry):  # the nearest section that sets one
            if section in self.sections:
                basic, advanced = self.sections[section]
                return basic if question.level is Level.BASIC else advanced
        return self.basic if question.level is Level.BASIC else self.advanced

    def to_json(self) -> dict[str, Any]:
        return {
            "basic": self.basic,
            "advanced": self.advanced,
            "sections": {k: {"basic": b, "advanced": a} for k, (b, a) in sorted(self.sections.items())},
            "questions": dict(sorted(self.questions.items())),
        }


def parse_target_profile(document: Any, framework: Framework) -> TargetProfile:
    """A target profile from its YAML/JSON document; ``TARGET_PROFILE_INVALID`` naming the first bad entry."""

    def level(value: Any, at: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise MamoriError("TARGET_PROFILE_INVALID", at=at, reason="a target is a number from 0 to 1")
        return float(value)

    if document is None:
        return TargetProfile()
    if not isinstance(document, Mapping):
        raise MamoriError("TARGET_PROFILE_INVALID", at="", reason="a mapping with basic, advanced, sections, questions")
    unknown = set(document) - {"basic", "advanced", "sections", "questions"}
    if unknown:
        raise MamoriError("TARGET_PROFILE_INVALID", at=sorted(unknown)[0], reason="unknown field")
    known_sections = {s.id for s in _all_sections(framework.sections)}
    known_questions = {q.id for q in framework.questions}
    sections: dict[str, tuple[float, float]] = {}
    for key, value in (document.get("sections") or {}).items():
        if key not in known_sections or not isinstance(value, Mapping) or set(value) - {"basic", "advanced"}:
            raise MamoriError(
                "TARGET_PROFILE_INVALID",
                at=f"sections.{key}",
                reason="a section of the bank, with basic and/or advanced targets",
            )
        sections[key] = (
            level(value.get("basic", 1.0), f"sections.{key}.basic"),
            level(value.get("advanced", 0.5), f"sections.{key}.advanced"),
        )
    questions: dict[str, float] = {}
    for key, value in (document.get("questions") or {}).items():
        if key not in known_questions:
            raise MamoriError("TARGET_PROFILE_INVALID", at=f"questions.{key}", reason="not a question of the bank")
        questions[key] = level(value, f"questions.{key}")
    return TargetProfile(
        level(document.get("basic", 1.0), "basic"),
        level(document.get("advanced", 0.5), "advanced"),
        sections,
        questions,
    )


@dataclass(frozen=True, slots=True)
class Score:
    implementation: float | None  # percent, None when nothing in the group is asked
    documentation: float | None
    asked: int
    answered: int
    not_applicable: int

    def to_json(self) -> dict[str, Any]:
        return {
            "implementation": _round(self.implementation),
            "documentation": _round(self.documentation),
            "asked": self.asked,
            "answered": self.answered,
            "not_applicable": self.not_applicable,
        }


@dataclass(frozen=True, slots=True)
class QuestionResult:
    question: Question
    top_section: str
    asked: bool
    answer: Answer | None
    implementation: float | None  # 0..1; None when not asked or not applicable
    documentation: float | None
    target: float

    @property
    def counted(self) -> bool:
        return self.asked and self.implementation is not None


@dataclass(frozen=True, slots=True)
class Gap:
    question: Question
    top_section: str
    target: float
    achieved: float
    documentation: float
    unanswered: bool

    @property
    def size(self) -> float:
        return self.target - self.achieved

    def to_json(self) -> dict[str, Any]:
        q = self.question
        return {
            "question": q.id,
            "section": self.top_section,
            "level": q.level.value,
            "weight": q.weight,
            "target": _round(self.target * 100),
            "achieved": _round(self.achieved * 100),
            "documentation": _round(self.documentation * 100),
            "unanswered": self.unanswered,
            "text": {"en": q.text.en, "ja": q.text.ja},
        }


@dataclass(frozen=True, slots=True)
class Scorecard:
    overall: Score
    by_section: Mapping[str, Score]
    by_function: Mapping[str, Score]
    by_guideline: Mapping[str, Score]
    by_level: Mapping[str, Score]
    results: tuple[QuestionResult, ...]
    gaps: tuple[Gap, ...]

    def result(self, question_id: str) -> QuestionResult | None:
        return next((r for r in self.results if r.question.id == question_id), None)

    def to_json(self) -> dict[str, Any]:
        def group(scores: Mapping[str, Score]) -> dict[str, Any]:
            return {key: score.to_json() for key, score in scores.items()}

        return {
            "overall": self.overall.to_json(),
            "sections": group(self.by_section),
            "csf_functions": group(self.by_function),
            "guideline": group(self.by_guideline),
            "levels": group(self.by_level),
            "gaps": [gap.to_json() for gap in self.gaps],
        }


def is_asked(question: Question, profile: Mapping[str, Answer]) -> bool:
    """Whether the profile answers make ``question`` relevant (an unanswered profile question: asked)."""
    if question.when is None:
        return True
    given = profile.get(question.when.question)
    if given is None:
        return True
    chosen = given.value if isinstance(given.value, frozenset) else frozenset({str(given.value)})
    return bool(chosen & question.when.any_of)


def implementation_score(question: Question, answer: Answer) -> float | None:
    """0..1 for the answer's implementation part; None for ``na``."""
    value = answer.value
    if question.answer is AnswerType.YNPNA:
        return {"yes": 1.0, "partial": 0.5, "no": 0.0}.get(str(value))
    if question.answer is AnswerType.MATURITY:
        return int(value) / 4 if isinstance(value, int) else 0.0
    scores = {c.id: c.score or 0.0 for c in question.choices}
    if question.answer is AnswerType.SINGLE:
        return scores.get(str(value), 0.0)
    chosen = value if isinstance(value, frozenset) else frozenset()
    return min(1.0, sum(scores.get(c, 0.0) for c in chosen))


def score(framework: Framework, answers: Mapping[str, Answer], target: TargetProfile | None = None) -> Scorecard:
    target = target or TargetProfile()
    profile = {q.id: answers[q.id] for q in framework.profile if q.id in answers}
    results = tuple(_results(framework, answers, profile, target))
    groups: dict[str, dict[str, list[QuestionResult]]] = {"section": {}, "function": {}, "guideline": {}, "level": {}}
    for section in framework.sections:
        groups["section"][section.id] = []
    for key in CSF_FUNCTIONS:
        groups["function"][key] = []
    for result in results:
        groups["section"][result.top_section].append(result)
        for function in dict.fromkeys(sub[:2] for sub in result.question.csf):
            groups["function"].setdefault(function, []).append(result)
        for guideline in result.question.guideline:
            groups["guideline"].setdefault(guideline, []).append(result)
        groups["level"].setdefault(result.question.level.value, []).append(result)
    gaps = [
        Gap(r.question, r.top_section, r.target, r.implementation or 0.0, r.documentation or 0.0, r.answer is None)
        for r in results
        if r.counted and (r.implementation or 0.0) < r.target - _EPSILON
    ]
    order = {r.question.id: index for index, r in enumerate(results)}
    gaps.sort(key=lambda g: (-g.question.weight, g.question.level is not Level.BASIC, -g.size, order[g.question.id]))
    return Scorecard(
        overall=_score(results),
        by_section={k: _score(v) for k, v in groups["section"].items()},
        by_function={k: _score(v) for k, v in groups["function"].items()},
        by_guideline={k: _score(v) for k, v in sorted(groups["guideline"].items())},
        by_level={k: _score(v) for k, v in sorted(groups["level"].items())},
        results=results,
        gaps=tuple(gaps),
    )


def _results(
    framework: Framework, answers: Mapping[str, Answer], profile: Mapping[str, Answer], target: TargetProfile
) -> Iterator[QuestionResult]:
    for top in framework.sections:
        for question, ancestry in _with_ancestry(top, ()):
            given = answers.get(question.id)
            asked = is_asked(question, profile)
            implementation = documentation = None
            if asked:
                if given is None:
                    implementation, documentation = 0.0, None if question.machine else 0.0
                else:
                    implementation = implementation_score(question, given)
                    if given.documentation is not None and implementation is not None:
                        documentation = given.documentation.score
                    elif implementation is not None and question.machine is None:
                        documentation = 0.0
            yield QuestionResult(
                question,
                top.id,
                asked,
                given if asked else None,
                implementation,
                documentation,
                target.target(question, ancestry),
            )


def _with_ancestry(section: Section, above: tuple[str, ...]) -> Iterator[tuple[Question, tuple[str, ...]]]:
    here = (*above, section.id)
    for question in section.questions:
        yield question, here
    for child in section.sections:
        yield from _with_ancestry(child, here)


def _all_sections(sections: tuple[Section, ...]) -> Iterator[Section]:
    for section in sections:
        yield section
        yield from _all_sections(section.sections)


def _score(results: Sequence[QuestionResult]) -> Score:
    asked = [r for r in results if r.asked]
    counted = [r for r in asked if r.implementation is not None]
    weight = sum(r.question.weight for r in counted)
    if not weight:
        return Score(None, None, len(asked), sum(r.answer is not None for r in asked), len(asked) - len(counted))
    implementation = sum(r.question.weight * (r.implementation or 0.0) for r in counted) / weight * 100
    documented = [r for r in counted if r.documentation is not None]
    documented_weight = sum(r.question.weight for r in documented)
    documentation = (
        sum(r.question.weight * (r.documentation or 0.0) for r in documented) / documented_weight * 100
        if documented_weight
        else None
    )
    answered = sum(r.answer is not None for r in asked)
    return Score(implementation, documentation, len(asked), answered, len(asked) - len(counted))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
