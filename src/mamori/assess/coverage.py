"""What a question bank covers: its questions per NIST CSF 2.0 function, category and subcategory and per FSA
guideline section, and what it leaves uncovered (``mamori assess coverage``). Pure."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from mamori.assess.framework import GUIDELINE_SECTIONS, Framework, Level


@dataclass(frozen=True, slots=True)
class Coverage:
    questions: int
    by_level: dict[str, int]
    by_function: dict[str, int]  # GV, ID, PR, DE, RS, RC -> questions mapped to it
    by_category: dict[str, int]  # GV.OC ... -> questions
    by_guideline: dict[str, int]  # 2.1 ... 2.6 -> questions
    uncovered_categories: tuple[str, ...]
    uncovered_subcategories: tuple[str, ...]
    uncovered_guideline: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "by_level": self.by_level,
            "by_function": self.by_function,
            "by_category": self.by_category,
            "by_guideline": self.by_guideline,
            "uncovered": {
                "categories": list(self.uncovered_categories),
                "subcategories": list(self.uncovered_subcategories),
                "guideline": list(self.uncovered_guideline),
            },
        }


def coverage(framework: Framework, csf: frozenset[str]) -> Coverage:
    """``framework``'s coverage of the CSF 2.0 subcategories ``csf`` and of the guideline's sections. A question
    counts once for each function, category and section it maps to."""
    questions = framework.questions
    functions: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    subcategories: set[str] = set()
    guideline: Counter[str] = Counter()
    for question in questions:
        functions.update({sub.split(".")[0] for sub in question.csf})
        categories.update({sub.split("-")[0] for sub in question.csf})
        subcategories.update(question.csf)
        guideline.update(set(question.guideline))
    all_categories = sorted({sub.split("-")[0] for sub in csf})
    order = ["GV", "ID", "PR", "DE", "RS", "RC"]
    return Coverage(
        questions=len(questions),
        by_level={level.value: sum(q.level is level for q in questions) for level in Level},
        by_function={f: functions[f] for f in order},
        by_category={c: categories[c] for c in all_categories},
        by_guideline={g: guideline[g] for g in GUIDELINE_SECTIONS},
        uncovered_categories=tuple(c for c in all_categories if not categories[c]),
        uncovered_subcategories=tuple(sorted(csf - subcategories)),
        uncovered_guideline=tuple(g for g in GUIDELINE_SECTIONS if not guideline[g]),
    )
