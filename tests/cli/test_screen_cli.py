"""`mamori screen` as a user runs it: real lists, --json, the human view, --batch, saved indexes, exit codes.

Driven through Typer's CliRunner on the command as main.py registers it (``app.command("screen")``).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from mamori.cli.screen import screen_command

INTEL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "intel"
OFAC_2024, OFAC_2025 = str(INTEL / "ofac_sdn_2024-09-27"), str(INTEL / "ofac_sdn_2025-11-19")
FBI_TXT = str(INTEL / "fbi_psa250226_bybit" / "eth_addresses.txt")
TORNADO_100_ETH = "0xA160cdAB225685dA1d56aa342Ad8841c3b53f291"
FBI_ADDRESS = "0x51E9d833Ecae4E8D9D8Be17300AEE6D3398C135D"
CLEAN = "0x" + "00" * 19 + "01"

app = typer.Typer()
app.command("screen")(screen_command)


@app.callback()
def _root() -> None:
    """A group, as in main.py, so that the command is invoked by its name."""


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    # MAMORI_INTEL_DIR would add lists to every run: unset it.
    result = CliRunner(env={"MAMORI_INTEL_DIR": None}).invoke(app, ["screen", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_listed_address_exits_1_with_provenance() -> None:
    code, out, _ = run(TORNADO_100_ETH.lower(), CLEAN, "--ofac", OFAC_2024, "--fbi", FBI_TXT, "--json")
    assert code == 1
    document = json.loads(out)
    assert [item["name"] for item in document["lists"]] == ["fbi-psa250226-bybit", "ofac-sdn"]
    listed, clean = document["results"]
    assert {k: listed[k] for k in ("address", "family", "normalised")} == {
        "address": TORNADO_100_ETH.lower(),
        "family": "evm",
        "normalised": TORNADO_100_ETH.lower(),
    }
    assert listed["hits"] == [
        {"list": "ofac-sdn", "version": "2024-09-27", "asset": "ETH", "listed_as": TORNADO_100_ETH}
    ]
    assert (clean["hits"], clean["verdict"]) == ([], "ok")


def test_delisted_address_is_clear_on_the_newer_snapshot() -> None:
    code, out, _ = run(TORNADO_100_ETH, "--ofac", OFAC_2025, "--json")
    assert code == 0
    assert json.loads(out)["results"][0]["hits"] == []


def test_later_source_of_the_same_list_replaces_the_earlier(tmp_path: Path) -> None:
    saved = tmp_path / "old.idx"
    code, out, _ = run("--ofac", OFAC_2024, "--save-index", str(saved))
    assert code == 0
    assert "2024-09-27" in out  # the table of what was saved
    assert run(TORNADO_100_ETH, "--index", str(saved))[0] == 1
    assert run(TORNADO_100_ETH, "--index", str(saved), "--ofac", OFAC_2025)[0] == 0  # revoked by the newer one


def test_intel_folder_loads_the_newest_snapshot_and_the_fbi_list() -> None:
    code, out, _ = run(FBI_ADDRESS.lower(), "--intel", str(INTEL), "--json")
    env_result = CliRunner(env={"MAMORI_INTEL_DIR": str(INTEL)}).invoke(app, ["screen", FBI_ADDRESS, "--json"])
    assert env_result.exit_code == 1
    assert code == 1
    document = json.loads(out)
    assert [(item["name"], item["version"]) for item in document["lists"]] == [
        ("fbi-psa250226-bybit", "2025-02-26"),
        ("ofac-sdn", "2025-11-19"),
    ]
    assert document["results"][0]["hits"][0]["listed_as"] == FBI_ADDRESS


def test_human_view_is_bilingual() -> None:
    code, out, _ = run("TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq", CLEAN, "--ofac", OFAC_2025)
    assert code == 1
    for text in (
        "LISTED: do not send",
        "掲載あり",
        "not listed",
        "掲載なし",
        "ofac-sdn",
        "2025-11-19",
        "XBT",
        "照合したリスト",
    ):
        assert text in out, text
    assert "another chain than the asset label" in out  # the XBT file's TRON address
    code, out, _ = run(CLEAN, "--ofac", OFAC_2025, "--lang", "ja")
    assert code == 0
    assert "掲載なし" in out
    assert "not listed" not in out


def test_custom_list_and_notes(tmp_path: Path) -> None:
    listed = tmp_path / "isac.txt"
    listed.write_text("bc1q05aktddf9ce4p7hh3stgsf253m4vweu7nkhtmw\n")
    code, out, _ = run("BC1Q05AKTDDF9CE4P7hh3stgsf253m4vweu7nkhtmw", "--list", f"isac={listed}", "--json")
    assert code == 1
    [result] = json.loads(out)["results"]
    assert [note["code"] for note in result["notes"]] == ["BECH32_MIXED_CASE"]
    assert result["hits"][0]["list"] == "isac"


def test_stdin_addresses() -> None:
    code, out, _ = run("-", "--fbi", FBI_TXT, "--json", stdin=f"{CLEAN}\n\n{FBI_ADDRESS}\n")
    assert code == 1
    assert [len(r["hits"]) for r in json.loads(out)["results"]] == [0, 1]


def test_batch_mixes_good_and_bad_lines(tmp_path: Path) -> None:
    batch = tmp_path / "addresses.jsonl"
    batch.write_text(
        "\n".join(
            [
                json.dumps(CLEAN),
                json.dumps({"address": FBI_ADDRESS, "chain": "ETH"}),
                FBI_ADDRESS.lower(),
                '{"address": 5}',
                "{broken",
                "",
            ]
        )
    )
    code, out, _ = run("--batch", str(batch), "--fbi", FBI_TXT)
    assert code == 2  # a bad line makes the run's exit 2, after every line was answered
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["line"] for line in lines] == [1, 2, 3, 4, 5]
    assert [line.get("verdict") for line in lines[:3]] == ["ok", "blocked", "blocked"]
    assert lines[1]["chain"] == "ethereum"
    assert lines[3]["error"]["code"] == "RECORD_SHAPE_INVALID"
    assert lines[4]["error"]["code"] == "JSON_INVALID"


def test_bad_input_exits_2_with_nothing_on_stdout(tmp_path: Path) -> None:
    cases = [
        ([CLEAN], "SCREENING_LIST_REQUIRED"),  # no list at all: never a silent "not listed"
        ([CLEAN, "--list", "no-equals-sign"], "USAGE_INVALID"),
        ([CLEAN, "--list", f"x={tmp_path / 'absent.txt'}"], "INPUT_UNREADABLE"),
        ([CLEAN, "--ofac", str(tmp_path)], "INPUT_UNREADABLE"),
        ([CLEAN, "--index", str(tmp_path / "absent.idx")], "INPUT_UNREADABLE"),
        ([CLEAN, "--intel", str(tmp_path)], "USAGE_INVALID"),
        ([CLEAN, "  ", "--fbi", FBI_TXT], "ADDRESS_EMPTY"),
        (["--fbi", FBI_TXT], "USAGE_INVALID"),
        ([CLEAN, "--fbi", FBI_TXT, "--lang", "fr"], "USAGE_INVALID"),
        ([CLEAN, "--fbi", FBI_TXT, "--batch", str(tmp_path / "b.jsonl")], "USAGE_INVALID"),
    ]
    for args, expected in cases:
        code, out, err = run(*args, "--json")
        assert (code, out) == (2, ""), args
        assert f"error {expected}" in err, (args, err)
        assert json.loads(err.splitlines()[-1])["error"]["code"] == expected


def test_unknown_option_is_a_usage_error() -> None:
    code, out, _ = run(CLEAN, "--no-such-option")
    assert (code, out) == (2, "")
