"""The anonymised industry benchmark: each member's standing among the members who submitted the same bank, version
and year — a pure function of the submissions (docs/assess-benchmark.md).

A member submits one number per group of its scorecard: the implementation percentage of ``overall``, of each
top-level section (``section:GV``), CSF 2.0 function (``csf:PR``), FSA guideline section (``guideline:2.3``) and
level (``level:basic``). Values are kept in hundredths of a percent (62.5 % is 6250): every comparison and sum is
exact, so ties are ties.

Who counts: for each (organisation, bank id, year) the submission the hub received last; organisations whose latest
submission uses the same bank version form a cohort. For each key on which the member has a score, when at least
``minimum`` (5, never fewer) organisations of its cohort have one, the member is shown, with n the number of them:

- percentile (mid-rank) = (below + 0.5 · equal) / n · 100, where *below* counts the values under the member's and
  *equal* those equal to it, its own included; one decimal, halves up;
- deviation score (偏差値) = 50 + 10 · (x − mean) / sd with the population sd (divided by n); 50 when sd is 0;
  one decimal.

Otherwise the key is *withheld*: listed without n, so that the size of a small group does not leak. Nothing about
another organisation — its id, name, value, a minimum or maximum, the mean or the sd — is ever part of a result.

Transport: STIX 2.1 objects of two new types defined by extension definitions (``extension_type: new-sdo``, §7.3):
a submission marked TLP:RED (only its producer may ever read it back) and a result marked TLP:AMBER+STRICT whose
only reader the hub names is the member organisation.
"""

from __future__ import annotations

import math
import re
import uuid
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import orjson

from mamori.assess.framework import GUIDELINE_SECTIONS, ID, Level
from mamori.assess.scoring import CSF_FUNCTIONS
from mamori.errors import MamoriError
from mamori.intel.stix_forms import format_timestamp_us, id_type, timestamp_us
from mamori.intel.tlp import TLP2_IDS, Tlp
from mamori.intel.wallet_stix import MAMORI_IDENTITY_ID, SCHEMA_BASE_URL

MINIMUM_GROUP = 5  # k-anonymity: never a figure computed over fewer organisations
MAX_SCORES = 256
FIRST_YEAR, LAST_YEAR = 2000, 2100
SUBMISSION_TYPE = "mamori-benchmark-submission"
RESULT_TYPE = "mamori-benchmark-result"
SUBMISSION_EXTENSION = "extension-definition--812d811e-07cd-477c-a985-c1ec7c38b10c"
RESULT_EXTENSION = "extension-definition--28df0368-5cc0-4b6f-99b3-3f820d04281d"
# The namespace of the ids derived here. A random UUID fixed once: it never changes.
BENCHMARK_NAMESPACE = uuid.UUID("c004b5ac-b23c-49c4-af50-4f4ea8176d88")
SUBMISSION_TLP, RESULT_TLP = Tlp.RED, Tlp.AMBER_STRICT
GROUPS = {"overall": "overall", "sections": "section", "csf_functions": "csf", "guideline": "guideline",
          "levels": "level"}  # fmt: skip  # scorecard JSON field -> key prefix
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_\-]{0,63}")
_KNOWN = {"csf": frozenset(CSF_FUNCTIONS), "guideline": frozenset(GUIDELINE_SECTIONS),
          "level": frozenset(level.value for level in Level)}  # fmt: skip
_DEFINITIONS_TIME = "2026-12-10T00:00:00.000Z"
_COMMON = frozenset({"type", "spec_version", "id", "created", "modified", "created_by_ref", "object_marking_refs",
                     "extensions", "framework_id", "framework_version", "year"})  # fmt: skip


@dataclass(frozen=True, slots=True, order=True)
class Cohort:
    """What makes scores comparable: the same bank, the same version of it, the same year."""

    framework_id: str
    framework_version: str
    year: int

    def to_json(self) -> dict[str, Any]:
        return {"framework": {"id": self.framework_id, "version": self.framework_version}, "year": self.year}


