"""`mamori intel import` as an operator runs it: real lists and bundles, text and --json reports, exit codes 0/1/2,
and nothing stored when a source cannot be read. Driven through Typer's CliRunner on the group as main.py registers
it (``app.add_typer(intel.app, name="intel")``); on SQLite, and on PostgreSQL with ``MAMORI_TEST_DATABASE_URL``."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import orjson
import pytest
import typer
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from mamori.cli import intel
from mamori.service.hub_collections import add_api_root, add_collection
from mamori.service.hub_members import add_organisation
from mamori.store.hub_models import TaxiiObject
from support.processes import child_url

INTEL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "intel"
OFAC_2024, OFAC_2025 = str(INTEL / "ofac_sdn_2024-09-27"), str(INTEL / "ofac_sdn_2025-11-19")
FBI_TXT = str(INTEL / "fbi_psa250226_bybit" / "eth_addresses.txt")
APT1 = str(INTEL / "stix" / "oasis_apt1.json")
COLLECTION = "0b7e3f2a-9c4d-4e8f-a1b2-c3d4e5f6a7b8"

app = typer.Typer()
app.add_typer(intel.app, name="intel")


@pytest.fixture
def url(engine: Engine, database) -> str:
    with engine.begin() as connection:
        add_organisation(connection, "isac", "Example ISAC", f"identity--{uuid.uuid4()}", now_us=0)
        add_api_root(connection, "isac", "ISAC")
        add_collection(connection, "isac", "lists", now_us=0, collection_id=COLLECTION)
    return child_url(database)


def run(url: str, *args: str) -> tuple[int, str, str]:
    arguments = ["intel", "import", *args, "--collection", COLLECTION, "--organisation", "isac"]
    result = CliRunner(env={"MAMORI_DATABASE_URL": url}).invoke(app, arguments)
    return result.exit_code, result.stdout, result.stderr


def stored(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(func.count()).select_from(TaxiiObject).where(TaxiiObject.collection_id == COLLECTION)
        ).scalar_one()


def test_ofac_update_revokes_the_delisted_and_reports_in_json(url: str, engine: Engine) -> None:
    code, out, _ = run(url, OFAC_2024, "--json")
    assert code == 0
    (first,) = json.loads(out)["imports"]
    assert first["name"] == "ofac-sdn" and first["added"] == first["submitted"] == stored(engine)
    code, out, _ = run(url, OFAC_2025, "--json")
    assert code == 0
    (second,) = json.loads(out)["imports"]
    assert (second["revoked"], second["repeats"], second["refused"], second["reasons"]) == (90, 3, 0, [])
    code, out, _ = run(url, OFAC_2025, "--json")
    assert code == 0 and json.loads(out)["imports"][0]["added"] == 0


def test_text_report_of_several_sources(url: str) -> None:
    code, out, err = run(url, FBI_TXT, APT1)
    assert code == 0, err
    assert "list fbi-psa250226-bybit" in out and "156 objects: 156 added (0 revoked), 0 already held, 0 refused" in out
    assert "bundle bundle--" in out and "76 objects: 76 added" in out


def test_refused_objects_exit_1_with_reasons_and_the_others_are_stored(
    url: str, engine: Engine, tmp_path: Path
) -> None:
    objects = orjson.loads(Path(APT1).read_bytes())["objects"]
    bad = [{"type": "indicator", "id": f"indicator--{uuid.uuid4()}"} for _ in range(7)]
    bundle = tmp_path / "bundle.json"
    bundle.write_bytes(orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [*bad, *objects]}))
    code, out, _ = run(url, str(bundle))
    assert code == 1
    assert "7 refused" in out and out.count("  refused indicator--") == 5 and "… and 2 more refused" in out
    assert "STIX_PROPERTY_MISSING" in out
    assert stored(engine) == len(objects)


@pytest.mark.parametrize("as_json", [False, True])
def test_an_unreadable_source_exits_2_and_stores_nothing(
    url: str, engine: Engine, tmp_path: Path, as_json: bool
) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("not a list\n")
    code, out, err = run(url, FBI_TXT, str(other), *(["--json"] if as_json else []))
    assert code == 2 and out == ""
    assert "error INTEL_SOURCE_UNKNOWN" in err and "エラー INTEL_SOURCE_UNKNOWN" in err
    assert ('"code":"INTEL_SOURCE_UNKNOWN"' in err) is as_json
    assert stored(engine) == 0


def test_no_database_and_unknown_collection_exit_2(url: str) -> None:
    result = CliRunner(env={"MAMORI_DATABASE_URL": None}).invoke(
        app, ["intel", "import", FBI_TXT, "--collection", COLLECTION, "--organisation", "isac"]
    )
    assert result.exit_code == 2 and "USAGE_INVALID" in result.stderr
    result = CliRunner(env={"MAMORI_DATABASE_URL": url}).invoke(
        app, ["intel", "import", FBI_TXT, "--collection", str(uuid.uuid4()), "--organisation", "isac"]
    )
    assert result.exit_code == 2 and "NOT_FOUND" in result.stderr
