"""Objects of the hub's collections (service/hub_objects.py): strictly increasing date_added, versions, repeats,
validation, markings, and TLP enforced in SQL exactly as intel/tlp.py decides it — on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy import Connection, Engine, insert

from mamori.intel.stix_forms import format_timestamp_us
from mamori.intel.taxii.query import Endpoint, parse_query
from mamori.intel.tlp import TLP2_IDS, Audience, Reader, Tlp, may_read
from mamori.service.hub_objects import Refused, Stored, add_objects, read_page
from mamori.store import upgrade
from mamori.store.hub_models import (
    HubOrganisation,
    SharingGroup,
    SharingGroupMember,
    TaxiiApiRoot,
    TaxiiCollection,
)

T0 = 1_772_503_200_000_000  # 2026-03-03T02:00:00Z
ORGS = ("org-a", "org-b", "org-c", "org-d", "org-e")


@pytest.fixture
def engine(database) -> Iterator[Engine]:
    engine = database.engine()
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(HubOrganisation),
            [{"id": o, "name": o, "identity_ref": f"identity--{uuid.uuid4()}", "created_us": T0} for o in ORGS],
        )
        connection.execute(
            insert(TaxiiApiRoot).values(name="isac", title="ISAC", description="", max_content_length=10**7)
        )
        connection.execute(insert(SharingGroup).values(id="g", name="exchanges"))
        connection.execute(
            insert(SharingGroupMember), [{"group_id": "g", "organisation_id": o} for o in ("org-a", "org-b")]
        )
        connection.execute(
            insert(TaxiiCollection).values(
                id=COLLECTION.id, api_root="isac", title="wallets", description="", alias=None,
                default_tlp=int(Tlp.AMBER), sharing_group_id="g", created_us=T0,
            )
        )  # fmt: skip
    yield engine
    engine.dispose()


COLLECTION = TaxiiCollection(
    id="2c0a4c4e-6b0c-4d4e-9c44-52f3f1b0a9a1",
    api_root="isac",
    title="wallets",
    default_tlp=int(Tlp.AMBER),
    sharing_group_id="g",
    created_us=T0,
)
PRODUCER = Audience("org-a")


def indicator(
    stix_id: str | None = None, *, modified_us: int = T0, marking: str | None = None, **extra: Any
) -> dict[str, Any]:
    stamp = format_timestamp_us(modified_us)
    obj = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": stix_id or f"indicator--{uuid.uuid4()}",
        "created": format_timestamp_us(T0),
        "modified": stamp,
        "name": "a wallet of the Bybit theft",
        "pattern": "[cryptocurrency-wallet:value = '0x47666fab8bd0ac7003bce3f5c3585383f09486e2']",
        "pattern_type": "stix",
        "valid_from": format_timestamp_us(T0),
    }
    if marking is not None:
        obj["object_marking_refs"] = [marking]
    return obj | extra


def add(connection: Connection, objects: list[dict[str, Any]], *, now_us: int = T0, audience: Audience = PRODUCER):
    return add_objects(connection, COLLECTION, objects, audience=audience, account="org-a/bot", now_us=now_us)


PRODUCER_BOT = Reader("org-a", "org-a/bot")


def page(connection: Connection, reader: Reader = PRODUCER_BOT, **parameters: str):
    query = parse_query({name: [value] for name, value in parameters.items()}, Endpoint.OBJECTS)
    return read_page(connection, COLLECTION, query, reader)


def test_date_added_is_strictly_increasing_and_paging_never_skips_or_repeats(engine: Engine) -> None:
    # 2,500 objects added at one instant, in three envelopes: each still gets its own date_added.
    objects = [indicator() for _ in range(2_500)]
    with engine.begin() as connection:
        for start in range(0, 2_500, 1_000):
            outcomes = add(connection, objects[start : start + 1_000], now_us=T0)
            assert all(isinstance(o, Stored) for o in outcomes)
    seen: list[str] = []
    added: list[int] = []
    parameters = {"limit": "1000"}
    with engine.connect() as connection:
        while True:
            result = page(connection, **parameters)
            seen += [row["stix_id"] for row in result.rows]
            added += [row["date_added_us"] for row in result.rows]
            if not result.more:
                break
            cursor = parse_query({"limit": ["1000"]}, Endpoint.OBJECTS).next_cursor(added[-1])
            parameters = {"limit": "1000", "next": cursor}
    assert seen == [o["id"] for o in objects]
    assert added == sorted(set(added)) and added[0] == T0
    with engine.connect() as connection:  # added_after the last date of a page continues it exactly
        rest = page(connection, added_after=format_timestamp_us(added[999]), limit="10")
    assert [row["stix_id"] for row in rest.rows] == seen[1_000:1_010]


def test_first_last_all_and_instants_of_versions(engine: Engine) -> None:
    stix_id = f"indicator--{uuid.uuid4()}"
    with engine.begin() as connection:
        add(connection, [indicator(stix_id, modified_us=T0 + 2_000)])
        add(connection, [indicator(stix_id, modified_us=T0 + 3_000)], now_us=T0 + 10)
        add(connection, [indicator(stix_id, modified_us=T0 + 1_000)], now_us=T0 + 20)  # an older version, later
    with engine.connect() as connection:

        def versions(value: str | None) -> list[int]:
            given = {"match[version]": value} if value else {}
            return sorted(row["version_us"] for row in page(connection, **given).rows)

        assert versions(None) == [T0 + 3_000]  # the last by default
        assert versions("first") == [T0 + 1_000]
        assert versions("first,last") == [T0 + 1_000, T0 + 3_000]
        assert versions("all") == [T0 + 1_000, T0 + 2_000, T0 + 3_000]
        assert versions(format_timestamp_us(T0 + 2_000)) == [T0 + 2_000]


def test_a_repeat_is_a_success_without_a_new_version(engine: Engine) -> None:
    obj = indicator()
    with engine.begin() as connection:
        first = add(connection, [obj])
        again = add(connection, [obj], now_us=T0 + 5)
    assert first == again
    with engine.connect() as connection:
        assert len(page(connection, **{"match[version]": "all"}).rows) == 1


def test_invalid_objects_are_refused_and_valid_ones_of_the_envelope_kept(engine: Engine) -> None:
    good, bad = indicator(), indicator(valid_until=format_timestamp_us(T0 - 1))
    unmarked = indicator(marking="marking-definition--0e1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
    with engine.begin() as connection:
        outcomes = add(connection, [bad, good, unmarked])
    assert isinstance(outcomes[0], Refused) and outcomes[0].problems
    assert isinstance(outcomes[1], Stored)
    assert isinstance(outcomes[2], Refused)
    assert outcomes[2].problems[0].code == "STIX_MARKING_INVALID"
    with engine.connect() as connection:
        assert [row["stix_id"] for row in page(connection).rows] == [good["id"]]


def test_a_marking_definition_in_the_envelope_is_known_to_its_objects(engine: Engine) -> None:
    statement = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": f"marking-definition--{uuid.uuid4()}",
        "created": format_timestamp_us(T0),
        "definition_type": "statement",
        "definition": {"statement": "Copyright 2026, Example ISAC"},
    }
    marked = indicator(marking=statement["id"])
    with engine.begin() as connection:
        outcomes = add(connection, [statement, marked])
    assert all(isinstance(o, Stored) for o in outcomes), outcomes
    with engine.connect() as connection:  # a statement says nothing of TLP: the collection's default (AMBER) applies
        other = page(connection, Reader("org-e", "org-e/bot"), **{"match[id]": marked["id"]})
        member = page(connection, Reader("org-b", "org-b/bot"), **{"match[id]": marked["id"]})
    assert other.rows == [] and len(member.rows) == 1


def test_a_standard_tlp_marking_relabelled_is_refused_and_the_collection_still_takes_objects(engine: Engine) -> None:
    relabelled = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP2_IDS[Tlp.RED],
        "created": "2022-10-01T00:00:00.000Z",
        "name": "TLP:RED",
        "extensions": {
            "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
                "extension_type": "property-extension",
                "tlp_2_0": "clear",
            }
        },
    }
    with engine.begin() as connection:
        (outcome,) = add(connection, [relabelled])
        assert isinstance(outcome, Refused)
        assert isinstance(add(connection, [indicator(marking=TLP2_IDS[Tlp.RED])])[0], Stored)
    with engine.connect() as connection:  # still RED: only the producer reads it
        assert page(connection, Reader("org-b", "org-b/bot")).rows == []


AUDIENCES = {
    "producer only": Audience("org-a"),
    "named org-c": Audience("org-a", named_organisations=frozenset({"org-c"})),
    "recipient org-d/analyst": Audience("org-a", recipients=frozenset({"org-d/analyst"})),
    "both": Audience("org-a", named_organisations=frozenset({"org-c"}), recipients=frozenset({"org-d/analyst"})),
}
READERS = [Reader(org, f"{org}/bot") for org in ORGS] + [Reader("org-d", "org-d/analyst")]


def test_tlp_in_sql_is_exactly_may_read(engine: Engine) -> None:
    """Every level × audience × reader: what the query shows is what intel/tlp.py's may_read allows (with the
    collection's sharing group as the AMBER group)."""
    placed: dict[str, tuple[Tlp, Audience]] = {}
    with engine.begin() as connection:
        for name, audience in AUDIENCES.items():
            for level in Tlp:
                obj = indicator(marking=TLP2_IDS[level], description=f"{name} {level.label}")
                assert isinstance(add(connection, [obj], audience=audience)[0], Stored)
                placed[obj["id"]] = (level, audience)
    with engine.connect() as connection:
        for reader in READERS:
            shown = {row["stix_id"] for row in page(connection, reader, limit="1000").rows}
            group = frozenset({"org-a", "org-b"})
            expected = {
                stix_id
                for stix_id, (level, audience) in placed.items()
                if may_read(level, reader, Audience(audience.producer, group, audience.named_organisations,
                                                    audience.recipients))
            }  # fmt: skip
            assert shown == expected, reader


def test_documents_are_kept_as_submitted(engine: Engine) -> None:
    obj = indicator()
    with engine.begin() as connection:
        add(connection, [obj])
    with engine.connect() as connection:
        (row,) = page(connection).rows
    assert orjson.loads(row["document"]) == obj
