"""The TLP matrix over HTTP: every marking (TLP 2.0, TLP 1.0, OpenCTI's AMBER+STRICT, none) × every relationship a
member can have to a submission × every read path (objects, manifest, one object, versions) — each cell must be
what intel/tlp.py ``may_read`` decides, and an object a member may not read is a 404 on the single-object paths."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import conftest
from mamori.intel.tlp import OPENCTI_MARKINGS, STANDARD_MARKINGS, Audience, Reader, Tlp, may_read
from mamori.service.hub_collections import Rights, grant
from support.hub import ROOT, TAXII, Hub, make_hub

T = "2026-03-03T01:00:00.000Z"
MARKINGS: dict[str, str | None] = {"none (collection default: AMBER)": None} | {
    marking_id: marking_id for marking_id in STANDARD_MARKINGS
}
# account -> its relationship to what 'exa' submits with X-Mamori-Share-With: exc and X-Mamori-Recipients: isac
READERS = {
    "exa": "the producer's own account",
    "exa-analyst": "another account of the producer's organisation",
    "exb": "the sharing group",
    "exc": "an organisation the producer named",
    "isac": "a recipient the producer named (an account)",
    "exd": "a member with read rights only",
}


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, dict[str, dict[str, Any]]]]:
    """One hub for the whole matrix (its cells only read)."""
    databases = (
        conftest.postgresql_schema()
        if conftest.TEST_DATABASE_URL
        else iter([conftest.TestDatabase(conftest.sqlite_url(tmp_path_factory.mktemp("tlp") / "hub.db"), None)])
    )
    database = next(databases)
    engine = database.engine()
    hub = make_hub(engine)
    with engine.begin() as connection:
        grant(connection, hub.shared, "exd", Rights(can_read=True, can_write=False))
    objects: dict[str, dict[str, Any]] = {}
    for index, (label, marking) in enumerate(MARKINGS.items()):
        obj = {
            "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, label)}",
            "created": T, "modified": T, "pattern": f"[cryptocurrency-wallet:value = '0x{index:040x}']",
            "pattern_type": "stix", "valid_from": T,
        }  # fmt: skip
        if marking is not None:
            obj["object_marking_refs"] = [marking]
        status = hub.post("exa", hub.shared, [obj], **{"X-Mamori-Share-With": "exc", "X-Mamori-Recipients": "isac"})
        assert status.json()["success_count"] == 1, status.text
        objects[label] = obj
    yield hub, objects
    engine.dispose()
    next(databases, None)  # drops the PostgreSQL schema


def expected(label: str, account: str, hub: Hub) -> bool:
    marking = MARKINGS[label]
    level = Tlp.AMBER if marking is None else STANDARD_MARKINGS[marking]
    organisation = account.split("-", maxsplit=1)[0]
    audience = Audience(producer="exa", sharing_group=frozenset({"exa", "exb"}), named_organisations=frozenset({"exc"}),
                        recipients=frozenset({hub.tokens["isac"].split("_")[1]}))  # fmt: skip
    return may_read(level, Reader(organisation, hub.tokens[account].split("_")[1]), audience)


@pytest.mark.parametrize("account", READERS)
def test_every_read_path_shows_exactly_what_tlp_allows(
    matrix: tuple[Hub, dict[str, dict[str, Any]]], account: str
) -> None:
    hub, objects = matrix
    collection = hub.url(ROOT, "collections", hub.shared)
    listed = {o["id"] for o in hub.get(account, collection + "objects/").json().get("objects", [])}
    manifest = {m["id"] for m in hub.get(account, collection + "manifest/").json().get("objects", [])}
    for label, obj in objects.items():
        visible = expected(label, account, hub)
        cell = f"{label} for {READERS[account]}"
        assert (obj["id"] in listed) is visible, cell
        assert (obj["id"] in manifest) is visible, cell
        one = hub.client.get(collection + f"objects/{obj['id']}/", headers={**hub.auth(account), "Accept": TAXII})
        versions = hub.client.get(collection + f"objects/{obj['id']}/versions/", headers=hub.auth(account))
        assert one.status_code == versions.status_code == (200 if visible else 404), cell
        if visible:
            assert one.json()["objects"] == [obj]


def test_the_matrix_is_not_trivial(matrix: tuple[Hub, dict[str, dict[str, Any]]]) -> None:
    """Every reader sees something, and all but the producer's organisation and RED's recipient miss something;
    every marking is hidden from someone (CLEAR and GREEN excepted: every member sees them)."""
    hub, objects = matrix
    for account in READERS:
        seen = [expected(label, account, hub) for label in objects]
        sees_everything = account in ("exa", "exa-analyst", "isac")  # the producer's organisation; RED's recipient
        assert any(seen) and all(seen) is sees_everything, account
    for label, marking in MARKINGS.items():
        level = Tlp.AMBER if marking is None else STANDARD_MARKINGS[marking]
        seen = [expected(label, account, hub) for account in READERS]
        assert all(seen) if level <= Tlp.GREEN else not all(seen), label
    assert set(OPENCTI_MARKINGS) <= set(MARKINGS)
