"""Concurrent writers and a reader paging while they write (service/hub_taxii.py on SQLite and PostgreSQL): every
object is stored once, ``date_added`` is distinct and increasing in the collection, and a reader that pages with
``added_after`` while submissions commit sees each object exactly once, in increasing ``date_added``, never one
added before what it has already seen (so nothing is skipped)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select

from mamori.intel.stix_forms import timestamp_us
from mamori.intel.taxii.query import Endpoint, parse_query
from mamori.service.hub_taxii import HubService, Submission
from mamori.store.hub_models import TaxiiObject
from support.hub import ROOT, Hub, make_hub

WRITERS, ENVELOPES, PER_ENVELOPE = 4, 8, 40
T = "2026-03-03T01:00:00.000Z"


@pytest.fixture
def hub(database) -> Iterator[Hub]:
    engine: Engine = database.engine()
    yield make_hub(engine)
    engine.dispose()


def indicator(writer: int, envelope: int, n: int) -> dict[str, Any]:
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}", "created": T, "modified": T,
        "pattern": f"[cryptocurrency-wallet:value = 'w{writer}e{envelope}n{n}']", "pattern_type": "stix",
        "valid_from": T,
    }  # fmt: skip


def test_writers_and_a_pager_at_once(hub: Hub) -> None:
    service = HubService(hub.engine)
    writer_account = {0: "exa", 1: "exb", 2: "exc", 3: "isac"}
    readers = {name: service.authenticate(f"Bearer {hub.tokens[name]}") for name in writer_account.values()}
    sent: list[str] = []
    errors: list[BaseException] = []
    writing = threading.Event()
    writing.set()
    lock = threading.Lock()

    def write(writer: int) -> None:
        try:
            for envelope in range(ENVELOPES):
                objects = [indicator(writer, envelope, n) for n in range(PER_ENVELOPE)]
                # The same clock for everyone: the hub must still give every object its own date_added.
                status = service.add(readers[writer_account[writer]], ROOT, hub.shared, objects, Submission(),
                                     now_us=1_772_503_200_000_000)  # fmt: skip
                assert status["success_count"] == PER_ENVELOPE, status["failures"][:1]
                with lock:
                    sent.extend(o["id"] for o in objects)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    seen: list[tuple[str, int]] = []
    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    pager = threading.Thread(target=page_while, args=(service, readers["exa"], hub.shared, writing, seen, errors))
    pager.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    writing.clear()
    pager.join(120)
    assert not errors, errors[0]
    total = WRITERS * ENVELOPES * PER_ENVELOPE
    with hub.engine.connect() as connection:
        added = list(connection.execute(select(TaxiiObject.date_added_us).order_by(TaxiiObject.seq)).scalars())
    assert len(added) == len(set(added)) == total
    assert len(sent) == total
    # What the pager saw, page after page while the writers committed: each object once, in increasing date_added.
    ids = [stix_id for stix_id, _ in seen]
    moments = [moment for _, moment in seen]
    assert moments == sorted(moments) and len(set(moments)) == len(moments)
    assert len(ids) == len(set(ids)) and set(ids) == set(sent)


def page_while(
    service: HubService,
    reader: Any,
    collection: str,
    writing: threading.Event,
    seen: list[tuple[str, int]],
    errors: list[BaseException],
) -> None:
    """Page the manifest with added_after, 25 at a time, until the writers have stopped and nothing is left."""
    try:
        after: str | None = None
        while True:
            still_writing = writing.is_set()
            params = {"limit": ["25"], "match[version]": ["all"]}
            if after is not None:
                params["added_after"] = [after]
            answer = service.manifest(reader, ROOT, collection, parse_query(params, Endpoint.MANIFEST))
            last = answer.headers.get("X-TAXII-Date-Added-Last")
            if last is not None:
                for record in orjson.loads(answer.body)["objects"]:
                    seen.append((record["id"], timestamp_us(record["date_added"]) or 0))
                after = last
            elif not still_writing:
                return
    except BaseException as exc:  # noqa: BLE001 - reported by the main thread
        errors.append(exc)