@dataclass(frozen=True, slots=True)
class ScoreReport:
    """What a member sends: its cohort and one implementation score per group key, in hundredths of a percent."""

    cohort: Cohort
    scores: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Submission:
    """A member's submission as the hub holds it: ``organisation`` is who the hub authenticated (never a claim of
    the object), ``submitted_us`` when the hub received it, ``reference`` the object's STIX id."""

    organisation: str
    cohort: Cohort
    scores: Mapping[str, int]
    submitted_us: int = 0
    reference: str = ""


@dataclass(frozen=True, slots=True)
class Standing:
    key: str
    score: int  # the member's own, hundredths of a percent
    organisations: int  # n: organisations of the cohort with a score on this key, the member included
    percentile: float
    deviation: float

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "score": self.score / 100, "organisations": self.organisations,
                "percentile": self.percentile, "deviation": self.deviation}  # fmt: skip


@dataclass(frozen=True, slots=True)
class MemberBenchmark:
    """One member's result; ``withheld``: its keys that fewer than ``minimum`` organisations of the cohort share."""

    organisation: str
    cohort: Cohort
    minimum: int
    standings: tuple[Standing, ...]
    withheld: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PublishedBenchmark:
    """A result as its member reads it from the hub (it names no organisation)."""

    id: str
    published_us: int
    cohort: Cohort
    minimum: int
    standings: tuple[Standing, ...]
    withheld: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "published": format_timestamp_us(self.published_us), **self.cohort.to_json(),
                "minimum": self.minimum, "standings": [s.to_json() for s in self.standings],
                "withheld": list(self.withheld)}  # fmt: skip


@dataclass(frozen=True, slots=True)
class GroupCount:
    """The operator's view of a cohort: how many organisations, and how many have a score on each key."""

    cohort: Cohort
    organisations: int
    keys: Mapping[str, int]
    minimum: int

    def to_json(self) -> dict[str, Any]:
        keys = {key: {"organisations": n, "shown": n >= self.minimum} for key, n in self.keys.items()}
        return {**self.cohort.to_json(), "organisations": self.organisations, "minimum": self.minimum, "keys": keys}


# --- what a member sends -----------------------------------------------------------------------------------------


def parse_score_report(document: Any) -> ScoreReport:
    """The member's file: ``{"framework": {"id", "version"}, "year", "scorecard": Scorecard.to_json()}``. Only the
    implementation percentages of the scorecard's groups are read; anything else in it is ignored and never sent."""
    if not isinstance(document, Mapping):
        raise _invalid("the file is a JSON object with framework, year and scorecard")
    if document.get("status", "locked") != "locked":  # `mamori assess score --json` says whether it was signed off
        raise _invalid("the assessment is not signed off yet: only locked scores are submitted")
    framework, scorecard = document.get("framework"), document.get("scorecard")
    if not isinstance(framework, Mapping):
        raise _invalid("framework is an object with id and version")
    cohort = _cohort(framework.get("id"), framework.get("version"), document.get("year"))
    if not isinstance(scorecard, Mapping):
        raise _invalid("scorecard is the JSON of the assessment's scorecard")
    scores: dict[str, int] = {}
    for field, prefix in GROUPS.items():
        group = scorecard.get(field)
        if field == "overall":
            group = {"": group}
        if not isinstance(group, Mapping):
            raise _invalid(f"scorecard.{field} is missing or not an object")
        for name, score in group.items():
            key = prefix if field == "overall" else f"{prefix}:{name}"
            if not isinstance(score, Mapping) or "implementation" not in score:
                raise _invalid(f"scorecard {key} has no implementation score")
            if score["implementation"] is not None:  # nothing asked in the group: no score
                scores[_key(key)] = _hundredths(score["implementation"], key)
    return ScoreReport(cohort, _bounded(scores))


