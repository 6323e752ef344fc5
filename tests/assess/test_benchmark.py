"""The benchmark's pure core (assess/benchmark.py): hand-computed vectors for the percentile and the deviation score,
the k-anonymity boundary, which submission counts, the member's file, and the STIX forms read strictly.

Provenance of the vectors: computed by hand from the definitions of docs/assess-benchmark.md (mid-rank percentile,
population sd), each shown in its comment; a property test checks the same figures against Python's ``statistics``.
"""

from __future__ import annotations

import contextlib
import math
import statistics
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.assess.benchmark import (
    MINIMUM_GROUP,
    RESULT_TYPE,
    Cohort,
    MemberBenchmark,
    PublishedBenchmark,
    ScoreReport,
    Submission,
    benchmark,
    benchmarks,
    definition_objects,
    group_counts,
    latest,
    latest_results,
    parse_result,
    parse_score_report,
    parse_submission,
    result_object,
    submission_object,
)
from mamori.assess.framework import load_framework
from mamori.assess.scoring import score
from mamori.errors import MamoriError
from mamori.intel.stix_validation import validate
from mamori.intel.tlp import TLP2_IDS, Tlp

COHORT = Cohort("mamori-cssa", "2026.1", 2026)
ORGS = ("exa", "exb", "exc", "exd", "exe", "exf")
HUB = "identity--0d6e1cbb-3a2c-4d0e-9c1e-8e1b0f3f0a01"
NOW = 1_772_503_200_000_000  # 2026-03-03T02:00:00Z


def sub(org: str, at: int = 1, cohort: Cohort = COHORT, **scores: float) -> Submission:
    """A submission; keyword ``section_GV=50`` is the key ``section:GV`` (percent)."""
    keys = {name.replace("_", ":", 1): round(value * 100) for name, value in scores.items()}
    return Submission(org, cohort, keys, submitted_us=at, reference=f"{org}-{at}")


def of(results: list[MemberBenchmark], org: str) -> MemberBenchmark:
    return next(r for r in results if r.organisation == org)


def figures(result: MemberBenchmark) -> dict[str, tuple[int, float, float]]:
    return {s.key: (s.organisations, s.percentile, s.deviation) for s in result.standings}


# --- vectors -------------------------------------------------------------------------------------------------------


def test_distinct_values_by_hand() -> None:
    # 10, 20, 30, 40, 50: mean 30, population sd sqrt((400+100+0+100+400)/5) = sqrt(200) = 14.1421
    results = benchmarks([sub(org, overall=v) for org, v in zip(ORGS, (10, 20, 30, 40, 50), strict=False)])
    expected = {
        "exa": (5, 10.0, 35.9),  # (0 + 0.5)/5; 50 + 10·(−20)/14.1421 = 35.858
        "exb": (5, 30.0, 42.9),  # (1 + 0.5)/5; 50 − 7.071 = 42.929
        "exc": (5, 50.0, 50.0),
        "exd": (5, 70.0, 57.1),  # 57.071
        "exe": (5, 90.0, 64.1),  # (4 + 0.5)/5; 64.142
    }
    assert {r.organisation: figures(r)["overall"] for r in results} == expected
    assert all(r.withheld == () for r in results)


def test_ties_share_the_mid_rank() -> None:
    # 10, 20, 20, 20, 50: mean 24, sd sqrt((196 + 3·16 + 676)/5) = sqrt(184) = 13.5647
    values = (10, 20, 20, 20, 50)
    results = benchmarks([sub(org, overall=v) for org, v in zip(ORGS, values, strict=False)])
    assert figures(of(results, "exb"))["overall"] == (5, 50.0, 47.1)  # (1 + 3/2)/5; 50 − 40/13.5647 = 47.051
    assert figures(of(results, "exd"))["overall"] == (5, 50.0, 47.1)
    assert figures(of(results, "exa"))["overall"] == (5, 10.0, 39.7)  # 50 − 140/13.5647 = 39.679
    assert figures(of(results, "exe"))["overall"] == (5, 90.0, 69.2)  # 50 + 260/13.5647 = 69.167


def test_no_spread_is_fifty_even_where_floating_point_would_differ() -> None:
    # 33.33 five times: a float mean and sd would leave a residue of 1e-15 and a wild deviation score.
    results = benchmarks([sub(org, overall=33.33) for org in ORGS[:5]])
    assert {figures(r)["overall"] for r in results} == {(5, 50.0, 50.0)}  # equal: (0 + 5/2)/5


def test_decimals_are_kept_to_the_hundredth() -> None:
    # 62.5, 62.5, 62.51, 70, 80: 62.51 is above the two 62.5 and below two: (2 + 0.5)/5 = 50.0
    values = (62.5, 62.5, 62.51, 70, 80)
    results = benchmarks([sub(org, overall=v) for org, v in zip(ORGS, values, strict=False)])
    assert figures(of(results, "exc"))["overall"][1] == 50.0
    assert of(results, "exc").standings[0].score == 6251


