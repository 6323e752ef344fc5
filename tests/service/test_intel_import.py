"""Importing lists and bundles into a hub collection (service/intel_import.py) with the real files of
../shared/data/intel (provenance: ../shared/data/MANIFEST.csv): OFAC 2024 then 2025 revokes exactly the delisted
ETH addresses (computed here from the files themselves), a second import of the same list adds nothing, the FBI
list, and the OASIS example bundles stored as they are. On SQLite, and on PostgreSQL with
``MAMORI_TEST_DATABASE_URL``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select

from mamori.errors import MamoriError
from mamori.intel import wallet_stix
from mamori.intel.tlp import Tlp
from mamori.service.hub_collections import add_api_root, add_collection
from mamori.service.hub_members import add_organisation
from mamori.service.intel_import import BundleInput, ListInput, import_source, read_source
from mamori.store.hub_models import TaxiiObject

INTEL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "intel"
OFAC_2024, OFAC_2025 = INTEL / "ofac_sdn_2024-09-27", INTEL / "ofac_sdn_2025-11-19"
FBI_CSV = INTEL / "fbi_psa250226_bybit" / "eth_addresses.csv"
BUNDLES = sorted((INTEL / "stix").glob("*.json"))
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
COLLECTION = "5d0f2b8e-6a5c-4f0e-9b1e-2a7c3d4e5f60"
ORG_IDENTITY = "identity--8f7c1c2e-3d4b-4e5f-9a6b-7c8d9e0f1a2b"
_O = TaxiiObject.__table__.c


@pytest.fixture
def hub(engine: Engine) -> Engine:
    with engine.begin() as connection:
        add_organisation(connection, "isac", "Example ISAC", ORG_IDENTITY, now_us=1_700_000_000_000_000)
        add_api_root(connection, "isac", "ISAC")
        add_collection(connection, "isac", "lists", now_us=0, default_tlp=Tlp.AMBER, collection_id=COLLECTION)
    return engine


def run(engine: Engine, path: Path, now: datetime = NOW) -> Any:
    source = read_source(path)
    with engine.begin() as connection:
        return import_source(connection, source, collection_id=COLLECTION, organisation_id="isac", now=now)


def latest(engine: Engine, stix_type: str) -> dict[str, dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(_O.stix_id, _O.document).where(_O.collection_id == COLLECTION, _O.stix_type == stix_type, _O.is_last)
        ).all()
    return {stix_id: orjson.loads(document) for stix_id, document in rows}


def eth_addresses(folder: Path) -> set[str]:
    lines = (folder / "sanctioned_addresses_ETH.txt").read_text().splitlines()
    return {line.strip().lower() for line in lines if line.strip() and not line.startswith("#")}


def test_ofac_2025_after_2024_revokes_exactly_the_delisted_eth_addresses(hub: Engine) -> None:
    first = run(hub, OFAC_2024)
    assert first.kind == "list" and first.name == "ofac-sdn" and first.version == "2024-09-27"
    assert first.refused == 0 and first.revoked == 0 and first.added == first.submitted
    # Any file of the snapshot stands for the whole snapshot.
    second = run(hub, OFAC_2025 / "sanctioned_addresses_ETH.txt", NOW + timedelta(days=1))
    delisted = eth_addresses(OFAC_2024) - eth_addresses(OFAC_2025)
    assert len(delisted) == 90
    assert second.revoked == 90 and second.refused == 0
    assert second.repeats == 3  # mamori's identity and extension definitions
    revoked = {
        wallet_stix.wallet_values_from_pattern(obj["pattern"])[0].lower()  # type: ignore[index]
        for obj in latest(hub, "indicator").values()
        if obj.get("revoked") is True
    }
    assert revoked == delisted


def test_importing_the_same_list_twice_adds_nothing(hub: Engine) -> None:
    first = run(hub, OFAC_2025)
    again = run(hub, OFAC_2025, NOW + timedelta(hours=1))
    assert first.added == first.submitted > 1_000
    assert again.added == 0 and again.revoked == 0 and again.refused == 0
    assert again.repeats == again.submitted == 3  # only the definitions are submitted again


def test_the_fbi_list(hub: Engine) -> None:
    report = run(hub, FBI_CSV)
    assert (report.name, report.version) == ("fbi-psa250226-bybit", "2025-02-26")
    assert report.added == 3 + 51 * 3 and report.refused == 0
    indicators = latest(hub, "indicator")
    assert len(indicators) == 51
    assert {obj["created_by_ref"] for obj in indicators.values()} == {ORG_IDENTITY}
    assert run(hub, FBI_CSV.parent, NOW + timedelta(hours=1)).added == 0  # its folder is the same list


@pytest.mark.parametrize("path", BUNDLES, ids=[path.name for path in BUNDLES])
def test_oasis_bundles_round_trip(hub: Engine, path: Path) -> None:
    objects = orjson.loads(path.read_bytes())["objects"]
    report = run(hub, path)
    assert report.kind == "bundle" and report.refused == 0, report.reasons
    assert report.added + report.repeats == report.submitted == len(objects)
    with hub.connect() as connection:
        stored = connection.execute(
            select(_O.stix_id, _O.version_us, _O.document).where(_O.collection_id == COLLECTION)
        ).all()
    documents = [orjson.loads(document) for _, _, document in stored]
    assert all(obj in documents for obj in objects)  # each object kept as submitted
    assert len(stored) == report.added
    # Again: only the SCOs without a stated time get a new version (theirs is their date_added, TAXII 2.1 §3.2).
    unversioned = [obj for obj in objects if "modified" not in obj and "created" not in obj]
    assert run(hub, path).added == len(unversioned)


def test_a_refused_object_does_not_stop_the_others(hub: Engine, tmp_path: Path) -> None:
    objects = orjson.loads((INTEL / "stix" / "oasis_poisonivy.json").read_bytes())["objects"]
    broken = {**objects[1], "id": f"{objects[1]['type']}--not-a-uuid"}
    path = tmp_path / "bundle.json"
    path.write_bytes(orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [broken, *objects]}))
    report = run(hub, path)
    assert report.refused == 1 and report.added == len(objects)
    assert report.reasons[0].startswith(f"{broken['id']}: STIX_ID_INVALID")


@pytest.mark.parametrize(
    ("content", "name", "code"),
    [
        (None, "missing.json", "INPUT_UNREADABLE"),
        (b'{"type": "bundle", "objects": [', "broken.json", "JSON_INVALID"),
        (b'{"type": "report"}', "report.json", "INTEL_SOURCE_UNKNOWN"),
        (b'{"type": "bundle", "objects": {}}', "odd.json", "INTEL_SOURCE_UNKNOWN"),
        (b"0x47666fab8bd0ac7003bce3f5c3585383f09486e2\n", "addresses.txt", "INTEL_SOURCE_UNKNOWN"),
    ],
)
def test_a_source_that_cannot_be_read_is_an_error(tmp_path: Path, content: bytes | None, name: str, code: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(MamoriError) as caught:
        read_source(path)
    assert caught.value.code == code
    with pytest.raises(MamoriError) as empty:
        read_source(tmp_path)  # a folder with no list
    assert empty.value.code == "INTEL_SOURCE_UNKNOWN"


def test_sources_are_recognised_by_what_they_hold() -> None:
    assert isinstance(read_source(OFAC_2024), ListInput)
    assert isinstance(read_source(FBI_CSV), ListInput)
    assert isinstance(read_source(INTEL / "stix" / "oasis_apt1.json"), BundleInput)


def test_unknown_collection_or_organisation(hub: Engine) -> None:
    source = read_source(FBI_CSV)
    for collection, organisation in ((str(uuid.uuid4()), "isac"), (COLLECTION, "nobody")):
        with pytest.raises(MamoriError) as caught, hub.begin() as connection:
            import_source(connection, source, collection_id=collection, organisation_id=organisation, now=NOW)
        assert caught.value.code == "NOT_FOUND"
