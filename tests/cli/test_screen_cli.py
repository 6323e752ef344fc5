"""`mamori screen` as a user runs it: real lists, --json, the human view, --batch, saved indexes, exit codes.

Driven through Typer's CliRunner on the command as main.py registers it (``app.command("screen")``).
"""

from __future__ import annotations

import json
import shutil
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


# --- M6: never silently screen against an older list --------------------------------------------------------


def _refused(args: list[str]) -> str:
    code, out, err = run(*args, "--json")
    assert (code, out) == (2, ""), (args, out)
    assert json.loads(err.splitlines()[-1])["error"]["code"] == "LIST_VERSION_OLDER", err
    return err


def test_an_older_snapshot_never_replaces_a_newer_one(tmp_path: Path) -> None:
    saved = tmp_path / "new.idx"
    assert run("--ofac", OFAC_2025, "--save-index", str(saved))[0] == 0
    err = _refused([TORNADO_100_ETH, "--index", str(saved), "--ofac", OFAC_2024])
    assert "2024-09-27" in err and "2025-11-19" in err and "リスト ofac-sdn" in err
    # The same through --intel, from a data folder whose only snapshot is the older one.
    intel = tmp_path / "intel"
    intel.mkdir()
    shutil.copytree(OFAC_2024, intel / "ofac_sdn_2024-09-27")
    _refused([TORNADO_100_ETH, "--index", str(saved), "--intel", str(intel)])
    # And between two file sources: --intel's newest snapshot, then an older one with --ofac.
    _refused([TORNADO_100_ETH, "--intel", str(INTEL), "--ofac", OFAC_2024])
    # The same version again is no replacement by an older one.
    assert run(TORNADO_100_ETH, "--index", str(saved), "--ofac", OFAC_2025)[0] == 0


def test_versions_that_are_not_dates_replace_only_when_named_explicitly(tmp_path: Path) -> None:
    saved = tmp_path / "fbi-txt.idx"
    assert run("--fbi", FBI_TXT, "--save-index", str(saved))[0] == 0  # version sha256:…, not a date
    # --intel picks the FBI CSV (version 2025-02-26): a digest and a date cannot be ordered.
    _refused([FBI_ADDRESS, "--index", str(saved), "--intel", str(INTEL)])
    # Named explicitly on the command line after the index, a list of another version replaces it.
    code, out, _ = run(
        FBI_ADDRESS, "--index", str(saved), "--fbi", str(INTEL / "fbi_psa250226_bybit" / "eth_addresses.csv"), "--json"
    )
    assert code == 1
    assert [(i["name"], i["version"]) for i in json.loads(out)["lists"]] == [("fbi-psa250226-bybit", "2025-02-26")]
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text(FBI_ADDRESS + "\n")
    second.write_text(CLEAN + "\n")
    own = tmp_path / "own.idx"
    assert run("--list", f"own={first}", "--save-index", str(own))[0] == 0
    assert run(FBI_ADDRESS, "--index", str(own), "--list", f"own={second}")[0] == 0  # explicit: replaced


def test_intel_passes_over_an_incomplete_newest_snapshot(tmp_path: Path) -> None:
    intel = tmp_path / "intel"
    intel.mkdir()
    shutil.copytree(OFAC_2025, intel / "ofac_sdn_2025-11-19")
    partial = intel / "ofac_sdn_2026-01-05"  # still being written: ETH only, XBT empty
    partial.mkdir()
    shutil.copy(Path(OFAC_2025) / "sanctioned_addresses_ETH.txt", partial)
    (partial / "sanctioned_addresses_XBT.txt").write_text("")
    code, out, _ = run("TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq", "--intel", str(intel), "--json")
    assert code == 1
    [listed] = json.loads(out)["lists"]
    assert (listed["name"], listed["version"]) == ("ofac-sdn", "2025-11-19")
    assert [item["folder"] for item in listed["skipped_snapshots"]] == ["ofac_sdn_2026-01-05"]
    assert "sanctioned_addresses_XBT" in listed["skipped_snapshots"][0]["reason"]
    code, out, _ = run("TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq", "--intel", str(intel), "--lang", "en")
    assert "snapshot folder ofac_sdn_2026-01-05 passed over" in out
    # Complete once its XBT file is there: then it is the newest and is taken.
    shutil.copy(Path(OFAC_2025) / "sanctioned_addresses_XBT.txt", partial)
    code, out, _ = run(CLEAN, "--intel", str(intel), "--json")
    assert [(i["version"], i["skipped_snapshots"]) for i in json.loads(out)["lists"]] == [("2026-01-05", [])]
    # With no complete snapshot at all, --intel refuses rather than screen without OFAC.
    shutil.rmtree(intel / "ofac_sdn_2025-11-19")
    (partial / "sanctioned_addresses_XBT.txt").unlink()
    code, out, err = run(CLEAN, "--intel", str(intel))
    assert (code, out) == (2, "")
    assert "error USAGE_INVALID" in err and "no complete ofac_sdn_<date> snapshot" in err
