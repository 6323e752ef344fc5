"""``mamori hub …``: an operator sets up a hub from nothing with the commands alone, and members reach it over
TAXII with what the commands printed (token, HTTP Basic password, collection id) — in process, and as a real
``mamori hub serve`` process."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from mamori.cli.hub import hub_app_from_settings
from mamori.cli.main import app
from mamori.errors import MamoriError
from support.processes import child_url

TAXII = "application/taxii+json;version=2.1"
runner = CliRunner()


def run(*args: str, stdin: str | None = None) -> Any:
    result = runner.invoke(app, ["hub", *args], input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result


def set_up(url: str) -> dict[str, str]:
    db = ("--database", url)
    run("init", "--organisation", "isac", "--name", "Crypto ISAC", "--api-root", "isac", *db)
    run("organisation", "add", "exa", "--name", "Exchange A", *db)
    run("organisation", "add", "exb", "--name", "Exchange B", *db)
    token = orjson.loads(run("account", "add", "exa", "exa-bot", "--json", *db).stdout)["token"]
    run("account", "add", "exb", "exb-analyst", "--password-stdin", *db, stdin="a long enough passphrase\n")
    run("group", "add", "ab", "--name", "A and B", "--member", "exa", "--member", "exb", *db)
    made = orjson.loads(run("collection", "add", "isac", "wallets", "--group", "ab", "--json", *db).stdout)
    run("collection", "grant", made["id"], "exa", "--read", "--write", *db)
    run("collection", "grant", made["id"], "exb", "--read", *db)
    return {"token": token, "collection": made["id"]}


def test_an_operator_sets_up_a_hub_that_members_use(database) -> None:  # type: ignore[no-untyped-def]
    url = child_url(database)
    made = set_up(url)
    client = TestClient(hub_app_from_settings({"database": url}), base_url="https://hub.test")
    bearer = {"Authorization": f"Bearer {made['token']}", "Accept": TAXII}
    basic = {"Authorization": "Basic " + base64.b64encode(b"exb-analyst:a long enough passphrase").decode()}
    objects = client.get(f"/taxii2/isac/collections/{made['collection']}/objects/", headers=bearer)
    assert objects.status_code == 200 and objects.json() == {}
    indicator = {
        "type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2026-03-03T01:00:00.000Z", "modified": "2026-03-03T01:00:00.000Z", "pattern_type": "stix",
        "pattern": "[cryptocurrency-wallet:value = 'bc1qexample']", "valid_from": "2026-03-03T01:00:00.000Z",
    }  # fmt: skip
    posted = client.post(f"/taxii2/isac/collections/{made['collection']}/objects/", json={"objects": [indicator]},
                         headers={**bearer, "Content-Type": TAXII})  # fmt: skip
    assert posted.status_code == 202 and posted.json()["success_count"] == 1
    read = client.get(f"/taxii2/isac/collections/{made['collection']}/objects/", headers=basic)
    assert read.json()["objects"] == [indicator]  # AMBER by default; exb is in the sharing group
    outside = client.get("/v1/whoami", headers=bearer)
    assert outside.status_code == 404 and outside.json()["error_code"] == "ROUTE_NOT_FOUND"


def test_set_up_mistakes_are_refused_with_codes(database) -> None:  # type: ignore[no-untyped-def]
    url = child_url(database)
    made = set_up(url)
    db = ("--database", url)
    for args, code in [
        (("collection", "grant", "00000000-0000-4000-8000-000000000000", "exa", "--read", *db), "NOT_FOUND"),
        (("collection", "grant", made["collection"], "nobody", "--read", *db), "NOT_FOUND"),
        (("account", "add", "exa", "short", "--password-stdin", *db), "FIELD_TYPE_INVALID"),
        (("init", "--organisation", "isac2", "--name", "Another", "--api-root", "other", *db), "STATE_CONFLICT"),
        (("collection", "add", "isac", "x", "--default-tlp", "purple", *db), "FIELD_TYPE_INVALID"),
        (("organisation", "add", "exc", "--name", "C", "--identity", "indicator--x", *db), "FIELD_TYPE_INVALID"),
    ]:
        with pytest.raises(MamoriError) as raised:
            run(*args, stdin="too short\n")
        assert raised.value.code == code, args


def test_serve_refuses_a_database_without_a_hub(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    from mamori.store.database import create_engine, upgrade

    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    with pytest.raises(MamoriError) as raised:
        hub_app_from_settings({"database": url})
    assert raised.value.code == "USAGE_INVALID"


def self_signed(folder: Path) -> tuple[Path, Path]:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert, private = folder / "hub.pem", folder / "hub.key"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))  # fmt: skip
    return cert, private


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_mamori_hub_serve_answers_taxii(tmp_path: Path, tls: bool) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    made = set_up(url)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "mamori.cli.main", "hub", "serve", "--database", url, "--port", str(port)]
    scheme = "http"
    if tls:
        cert, key = self_signed(tmp_path)
        command += ["--tls-cert", str(cert), "--tls-key", str(key)]
        scheme = "https"
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(
                    f"{scheme}://127.0.0.1:{port}/taxii2/",
                    headers={"Authorization": f"Bearer {made['token']}"},
                    verify=False,  # noqa: S501 - the test's own self-signed certificate
                )
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, (
                    server.stderr.read() if server.stderr else ""
                )
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.headers["content-type"] == TAXII
        assert response.json()["api_roots"] == [f"{scheme}://127.0.0.1:{port}/taxii2/isac/"]
    finally:
        server.terminate()
        server.wait(10)