# --- k-anonymity -----------------------------------------------------------------------------------------------------


def test_four_organisations_see_nothing_five_see_everything() -> None:
    four = benchmarks([sub(org, overall=10 * i, section_GV=5 * i) for i, org in enumerate(ORGS[:4])])
    assert [(r.standings, r.withheld) for r in four] == [((), ("overall", "section:GV"))] * 4
    five = benchmarks([sub(org, overall=10 * i, section_GV=5 * i) for i, org in enumerate(ORGS[:5])])
    assert all(r.withheld == () and [s.key for s in r.standings] == ["overall", "section:GV"] for r in five)
    assert all(s.organisations == 5 for r in five for s in r.standings)


def test_a_group_only_four_answered_is_withheld_while_the_others_are_shown() -> None:
    submissions = [sub(org, overall=10 * i, section_GV=20, section_CX=30) for i, org in enumerate(ORGS[:4])]
    submissions.append(sub("exe", overall=90, section_GV=50))  # nothing asked in CX: no score
    results = benchmarks(submissions)
    exa = of(results, "exa")
    assert [s.key for s in exa.standings] == ["overall", "section:GV"] and exa.withheld == ("section:CX",)
    assert of(results, "exe").withheld == ()  # it has no CX score: nothing to show or withhold
    obj = result_object(exa, author=HUB, now_us=NOW)
    assert obj["withheld"] == ["section:CX"]  # the key alone: not how many have it
    assert [s["organisations"] for s in obj["standings"]] == [5, 5]


def test_the_threshold_is_never_below_five() -> None:
    with pytest.raises(MamoriError) as raised:
        benchmarks([], minimum=4)
    assert raised.value.code == "USAGE_INVALID"
    five = [sub(org, overall=10 * i) for i, org in enumerate(ORGS[:5])]
    assert all(r.withheld == ("overall",) for r in benchmarks(five, minimum=6))
    assert MINIMUM_GROUP == 5


# --- which submission counts -----------------------------------------------------------------------------------------


def test_the_latest_submission_of_an_organisation_wins() -> None:
    submissions = [sub(org, at=5, overall=10 * i) for i, org in enumerate(ORGS[:5])]
    submissions.insert(0, sub("exa", at=9, overall=100))  # later, though listed first
    submissions.append(sub("exb", at=1, overall=100))  # earlier: replaced by its at=5
    assert [s.reference for s in latest(submissions) if s.organisation in ("exa", "exb")] == ["exb-5", "exa-9"]
    assert of(benchmarks(submissions), "exa").standings[0].score == 10_000
    assert of(benchmarks(submissions), "exb").standings[0].score == 1_000


def test_other_years_and_bank_versions_are_other_cohorts() -> None:
    last_year = Cohort(COHORT.framework_id, COHORT.framework_version, 2025)
    other_bank = Cohort("other-bank", COHORT.framework_version, 2026)
    new_version = Cohort(COHORT.framework_id, "2026.2", 2026)
    submissions = [sub(org, overall=10 * i) for i, org in enumerate(ORGS[:5])]
    submissions += [sub("exf", cohort=last_year, overall=99), sub("exf", cohort=other_bank, overall=99)]
    assert figures(benchmark(submissions, "exa", framework_id="mamori-cssa", year=2026))["overall"][0] == 5
    assert benchmark(submissions, "exf", framework_id="mamori-cssa", year=2025).withheld == ("overall",)
    # exe moves to a new version of the bank for 2026: its latest replaces the older one, leaving four in 2026.1
    submissions.append(sub("exe", at=2, cohort=new_version, overall=50))
    results = benchmarks(submissions)
    assert of(results, "exa").withheld == ("overall",)
    assert [(r.cohort, r.organisation) for r in results if r.organisation == "exe"] == [(new_version, "exe")]
    with pytest.raises(MamoriError) as raised:
        benchmark(submissions, "nobody", framework_id="mamori-cssa", year=2026)
    assert raised.value.code == "NOT_FOUND"


def test_the_operator_sees_counts_only() -> None:
    submissions = [sub(org, overall=10 * i, section_GV=20) for i, org in enumerate(ORGS[:5])]
    submissions.append(sub("exf", overall=60))
    [count] = group_counts(submissions)
    assert count.to_json() == {
        "framework": {"id": "mamori-cssa", "version": "2026.1"}, "year": 2026, "organisations": 6, "minimum": 5,
        "keys": {"overall": {"organisations": 6, "shown": True}, "section:GV": {"organisations": 5, "shown": True}},
    }  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10_000), min_size=5, max_size=30))
