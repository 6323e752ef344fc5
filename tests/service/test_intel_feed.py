"""The hub indicators feed (service/intel_feed.py): the overlay follows new versions and revocations in any order,
refreshes incrementally from the database, and turns stale (no longer counted as consulted) when it cannot
refresh — on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Engine

from mamori.errors import MamoriError
from mamori.intel.tlp import Audience
from mamori.service.hub_objects import Stored, add_objects
from mamori.service.intel_feed import IntelFeed, Overlay, WalletIndicator, feed_name, read_indicator
from mamori.service.intel_sync import _local_collection
from mamori.store.hub_models import TaxiiCollection
from support.intel import stamp, wallet_indicator

COLLECTION = "5a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
ADDRESS = "0x" + "ab" * 20
OTHER = "0x" + "cd" * 20
T0 = 1_772_503_200_000_000


def version(ident: str, version_us: int, *values: str, revoked: bool = False) -> WalletIndicator:
    return WalletIndicator(ident, version_us, str(version_us), revoked, "ethereum", values)


def test_the_latest_version_wins_whatever_the_order_versions_arrive_in() -> None:
    overlay = Overlay("hub:c")
    overlay.apply(version("indicator--a", 2, ADDRESS))
    overlay.apply(version("indicator--a", 1, OTHER))  # an older version arriving late changes nothing
    assert [hit.indicator for hit in overlay.lookup(ADDRESS)] == ["indicator--a"]
    assert overlay.lookup(OTHER) == ()
    overlay.apply(version("indicator--a", 3, OTHER))  # superseded: the old address stops hitting
    assert overlay.lookup(ADDRESS) == ()
    assert overlay.lookup(OTHER)[0].list == "hub:c"
    overlay.apply(version("indicator--a", 4, OTHER, revoked=True))
    assert overlay.lookup(OTHER) == ()
    overlay.apply(version("indicator--a", 3, OTHER))  # a revoked indicator stays revoked
    assert overlay.lookup(OTHER) == () and len(overlay) == 0


def test_two_indicators_of_one_address_hit_apart_and_a_new_non_wallet_version_stops_hitting() -> None:
    overlay = Overlay("hub:c")
    overlay.apply(version("indicator--a", 1, ADDRESS))
    overlay.apply(version("indicator--b", 1, ADDRESS.upper().replace("0X", "0x")))  # another written form
    assert {hit.indicator for hit in overlay.lookup(ADDRESS)} == {"indicator--a", "indicator--b"}
    overlay.apply(version("indicator--a", 2))  # its pattern is no plain wallet list any more
    assert [hit.indicator for hit in overlay.lookup(ADDRESS)] == ["indicator--b"]


def test_a_stored_indicator_is_read_with_its_chain_and_values() -> None:
    import orjson

    document = orjson.dumps(wallet_indicator(ADDRESS, second=5))
    read = read_indicator(document, 7, False)
    assert read is not None and read.values == (ADDRESS,) and read.chain == "ethereum"
    assert read.modified == stamp(5)
    other = {**wallet_indicator(ADDRESS), "pattern": "[ipv4-addr:value = '10.0.0.1']"}
    unread = read_indicator(orjson.dumps(other), 7, False)
    assert unread is not None and unread.values == ()
    assert read_indicator(b"not json", 7, False) is None


def _collection(engine: Engine) -> TaxiiCollection:
    with engine.begin() as connection:
        return _local_collection(connection, "https://hub.test/taxii2/isac/collections/x/", COLLECTION, None, T0)


def add(engine: Engine, collection: TaxiiCollection, *objects: dict[str, Any], now_us: int = T0) -> None:
    with engine.begin() as connection:
        outcomes = add_objects(
            connection, collection, list(objects), audience=Audience("hub-hub.test"), account="t", now_us=now_us
        )
    assert all(isinstance(outcome, Stored) for outcome in outcomes), outcomes


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_feed_refreshes_incrementally_from_the_database(engine: Engine) -> None:
    collection = _collection(engine)
    first = wallet_indicator(ADDRESS, number=1)
    add(engine, collection, first, wallet_indicator(OTHER, number=2))
    feed = IntelFeed(engine, [COLLECTION])
    assert feed.refresh() == 2
    assert [hit.indicator for hit in feed.screen("eip155:1", ADDRESS)] == [first["id"]]
    assert feed.screen("eip155:1", ADDRESS)[0].list == feed_name(COLLECTION)
    assert feed.refresh() == 0  # nothing new: the poll reads nothing
    add(engine, collection, {**first, "modified": stamp(9), "revoked": True}, now_us=T0 + 10)
    assert feed.refresh() == 1
    assert feed.screen("eip155:1", ADDRESS) == ()
    assert len(feed.screen("eip155:1", OTHER)) == 1
    # A fresh feed (another worker process, a restart) rebuilt from the database sees the same.
    rebuilt = IntelFeed(engine, [COLLECTION])
    rebuilt.refresh()
    assert rebuilt.screen("eip155:1", ADDRESS) == () and len(rebuilt.screen("eip155:1", OTHER)) == 1


def test_a_feed_that_cannot_refresh_turns_stale_and_is_no_longer_counted_as_consulted(engine: Engine) -> None:
    _collection(engine)
    clock = FakeClock()
    feed = IntelFeed(engine, [COLLECTION], interval_s=1, max_age_s=30, clock=clock)
    assert feed.lists() == frozenset()  # never refreshed: not consulted
    feed.refresh()
    assert feed.lists() == {feed_name(COLLECTION)}
    clock.now += 30
    assert feed.lists() == {feed_name(COLLECTION)}
    engine.dispose()
    broken = IntelFeed(engine.execution_options(schema_translate_map={None: "no_such_schema"}), [COLLECTION])
    with pytest.raises(MamoriError) as caught:
        broken.refresh()
    assert caught.value.code == "INTEL_FEED_UNAVAILABLE"
    clock.now += 0.001
    assert feed.lists() == frozenset()
    assert feed.status()[0]["fresh"] is False


def test_a_feed_needs_collections_and_an_interval_below_its_maximum_age(engine: Engine) -> None:
    with pytest.raises(MamoriError):
        IntelFeed(engine, [])
    with pytest.raises(MamoriError):
        IntelFeed(engine, [str(uuid.uuid4())], interval_s=30, max_age_s=30)