def submission_object(report: ScoreReport, *, now_us: int) -> dict[str, Any]:
    """The STIX object that carries ``report`` to the hub, marked TLP:RED; its id derives from its content and
    time, so sending the same object again is a repeat."""
    if not report.scores:
        raise _invalid("no score to submit: nothing was asked")
    scores = [{"key": key, "implementation": value / 100} for key, value in report.scores.items()]
    stamp = format_timestamp_us(now_us)
    return {"type": SUBMISSION_TYPE, "spec_version": "2.1", "created": stamp, "modified": stamp,
            "id": _id(SUBMISSION_TYPE, [report.cohort.to_json(), scores, now_us]),
            "object_marking_refs": [TLP2_IDS[SUBMISSION_TLP]],
            "extensions": {SUBMISSION_EXTENSION: {"extension_type": "new-sdo"}},
            **_cohort_properties(report.cohort), "scores": scores}  # fmt: skip


def parse_submission(obj: Any, *, organisation: str, submitted_us: int) -> Submission:
    """A submission object as stored by the hub, checked strictly (``BENCHMARK_SUBMISSION_INVALID``)."""
    stix_id = str(obj.get("id")) if isinstance(obj, Mapping) else ""
    if not isinstance(obj, Mapping) or obj.get("type") != SUBMISSION_TYPE or id_type(stix_id) != SUBMISSION_TYPE:
        raise _invalid(f"not a {SUBMISSION_TYPE} object")
    _require_form(obj, SUBMISSION_EXTENSION, SUBMISSION_TLP, _COMMON | {"scores"}, _invalid)
    cohort = _cohort(obj.get("framework_id"), obj.get("framework_version"), obj.get("year"))
    entries = obj.get("scores")
    if not isinstance(entries, list) or not entries:
        raise _invalid("scores is a non-empty list of {key, implementation}")
    scores: dict[str, int] = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or set(entry) != {"key", "implementation"}:
            raise _invalid("each score is {key, implementation}")
        key = _key(entry["key"])
        if key in scores:
            raise _invalid(f"{key} is given twice")
        scores[key] = _hundredths(entry["implementation"], key)
    return Submission(organisation, cohort, _bounded(scores), submitted_us, stix_id)


# --- the benchmark ---------------------------------------------------------------------------------------------


def latest(submissions: Iterable[Submission]) -> list[Submission]:
    """Each organisation's last submission per (bank id, year): a later one under another bank version replaces
    it too. Order: as received."""
    found: dict[tuple[str, str, int], Submission] = {}
    for item in submissions:
        key = (item.organisation, item.cohort.framework_id, item.cohort.year)
        known = found.get(key)
        if known is None or (item.submitted_us, item.reference) > (known.submitted_us, known.reference):
            found[key] = item
    return sorted(found.values(), key=lambda s: (s.submitted_us, s.reference))


def benchmarks(submissions: Iterable[Submission], *, minimum: int = MINIMUM_GROUP) -> list[MemberBenchmark]:
    """Every organisation's result, for each (bank id, year) it submitted, ordered by cohort then organisation."""
    _check_minimum(minimum)
    results = []
    for cohort, members in sorted(_cohorts(submissions).items()):
        values: dict[str, list[int]] = defaultdict(list)
        for member in members:
            for key, value in member.scores.items():
                values[key].append(value)
        stats = {key: _Stats.of(found) for key, found in values.items()}
        for member in sorted(members, key=lambda s: s.organisation):
            shown = [stats[k].standing(k, v) for k, v in member.scores.items() if stats[k].n >= minimum]
            withheld = tuple(k for k in member.scores if stats[k].n < minimum)
            results.append(MemberBenchmark(member.organisation, cohort, minimum, tuple(shown), withheld))
    return results


def benchmark(
    submissions: Iterable[Submission], member: str, *, framework_id: str, year: int, minimum: int = MINIMUM_GROUP
) -> MemberBenchmark:
    """``member``'s result for ``framework_id`` in ``year``; ``NOT_FOUND`` when it submitted none."""
    for found in benchmarks(submissions, minimum=minimum):
        if (found.organisation, found.cohort.framework_id, found.cohort.year) == (member, framework_id, year):
            return found
    raise MamoriError("NOT_FOUND", what="benchmark submission", id=f"{member} {framework_id} {year}")


