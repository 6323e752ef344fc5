"""The member node's commands (cli/intel_sync.py) in a Typer group as cli/intel.py registers them: exit codes,
the bundle of sightings, and the errors (exit 2 through ``main``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from mamori.cli import intel_sync
from mamori.errors import MamoriError
from support.intel import MEDALLION_PASSWORD, MEDALLION_USER, Medallion, medallion_server, wallet_indicator

MEMBER = "identity--1b7a6b7e-6f0f-4f3a-8b5e-2f0c9d7e1a02"

group = typer.Typer()
group.command("sync")(intel_sync.sync_command)
group.command("sightings")(intel_sync.sightings_command)
group.command("share-sightings")(intel_sync.share_sightings_command)


def run(url: str, *arguments: str, **environment: str) -> Any:
    return CliRunner().invoke(group, list(arguments), env={"MAMORI_DATABASE_URL": url, **environment})


@pytest.fixture
def medallion(tmp_path: Path) -> Any:
    with medallion_server(tmp_path) as server:
        yield server


def test_sync_reads_secrets_from_the_environment_and_exits_1_on_refused_objects(
    engine: Engine, medallion: Medallion
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "postgresql":
        pytest.skip("the CLI opens its own engine from a URL: the test schema is not in it")  # SQLite covers it
    medallion.add([wallet_indicator("0x" + "11" * 20)], at="2026-03-03T02:00:01Z")
    secrets = {"MAMORI_HUB_USER": MEDALLION_USER, "MAMORI_HUB_PASSWORD": MEDALLION_PASSWORD}
    done = run(url, "sync", medallion.api_root, "--collection", medallion.collection_url, "--json", **secrets)
    assert done.exit_code == 0, done.output
    report = orjson.loads(done.stdout)
    assert (report["received"], report["stored"], report["refused"]) == (1, 1, [])
    bad = {**wallet_indicator("0x" + "22" * 20), "pattern": "[x"}
    medallion.add([bad], at="2026-03-03T02:00:02Z")
    refused = run(url, "sync", medallion.collection_url, **secrets)
    assert refused.exit_code == 1
    assert bad["id"] in refused.stdout
    wrong = run(url, "sync", medallion.collection_url, "--user", MEDALLION_USER, "--password", "nope")
    assert isinstance(wrong.exception, MamoriError) and wrong.exception.code == "INTEL_REMOTE_UNAUTHORISED"


def test_sightings_print_an_empty_bundle_without_blocked_withdrawals(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        pytest.skip("the CLI opens its own engine from a URL: the test schema is not in it")
    url = engine.url.render_as_string(hide_password=False)
    printed = run(url, "sightings", "--identity", MEMBER, "--json")
    assert printed.exit_code == 0, printed.output
    bundle = orjson.loads(printed.stdout)
    assert bundle["type"] == "bundle" and bundle["objects"] == []
    bad_time = run(url, "sightings", "--identity", MEMBER, "--since", "yesterday")
    assert isinstance(bad_time.exception, MamoriError) and bad_time.exception.code == "USAGE_INVALID"


def test_sync_every_keeps_pulling_from_a_mamori_hub_and_survives_a_failed_round(tmp_path: Path) -> None:
    from mamori.store.database import create_engine
    from support.hub import ROOT, make_hub, served

    hub = make_hub(create_engine(f"sqlite:///{tmp_path / 'hub.db'}"))
    green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
    first = {**wallet_indicator("0x" + "33" * 20), "object_marking_refs": [green]}
    assert hub.post("exa", hub.shared, [first]).status_code == 202
    member = f"sqlite:///{tmp_path / 'member.db'}"
    with served(hub) as base:
        collection = f"{base}/taxii2/{ROOT}/collections/{hub.shared}/"
        pulled = run(member, "sync", collection, "--every", "0.1", "--rounds", "2", "--json",
                     MAMORI_HUB_TOKEN=hub.tokens["exc"])  # fmt: skip
        assert pulled.exit_code == 0, pulled.output
        reports = [orjson.loads(line) for line in pulled.stdout.splitlines()]
        assert [(r["received"], r["stored"]) for r in reports] == [(1, 1), (0, 0)]  # the second resumes after it
        failing = run(member, "sync", collection, "--every", "0.1", "--rounds", "2", MAMORI_HUB_TOKEN="mk_no_no")  # noqa: S106
    assert failing.exit_code == 0
    assert failing.stderr.count("error INTEL_REMOTE_UNAUTHORISED") == 2  # each round reported, the loop went on