def test_figures_agree_with_the_statistics_module(values: list[int]) -> None:
    submissions = [Submission(f"org{i}", COHORT, {"overall": v}, i) for i, v in enumerate(values)]
    mean, sd = statistics.fmean(values), statistics.pstdev(values)
    for result in benchmarks(submissions):
        [standing] = result.standings
        x = standing.score
        rank = (sum(v < x for v in values) + 0.5 * sum(v == x for v in values)) / len(values) * 100
        deviation = 50.0 if sd < 1e-9 else 50 + 10 * (x - mean) / sd
        assert math.isclose(standing.percentile, rank, abs_tol=0.05 + 1e-9)
        assert math.isclose(standing.deviation, deviation, abs_tol=0.05 + 1e-6)


# --- the member's file -----------------------------------------------------------------------------------------------


def scorecard() -> dict[str, Any]:
    framework = load_framework(Path(str(resources.files("mamori.content").joinpath("cssa"))))
    return score(framework, {}).to_json()


def test_the_score_file_keeps_only_implementation_percentages() -> None:
    card = scorecard()
    card["sections"]["GV"]["implementation"] = 62.5
    card["sections"]["RR"]["implementation"] = None  # nothing asked there
    card["gaps"] = [{"question": "GV-001", "text": {"en": "secret detail"}}]
    file = {"framework": {"id": "mamori-cssa", "version": "2026.1"}, "year": 2026, "scorecard": card, "note": "x"}
    report = parse_score_report(file)
    assert report.cohort == COHORT
    assert report.scores["section:GV"] == 6250 and "section:RR" not in report.scores
    assert {"overall", "csf:PR", "guideline:2.3", "level:basic", "level:advanced"} <= set(report.scores)
    obj = submission_object(report, now_us=NOW)
    assert "secret" not in orjson.dumps(obj).decode() and "note" not in obj
    assert validate(obj) == []
    parsed = parse_submission(obj, organisation="exa", submitted_us=7)
    assert parsed.scores == report.scores and parsed.cohort == COHORT and parsed.reference == obj["id"]
    assert submission_object(report, now_us=NOW) == obj  # the same scores at the same time: the same object


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"year": 1999}, "year"),
        ({"year": "2026"}, "year"),
        ({"framework": {"id": "mamori-cssa"}}, "version"),
        ({"framework": {"id": "bad id!", "version": "1"}}, "framework id"),
        ({"scorecard": None}, "scorecard"),
        ({"status": "open"}, "signed off"),
        ({"scorecard": {"overall": {"implementation": 101}}}, "0 to 100"),
    ],
)
def test_a_bad_score_file_is_refused(change: dict[str, Any], why: str) -> None:
    file = {"framework": {"id": "mamori-cssa", "version": "2026.1"}, "year": 2026, "scorecard": scorecard(), **change}
    with pytest.raises(MamoriError) as raised:
        parse_score_report(file)
    assert raised.value.code == "BENCHMARK_SUBMISSION_INVALID" and why in raised.value.message_en


def test_a_scorecard_with_nothing_asked_cannot_be_submitted() -> None:
    empty = ScoreReport(COHORT, {})
    with pytest.raises(MamoriError) as raised:
        submission_object(empty, now_us=NOW)
    assert raised.value.code == "BENCHMARK_SUBMISSION_INVALID"


# --- the STIX forms, read strictly ---------------------------------------------------------------------------------


def good_submission() -> dict[str, Any]:
    return submission_object(ScoreReport(COHORT, {"overall": 5000, "section:GV": 6250}), now_us=NOW)


def scores(*entries: Any) -> dict[str, Any]:
    return {"scores": list(entries)}


@pytest.mark.parametrize(
    "change",
    [
        scores({"key": "overall", "implementation": 100.01}),
        scores({"key": "overall", "implementation": -1}),
        scores({"key": "overall", "implementation": "50"}),
        scores({"key": "overall", "implementation": True}),
        scores({"key": "overall", "implementation": 50, "n": 3}),
        scores({"key": "overall", "implementation": 5}, {"key": "overall", "implementation": 6}),
        scores(*({"key": f"section:S{i}", "implementation": 1} for i in range(257))),
        {"scores": []},
        *(scores({"key": key, "implementation": 1}) for key in
          ("section:", "section:bad id", "csf:XX", "guideline:3.1", "level:expert", "overall:x", "total", 7)),
        {"year": 2101},
        {"year": True},
        {"framework_version": ""},
        {"spec_version": "2.0"},
        {"object_marking_refs": [TLP2_IDS[Tlp.AMBER]]},
        {"object_marking_refs": [TLP2_IDS[Tlp.RED], TLP2_IDS[Tlp.GREEN]]},
        {"extensions": {"extension-definition--00000000-0000-4000-8000-000000000000": {"extension_type": "new-sdo"}}},
        {"organisation": "exb"},
        {"type": "note"},
        {"id": "mamori-benchmark-submission--not-a-uuid"},
    ],
)  # fmt: skip
def test_a_submission_is_read_strictly(change: dict[str, Any]) -> None:
    with pytest.raises(MamoriError) as raised:
        parse_submission({**good_submission(), **change}, organisation="exa", submitted_us=1)
    assert raised.value.code == "BENCHMARK_SUBMISSION_INVALID"


