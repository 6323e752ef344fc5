"""Year on year: how an organisation's scores moved since its previous assessment. Pure.

Groups are compared where both years score them; questions where both years asked them under the same id (a bank
revised between the years keeps most ids), listing those that improved or regressed and those new or dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mamori.assess.scoring import Score, Scorecard


@dataclass(frozen=True, slots=True)
class Delta:
    current: float | None
    previous: float | None

    @property
    def change(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    def to_json(self) -> dict[str, Any]:
        change = self.change
        return {"current": _round(self.current), "previous": _round(self.previous), "change": _round(change)}


@dataclass(frozen=True, slots=True)
class QuestionChange:
    question: str
    current: float | None  # implementation 0..1, None: not asked or not applicable
    previous: float | None


@dataclass(frozen=True, slots=True)
class Trend:
    overall: tuple[Delta, Delta]  # implementation, documentation
    groups: Mapping[str, Mapping[str, tuple[Delta, Delta]]]  # "sections" / "csf_functions" / "guideline" -> key
    improved: tuple[QuestionChange, ...]
    regressed: tuple[QuestionChange, ...]
    new: tuple[str, ...]
    dropped: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        def pair(deltas: tuple[Delta, Delta]) -> dict[str, Any]:
            return {"implementation": deltas[0].to_json(), "documentation": deltas[1].to_json()}

        def change(item: QuestionChange) -> dict[str, Any]:
            return {
                "question": item.question,
                "current": _round(_percent(item.current)),
                "previous": _round(_percent(item.previous)),
            }

        return {
            "overall": pair(self.overall),
            **{name: {k: pair(v) for k, v in group.items()} for name, group in self.groups.items()},
            "improved": [change(c) for c in self.improved],
            "regressed": [change(c) for c in self.regressed],
            "new": list(self.new),
            "dropped": list(self.dropped),
        }


def compare(current: Scorecard, previous: Scorecard) -> Trend:
    def deltas(now: Score, then: Score) -> tuple[Delta, Delta]:
        return Delta(now.implementation, then.implementation), Delta(now.documentation, then.documentation)

    def group(now: Mapping[str, Score], then: Mapping[str, Score]) -> dict[str, tuple[Delta, Delta]]:
        return {key: deltas(score, then[key]) for key, score in now.items() if key in then}

    before = {r.question.id: r for r in previous.results if r.asked}
    after = {r.question.id: r for r in current.results if r.asked}
    improved: list[QuestionChange] = []
    regressed: list[QuestionChange] = []
    for question_id, result in after.items():
        earlier = before.get(question_id)
        if earlier is None:
            continue
        now_value, then_value = result.implementation, earlier.implementation
        if now_value is not None and then_value is not None and now_value != then_value:
            change = QuestionChange(question_id, now_value, then_value)
            (improved if now_value > then_value else regressed).append(change)
    return Trend(
        overall=deltas(current.overall, previous.overall),
        groups={
            "sections": group(current.by_section, previous.by_section),
            "csf_functions": group(current.by_function, previous.by_function),
            "guideline": group(current.by_guideline, previous.by_guideline),
        },
        improved=tuple(improved),
        regressed=tuple(regressed),
        new=tuple(q for q in after if q not in before),
        dropped=tuple(q for q in before if q not in after),
    )


def _percent(value: float | None) -> float | None:
    return None if value is None else value * 100


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
