"""Interoperability: the OASIS TAXII 2.1 client (taxii2-client) against the hub on a real port, through every
endpoint; what the hub serves is valid under the OASIS validator, and the OASIS example bundles and the TLP 2.0
definitions of ../shared/data/intel/stix/ come back exactly as they went in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import ApiRoot, Collection, Server, Status, as_pages

from support.hub import PASSWORD, ROOT, Hub, make_hub, served

STIX = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "intel" / "stix"
BUNDLES = sorted(STIX.glob("*.json"))


class Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


@pytest.fixture
def hub(database) -> Iterator[tuple[Hub, str]]:
    engine = database.engine()
    hub = make_hub(engine, auth_cache_seconds=2.0)
    with served(hub) as url:
        yield hub, url
    engine.dispose()


def collection(hub: Hub, url: str, account: str, collection_id: str) -> Collection:
    return Collection(f"{url}/taxii2/{ROOT}/collections/{collection_id}/", auth=Bearer(hub.tokens[account]))


def test_discovery_api_root_and_collections(hub: tuple[Hub, str]) -> None:
    hub_, url = hub
    server = Server(f"{url}/taxii2/", user="exa", password=PASSWORD)  # HTTP Basic
    assert [root.url for root in server.api_roots] == [f"{url}/taxii2/{ROOT}/"]
    root: ApiRoot = server.default
    assert root.title == "ISAC" and root.max_content_length == 2_000_000
    titles = {c.id: (c.title, c.can_read, c.can_write) for c in root.collections}
    assert titles == {hub_.shared: ("shared", True, True), hub_.readonly: ("mixed rights", True, False)}


def test_every_collection_endpoint_through_the_client(hub: tuple[Hub, str]) -> None:
    hub_, url = hub
    writer = collection(hub_, url, "exa", hub_.shared)
    reader = collection(hub_, url, "exb", hub_.shared)
    assert writer.title == "shared" and writer.can_write
    objects = [_indicator(n) for n in range(30)]
    status: Status = writer.add_objects({"objects": objects})
    assert status.status == "complete" and status.success_count == 30 and status.failure_count == 0
    status.refresh()  # GET status
    assert status.success_count == 30
    pages = list(as_pages(reader.get_objects, per_request=7))
    assert [o["id"] for page in pages for o in page["objects"]] == [o["id"] for o in objects]
    assert len(pages) == 5
    manifest = [record for page in as_pages(reader.get_manifest, per_request=10) for record in page["objects"]]
    assert [m["id"] for m in manifest] == [o["id"] for o in objects]
    first = objects[0]["id"]
    assert reader.get_object(first)["objects"] == [objects[0]]
    assert reader.object_versions(first)["versions"] == ["2026-03-03T01:00:00.000000Z"]
    assert reader.get_objects(type="indicator", id=[first, objects[1]["id"]])["objects"] == objects[:2]
    writer.delete_object(first)
    with pytest.raises(requests.HTTPError) as raised:
        reader.get_object(first)
    assert raised.value.response.status_code == 404


def test_served_objects_are_valid_stix_and_bundles_round_trip(hub: tuple[Hub, str]) -> None:
    hub_, url = hub
    writer = collection(hub_, url, "exa", hub_.shared)
    sent: dict[tuple[str, str], dict[str, Any]] = {}
    for path in BUNDLES:
        bundle = orjson.loads(path.read_bytes())
        status = writer.add_objects({"objects": bundle["objects"]})
        assert status.failure_count == 0, (path.name, status.failures)
        for obj in bundle["objects"]:
            sent[(obj["id"], obj.get("modified", obj.get("created", "")))] = obj
    assert len(sent) > 250
    received = [o for page in as_pages(writer.get_objects, per_request=50, version="all") for o in page["objects"]]
    assert {(o["id"], o.get("modified", o.get("created", ""))): o for o in received} == sent
    options = ValidationOptions(strict=False)
    for obj in received:
        result = validate_instance(obj, options)
        assert result.is_valid, (obj["id"], [str(e) for e in result.errors])


def _indicator(n: int) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
        "created": "2026-03-03T01:00:00.000Z",
        "modified": "2026-03-03T01:00:00.000Z",
        "pattern": f"[cryptocurrency-wallet:value = '0x{n:040x}']",
        "pattern_type": "stix",
        "valid_from": "2026-03-03T01:00:00.000Z",
    }
