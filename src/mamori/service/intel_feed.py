"""Wallet indicators of local collections arm the guard's screening while it runs, without a restart.

The feed keeps an in-memory overlay (screening key -> hits naming the indicator) of the latest version of every
wallet indicator in the configured collections, and brings it up to date by polling the rows added since the last
one it read (``date_added_us > last``, one indexed range per collection; within a collection rows commit in
``date_added`` order, so none is ever passed over). A new version replaces the one it supersedes whatever order
versions arrive in; a revoked latest version, or a latest version that is no longer a plain wallet pattern, stops
hitting. The overlay is a cache derived from the database: each worker process builds its own at start.

Deny by default: a feed that has not refreshed for ``max_age_s`` is not reported among the lists consulted
(:meth:`IntelFeed.lists`), so a policy that relies on it (``screening.require`` or ``screening.lists`` naming
``hub:<collection>``) denies with ``FACT_MISSING`` rather than screen against stale data. Hits already known keep
denying meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from mamori.chains.addresses import Family, classify
from mamori.errors import MamoriError
from mamori.intel.wallet_stix import WALLET_PROPERTIES_EXTENSION, wallet_values_from_pattern
from mamori.policy.facts import ScreeningHit
from mamori.store.hub_models import TaxiiObject

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 1.0
DEFAULT_MAX_AGE_S = 30.0
BATCH = 5_000
_O = TaxiiObject.__table__.c
Key = tuple[Family, str]


def feed_name(collection_id: str) -> str:
    """The list name under which a collection's indicators hit: ``hub:<collection id>``."""
    return f"hub:{collection_id}"


def screening_key(address: str) -> Key | None:
    """The key an address is compared under: family and canonical form, as the screening index does."""
    text = address.strip()
    if not text:
        return None
    family, canonical, _, _ = classify(text, check_case=False)
    return family, canonical


@dataclass(frozen=True, slots=True)
class WalletIndicator:
    """One version of an indicator as stored; ``values`` empty when it is not a plain wallet pattern."""

    stix_id: str
    version_us: int
    modified: str
    revoked: bool
    chain: str | None
    values: tuple[str, ...]


def read_indicator(document: bytes, version_us: int, revoked: bool) -> WalletIndicator | None:
    """The indicator version stored as ``document`` (canonical JSON), or None if it is not an indicator object."""
    try:
        obj = orjson.loads(document)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        return None
    pattern = obj.get("pattern")
    values = (
        wallet_values_from_pattern(pattern) if isinstance(pattern, str) and obj.get("pattern_type") == "stix" else None
    )
    extensions = obj.get("extensions")
    properties = extensions.get(WALLET_PROPERTIES_EXTENSION) if isinstance(extensions, Mapping) else None
    chain = properties.get("chain") if isinstance(properties, Mapping) else None
    modified = obj.get("modified")
    return WalletIndicator(
        stix_id=obj["id"],
        version_us=version_us,
        modified=modified if isinstance(modified, str) else "",
        revoked=revoked,
        chain=chain if isinstance(chain, str) else None,
        values=tuple(value for value in values or () if value.strip()),
    )


