"""`mamori attest verify` as a signer runs it: exit 0 valid, 1 do not sign (code and bilingual message on stdout),
2 bad input (code on stderr, nothing printed as valid). Runs the Typer app in process with CliRunner; a subprocess
test through `mamori.cli.main` comes once the group is registered there."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from typer.testing import CliRunner

from mamori.cli.attest import app
from mamori.guard.attestation import issue_attestation

GUARD = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()
RAW_PUBLIC = GUARD.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
PUBLIC_HEX = RAW_PUBLIC.hex()
NOW = datetime(2026, 11, 26, 3, 0, 0, tzinfo=UTC)
HASH = "0x" + "ab" * 32
TOKEN = issue_attestation(
    request_id="wd-2026-0001",
    chain="eip155:1",
    wallet="cold-eth-1",
    signing_hash=HASH,
    private_key=GUARD,
    now=NOW,
    ttl_seconds=300,
)
AT = "2026-11-26T03:01:00Z"

runner = CliRunner()


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    "key", [PUBLIC_HEX, "0x" + PUBLIC_HEX, PUBLIC_HEX.upper(), base64.b64encode(RAW_PUBLIC).decode()]
)
def test_valid_token_exits_0_with_any_key_spelling(key: str) -> None:
    code, out, _ = run("verify", TOKEN, "--public-key", key, "--now", AT)
    assert code == 0
    assert out.startswith("VALID")
    assert HASH in out
    assert "有効" in out
    assert "--signing-hash" in out  # without it, the signer is told to compare the hash


def test_valid_token_with_matching_hash_and_json() -> None:
    code, out, _ = run(
        "verify", TOKEN, "--public-key", PUBLIC_HEX, "--now", AT, "--signing-hash", HASH.upper()[2:], "--json"
    )
    assert code == 0
    document = json.loads(out)
    assert document["valid"] is True
    assert document["attestation"]["signing_hash"] == HASH
    assert document["attestation"]["request_id"] == "wd-2026-0001"
    assert document["attestation"]["expires_at"] == "2026-11-26T03:05:00Z"


def test_token_from_stdin() -> None:
    code, out, _ = run("verify", "-", "--public-key", PUBLIC_HEX, "--now", AT, stdin=TOKEN + "\n")
    assert code == 0
    assert out.startswith("VALID")


@pytest.mark.parametrize(
    ("args", "expected_code"),
    [
        (("--now", "2026-11-26T03:05:00Z"), "ATTESTATION_EXPIRED"),
        (("--now", "2026-11-26T11:59:59+09:00"), "ATTESTATION_NOT_YET_VALID"),
        (("--now", AT, "--signing-hash", "0x" + "cd" * 32), "ATTESTATION_HASH_MISMATCH"),
        (
            ("--now", AT, "--public-key", OTHER.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()),
            "ATTESTATION_INVALID",
        ),
    ],
)
def test_do_not_sign_exits_1_with_code_and_both_languages(args: tuple[str, ...], expected_code: str) -> None:
    base = ["verify", TOKEN]
    if "--public-key" not in args:
        base += ["--public-key", PUBLIC_HEX]
    code, out, _ = run(*base, *args)
    assert code == 1
    assert f"INVALID {expected_code}:" in out
    assert f"無効 {expected_code}:" in out
    assert not any(line.startswith("VALID") for line in out.splitlines())
    code, out, _ = run(*base, *args, "--json")
    assert code == 1
    document = json.loads(out)
    assert document["valid"] is False
    assert document["error"]["code"] == expected_code
    assert document["error"]["message"]["ja"]


@pytest.mark.parametrize("token", ["", "garbage", TOKEN + "x", TOKEN.replace(".", ""), TOKEN[::-1]])
def test_malformed_tokens_exit_1(token: str) -> None:
    code, out, _ = run("verify", token, "--public-key", PUBLIC_HEX, "--now", AT)
    assert code == 1
    assert "INVALID ATTESTATION_INVALID" in out


def test_non_ascii_stdin_is_an_invalid_token() -> None:
    code, out, _ = run("verify", "-", "--public-key", PUBLIC_HEX, "--now", AT, stdin="トークン")
    assert code == 1
    assert "ATTESTATION_INVALID" in out


@pytest.mark.parametrize(
    ("args", "error_code"),
    [
        (("--public-key", "abcd"), "FIELD_TYPE_INVALID"),
        (("--public-key", PUBLIC_HEX[:-2] + "zz"), "HEX_INVALID"),
        (("--public-key", PUBLIC_HEX, "--now", "2026-11-26T03:01:00"), "FIELD_TYPE_INVALID"),
        (("--public-key", PUBLIC_HEX, "--now", "yesterday"), "FIELD_TYPE_INVALID"),
        (("--public-key", PUBLIC_HEX, "--now", AT, "--signing-hash", "0x1234"), "HASH_INVALID"),
    ],
)
def test_bad_input_exits_2_with_code_on_stderr(args: tuple[str, ...], error_code: str) -> None:
    code, out, err = run("verify", TOKEN, *args, "--json")
    assert code == 2
    assert out == ""
    assert f"error {error_code}:" in err
    assert f"エラー {error_code}:" in err
    assert json.loads(err.splitlines()[-1])["error"]["code"] == error_code


def test_missing_public_key_is_a_usage_error() -> None:
    code, out, _ = run("verify", TOKEN)
    assert code == 2
    assert "VALID" not in out


def test_default_now_is_the_clock() -> None:
    fresh = issue_attestation(
        request_id="r",
        chain="eip155:1",
        wallet="w",
        signing_hash=HASH,
        private_key=GUARD,
        now=datetime.now(UTC) - timedelta(seconds=1),
        ttl_seconds=3600,
    )
    assert run("verify", fresh, "--public-key", PUBLIC_HEX)[0] == 0
    assert run("verify", TOKEN, "--public-key", PUBLIC_HEX)[0] == 1  # issued in 2026-11 for five minutes


def test_the_registered_command_as_a_signer_runs_it() -> None:
    """`mamori attest verify` through the real entry point, in its own process: 0 released, 1 not this hash."""
    import subprocess
    import sys
    from datetime import UTC, datetime

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from mamori.guard.attestation import issue_attestation

    guard = Ed25519PrivateKey.generate()
    public = guard.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    released = "0x" + "b3476d061aeb8fc1d605a873c483a2402d88a68a9cdd1a8b47655dd55ba004f8"
    token = issue_attestation(
        request_id="wd-1", chain="eip155:1", wallet="eth-cold-1", signing_hash=released, private_key=guard,
        now=datetime.now(UTC),
    )  # fmt: skip
    command = [sys.executable, "-m", "mamori.cli.main", "attest", "verify", token, "--public-key", public]
    ok = subprocess.run([*command, "--signing-hash", released], capture_output=True, check=False, timeout=60)
    assert ok.returncode == 0, ok.stderr
    other = "0x" + "9d89e67333f99c136537be74029c44592985a4855172f4c2d0d942029868f98e"
    refused = subprocess.run([*command, "--signing-hash", other], capture_output=True, check=False, timeout=60)
    assert refused.returncode == 1
    assert b"ATTESTATION_HASH_MISMATCH" in refused.stdout + refused.stderr
