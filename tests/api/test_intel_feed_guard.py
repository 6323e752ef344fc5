"""A running guard screens against hub indicators as they arrive: it starts denying a withdrawal to an address once
an indicator for it is committed, and stops once the indicator is revoked, without a restart. A policy that requires
the feed denies while the feed is stale. The blocked withdrawal becomes a sighting of the indicator."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from mamori.api.app import ApiSettings, create_app
from mamori.cli.screen import load_screening_index
from mamori.demo import exchange as sample
from mamori.intel.stix_validation import validate
from mamori.service.guard import build_services
from mamori.service.intel_feed import IntelFeed, feed_name
from mamori.service.intel_sightings import blocked_withdrawals, sighting, sighting_id
from service.test_intel_feed import COLLECTION, FakeClock, _collection, add
from support.guard import INTEL, Clock, Exchange, hot_request, ok
from support.intel import stamp, wallet_indicator

MEMBER = "identity--1b7a6b7e-6f0f-4f3a-8b5e-2f0c9d7e1a02"
T0 = 1_772_503_200_000_000


def guard_with_feed(engine: Engine, directory: Path, feed: IntelFeed, policy_text: str | None = None) -> Exchange:
    clock = Clock()
    guard_key, keys = sample.set_up_exchange(
        engine, guard_key_path=directory / "guard.key", now=clock.now, policy_text=policy_text
    )
    index = load_screening_index([], None, None, INTEL, None)[0]
    services = build_services(engine, guard_key=guard_key, screening=index, feed=feed)
    return Exchange(
        engine, services, TestClient(create_app(services, ApiSettings(clock=clock))), keys, guard_key, clock
    )


@pytest.fixture
def running_feed(engine: Engine) -> Iterator[IntelFeed]:
    _collection(engine)
    feed = IntelFeed(engine, [COLLECTION], interval_s=0.05, max_age_s=5)
    feed.refresh()
    feed.start()
    yield feed
    feed.stop()


def screening_reasons(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in view["decision"]["reasons"] if r["code"] == "SCREENING_HIT"]


def wait_until(condition: Any, seconds: float = 10.0) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "the feed did not catch up"
        time.sleep(0.01)
    return time.monotonic() - started


def test_a_running_guard_denies_once_an_indicator_arrives_and_allows_once_it_is_revoked(
    engine: Engine, tmp_path: Path, running_feed: IntelFeed
) -> None:
    exchange = guard_with_feed(engine, tmp_path, running_feed)
    exchange.report_balances()
    assert ok(exchange.submit(hot_request(exchange, "wd-1", nonce=1)))["status"] == "released"

    listed = wallet_indicator(sample.CUSTOMER.lower(), number=1)
    add(engine, _collection(engine), listed)
    wait_until(lambda: running_feed.screen("eip155:1", sample.CUSTOMER))
    view = ok(exchange.submit(hot_request(exchange, "wd-2", nonce=2)))
    assert view["status"] == "denied"
    (hit,) = screening_reasons(view)
    assert hit["details"]["list"] == feed_name(COLLECTION)
    assert hit["details"]["indicator"] == listed["id"]
    assert feed_name(COLLECTION) in ok(exchange.as_initiator("GET", "/v1/guard")).get("screening_lists", [])

    add(engine, _collection(engine), {**listed, "modified": stamp(30), "revoked": True}, now_us=T0 + 60_000_000)
    wait_until(lambda: not running_feed.screen("eip155:1", sample.CUSTOMER))
    assert ok(exchange.submit(hot_request(exchange, "wd-3", nonce=3)))["status"] == "released"

    # The denial on record is a sighting of the indicator, derived again to the same object.
    (blocked,) = blocked_withdrawals(engine)
    assert (blocked.request_id, blocked.indicator_id) == ("wd-2", listed["id"])
    shared = sighting(blocked, identity=MEMBER)
    assert shared["id"] == sighting_id("wd-2", listed["id"]) == sighting(blocked, identity=MEMBER)["id"]
    assert shared["sighting_of_ref"] == listed["id"] and shared["where_sighted_refs"] == [MEMBER]
    assert validate(shared) == []
    assert blocked_withdrawals(engine, since_us=blocked.decided_us + 1) == []


def test_a_policy_that_requires_the_feed_denies_while_it_is_stale(engine: Engine, tmp_path: Path) -> None:
    from importlib import resources

    text = resources.files("mamori.content").joinpath("policies/sample.yaml").read_text(encoding="utf-8")
    required = "require: [ofac-sdn, fbi-psa250226-bybit]"
    assert required in text
    policy = text.replace(required, f"require: [ofac-sdn, fbi-psa250226-bybit, '{feed_name(COLLECTION)}']")
    _collection(engine)
    clock = FakeClock()
    feed = IntelFeed(engine, [COLLECTION], interval_s=1, max_age_s=30, clock=clock)
    feed.refresh()
    exchange = guard_with_feed(engine, tmp_path, feed, policy_text=policy)
    exchange.report_balances()
    assert ok(exchange.submit(hot_request(exchange, "wd-1", nonce=1)))["status"] == "released"
    clock.now += 31  # no refresh for longer than the bound
    view = ok(exchange.submit(hot_request(exchange, "wd-2", nonce=2)))
    assert view["status"] == "denied"
    missing = [r for r in view["decision"]["reasons"] if r["code"] == "FACT_MISSING"]
    assert [r["details"]["fact"] for r in missing] == [f"screening against list {feed_name(COLLECTION)}"]
    feed.refresh()  # it recovers: the next withdrawal is decided on fresh data again
    assert ok(exchange.submit(hot_request(exchange, "wd-3", nonce=3)))["status"] == "released"
    assert blocked_withdrawals(engine) == []  # a denial for want of the feed is no sighting


def test_sharing_a_sighting_twice_with_the_hub_is_a_repeat(database: Any) -> None:
    from mamori.service.intel_sightings import Blocked
    from mamori.service.taxii_remote import Credentials, Taxii2Source, collection_url
    from support.hub import make_hub, served

    hub_engine = database.engine()
    hub = make_hub(hub_engine)
    listed = wallet_indicator(sample.CUSTOMER.lower(), number=1)
    assert hub.post("exb", hub.shared, [listed]).status_code == 202
    shared = sighting(Blocked("wd-2", listed["id"], T0 + 5, feed_name(COLLECTION)), identity=MEMBER)
    try:
        with served(hub) as base:
            url = collection_url(f"{base}/taxii2/isac/", hub.shared)
            for _ in range(2):
                with Taxii2Source(url, Credentials(token=hub.tokens["exa-anon"]), timeout=5) as target:
                    status = target.add([shared])
                assert (status["success_count"], status["failure_count"]) == (1, 0), status
        page = hub.get("exb", hub.objects_url(hub.shared), **{"match[type]": "sighting", "match[version]": "all"})
        assert [obj["id"] for obj in page.json()["objects"]] == [shared["id"]]
    finally:
        hub_engine.dispose()