class Overlay:
    """Address -> hits of the latest version of each wallet indicator of one collection. One writer (the feed's
    refresh); readers look up concurrently: each key's hits are replaced whole, never changed in place."""

    def __init__(self, list_name: str) -> None:
        self.list_name = list_name
        self._versions: dict[str, int] = {}  # indicator id -> version held (revoked and non-wallet included)
        self._keys: dict[str, tuple[Key, ...]] = {}  # indicator id -> keys it hits now
        self._hits: dict[Key, tuple[ScreeningHit, ...]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def addresses(self) -> int:
        return len(self._hits)

    def apply(self, indicator: WalletIndicator) -> None:
        """Take a version of an indicator: it replaces the one held if it is later, and is ignored otherwise."""
        held = self._versions.get(indicator.stix_id)
        if held is not None and held >= indicator.version_us:
            return
        self._versions[indicator.stix_id] = indicator.version_us
        self._remove(indicator.stix_id)
        if indicator.revoked or not indicator.values:
            return
        keys = []
        for value in indicator.values:
            key = screening_key(value)
            if key is None or key in keys:
                continue
            keys.append(key)
            hit = ScreeningHit(self.list_name, indicator.modified, value, indicator.stix_id)
            self._hits[key] = (*self._hits.get(key, ()), hit)
        self._keys[indicator.stix_id] = tuple(keys)

    def _remove(self, stix_id: str) -> None:
        for key in self._keys.pop(stix_id, ()):
            kept = tuple(hit for hit in self._hits.get(key, ()) if hit.indicator != stix_id)
            if kept:
                self._hits[key] = kept
            else:
                self._hits.pop(key, None)

    def lookup(self, address: str) -> tuple[ScreeningHit, ...]:
        key = screening_key(address)
        return self._hits.get(key, ()) if key is not None else ()


@dataclass
class _Feed:
    collection_id: str
    overlay: Overlay
    last_added_us: int = 0
    refreshed_at: float | None = None  # the clock's reading at the last successful refresh
    error: str | None = None


class IntelFeed:
    """The overlays of ``collections``, refreshed by :meth:`refresh` (or the thread :meth:`start` runs).
    ``clock``: monotonic seconds, for staleness (a parameter, so tests move it)."""

    def __init__(
        self,
        engine: Engine,
        collections: Sequence[str],
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not collections:
            raise MamoriError("USAGE_INVALID", reason="a feed needs at least one collection")
        if interval_s <= 0 or max_age_s <= interval_s:
            raise MamoriError("USAGE_INVALID", reason="the feed's interval must be positive and below its maximum age")
        self.engine = engine
        self.interval_s = interval_s
        self.max_age_s = max_age_s
        self.clock = clock
        self._feeds = [_Feed(c, Overlay(feed_name(c))) for c in dict.fromkeys(collections)]
        self._lock = threading.Lock()  # one refresh at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def names(self) -> frozenset[str]:
        return frozenset(feed.overlay.list_name for feed in self._feeds)

    # --- reading the database ------------------------------------------------------------------------------------
    def refresh(self) -> int:
        """Read every row added since the last refresh; returns how many. Raises ``INTEL_FEED_UNAVAILABLE`` (the
        feeds that failed keep their age, and so turn stale if this goes on)."""
        with self._lock:
            read, failed = 0, None
            for feed in self._feeds:
                try:
                    read += self._refresh(feed)
                except SQLAlchemyError as exc:
                    feed.error = type(exc).__name__
                    failed = failed or MamoriError(
                        "INTEL_FEED_UNAVAILABLE", collection=feed.collection_id, reason=type(exc).__name__
                    )
            if failed is not None:
                raise failed
            return read

    def _refresh(self, feed: _Feed) -> int:
        read = 0
        started = self.clock()
        with self.engine.connect().execution_options(mamori_read_only=True) as connection:
            while True:
                rows = connection.execute(
                    select(_O.date_added_us, _O.version_us, _O.revoked, _O.document)
                    .where(
                        _O.collection_id == feed.collection_id,
                        _O.stix_type == "indicator",
                        _O.date_added_us > feed.last_added_us,
                    )
                    .order_by(_O.date_added_us)
                    .limit(BATCH)
                ).all()
                for date_added_us, version_us, revoked, document in rows:
                    indicator = read_indicator(document, version_us, bool(revoked))
                    if indicator is not None:
                        feed.overlay.apply(indicator)
                    feed.last_added_us = date_added_us
                read += len(rows)
                if len(rows) < BATCH:
                    break
            connection.rollback()
        # Fresh as of when the reading began: whatever committed after that is for the next refresh.
        feed.refreshed_at, feed.error = started, None
        return read

    # --- the guard's side ----------------------------------------------------------------------------------------
    def screen(self, _chain: str, address: str) -> tuple[ScreeningHit, ...]:
        """Hits of ``address`` in every collection of the feed (any chain: screening may over-match, never miss)."""
        found: tuple[ScreeningHit, ...] = ()
        for feed in self._feeds:
            found += feed.overlay.lookup(address)
        return found

    def lists(self) -> frozenset[str]:
        """The feeds fresh enough to count as consulted now (refreshed within ``max_age_s``)."""
        now = self.clock()
        return frozenset(
            feed.overlay.list_name
            for feed in self._feeds
            if feed.refreshed_at is not None and now - feed.refreshed_at <= self.max_age_s
        )

    def status(self) -> list[dict[str, Any]]:
        now = self.clock()
        fresh = self.lists()
        return [
            {
                "list": feed.overlay.list_name,
                "fresh": feed.overlay.list_name in fresh,
                "age_s": None if feed.refreshed_at is None else round(now - feed.refreshed_at, 3),
                "indicators": len(feed.overlay),
                "addresses": feed.overlay.addresses,
                "error": feed.error,
            }
            for feed in self._feeds
        ]

    # --- the polling thread ----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Poll every ``interval_s`` in a daemon thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="mamori-intel-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.refresh()
            except MamoriError as exc:
                log.warning("intel feed not refreshed: %s", exc.message_en)
            except Exception:  # the thread must go on; the feed turns stale and denies meanwhile
                log.exception("intel feed refresh failed")


def merged_screen(
    first: Callable[[str, str], tuple[ScreeningHit, ...]] | None, feed: IntelFeed
) -> Callable[[str, str], tuple[ScreeningHit, ...]]:
    """Screening against the static lists (``first``) and the feed."""
    if first is None:
        return feed.screen
    static = first

    def screen(chain: str, address: str) -> tuple[ScreeningHit, ...]:
        return static(chain, address) + feed.screen(chain, address)

    return screen