def group_counts(submissions: Iterable[Submission], *, minimum: int = MINIMUM_GROUP) -> list[GroupCount]:
    """The operator's view: per cohort, the number of organisations, and of those with a score on each key."""
    _check_minimum(minimum)
    counts = []
    for cohort, members in sorted(_cohorts(submissions).items()):
        keys: dict[str, int] = defaultdict(int)
        for member in members:
            for key in member.scores:
                keys[key] += 1
        counts.append(GroupCount(cohort, len(members), dict(keys), minimum))
    return counts


@dataclass(frozen=True, slots=True)
class _Stats:
    values: tuple[int, ...]  # sorted
    total: int
    squares: int

    @classmethod
    def of(cls, values: list[int]) -> _Stats:
        return cls(tuple(sorted(values)), sum(values), sum(v * v for v in values))

    @property
    def n(self) -> int:
        return len(self.values)

    def standing(self, key: str, x: int) -> Standing:
        n = self.n
        below, upto = bisect_left(self.values, x), bisect_right(self.values, x)
        percentile = Fraction(50 * (2 * below + (upto - below)), n)  # (below + equal / 2) / n * 100
        # (x - mean) / sd = (n·x - S) / sqrt(n·Q - S²): exact integers up to the one square root.
        spread = n * self.squares - self.total * self.total
        deviation = 50.0 if spread == 0 else 50 + 10 * (n * x - self.total) / math.sqrt(spread)
        return Standing(key, x, n, _tenths(percentile), _tenths(deviation))


def _cohorts(submissions: Iterable[Submission]) -> dict[Cohort, list[Submission]]:
    found: dict[Cohort, list[Submission]] = defaultdict(list)
    for item in latest(submissions):
        found[item.cohort].append(item)
    return found


def _check_minimum(minimum: int) -> None:
    if minimum < MINIMUM_GROUP:
        raise MamoriError("USAGE_INVALID", reason=f"a benchmark group has at least {MINIMUM_GROUP} organisations")


def _tenths(value: Fraction | float) -> float:
    exact = Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else Decimal(value)
    return float(exact.quantize(Decimal("0.1"), ROUND_HALF_UP))


# --- what a member receives ------------------------------------------------------------------------------------


def result_object(result: MemberBenchmark, *, author: str, now_us: int) -> dict[str, Any]:
    """The STIX object of one member's result, by the hub's identity ``author``, marked TLP:AMBER+STRICT. It names
    no organisation; the hub's audience mechanism makes the member its only reader besides the operator."""
    stamp = format_timestamp_us(now_us)
    obj: dict[str, Any] = {
        "type": RESULT_TYPE, "spec_version": "2.1", "created": stamp, "modified": stamp, "created_by_ref": author,
        "id": _id(RESULT_TYPE, [result.organisation, result.cohort.to_json(), now_us]),
        "object_marking_refs": [TLP2_IDS[RESULT_TLP]], "extensions": {RESULT_EXTENSION: {"extension_type": "new-sdo"}},
        **_cohort_properties(result.cohort), "minimum_group": result.minimum,
    }  # fmt: skip
    if result.standings:  # STIX lists are never empty (§2.11): an absent list is an empty one
        obj["standings"] = [standing.to_json() for standing in result.standings]
    if result.withheld:
        obj["withheld"] = list(result.withheld)
    return obj


