"""The benchmark over the hub (assess/benchmark.py is the pure core; docs/assess-benchmark.md the guide).

Member side: :func:`submit` posts a member's scores to the hub's submissions collection; :func:`fetch` reads back
the results the hub published for it. Both go through any TAXII 2.1 collection client (:class:`ObjectSink`,
:class:`~mamori.service.intel_sync.TaxiiSource`; in production :class:`~mamori.service.taxii_remote.Taxii2Source`).

Hub side (the operator, on the hub's database): :func:`publish` reads each organisation's latest submission, computes
every result and adds one object per member to the results collection, marked TLP:AMBER+STRICT and shared with that
member's organisation alone (the hub's ``X-Mamori-Share-With`` audience), so that the TAXII read path shows each
member its own result and nobody else's. :func:`groups` is the operator's view: counts per cohort and key only.

Who submitted is the organisation the hub authenticated (``taxii_objects.producer_id``, also behind an anonymous
account), never a claim of the object. Both collections must be set up so that nobody but the operator reads the
submissions or writes the results (checked before anything is published: ``BENCHMARK_COLLECTION_UNSAFE``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from mamori.assess.benchmark import (
    MINIMUM_GROUP,
    RESULT_TYPE,
    SUBMISSION_TYPE,
    GroupCount,
    MemberBenchmark,
    PublishedBenchmark,
    ScoreReport,
    Submission,
    benchmarks,
    definition_objects,
    group_counts,
    latest_results,
    parse_result,
    parse_submission,
    result_object,
    submission_object,
)
from mamori.errors import MamoriError
from mamori.intel.tlp import Audience
from mamori.service.hub_members import Organisation, operator_of
from mamori.service.hub_objects import Refused, add_objects
from mamori.service.intel_sync import TaxiiSource
from mamori.store.hub_models import CollectionRight, HubOrganisation, TaxiiCollection, TaxiiObject

PUBLISH_ACCOUNT = "assess-benchmark"  # ``submitted_by`` of the results: no member account submitted them
MAX_PAGES = 10_000  # a results collection that pages longer than this is not a hub answering in good faith
_O = TaxiiObject.__table__.c


# --- member side -------------------------------------------------------------------------------------------------


class ObjectSink(Protocol):
    """A remote collection that takes objects (TAXII 2.1 §5.5) and answers with the status resource."""

    @property
    def url(self) -> str: ...

    def add(self, objects: Sequence[Mapping[str, Any]]) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Submitted:
    submission: Mapping[str, Any]  # the object sent: all that left the member
    status: Mapping[str, Any]

    @property
    def refused(self) -> int:
        count = self.status.get("failure_count", 0)
        return count if isinstance(count, int) else 1

    def to_json(self) -> dict[str, Any]:
        return {"submission": dict(self.submission), "status": dict(self.status)}


def submit(target: ObjectSink, report: ScoreReport, *, now_us: int) -> Submitted:
    """Post ``report`` as one submission object to the hub's submissions collection."""
    submission = submission_object(report, now_us=now_us)
    return Submitted(submission, target.add([submission]))


def fetch(
    source: TaxiiSource, *, framework_id: str | None = None, year: int | None = None, page_size: int = 500
) -> list[PublishedBenchmark]:
    """The latest result per (bank, year) that the hub shows this account (``framework_id`` / ``year`` only, if
    given), newest year first. A result object that cannot be read stops it (``BENCHMARK_RESULT_INVALID``)."""
    found: list[PublishedBenchmark] = []
    added_after: str | None = None
    next_page: str | None = None
    for _ in range(MAX_PAGES):
        page = source.page(added_after=added_after, next_page=next_page, limit=page_size)
        found += [parse_result(obj) for obj in page.objects if obj.get("type") == RESULT_TYPE]
        if not page.more:
            return latest_results(found, framework_id=framework_id, year=year)
        next_page, added_after = (page.next, None) if page.next else (None, page.date_added_last)
    raise MamoriError("INTEL_REMOTE_RESPONSE_INVALID", url=source.url, reason=f"more than {MAX_PAGES} pages")


# --- hub side ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ignored:
    """A submission that cannot be used: reported to the operator, never counted."""

    reference: str
    organisation: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.reference, "organisation": self.organisation, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Submissions:
    valid: tuple[Submission, ...]
    ignored: tuple[Ignored, ...]


@dataclass(frozen=True, slots=True)
class PublishReport:
    results: int  # objects added to the results collection, one per member and (bank, year)
    cohorts: tuple[GroupCount, ...]
    ignored: tuple[Ignored, ...]

    def to_json(self) -> dict[str, Any]:
        return {"results": self.results, "cohorts": [c.to_json() for c in self.cohorts],
                "ignored": [i.to_json() for i in self.ignored]}  # fmt: skip


