"""The `mamori verify evm-tx` command as a user runs it: hex argument, @file, stdin, --json, --batch, exits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "evm" / "published_vectors.json").read_text("utf-8"))
BY_ID = {v["id"]: v for v in VECTORS["transactions"]}
EIP155 = BY_ID["eip155-example"]
LIVE_1559 = BY_ID["alloy-live-1559-mainnet"]
BAD_RLP = next(v for v in VECTORS["invalid"] if v.get("error") == "RLP_INVALID")
MAMORI = [sys.executable, "-m", "mamori.cli.main", "verify", "evm-tx"]


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*MAMORI, *args], input=stdin, capture_output=True, check=False, timeout=120)


def test_eip155_example_json() -> None:
    result = run(EIP155["raw"], "--json", "--chain-id", "1")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["type"] == "legacy"
    assert report["chain_id"] == 1
    assert report["sender"] == EIP155["expected"]["sender"]
    assert report["signing_hash"] == EIP155["expected"]["signing_hash"]
    assert report["verdict"] == "ok"


def test_chain_mismatch_blocks_with_exit_1() -> None:
    result = run(EIP155["raw"], "--json", "--chain-id", "137")
    assert result.returncode == 1
    assert "CHAIN_ID_MISMATCH" in {f["code"] for f in json.loads(result.stdout)["findings"]}


def test_expected_sender(tmp_path: Path) -> None:
    raw_file = tmp_path / "tx.hex"
    raw_file.write_text(LIVE_1559["raw"] + "\n")
    ok = run(f"@{raw_file}", "--json", "--from", LIVE_1559["expected"]["sender"])
    assert json.loads(ok.stdout)["tx_hash"] == LIVE_1559["expected"]["tx_hash"]
    assert "SENDER_MISMATCH" not in ok.stdout.decode()
    wrong = run(f"@{raw_file}", "--json", "--from", "0x" + "11" * 20)
    assert wrong.returncode == 1
    assert "SENDER_MISMATCH" in wrong.stdout.decode()


def test_stdin_and_human_view() -> None:
    result = run("-", stdin=EIP155["raw"].encode())
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode()
    assert "No blocking findings" in text
    assert "署名を止める検出事項はありません" in text


def test_bad_input_exit_2_and_nothing_on_stdout() -> None:
    for raw in (BAD_RLP["raw"], "0xzz", "0x05c0"):
        result = run(raw, "--json")
        assert result.returncode == 2, raw
        assert result.stdout == b""
        assert b"error " in result.stderr


def test_batch_mixes_good_and_bad_lines(tmp_path: Path) -> None:
    batch = tmp_path / "txs.jsonl"
    batch.write_text("\n".join([json.dumps(EIP155["raw"]), json.dumps({"raw": LIVE_1559["raw"]}), BAD_RLP["raw"]]))
    result = run("--batch", str(batch), "--chain-id", "1")
    assert result.returncode == 2
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["line"] for o in out] == [1, 2, 3]
    assert out[0]["sender"] == EIP155["expected"]["sender"]
    assert out[1]["tx_hash"] == LIVE_1559["expected"]["tx_hash"]
    assert out[2]["error"]["code"] == "RLP_INVALID"