def parse_result(obj: Any) -> PublishedBenchmark:
    """A result object read from the hub, checked strictly (``BENCHMARK_RESULT_INVALID``)."""
    stix_id = str(obj.get("id")) if isinstance(obj, Mapping) else ""

    def invalid(reason: str) -> MamoriError:
        return MamoriError("BENCHMARK_RESULT_INVALID", id=stix_id or "(none)", reason=reason)

    if not isinstance(obj, Mapping) or obj.get("type") != RESULT_TYPE or id_type(stix_id) != RESULT_TYPE:
        raise invalid(f"not a {RESULT_TYPE} object")
    _require_form(obj, RESULT_EXTENSION, RESULT_TLP, _COMMON | {"minimum_group", "standings", "withheld"}, invalid)
    published = timestamp_us(str(obj.get("created")))
    minimum = obj.get("minimum_group")
    if published is None or not isinstance(minimum, int) or isinstance(minimum, bool) or minimum < MINIMUM_GROUP:
        raise invalid(f"created is a timestamp and minimum_group a number of at least {MINIMUM_GROUP}")
    try:
        cohort = _cohort(obj.get("framework_id"), obj.get("framework_version"), obj.get("year"))
        standings = tuple(_standing(item, minimum) for item in _list(obj, "standings"))
        withheld = tuple(_key(key) for key in _list(obj, "withheld"))
    except MamoriError as exc:
        raise invalid(str(exc.details.get("reason", exc.message_en))) from exc
    return PublishedBenchmark(stix_id, published, cohort, minimum, standings, withheld)


def latest_results(
    results: Iterable[PublishedBenchmark], *, framework_id: str | None = None, year: int | None = None
) -> list[PublishedBenchmark]:
    """The last published result per (bank id, year), those of ``framework_id`` / ``year`` only if given; the most
    recent year first."""
    found: dict[tuple[str, int], PublishedBenchmark] = {}
    for item in results:
        if (framework_id is not None and item.cohort.framework_id != framework_id) or (
            year is not None and item.cohort.year != year
        ):
            continue
        key = (item.cohort.framework_id, item.cohort.year)
        known = found.get(key)
        if known is None or (item.published_us, item.id) > (known.published_us, known.id):
            found[key] = item
    return sorted(found.values(), key=lambda r: (-r.cohort.year, r.cohort.framework_id))


def definition_objects() -> list[dict[str, Any]]:
    """The extension definitions of the two object types (§7.3), TLP:CLEAR: published with the results."""
    common = {"spec_version": "2.1", "created": _DEFINITIONS_TIME, "modified": _DEFINITIONS_TIME,
              "created_by_ref": MAMORI_IDENTITY_ID, "version": "1.0.0", "extension_types": ["new-sdo"],
              "object_marking_refs": [TLP2_IDS[Tlp.CLEAR]]}  # fmt: skip
    return [
        {"type": "extension-definition", "id": SUBMISSION_EXTENSION, **common, "name": SUBMISSION_TYPE,
         "description": "A member's self-assessment scores for the industry benchmark (implementation percent per "
         "group: overall, section:ID, csf:FN, guideline:2.n, level:basic|advanced).",
         "schema": f"{SCHEMA_BASE_URL}/{SUBMISSION_TYPE}/1.0.0/schema.json"},
        {"type": "extension-definition", "id": RESULT_EXTENSION, **common, "name": RESULT_TYPE,
         "description": "A member's standing in the industry benchmark: its percentile and deviation score per "
         "group of at least minimum_group organisations; the other groups withheld.",
         "schema": f"{SCHEMA_BASE_URL}/{RESULT_TYPE}/1.0.0/schema.json"},
    ]  # fmt: skip


# --- checks ------------------------------------------------------------------------------------------------------


def _invalid(reason: str) -> MamoriError:
    return MamoriError("BENCHMARK_SUBMISSION_INVALID", reason=reason)


def _cohort(framework_id: Any, version: Any, year: Any) -> Cohort:
    if not isinstance(framework_id, str) or not ID.fullmatch(framework_id):
        raise _invalid("the framework id is a bank id (letters, digits, '.', '-'; at most 64)")
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise _invalid("the framework version is a bank version (letters, digits, '.', '+', '_', '-'; at most 64)")
    if not isinstance(year, int) or isinstance(year, bool) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise _invalid(f"the year is a number from {FIRST_YEAR} to {LAST_YEAR}")
    return Cohort(framework_id, version, year)


