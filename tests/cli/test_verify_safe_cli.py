"""The `mamori verify safe-tx` command as a user runs it: a real process, real files, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BYBIT = ROOT.parent / "shared" / "data" / "safe" / "bybit-safe-tx-71.json"
if not BYBIT.exists():  # the copy shipped in the package, with the same bytes
    BYBIT = ROOT / "src" / "mamori" / "content" / "samples" / "bybit-safe-tx-71.json"
MAMORI = [sys.executable, "-m", "mamori.cli.main"]
OWNERS = [
    "0x1F4EB0a903619ac168b19A82F1a6e2e426522211",
    "0x3Cc3A225769900e003E264dd4CB43E90896BC21A",
    "0xe3dF2cCEAc61B1aFA311372ecC5B40A3A6585a9E",
]


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*MAMORI, *args], input=stdin, capture_output=True, check=False, timeout=120)


def bybit() -> list[dict[str, object]]:
    return json.loads(BYBIT.read_text())["results"]


def test_bybit_list_response_blocks_with_exact_hashes() -> None:
    result = run("verify", "safe-tx", str(BYBIT), "--safe-version", "1.1.1", "--json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    executed, displayed = document["results"]
    assert executed["safe_tx_hash"] == "0xb3476d061aeb8fc1d605a873c483a2402d88a68a9cdd1a8b47655dd55ba004f8"
    assert executed["domain_hash"] == "0xb3ded2bdbff5db1a87f6d551fa256e9f2bd6517a3bb84f4c2ea863fb3a559622"
    assert executed["message_hash"] == "0xea68fc75e93bf7286b1257680ca8e2033bfadd8e1cb8a23f3ca18f1031ecf1e0"
    assert executed["verdict"] == "blocked"
    critical = [f for f in executed["findings"] if f["severity"] == "critical"]
    assert [f["code"] for f in critical] == ["DELEGATECALL_UNTRUSTED"]
    assert critical[0]["message"]["ja"] and critical[0]["message"]["en"]
    assert executed["call"]["operation"] == "delegatecall"
    assert displayed["safe_tx_hash"] == "0x9d89e67333f99c136537be74029c44592985a4855172f4c2d0d942029868f98e"
    assert "SIGNATURE_MISMATCH" in {f["code"] for f in displayed["findings"]}
    assert displayed["call"]["kind"] == "native_transfer"
    assert displayed["call"]["value"] == str(30_000 * 10**18)


def test_json_has_the_documented_fields() -> None:
    record = json.dumps(bybit()[0]).encode()
    result = run("verify", "safe-tx", "-", "--safe-version", "1.1.1", "--json", stdin=record)
    report = json.loads(result.stdout)
    for key in (
        "safe",
        "chain_id",
        "safe_version",
        "nonce",
        "domain_hash",
        "message_hash",
        "safe_tx_hash",
        "eth_sign_digest",
        "call",
        "signatures",
        "findings",
        "verdict",
        "exec_transaction_calldata",
        "exec_transaction_calldata_hash",
    ):
        assert key in report, key
    assert report["eth_sign_digest"] == report["eth_sign_digest"].lower()
    recovered = [s["recovered"] for s in report["signatures"] if s["source"].startswith("signatures")]
    assert recovered == OWNERS
    # Without the operator's owners file nobody vouches for the signers: not verified, and it blocks.
    assert all(s["type"] == "eth_sign" and s["valid"] is None for s in report["signatures"])
    assert "SIGNER_UNVERIFIED" in {f["code"] for f in report["findings"]}


def test_a_safes_file_without_this_safe_is_refused(tmp_path: Path) -> None:
    safes = tmp_path / "safes.json"
    safes.write_text(json.dumps({"safes": [{"address": "0x" + "11" * 20, "version": "1.3.0"}]}))
    result = run("verify", "safe-tx", str(BYBIT), "--safes", str(safes), "--safe-version", "1.1.1")
    assert result.returncode == 2
    assert b"SAFE_NOT_IN_FILE" in result.stderr
    assert result.stdout == b""


def test_owners_file_makes_signatures_checkable(tmp_path: Path) -> None:
    safes = tmp_path / "safes.yaml"
    # Unquoted 0x… addresses must stay text, not become YAML hex integers.
    owners = "\n".join(f"      - {owner}" for owner in [*OWNERS, "0x000000000000000000000000000000000000dEaD"])
    safes.write_text(
        f"safes:\n  - address: 0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4\n    chain_id: 1\n"
        f"    version: 1.1.1\n    threshold: 3\n    owners:\n{owners}\n"
    )
    record = json.dumps(bybit()[0]).encode()
    result = run("verify", "safe-tx", "-", "--safes", str(safes), "--json", stdin=record)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["safe_version"] == "1.1.1"
    assert all(s["valid"] is True for s in report["signatures"])
    assert "QUORUM_NOT_MET" not in {f["code"] for f in report["findings"]}


def test_conflicting_version_is_an_error(tmp_path: Path) -> None:
    safes = tmp_path / "safes.json"
    safes.write_text(
        json.dumps({"safes": [{"address": "0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4", "version": "1.3.0"}]})
    )
    result = run("verify", "safe-tx", str(BYBIT), "--safes", str(safes), "--safe-version", "1.1.1")
    assert result.returncode == 2
    assert b"CONTEXT_CONFLICT" in result.stderr
    assert result.stdout == b""


def test_missing_version_is_refused_with_a_hint() -> None:
    result = run("verify", "safe-tx", str(BYBIT))
    assert result.returncode == 2
    assert b"SAFE_VERSION_REQUIRED" in result.stderr
    assert b"1.1.1" in result.stderr  # the hint names the versions that reproduce the claimed hash
    assert result.stdout == b""


@pytest.mark.parametrize(
    ("mutation", "code"),
    [
        ({"to": "0x96221423681A6d52E184D440a8eFCEbB105C7243"}, b"ADDRESS_CHECKSUM_INVALID"),
        ({"value": 1.5}, b"FIELD_TYPE_INVALID"),
        ({"value": "-1"}, b"INTEGER_INVALID"),
        ({"data": "0xabc"}, b"HEX_INVALID"),
        ({"operation": 256}, b"INTEGER_OUT_OF_RANGE"),
        ({"safe": None}, b"FIELD_MISSING"),
    ],
)
def test_bad_fields_exit_2_with_a_code(mutation: dict[str, object], code: bytes) -> None:
    record = {**bybit()[0], **mutation}
    result = run("verify", "safe-tx", "-", "--safe-version", "1.1.1", "--json", stdin=json.dumps(record).encode())
    assert result.returncode == 2
    assert code in result.stderr
    assert result.stdout == b""


def test_not_json_is_refused() -> None:
    result = run("verify", "safe-tx", "-", "--safe-version", "1.1.1", stdin=b"{not json")
    assert result.returncode == 2
    assert b"JSON_INVALID" in result.stderr
    assert "エラー".encode() in result.stderr


def test_fields_as_options_for_a_plain_transfer_exit_0() -> None:
    result = run(
        "verify",
        "safe-tx",
        "--safe",
        "0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4",
        "--to",
        "0x88a1493366D48225fc3cEFbdae9eBb23E323Ade3",
        "--value",
        "30000000000000000000000",
        "--nonce",
        "71",
        "--safe-tx-gas",
        "45745",
        "--safe-version",
        "1.1.1",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["safe_tx_hash"] == "0x9d89e67333f99c136537be74029c44592985a4855172f4c2d0d942029868f98e"
    assert report["verdict"] == "ok"


def test_human_view_shows_device_groups_in_both_languages() -> None:
    result = run("verify", "safe-tx", str(BYBIT), "--safe-version", "1.1.1")
    assert result.returncode == 1
    text = result.stdout.decode()
    assert "B347 6D06 1AEB 8FC1" in text
    assert "DELEGATECALL_UNTRUSTED" in text
    assert "署名しないでください" in text
    assert "DO NOT SIGN" in text


def test_batch_goes_on_after_a_bad_line_and_keeps_order(tmp_path: Path) -> None:
    executed, displayed = bybit()
    plain = {k: v for k, v in displayed.items() if k not in ("confirmations", "signatures")}
    lines = [
        json.dumps(executed),
        "{broken",
        json.dumps(plain),
        json.dumps({**plain, "to": "0x88A1493366D48225fc3cEFbdae9eBb23E323Ade3"}),  # checksum broken
    ]
    batch = tmp_path / "in.jsonl"
    batch.write_text("\n".join(lines) + "\n")
    result = run("verify", "safe-tx", "--batch", str(batch), "--safe-version", "1.1.1")
    assert result.returncode == 2
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [item["line"] for item in out] == [1, 2, 3, 4]
    assert out[0]["verdict"] == "blocked"
    assert out[1]["error"]["code"] == "JSON_INVALID"
    assert out[2]["verdict"] == "ok"
    assert out[2]["safe_tx_hash"] == "0x9d89e67333f99c136537be74029c44592985a4855172f4c2d0d942029868f98e"
    assert out[3]["error"]["code"] == "ADDRESS_CHECKSUM_INVALID"
    assert out[3]["error"]["message"]["ja"]


def test_a_batch_line_cannot_choose_its_own_version(tmp_path: Path) -> None:
    plain = {k: v for k, v in bybit()[1].items() if k not in ("confirmations", "signatures")}
    batch = tmp_path / "in.jsonl"
    batch.write_text(json.dumps({**plain, "safe_version": "1.1.1", "chain_id": 1}) + "\n")
    result = run("verify", "safe-tx", "--batch", str(batch))
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"]["code"] == "SAFE_VERSION_REQUIRED"


def test_batch_of_valid_lines_exits_by_verdict(tmp_path: Path) -> None:
    displayed = bybit()[1]
    plain = {k: v for k, v in displayed.items() if k not in ("confirmations", "signatures")}
    batch = tmp_path / "ok.jsonl"
    batch.write_text(json.dumps(plain) + "\n")
    result = run("verify", "safe-tx", "--batch", str(batch), "--safe-version", "1.1.1")
    assert result.returncode == 0, result.stdout


def test_demo_replays_bybit() -> None:
    result = run("demo", "--bybit-replay", "--lang", "en")
    assert result.returncode == 0, result.stderr
    assert b"DELEGATECALL_UNTRUSTED" in result.stdout
    assert b"SIGNATURE_MISMATCH" in result.stdout


def test_usage_error_exits_2() -> None:
    assert run("verify", "safe-tx", "--no-such-option").returncode == 2
    assert run("verify", "safe-tx", "--batch", "/nonexistent/file.jsonl").returncode == 2