def read_submissions(connection: Connection, collection_id: str) -> Submissions:
    """Every version of every submission object in the collection whose producer is still a member, checked; the
    hub's own reading (no TLP: the operator holds the database)."""
    statement = (
        select(_O.stix_id, _O.producer_id, _O.date_added_us, _O.document)
        .join(HubOrganisation, HubOrganisation.id == _O.producer_id)
        .where(_O.collection_id == collection_id, _O.stix_type == SUBMISSION_TYPE, HubOrganisation.removed_us.is_(None))
        .order_by(_O.date_added_us)
    )
    valid: list[Submission] = []
    ignored: list[Ignored] = []
    for stix_id, producer, added_us, document in connection.execute(statement):
        try:
            valid.append(parse_submission(orjson.loads(document), organisation=producer, submitted_us=added_us))
        except MamoriError as exc:
            ignored.append(Ignored(stix_id, producer, str(exc.details.get("reason", exc.message_en))))
    return Submissions(tuple(valid), tuple(ignored))


def groups(connection: Connection, *, submissions: str, minimum: int = MINIMUM_GROUP) -> PublishReport:
    """The operator's view without publishing anything: counts per cohort and key, and what was ignored."""
    _collection(connection, submissions)
    read = read_submissions(connection, submissions)
    return PublishReport(0, tuple(group_counts(read.valid, minimum=minimum)), read.ignored)


def publish(
    connection: Connection,
    *,
    submissions: str,
    results: str,
    now_us: int,
    minimum: int = MINIMUM_GROUP,
    framework_id: str | None = None,
    year: int | None = None,
) -> PublishReport:
    """Compute every member's result (of ``framework_id`` / ``year`` only, if given) and add it to ``results``, in
    the caller's transaction: all of them, or none."""
    operator = operator_of(connection)
    if operator is None:
        raise MamoriError("HUB_OPERATOR_MISSING")
    if submissions == results:
        raise MamoriError("USAGE_INVALID", reason="the submissions and the results need two collections")
    source, target = _collection(connection, submissions), _collection(connection, results)
    _require_private(connection, source, operator, right="read", reason="members may write submissions, not read")
    _require_private(connection, target, operator, right="write", reason="members may read results, not write")
    read = read_submissions(connection, submissions)
    chosen = [
        s
        for s in read.valid
        if (framework_id is None or s.cohort.framework_id == framework_id) and (year is None or s.cohort.year == year)
    ]
    computed = benchmarks(chosen, minimum=minimum)
    if computed:
        _add(connection, target, definition_objects(), Audience(producer=operator.id), now_us)
    for result in computed:
        _add(connection, target, [_result(result, operator, now_us)], _only(operator, result), now_us)
    return PublishReport(len(computed), tuple(group_counts(chosen, minimum=minimum)), read.ignored)


def _result(result: MemberBenchmark, operator: Organisation, now_us: int) -> dict[str, Any]:
    return result_object(result, author=operator.identity_ref, now_us=now_us)


def _only(operator: Organisation, result: MemberBenchmark) -> Audience:
    """The result's readers: the member's organisation, named as by ``X-Mamori-Share-With`` (and the producer, the
    operator, as for every object)."""
    return Audience(producer=operator.id, named_organisations=frozenset({result.organisation}))


def _add(
    connection: Connection,
    collection: TaxiiCollection,
    objects: list[dict[str, Any]],
    audience: Audience,
    now_us: int,
) -> None:
    outcomes = add_objects(connection, collection, objects, audience=audience, account=PUBLISH_ACCOUNT, now_us=now_us)
    for outcome in outcomes:
        if isinstance(outcome, Refused):  # the hub refusing an object built here is a defect: publish nothing
            problems = "; ".join(f"{p.code} at {p.path or '(object)'}: {p.reason}" for p in outcome.problems)
            raise MamoriError("INTERNAL_ERROR", reason=f"the hub refused {outcome.stix_id}: {problems}"[:500])


def _collection(connection: Connection, collection_id: str) -> TaxiiCollection:
    with Session(bind=connection) as session:
        found = session.get(TaxiiCollection, collection_id)
    if found is None:
        raise MamoriError("NOT_FOUND", what="collection", id=collection_id)
    return found


def _require_private(
    connection: Connection, collection: TaxiiCollection, operator: Organisation, *, right: str, reason: str
) -> None:
    """``BENCHMARK_COLLECTION_UNSAFE`` when an organisation besides the operator holds ``right`` on it."""
    column = CollectionRight.can_read if right == "read" else CollectionRight.can_write
    holders = sorted(
        connection.execute(
            select(CollectionRight.organisation_id).where(
                CollectionRight.collection_id == collection.id,
                CollectionRight.organisation_id != operator.id,
                column.is_(True),
            )
        ).scalars()
    )
    if holders:
        shown = ", ".join(holders[:5]) + (" …" if len(holders) > 5 else "")
        raise MamoriError(
            "BENCHMARK_COLLECTION_UNSAFE", collection=collection.id, reason=f"{reason} ({right} right: {shown})"
        )
