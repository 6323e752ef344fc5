"""The benchmark over the hub (service/assess_benchmark.py), through the hub's own TAXII API in process: members
submit, the operator publishes on the database, each member reads its own result and nobody else's — the
k-anonymity boundary, the collections' rights, and who a submission belongs to. On SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, update

from mamori.assess.benchmark import RESULT_TYPE, Cohort, ScoreReport, submission_object
from mamori.errors import MamoriError
from mamori.intel.tlp import Tlp
from mamori.service.assess_benchmark import fetch, groups, publish, read_submissions, submit
from mamori.service.hub_collections import Rights, add_collection, grant
from mamori.service.hub_members import add_account, add_organisation
from mamori.service.intel_sync import RemotePage, parse_page
from mamori.store.hub_models import HubOrganisation
from support.hub import IDENTITIES, ROOT, TAXII, Hub, make_hub

COHORT = Cohort("mamori-cssa", "2026.1", 2026)
MEMBERS = ("exa", "exb", "exc", "exd", "exe", "exf")
EXTRA = {
    "exe": "identity--5fbebfbc-ad4d-4d7e-8f9c-6d4a3b1c5e06",
    "exf": "identity--6acfcacd-be5e-4e8f-9a0d-7e5b4c2d6f07",
}
T0 = 1_772_503_200_000_000  # 2026-03-03T02:00:00Z


@dataclass
class Bench:
    hub: Hub
    submissions: str
    results: str
    now_us: int = T0
    identities: dict[str, str] = field(default_factory=lambda: {**IDENTITIES, **EXTRA})

    def tick(self) -> int:
        self.now_us += 1_000_000
        return self.now_us

    def submit(self, account: str, **scores: float) -> dict[str, Any]:
        keys = {name.replace("_", ":", 1): round(value * 100) for name, value in scores.items()}
        obj = submission_object(ScoreReport(COHORT, keys), now_us=self.tick())
        answer = self.hub.post(account, self.submissions, [obj])
        assert answer.status_code == 202 and answer.json()["success_count"] == 1, answer.text
        return obj

    def publish(self, **options: Any) -> Any:
        with self.hub.engine.begin() as connection:
            return publish(connection, submissions=self.submissions, results=self.results, now_us=self.tick(),
                           **options)  # fmt: skip

    def results_of(self, account: str) -> list[dict[str, Any]]:
        answer = self.hub.get(account, self.hub.objects_url(self.results), **{"match[type]": RESULT_TYPE})
        assert answer.status_code == 200, answer.text
        return list(answer.json().get("objects", []))


@pytest.fixture
def bench(engine: Engine) -> Bench:
    hub = make_hub(engine)
    with engine.begin() as connection:
        for organisation, identity in EXTRA.items():
            add_organisation(connection, organisation, f"Exchange {organisation}", identity, now_us=T0)
            hub.tokens[organisation] = add_account(connection, organisation, organisation, now_us=T0)
        submissions = add_collection(connection, ROOT, "benchmark submissions", now_us=T0, default_tlp=Tlp.RED)
        results = add_collection(connection, ROOT, "benchmark results", now_us=T0)
        for member in MEMBERS:
            grant(connection, submissions, member, Rights(can_read=False, can_write=True))
            grant(connection, results, member, Rights(can_read=True, can_write=False))
    return Bench(hub, submissions, results)


def test_four_members_see_nothing_and_five_see_their_standing(bench: Bench) -> None:
    for i, member in enumerate(MEMBERS[:4]):
        bench.submit(member, overall=10 * (i + 1), section_GV=50)
    report = bench.publish()
    assert report.results == 4 and [c.organisations for c in report.cohorts] == [4]
    for member in MEMBERS[:4]:
        [result] = bench.results_of(member)
        assert "standings" not in result and result["withheld"] == ["overall", "section:GV"]
    bench.submit("exe", overall=50, section_GV=50)
    assert bench.publish().results == 5
    for i, member in enumerate(MEMBERS[:5]):
        results = bench.results_of(member)
        assert len(results) == (1 if member == "exe" else 2)  # one per publication that included it
        latest = max(results, key=lambda r: r["created"])
        assert "withheld" not in latest
        overall, section = latest["standings"]
        # 10, 20, 30, 40, 50: mean 30, sd sqrt(200); section GV: all 50, sd 0
        assert (overall["key"], overall["organisations"], overall["percentile"]) == ("overall", 5, 10.0 + 20 * i)
        assert overall["deviation"] == [35.9, 42.9, 50.0, 57.1, 64.1][i]
        assert (section["key"], section["percentile"], section["deviation"]) == ("section:GV", 50.0, 50.0)


def test_a_section_only_four_answered_is_withheld_while_the_others_are_shown(bench: Bench) -> None:
    for i, member in enumerate(MEMBERS[:4]):
        bench.submit(member, overall=10 * i, section_CX=40)
    bench.submit("exe", overall=90)
    bench.publish()
    [exa] = bench.results_of("exa")
    assert [s["key"] for s in exa["standings"]] == ["overall"] and exa["withheld"] == ["section:CX"]
    [exe] = bench.results_of("exe")
    assert [s["key"] for s in exe["standings"]] == ["overall"] and "withheld" not in exe


def test_a_result_is_read_by_its_member_alone_and_names_nobody_else(bench: Bench) -> None:
    for i, member in enumerate(MEMBERS):
        bench.submit(member, overall=10 * i)
    bench.publish()
    hub = bench.hub
    owners = {}
    for member in MEMBERS:
        [result] = bench.results_of(member)
        owners[member] = result["id"]
        text = orjson.dumps(result).decode()
        for other in MEMBERS:
            if other != member:
                assert f'"{other}"' not in text and f"Exchange {other}" not in text
                assert bench.identities[other] not in text
        assert result["created_by_ref"] == IDENTITIES["isac"]  # the hub's own identity
    assert len(set(owners.values())) == len(MEMBERS)
    # exb cannot read exa's result: absent from its pages, and a 404 when asked for by id
    other = hub.get("exb", hub.objects_url(bench.results) + f"{owners['exa']}/")
    assert other.status_code == 404
    versions = hub.get("exb", hub.objects_url(bench.results) + f"{owners['exa']}/versions/")
    assert versions.status_code == 404
    manifest = hub.get("exb", hub.url(ROOT, "collections", bench.results, "manifest"))
    assert owners["exa"] not in manifest.text
    # another account of exa's organisation reads it: the audience is the organisation
    own = hub.get("exa-analyst", hub.objects_url(bench.results) + f"{owners['exa']}/")
    assert own.status_code == 200 and own.json()["objects"][0]["id"] == owners["exa"]


def test_members_cannot_read_the_submissions(bench: Bench) -> None:
    bench.submit("exa", overall=10)
    hub = bench.hub
    assert hub.get("exb", hub.objects_url(bench.submissions)).status_code == 403
    assert hub.get("exa", hub.objects_url(bench.submissions)).status_code == 403


def test_publishing_refuses_collections_that_would_leak(bench: Bench) -> None:
    for i, member in enumerate(MEMBERS[:5]):
        bench.submit(member, overall=10 * i)
    with bench.hub.engine.begin() as connection:
        grant(connection, bench.submissions, "exc", Rights(can_read=True, can_write=True))
    with pytest.raises(MamoriError) as raised:
        bench.publish()
    assert raised.value.code == "BENCHMARK_COLLECTION_UNSAFE" and "exc" in raised.value.message_en
    # even so, the submissions are TLP:RED: exc reads its own alone
    seen = bench.hub.get("exc", bench.hub.objects_url(bench.submissions)).json()["objects"]
    assert len(seen) == 1
    with bench.hub.engine.begin() as connection:
        grant(connection, bench.submissions, "exc", Rights(can_read=False, can_write=True))
        grant(connection, bench.results, "exd", Rights(can_read=True, can_write=True))
    with pytest.raises(MamoriError) as raised:
        bench.publish()
    assert raised.value.code == "BENCHMARK_COLLECTION_UNSAFE" and "exd" in raised.value.message_en
    assert bench.results_of("exa") == []  # nothing was published
    with bench.hub.engine.begin() as connection, pytest.raises(MamoriError) as raised:
        publish(connection, submissions=bench.submissions, results=bench.submissions, now_us=T0)
    assert raised.value.code == "USAGE_INVALID"


def test_a_submission_belongs_to_the_organisation_the_hub_authenticated(bench: Bench) -> None:
    bench.submit("exa-anon", overall=10)  # an anonymous account of exa: the hub names itself as producer
    bench.submit("exb", overall=20)
    bench.submit("exb", overall=25)  # later: replaces exb's first
    with bench.hub.engine.connect() as connection:
        read = read_submissions(connection, bench.submissions)
    assert [(s.organisation, s.scores["overall"]) for s in read.valid] == [("exa", 1000), ("exb", 2000), ("exb", 2500)]
    with bench.hub.engine.begin() as connection:
        [cohort] = groups(connection, submissions=bench.submissions).cohorts
    assert cohort.organisations == 2 and cohort.keys == {"overall": 2}


def test_invalid_and_removed_members_submissions_do_not_count(bench: Bench) -> None:
    for i, member in enumerate(MEMBERS[:5]):
        bench.submit(member, overall=10 * i)
    forged = {**submission_object(ScoreReport(COHORT, {"overall": 0}), now_us=bench.tick()),
              "scores": [{"key": "overall", "implementation": 250}]}  # fmt: skip  # valid STIX, not a percentage
    assert bench.hub.post("exf", bench.submissions, [forged]).json()["success_count"] == 1
    with bench.hub.engine.begin() as connection:
        connection.execute(update(HubOrganisation).where(HubOrganisation.id == "exe").values(removed_us=T0))
    report = bench.publish()
    assert [(i.reference, i.organisation) for i in report.ignored] == [(forged["id"], "exf")]
    assert "0 to 100" in report.ignored[0].reason
    assert report.results == 4 and report.cohorts[0].organisations == 4
    [exa] = bench.results_of("exa")
    assert exa["withheld"] == ["overall"]


def test_fetch_reads_the_latest_result_through_a_taxii_source(bench: Bench) -> None:
    for i, member in enumerate(MEMBERS[:5]):
        bench.submit(member, overall=10 * i)
    bench.publish()
    bench.submit("exa", overall=60)
    bench.publish()
    [latest] = fetch(_Source(bench.hub, "exa", bench.results), page_size=2)  # several pages
    assert latest.standings[0].score == 6000 and latest.standings[0].percentile == 90.0
    assert fetch(_Source(bench.hub, "exa", bench.results), year=2025) == []
    assert fetch(_Source(bench.hub, "exf", bench.results)) == []  # it submitted nothing


def test_submit_posts_one_object_through_a_sink(bench: Bench) -> None:
    sink = _Sink(bench.hub, "exc", bench.submissions)
    sent = submit(sink, ScoreReport(COHORT, {"overall": 4200}), now_us=bench.tick())
    assert sent.refused == 0 and sent.status["success_count"] == 1
    with bench.hub.engine.connect() as connection:
        [stored] = read_submissions(connection, bench.submissions).valid
    assert (stored.organisation, stored.reference) == ("exc", sent.submission["id"])


@dataclass
class _Source:
    """A TaxiiSource over the in-process hub (taxii_remote.Taxii2Source does the same over HTTP)."""

    hub: Hub
    account: str
    collection: str

    @property
    def url(self) -> str:
        return self.hub.objects_url(self.collection)

    def page(self, *, added_after: str | None, next_page: str | None, limit: int) -> RemotePage:
        params: dict[str, Any] = {"limit": limit, "match[version]": "all"}
        if next_page is not None:
            params["next"] = next_page
        if added_after is not None:
            params["added_after"] = added_after
        answer = self.hub.client.get(self.url, params=params, headers={**self.hub.auth(self.account), "Accept": TAXII})
        assert answer.status_code == 200, answer.text
        return parse_page(self.url, answer.json(), answer.headers.get("X-TAXII-Date-Added-Last"), after_us=None)


@dataclass
class _Sink:
    hub: Hub
    account: str
    collection: str

    @property
    def url(self) -> str:
        return self.hub.objects_url(self.collection)

    def add(self, objects: Any) -> dict[str, Any]:
        answer = self.hub.post(self.account, self.collection, list(objects))
        assert answer.status_code == 202, answer.text
        return dict(answer.json())
