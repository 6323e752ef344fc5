"""Scoring vectors (tests/vectors/assess/scoring.yaml), conditions, target profiles and the year-on-year trend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mamori.assess.answers import Answer, answer
from mamori.assess.framework import Framework, parse_framework
from mamori.assess.scoring import TargetProfile, is_asked, parse_target_profile, score
from mamori.assess.trend import compare
from mamori.errors import MamoriError
from support.banks import SCORING_BANK

VECTORS = yaml.safe_load((Path(__file__).parents[1] / "vectors" / "assess" / "scoring.yaml").read_text("utf-8"))
BANK = parse_framework(yaml.safe_load(SCORING_BANK))


def answers_of(framework: Framework, given: dict[str, list[str]]) -> dict[str, Answer]:
    return {q: answer(framework.question(q), *parts) for q, parts in given.items()}


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_scoring_vectors(vector: dict[str, Any]) -> None:
    target = parse_target_profile(vector.get("target"), BANK)
    card = score(BANK, answers_of(BANK, vector["answers"]), target).to_json()
    if "overall" in vector:
        assert card["overall"] == vector["overall"]
    for group in ("sections", "csf_functions", "guideline", "levels"):
        for key, expected in vector.get(group, {}).items():
            assert {k: card[group][key][k] for k in expected} == expected, (group, key)
    assert [gap["question"] for gap in card["gaps"]] == vector["gaps"]


def test_a_multiple_answer_profile_question_asks_when_any_chosen_answer_is_listed() -> None:
    question = BANK.question("CX-3")  # when PROFILE.signing any_of [mpc]
    profile = BANK.question("PROFILE.signing")
    assert is_asked(question, {profile.id: answer(profile, "mpc,hsm")})
    assert not is_asked(question, {profile.id: answer(profile, "multisig,hsm")})
    assert not is_asked(question, {profile.id: answer(profile, "none")})
    assert is_asked(question, {})  # not yet known: asked, the safe reading


def test_gap_entries_carry_target_achieved_and_unanswered() -> None:
    card = score(BANK, answers_of(BANK, {"GV-1": ["partial", "yes"]}))
    gaps = {gap.question.id: gap for gap in card.gaps}
    assert gaps["GV-1"].size == pytest.approx(0.5) and not gaps["GV-1"].unanswered
    assert gaps["CX-1"].unanswered and gaps["CX-1"].achieved == 0
    assert gaps["GV-2"].target == 0.5  # advanced: the default target


@pytest.mark.parametrize(
    ("document", "at"),
    [
        ({"basic": 1.5}, "basic"),
        ({"advanced": True}, "advanced"),
        ({"sections": {"XX": {"basic": 1}}}, "sections.XX"),
        ({"sections": {"CX": {"basic": 1, "expert": 1}}}, "sections.CX"),
        ({"questions": {"NOPE-1": 1}}, "questions.NOPE-1"),
        ({"questions": {"GV-1": -0.1}}, "questions.GV-1"),
        ({"goal": 1}, "goal"),
        ([1, 2], ""),
    ],
)
def test_bad_target_profiles_name_the_entry(document: Any, at: str) -> None:
    with pytest.raises(MamoriError) as caught:
        parse_target_profile(document, BANK)
    assert caught.value.code == "TARGET_PROFILE_INVALID"
    assert caught.value.details["at"] == at


def test_target_profile_precedence_question_then_nearest_section_then_level() -> None:
    target = TargetProfile(basic=0.9, advanced=0.2, sections={"CX": (0.7, 0.1)}, questions={"CX-1": 0.3})
    card = score(BANK, {}, target)
    wanted = {r.question.id: r.target for r in card.results}
    assert wanted == {"GV-1": 0.9, "GV-2": 0.2, "CX-1": 0.3, "CX-2": 0.7, "CX-3": 0.7, "CX-4": 0.7}


def test_the_trend_compares_groups_and_lists_questions_that_moved() -> None:
    last_year = score(BANK, answers_of(BANK, {"GV-1": ["no", "no"], "CX-1": ["three", "yes"], "GV-2": ["2", "no"]}))
    this_year = score(BANK, answers_of(BANK, {"GV-1": ["yes", "yes"], "CX-1": ["two", "yes"], "GV-2": ["2", "no"]}))
    trend = compare(this_year, last_year).to_json()
    assert [c["question"] for c in trend["improved"]] == ["GV-1"]
    assert [c["question"] for c in trend["regressed"]] == ["CX-1"]
    assert trend["regressed"][0] == {"question": "CX-1", "current": 60.0, "previous": 100.0}
    gv = trend["sections"]["GV"]["implementation"]
    assert gv == {"current": 87.5, "previous": 12.5, "change": 75.0}  # (3·1 + 1·0.5) / 4 against (1·0.5) / 4
    assert trend["csf_functions"]["RS"]["implementation"]["change"] is None  # nothing asked either year