def test_a_result_names_no_organisation_and_reads_back() -> None:
    results = benchmarks([sub(org, overall=10 * i, section_GV=5) for i, org in enumerate(ORGS[:5])]
                         + [sub("exf", overall=1, section_TP=5)])  # fmt: skip
    exf = of(results, "exf")
    obj = result_object(exf, author=HUB, now_us=NOW)
    text = orjson.dumps(obj).decode()
    assert not any(org in text for org in ORGS)
    assert validate(obj) == [] and all(validate(d) == [] for d in definition_objects())
    assert obj["object_marking_refs"] == [TLP2_IDS[Tlp.AMBER_STRICT]] and obj["created_by_ref"] == HUB
    read = parse_result(obj)
    assert read.standings == exf.standings and read.withheld == ("section:TP",) and read.cohort == COHORT
    # 0, 10, 20, 30, 40 and exf's 1: (1 + 0.5)/6 = 25.0; mean 16.8333, sd 14.7243, 50 − 158.33/14.7243 = 39.247
    assert read.to_json()["standings"][0] == {"key": "overall", "score": 1.0, "organisations": 6, "percentile": 25.0,
                                              "deviation": 39.2}  # fmt: skip
    alone = benchmarks([sub("exa", overall=1)])
    everything_withheld = result_object(of(alone, "exa"), author=HUB, now_us=NOW)
    assert "standings" not in everything_withheld and validate(everything_withheld) == []
    assert parse_result(everything_withheld).standings == ()


@pytest.mark.parametrize(
    "change",
    [
        {"minimum_group": 4},
        {"standings": [{"key": "overall", "score": 1, "organisations": 4, "percentile": 10, "deviation": 40}]},
        {"standings": [{"key": "overall", "score": 1, "organisations": 5, "percentile": 101, "deviation": 40}]},
        {"standings": [{"key": "overall", "score": 1, "organisations": 5, "percentile": 10}]},
        {"withheld": ["nope"]},
        {"withheld": "overall"},
        {"object_marking_refs": [TLP2_IDS[Tlp.GREEN]]},
        {"created": "yesterday"},
        {"members": ["exb"]},
    ],
)
def test_a_result_is_read_strictly(change: dict[str, Any]) -> None:
    obj = result_object(MemberBenchmark("exa", COHORT, 5, (), ("overall",)), author=HUB, now_us=NOW)
    with pytest.raises(MamoriError) as raised:
        parse_result({**obj, **change})
    assert raised.value.code == "BENCHMARK_RESULT_INVALID"


def test_the_latest_result_per_bank_and_year() -> None:
    def published(at: int, year: int, framework: str = "mamori-cssa") -> PublishedBenchmark:
        return PublishedBenchmark(f"{RESULT_TYPE}--{at}", at, Cohort(framework, "1", year), 5, (), ())

    found = [published(1, 2025), published(3, 2026), published(2, 2026), published(4, 2026, "other")]
    assert [r.published_us for r in latest_results(found)] == [3, 4, 1]  # newest year first, then by bank id
    assert [r.published_us for r in latest_results(found, framework_id="mamori-cssa", year=2026)] == [3]
    assert latest_results(found, year=2024) == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)


PROPERTIES = ["scores", "year", "standings", "withheld", "framework", "scorecard", "minimum_group", "type"]


@settings(max_examples=300, deadline=None)
@given(json_values, st.dictionaries(st.sampled_from(PROPERTIES), json_values))
def test_readers_raise_only_mamori_errors(anything: Any, changes: dict[str, Any]) -> None:
    base = {**good_submission(), **changes}
    result = {**result_object(MemberBenchmark("exa", COHORT, 5, (), ("overall",)), author=HUB, now_us=NOW), **changes}
    for read in (
        lambda: parse_submission(anything, organisation="exa", submitted_us=1),
        lambda: parse_submission(base, organisation="exa", submitted_us=1),
        lambda: parse_result(anything),
        lambda: parse_result(result),
        lambda: parse_score_report(anything),
        lambda: parse_score_report({"framework": {"id": "a", "version": "1"}, "year": 2026, **changes}),
    ):
        with contextlib.suppress(MamoriError):  # anything else fails the test
            read()
