"""`mamori verify psbt` as a user runs it: base64 or hex argument, @file in binary, stdin, --wallet as a descriptor
or a wallet file, --json, --batch, and the exit codes (0 may sign, 1 blocked, 2 not a PSBT)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

from embit.psbt import PSBT

from support.psbt_corpus import cosigners, descriptor, psbts

MAMORI = [sys.executable, "-m", "mamori.cli.main", "verify", "psbt"]
DESCRIPTOR = descriptor(cosigners())
CORPUS = list(psbts(3))
VECTORS = json.loads((Path(__file__).parents[3] / "shared" / "data" / "psbt" / "bip174_vectors.json").read_text())


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*MAMORI, *args], input=stdin, capture_output=True, check=False, timeout=120)


def test_base64_with_the_wallet_as_a_descriptor() -> None:
    result = run(base64.b64encode(CORPUS[0]).decode(), "--wallet", DESCRIPTOR, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"] == "ok" and report["outputs"][-1]["role"] == "change"
    assert report["fee"] == PSBT.parse(CORPUS[0]).fee()


def test_binary_file_hex_and_stdin_read_alike(tmp_path: Path) -> None:
    binary = tmp_path / "withdrawal.psbt"
    binary.write_bytes(CORPUS[1])
    wallets = tmp_path / "wallets.yaml"
    wallets.write_text(f'wallets:\n  - {{name: cold-1, descriptor: "{DESCRIPTOR}"}}\n', encoding="utf-8")
    reports = [
        run(f"@{binary}", "--wallet", str(wallets), "--json"),
        run(CORPUS[1].hex(), "--wallet", str(wallets), "--json"),
        run("-", "--wallet", str(wallets), "--json", stdin=base64.b64encode(CORPUS[1])),
    ]
    assert all(r.returncode == 0 for r in reports), [r.stderr for r in reports]
    bodies = [json.loads(r.stdout) for r in reports]
    assert bodies[0] == bodies[1] == bodies[2]
    assert bodies[0]["outputs"][-1]["wallet"] == "cold-1"
    assert [(item["wallet"], item["branch"]) for item in bodies[0]["inputs"]] == [("cold-1", 0)] * len(
        bodies[0]["inputs"]
    )


def test_the_human_view_names_the_destinations() -> None:
    result = run(base64.b64encode(CORPUS[0]).decode(), "--wallet", DESCRIPTOR, "--lang", "en")
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode()
    peer = PSBT.parse(CORPUS[0])
    assert peer.tx.vout[0].script_pubkey.address() in text and "change" in text
    assert "wallet 1 0/" in text and "wallet 1 1/" in text  # the inputs' and the change's wallet and path


def test_coins_of_another_wallet_exit_1() -> None:
    other = DESCRIPTOR.replace("/<0;1>/*", "/<2;3>/*")  # the same keys, branches this wallet never used
    result = run(base64.b64encode(CORPUS[0]).decode(), "--wallet", other, "--json")
    assert result.returncode == 1, result.stderr
    codes = [item["code"] for item in json.loads(result.stdout)["findings"]]
    assert "INPUT_NOT_OURS" in codes and "CHANGE_NOT_OURS" in codes


def test_signer_check_failures_exit_1_and_malformed_psbts_exit_2() -> None:
    failing = next(v for v in VECTORS["valid"] if v.get("fails_signer_checks"))
    assert run(failing["base64"], "--json").returncode == 1
    invalid = run(VECTORS["invalid"][0]["base64"])
    assert invalid.returncode == 2 and b"error PSBT_" in invalid.stderr and "エラー".encode() in invalid.stderr
    assert run("not a psbt").returncode == 2


def test_batch_one_result_per_line(tmp_path: Path) -> None:
    lines = [json.dumps(base64.b64encode(data).decode()) for data in CORPUS]
    lines.append(json.dumps({"psbt": VECTORS["invalid"][0]["base64"]}))
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("--batch", str(batch), "--wallet", DESCRIPTOR)
    results = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(results) == 4
    assert [r.get("verdict") for r in results[:3]] == ["ok", "ok", "ok"]
    assert results[3]["error"]["code"].startswith("PSBT_")
