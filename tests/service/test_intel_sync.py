"""``mamori intel sync`` (service/intel_sync.py, service/taxii_remote.py): incremental pulls from a TAXII 2.1
server — medallion, the OASIS reference server — that follow ``next``, resume with ``added_after``, never move the
cursor past objects not stored, refuse what cannot be decoded or validated, and translate every failure into a
stable error; on SQLite and PostgreSQL."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from mamori.errors import MamoriError
from mamori.service.intel_feed import IntelFeed
from mamori.service.intel_sync import RemotePage, parse_page, remote_organisation_id, sync, sync_state
from mamori.service.taxii_remote import Credentials, Taxii2Source, collection_url
from mamori.store.hub_models import TaxiiObject
from support.intel import (
    MEDALLION_COLLECTION,
    MEDALLION_PASSWORD,
    MEDALLION_USER,
    Medallion,
    medallion_server,
    wallet_indicator,
)

T0 = 1_772_503_200_000_000
LOCAL = "0b6f1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
CREDENTIALS = Credentials(user=MEDALLION_USER, password=MEDALLION_PASSWORD)
ADDRESSES = ["0x" + f"{n:02x}" * 20 for n in range(1, 8)]


@pytest.fixture
def medallion(tmp_path: Path) -> Iterator[Medallion]:
    with medallion_server(tmp_path, page_size=2) as server:
        yield server


class Ticks:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        self.now += 1_000
        return self.now


def pull(engine: Engine, medallion: Medallion, credentials: Credentials = CREDENTIALS, **options: Any) -> Any:
    with Taxii2Source(medallion.collection_url, credentials, timeout=5) as source:
        return sync(engine, source, local_collection=LOCAL, clock_us=Ticks(), page_size=2, **options)


def stored(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(select(TaxiiObject.stix_id).order_by(TaxiiObject.date_added_us)).scalars())


def test_a_pull_follows_every_page_and_the_next_one_resumes_after_the_last(
    engine: Engine, medallion: Medallion
) -> None:
    first = [wallet_indicator(a, number=i) for i, a in enumerate(ADDRESSES[:3])]
    medallion.add(first[:1], at="2026-03-03T02:00:01.000000Z")
    medallion.add(first[1:], at="2026-03-03T02:00:02.000000Z")
    report = pull(engine, medallion)
    assert (report.pages, report.received, report.stored, report.refused) == (2, 3, 3, ())
    assert report.date_added_last == "2026-03-03T02:00:02.000000Z"
    assert sorted(stored(engine)) == sorted(o["id"] for o in first)
    with engine.connect() as connection:
        producers = set(connection.execute(select(TaxiiObject.producer_id)).scalars())
    assert producers == {remote_organisation_id(medallion.collection_url)}

    later = wallet_indicator(ADDRESSES[3], number=3)
    medallion.add([later], at="2026-03-03T02:00:03.000000Z")
    again = pull(engine, medallion)
    assert (again.received, again.stored) == (1, 1)  # only what was added after the cursor
    assert stored(engine)[-1] == later["id"]
    assert pull(engine, medallion).received == 0
    (state,) = sync_state(engine)
    assert state["date_added_last"] == "2026-03-03T02:00:03.000000Z" and state["objects"] == 4

    # The pulled indicators arm the feed of the local collection.
    feed = IntelFeed(engine, [LOCAL])
    feed.refresh()
    assert feed.screen("eip155:1", ADDRESSES[3])[0].indicator == later["id"]


def test_pulling_again_from_the_start_is_harmless(engine: Engine, medallion: Medallion) -> None:
    medallion.add([wallet_indicator(a, number=i) for i, a in enumerate(ADDRESSES[:3])], at="2026-03-03T02:00:01Z")
    pull(engine, medallion)
    with engine.begin() as connection:
        connection.execute(sync_state_table().delete())
    report = pull(engine, medallion)
    assert (report.received, report.stored) == (3, 3)  # repeats are successes
    assert len(stored(engine)) == 3  # and no new versions


def sync_state_table() -> Any:
    from mamori.store.member_models import IntelSyncState

    return IntelSyncState.__table__


def test_invalid_objects_are_refused_never_stored_and_the_pull_goes_on(engine: Engine, medallion: Medallion) -> None:
    bad = {**wallet_indicator(ADDRESSES[0], number=0), "pattern": "[cryptocurrency-wallet:value = "}
    good = wallet_indicator(ADDRESSES[1], number=1)
    medallion.add([bad, good], at="2026-03-03T02:00:01Z")
    report = pull(engine, medallion)
    assert [item.stix_id for item in report.refused] == [bad["id"]]
    assert report.refused[0].codes == ("STIX_PATTERN_INVALID",)
    assert stored(engine) == [good["id"]]


class Scripted:
    """A remote collection that answers from a script: pages, or errors to raise."""

    url = "https://hub.test/taxii2/isac/collections/c/"

    def __init__(self, answers: list[RemotePage | MamoriError]) -> None:
        self.answers = answers
        self.asked: list[tuple[str | None, str | None]] = []

    def page(self, *, added_after: str | None, next_page: str | None, limit: int) -> RemotePage:
        self.asked.append((added_after, next_page))
        answer = self.answers.pop(0)
        if isinstance(answer, MamoriError):
            raise answer
        return answer


def envelope(objects: list[dict[str, Any]], last: str, *, more: bool = False, next_page: str | None = None) -> Any:
    document: dict[str, Any] = {"objects": objects, "more": more}
    if next_page:
        document["next"] = next_page
    return parse_page(Scripted.url, document, last, after_us=None)


def test_a_failure_half_way_keeps_the_cursor_with_the_objects_it_covers(engine: Engine) -> None:
    one, two = wallet_indicator(ADDRESSES[0], number=0), wallet_indicator(ADDRESSES[1], number=1)
    failing = Scripted(
        [
            envelope([one], "2026-03-03T02:00:01Z", more=True, next_page="p2"),
            MamoriError("INTEL_REMOTE_UNREACHABLE", url=Scripted.url, reason="ConnectionError"),
        ]
    )
    with pytest.raises(MamoriError) as caught:
        sync(engine, failing, local_collection=LOCAL, clock_us=Ticks())
    assert caught.value.code == "INTEL_REMOTE_UNREACHABLE"
    assert stored(engine) == [one["id"]]
    assert sync_state(engine)[0]["date_added_last"] == "2026-03-03T02:00:01Z"
    resumed = Scripted([envelope([two], "2026-03-03T02:00:02Z")])
    sync(engine, resumed, local_collection=LOCAL, clock_us=Ticks())
    assert resumed.asked == [("2026-03-03T02:00:01Z", None)]  # added_after the page that was stored
    assert stored(engine) == [one["id"], two["id"]]


def test_without_next_the_pull_continues_after_the_last_page_stored(engine: Engine) -> None:
    one, two = wallet_indicator(ADDRESSES[0], number=0), wallet_indicator(ADDRESSES[1], number=1)
    source = Scripted([envelope([one], "2026-03-03T02:00:01Z", more=True), envelope([two], "2026-03-03T02:00:02Z")])
    report = sync(engine, source, local_collection=LOCAL, clock_us=Ticks())
    assert source.asked == [(None, None), ("2026-03-03T02:00:01Z", None)]
    assert (report.pages, report.stored, report.date_added_last) == (2, 2, "2026-03-03T02:00:02Z")


def test_a_page_that_cannot_be_stored_leaves_neither_objects_nor_cursor(engine: Engine) -> None:
    source = Scripted([envelope([wallet_indicator(ADDRESSES[0])], "2026-03-03T02:00:01Z")])
    with pytest.raises(MamoriError):
        sync(engine, source, local_collection="not-a-uuid", clock_us=Ticks())
    assert stored(engine) == [] and sync_state(engine) == []


@pytest.mark.parametrize(
    ("document", "last", "reason"),
    [
        ([], None, "not a TAXII envelope"),
        ({"objects": {}}, None, "'objects' is not a list"),
        ({"objects": [1]}, "2026-03-03T02:00:01Z", "'objects' is not a list"),
        ({"objects": [{}], "more": "yes"}, "2026-03-03T02:00:01Z", "'more' is not a boolean"),
        ({"objects": [{}]}, None, "without the X-TAXII-Date-Added-Last header"),
        ({"objects": [{}]}, "yesterday", "is not a timestamp"),
        ({"objects": [{}]}, "2026-03-03T01:59:59Z", "before the position asked for"),
        ({"objects": [], "more": True}, None, "without objects"),
        ({"objects": [{}], "next": 3}, "2026-03-03T02:00:01Z", "'next' is not"),
    ],
)
def test_responses_that_cannot_be_used_are_refused(document: Any, last: str | None, reason: str) -> None:
    with pytest.raises(MamoriError) as caught:
        parse_page(Scripted.url, document, last, after_us=T0)
    assert caught.value.code == "INTEL_REMOTE_RESPONSE_INVALID"
    assert reason in caught.value.message_en


def test_wrong_credentials_and_an_unreachable_server_are_stable_errors(engine: Engine, medallion: Medallion) -> None:
    with pytest.raises(MamoriError) as caught:
        pull(engine, medallion, Credentials(user=MEDALLION_USER, password="wrong"))  # noqa: S106 - a wrong one
    assert caught.value.code == "INTEL_REMOTE_UNAUTHORISED"
    with pytest.raises(MamoriError) as caught:
        pull(engine, medallion, Credentials(token="mk_nope"))  # noqa: S106 - an unknown one
    assert caught.value.code == "INTEL_REMOTE_UNAUTHORISED"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    nowhere = f"http://127.0.0.1:{port}/isac/collections/c/"
    with Taxii2Source(nowhere, CREDENTIALS, timeout=2) as source, pytest.raises(MamoriError) as caught:
        sync(engine, source, local_collection=LOCAL, clock_us=Ticks())
    assert caught.value.code == "INTEL_REMOTE_UNREACHABLE"
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(TaxiiObject)).scalar() == 0


def test_collection_urls_and_credentials() -> None:
    root = "https://hub.test/taxii2/isac/"
    assert collection_url(root, MEDALLION_COLLECTION) == f"{root}collections/{MEDALLION_COLLECTION}/"
    assert collection_url(root, f"{root}collections/x") == f"{root}collections/x/"
    for bad in ("ftp://hub.test/x/", "https://user:pw@hub.test/taxii2/isac/"):
        with pytest.raises(MamoriError):
            collection_url(bad, "x")
    with pytest.raises(MamoriError):
        Credentials(token="t", user="u", password="p")  # noqa: S106 - both kinds at once
    with pytest.raises(MamoriError):
        Credentials(user="u")


def test_a_pull_from_mamori_s_own_hub_with_a_bearer_token(tmp_path: Path, database: Any) -> None:
    """The member node against the hub's TAXII server (api/taxii.py), over a real port, in another database."""
    from mamori.store import create_engine, upgrade
    from support.hub import make_hub, served

    hub_engine = database.engine()
    hub = make_hub(hub_engine)
    objects = [wallet_indicator(a, number=i) for i, a in enumerate(ADDRESSES[:5])]
    for obj in objects:
        assert hub.post("exa", hub.shared, [obj]).status_code == 202
    member = create_engine(f"sqlite:///{tmp_path / 'member.db'}")
    upgrade(member)
    try:
        with served(hub) as base:
            url = collection_url(f"{base}/taxii2/isac/", hub.shared)
            with Taxii2Source(url, Credentials(token=hub.tokens["exb"]), timeout=5) as source:
                report = sync(member, source, local_collection=LOCAL, clock_us=Ticks(), page_size=2)
            assert (report.pages, report.received, report.stored, report.refused) == (3, 5, 5, ())
            assert stored(member) == [o["id"] for o in objects]
            for token, code in (
                (hub.tokens["exd"], "INTEL_REMOTE_RESPONSE_INVALID"),
                ("mk_0_x", "INTEL_REMOTE_UNAUTHORISED"),
            ):
                source = Taxii2Source(url, Credentials(token=token), timeout=5)
                with source, pytest.raises(MamoriError) as caught:
                    sync(member, source, local_collection=LOCAL, clock_us=Ticks())
                assert caught.value.code == code  # exd has no rights on the collection: the hub says 404
            assert len(stored(member)) == 5
    finally:
        member.dispose()
        hub_engine.dispose()