def _cohort_properties(cohort: Cohort) -> dict[str, Any]:
    return {"framework_id": cohort.framework_id, "framework_version": cohort.framework_version, "year": cohort.year}


def _key(key: Any) -> str:
    """``overall``, ``section:<section id>``, ``csf:<GV…RC>``, ``guideline:<2.1…2.6>`` or ``level:<basic|advanced>``."""
    prefix, colon, name = key.partition(":") if isinstance(key, str) else ("", "", "")
    known = _KNOWN.get(prefix)
    valid = (key == "overall") or (
        bool(colon) and (ID.fullmatch(name) is not None if prefix == "section" else known is not None and name in known)
    )
    if not valid:
        raise _invalid(f"{str(key)[:80]!r} is not a group key (overall, section:ID, csf:FN, guideline:2.n, level:L)")
    return str(key)


def _hundredths(value: Any, key: str) -> int:
    """A percentage from 0 to 100 in hundredths (62.5 -> 6250; further digits rounded, halves up)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(f"the score of {key} is a number")
    try:
        exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        hundredths = int((exact * 100).quantize(Decimal(1), ROUND_HALF_UP))
    except (InvalidOperation, ValueError) as exc:  # NaN, infinities
        raise _invalid(f"the score of {key} is a finite number") from exc
    if not 0 <= hundredths <= 10_000:
        raise _invalid(f"the score of {key} is a percentage from 0 to 100")
    return hundredths


def _bounded(scores: dict[str, int]) -> dict[str, int]:
    if len(scores) > MAX_SCORES:
        raise _invalid(f"at most {MAX_SCORES} scores")
    return scores


def _require_form(
    obj: Mapping[str, Any], extension: str, level: Tlp, allowed: frozenset[str], error: Callable[[str], MamoriError]
) -> None:
    """The object's envelope: spec 2.1, the type's extension definition, exactly ``level``'s TLP 2.0 marking and no
    property beyond ``allowed``."""
    extensions = obj.get("extensions")
    if obj.get("spec_version") != "2.1":
        raise error("spec_version is 2.1")
    if not isinstance(extensions, Mapping) or extensions.get(extension) != {"extension_type": "new-sdo"}:
        raise error(f"it is defined by {extension} (new-sdo)")
    if obj.get("object_marking_refs") != [TLP2_IDS[level]]:
        raise error(f"it is marked {level.label} and nothing else")
    unknown = sorted(str(name) for name in obj if name not in allowed)
    if unknown:
        raise error(f"unknown property {unknown[0][:80]!r}")


def _list(obj: Mapping[str, Any], name: str) -> list[Any]:
    value = obj.get(name, [])
    if not isinstance(value, list) or len(value) > MAX_SCORES:
        raise _invalid(f"{name} is a list of at most {MAX_SCORES}")
    return value


def _standing(item: Any, minimum: int) -> Standing:
    if not isinstance(item, Mapping) or set(item) != {"key", "score", "organisations", "percentile", "deviation"}:
        raise _invalid("a standing is {key, score, organisations, percentile, deviation}")
    key = _key(item["key"])
    organisations, percentile, deviation = item["organisations"], item["percentile"], item["deviation"]
    if not isinstance(organisations, int) or isinstance(organisations, bool) or organisations < minimum:
        raise _invalid(f"{key}: a standing counts at least minimum_group organisations")
    for name, number in (("percentile", percentile), ("deviation", deviation)):
        if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
            raise _invalid(f"{key}: {name} is a number")
    if not 0 <= percentile <= 100:
        raise _invalid(f"{key}: the percentile is from 0 to 100")
    return Standing(key, _hundredths(item["score"], key), organisations, float(percentile), float(deviation))


def _id(kind: str, content: Any) -> str:
    return f"{kind}--{uuid.uuid5(BENCHMARK_NAMESPACE, orjson.dumps(content, option=orjson.OPT_SORT_KEYS).decode())}"
