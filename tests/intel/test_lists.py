"""List loaders on the real files in ../shared/data/intel (provenance: ../shared/data/MANIFEST.csv), and on
hostile input."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mamori.chains.addresses import Family
from mamori.errors import MamoriError
from mamori.intel.lists import (
    ListSource,
    check_replacement,
    find_fbi_lists,
    latest_ofac_directory,
    list_name_for,
    load_address_file,
    load_fbi_list,
    load_ofac_directory,
    missing_ofac_assets,
    newest_complete_ofac_directory,
)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
INTEL = SHARED / "intel"
OFAC_2024, OFAC_2025 = INTEL / "ofac_sdn_2024-09-27", INTEL / "ofac_sdn_2025-11-19"
FBI = INTEL / "fbi_psa250226_bybit"
MANIFEST = {row["file"]: row for row in csv.DictReader((SHARED / "MANIFEST.csv").open(encoding="utf-8"))}
TRON_IN_XBT = "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"


def test_fbi_list_has_51_ethereum_addresses() -> None:
    txt, table = load_fbi_list(FBI / "eth_addresses.txt"), load_fbi_list(FBI / "eth_addresses.csv")
    assert txt.report.entries == table.report.entries == 51
    assert txt.report.by_family == table.report.by_family == {"evm": 51}
    assert {e.normalised for e in txt.entries} == {e.normalised for e in table.entries}
    assert all(e.chain == "ethereum" and not e.notes for e in txt.entries + table.entries)
    # Provenance: a single file's digest is its plain SHA-256, the one MANIFEST.csv records.
    assert txt.source.sha256 == MANIFEST["intel/fbi_psa250226_bybit/eth_addresses.txt"]["sha256"]
    assert txt.source.version == "sha256:" + txt.source.sha256[:16]
    assert table.source.version == "2025-02-26"  # the CSV's 'published' column: the PSA's date
    assert table.report.by_asset == {"ethereum": 51}  # its 'chain' column is the asset label
    assert txt.source.name == "fbi-psa250226-bybit"


def test_ofac_eth_list_shrank_from_152_to_77() -> None:
    old, new = load_ofac_directory(OFAC_2024), load_ofac_directory(OFAC_2025)
    assert (old.source.version, new.source.version) == ("2024-09-27", "2025-11-19")
    assert old.report.by_asset["ETH"] == 152
    assert new.report.by_asset["ETH"] == 77
    # 2025 ships ETH as .txt and .json: both say the same, and each address counts once.
    assert "sanctioned_addresses_ETH.json" in new.report.files
    assert new.report.format_disagreements == ()
    assert new.report.duplicates == 77 + 517  # the ETH and XBT .json files repeat their .txt files
    for snapshot in (old, new):
        eth = [e for e in snapshot.entries if e.asset == "ETH"]
        assert all(e.family is Family.EVM and e.chain == "ethereum" for e in eth)
        assert sum(e.listed_as[2:] == e.listed_as[2:].lower() for e in eth) == 37  # no EIP-55 checksum
        assert not any(e.notes for e in eth)  # the mixed-case ones all pass EIP-55


def test_ofac_usdt_mixes_tron_evm_and_bitcoin() -> None:
    for snapshot in (OFAC_2024, OFAC_2025):
        usdt = [e for e in load_ofac_directory(snapshot).entries if e.asset == "USDT"]
        assert {e.chain for e in usdt} == {"tron", "evm", "bitcoin"}
        assert {e.family for e in usdt} == {Family.HASH, Family.EVM}  # TRON and Bitcoin keyed on their hash
        assert not any("ASSET_LABEL_MISMATCH" in e.notes for e in usdt)  # a token label names no chain


def test_ofac_xbt_holds_one_tron_address() -> None:
    for snapshot in (OFAC_2024, OFAC_2025):
        loaded = load_ofac_directory(snapshot)
        assert loaded.report.label_mismatches == (("XBT", TRON_IN_XBT),)
        [tron] = [e for e in loaded.entries if e.asset == "XBT" and e.chain == "tron"]
        assert tron.listed_as == TRON_IN_XBT


def test_ofac_report_counts_every_family_and_keeps_the_unrecognised() -> None:
    report = load_ofac_directory(OFAC_2025).report
    assert report.by_family == {
        "bech32": 139,
        "evm": 90,
        "hash": 519,  # 513 base58check (P2PKH, P2SH, TRON …) and 6 CashAddr, keyed on their hash
        "monero": 7,
        "other": 1,
        "solana": 1,
        "xrp": 1,
    }
    assert sum(report.by_family.values()) == report.entries == 758
    # The XMR file's 64-hex-digit line is no address form: kept, matched exactly, and shown.
    assert report.unrecognised == ("5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320",)
    assert report.notes == {"ASSET_LABEL_MISMATCH": 1, "FORM_UNRECOGNISED": 1}
    assert report.upstream_sha256 == "36c517bd264d8d97eff353eadd8d84427d5eb293505a8ce07271a5bc258c3117"
    assert load_ofac_directory(OFAC_2024).report.upstream_sha256 is None
    assert report.to_json()["label_mismatches"] == [{"asset": "XBT", "address": TRON_IN_XBT}]


def test_ofac_snapshot_digest_is_reproducible_from_the_manifest() -> None:
    loaded = load_ofac_directory(OFAC_2025)
    listing = "".join(
        f"{MANIFEST['intel/ofac_sdn_2025-11-19/' + name]['sha256']}  {name}\n" for name in sorted(loaded.report.files)
    )
    assert loaded.source.sha256 == hashlib.sha256(listing.encode()).hexdigest()


def test_version_falls_back_to_a_digest_and_can_be_given(tmp_path: Path) -> None:
    snapshot = tmp_path / "ofac_latest"
    snapshot.mkdir()
    (snapshot / "sanctioned_addresses_ETH.txt").write_text("0x4f47bc496083c727c5fbe3ce9cdf2b0f6496270c\n")
    assert load_ofac_directory(snapshot).source.version.startswith("sha256:")
    assert load_ofac_directory(snapshot, version="2026-01-01").source.version == "2026-01-01"


def test_data_folder_discovery() -> None:
    assert latest_ofac_directory(INTEL) == INTEL / "ofac_sdn_2025-11-19"
    assert find_fbi_lists(INTEL) == (FBI / "eth_addresses.csv",)
    assert list_name_for(FBI) == "fbi-psa250226-bybit"


def test_both_shipped_snapshots_are_complete() -> None:
    assert missing_ofac_assets(OFAC_2024) == missing_ofac_assets(OFAC_2025) == ()
    assert newest_complete_ofac_directory(INTEL) == (OFAC_2025, ())


def test_snapshot_discovery_passes_over_incomplete_and_undated_folders(tmp_path: Path) -> None:
    eth = "0x4f47bc496083c727c5fbe3ce9cdf2b0f6496270c\n"
    for name, files in {
        "ofac_sdn_2025-01-01": {"ETH.json": eth, "XBT.txt": "16iWn2J1McqjToYLHSsAyS6En3QA8YQ91H\n"},
        "ofac_sdn_2025-06-01": {"ETH.txt": eth},  # no XBT file
        "ofac_sdn_2025-07-01": {"ETH.txt": eth, "XBT.json": ""},  # XBT empty: cut short
        "ofac_sdn_latest": {"ETH.txt": eth, "XBT.txt": eth},  # no date: cannot be ordered
        "ofac_sdn_2025-13-01": {"ETH.txt": eth, "XBT.txt": eth},  # no such date
    }.items():
        (tmp_path / name).mkdir()
        for file, text in files.items():
            (tmp_path / name / f"sanctioned_addresses_{file}").write_text(text)
    chosen, skipped = newest_complete_ofac_directory(tmp_path)
    assert chosen == tmp_path / "ofac_sdn_2025-01-01"
    assert [name for name, _ in skipped] == [
        "ofac_sdn_2025-13-01",
        "ofac_sdn_latest",
        "ofac_sdn_2025-07-01",
        "ofac_sdn_2025-06-01",
    ]
    assert "XBT" in dict(skipped)["ofac_sdn_2025-06-01"] and "ETH" not in dict(skipped)["ofac_sdn_2025-06-01"]
    assert latest_ofac_directory(tmp_path) == chosen
    assert missing_ofac_assets(tmp_path / "ofac_sdn_2025-06-01") == ("XBT",)
    (tmp_path / "ofac_sdn_2025-01-01" / "sanctioned_addresses_XBT.txt").unlink()
    chosen, skipped = newest_complete_ofac_directory(tmp_path)
    assert chosen is None and len(skipped) == 5


@pytest.mark.parametrize(
    ("current", "new", "explicit", "allowed"),
    [
        (("2025-11-19", "a"), ("2024-09-27", "b"), True, False),  # an older date: never, even named explicitly
        (("2025-11-19", "a"), ("2024-09-27", "b"), False, False),
        (("2024-09-27", "a"), ("2025-11-19", "b"), False, True),  # a newer date: always
        (("2025-11-19", "a"), ("2025-11-19", "a"), False, True),  # the same list
        (("2025-11-19", "a"), ("2025-11-19", "b"), False, False),  # same date, other contents: only explicitly
        (("2025-11-19", "a"), ("2025-11-19", "b"), True, True),
        (("sha256:aa", "a"), ("sha256:bb", "b"), False, False),  # digests cannot be ordered
        (("sha256:aa", "a"), ("sha256:bb", "b"), True, True),
        (("sha256:aa", "a"), ("2025-02-26", "b"), False, False),  # a digest and a date neither
        (("2025-02-26", "a"), ("sha256:bb", "b"), True, True),
    ],
)
def test_replacement_rule(current: tuple[str, str], new: tuple[str, str], explicit: bool, allowed: bool) -> None:
    old_source, new_source = ListSource("ofac-sdn", *current), ListSource("ofac-sdn", *new)
    if allowed:
        check_replacement(old_source, new_source, explicit=explicit, origin="--ofac x")
        return
    with pytest.raises(MamoriError) as raised:
        check_replacement(old_source, new_source, explicit=explicit, origin="--ofac x")
    assert raised.value.code == "LIST_VERSION_OLDER"
    assert raised.value.details["current_version"] == current[0]


def test_generic_text_file(tmp_path: Path) -> None:
    listed = tmp_path / "shared.txt"
    listed.write_text(
        "\ufeff# industry shared indicators\n\n0x4F47BC496083C727C5FBE3CE9CDF2B0F6496270C\n"
        "  TA3941uFAvmVibSkQ6fMJXxmaSNovX86mz  \nnot an address\n0x4f47bc496083c727c5fbe3ce9cdf2b0f6496270c\n",
        encoding="utf-8",
    )
    loaded = load_address_file(listed, name="isac", asset="ETH")
    assert [e.listed_as for e in loaded.entries] == [
        "0x4F47BC496083C727C5FBE3CE9CDF2B0F6496270C",
        "TA3941uFAvmVibSkQ6fMJXxmaSNovX86mz",
        "not an address",
    ]
    report = loaded.report
    assert (report.entries, report.duplicates, report.skipped_lines) == (3, 1, 2)
    assert report.unrecognised == ("not an address",)
    assert report.label_mismatches == (("ETH", "TA3941uFAvmVibSkQ6fMJXxmaSNovX86mz"),)
    assert loaded.source.sha256 == hashlib.sha256(listed.read_bytes()).hexdigest()


def test_generic_csv_with_and_without_header(tmp_path: Path) -> None:
    with_header = tmp_path / "with.csv"
    with_header.write_text(
        "Chain,Address,Published\n"
        "tron,TA3941uFAvmVibSkQ6fMJXxmaSNovX86mz,2026-01-02\n"
        ",bc1q05aktddf9ce4p7hh3stgsf253m4vweu7nkhtmw,2026-01-02\n"
        "short\n"
    )
    loaded = load_address_file(with_header, name="csv", asset="XBT")
    assert [(e.asset, e.chain) for e in loaded.entries] == [("tron", "tron"), ("XBT", "bitcoin")]
    assert loaded.source.version == "2026-01-02"
    assert loaded.report.skipped_lines == 1
    bare = tmp_path / "bare.csv"
    bare.write_text("TA3941uFAvmVibSkQ6fMJXxmaSNovX86mz,first\n16iWn2J1McqjToYLHSsAyS6En3QA8YQ91H,second\n")
    assert [e.chain for e in load_address_file(bare, name="bare").entries] == ["tron", "bitcoin"]


def test_generic_json_array(tmp_path: Path) -> None:
    listed = tmp_path / "list.json"
    listed.write_text(
        '["0x4f47bc496083c727c5fbe3ce9cdf2b0f6496270c", "  ", "bc1q05aktddf9ce4p7hh3stgsf253m4vweu7nkhtmw"]'
    )
    assert load_address_file(listed, name="j").report.entries == 2


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("bad.json", b'{"addresses": []}', "RECORD_SHAPE_INVALID"),
        ("bad2.json", b"[1, 2]", "RECORD_SHAPE_INVALID"),
        ("bad3.json", b"[", "INPUT_UNREADABLE"),
        ("latin1.txt", "caf\xe9\n".encode("latin-1"), "INPUT_UNREADABLE"),
        ("empty.txt", b"# only a comment\n\n", "LIST_EMPTY"),
        ("empty.json", b"[]", "LIST_EMPTY"),
    ],
)
def test_malformed_files_are_errors(tmp_path: Path, name: str, content: bytes, code: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(MamoriError) as raised:
        load_address_file(path, name="x")
    assert raised.value.code == code


def test_missing_inputs_are_errors(tmp_path: Path) -> None:
    for load in (
        lambda: load_address_file(tmp_path / "absent.txt", name="x"),
        lambda: load_fbi_list(tmp_path / "absent.csv"),
        lambda: load_ofac_directory(tmp_path / "absent"),
        lambda: load_ofac_directory(tmp_path),  # exists, holds no list file
        lambda: latest_ofac_directory(tmp_path / "absent"),
    ):
        with pytest.raises(MamoriError) as raised:
            load()
        assert raised.value.code == "INPUT_UNREADABLE"


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400), st.sampled_from(["list.txt", "list.csv", "list.json", "list"]))
@example(b"\r\x00", "list.csv")  # a lone CR once escaped as csv.Error (found by this test in CI)
def test_arbitrary_bytes_give_a_list_or_a_mamori_error(tmp_path: Path, content: bytes, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    try:
        loaded = load_address_file(path, name="fuzz")
    except MamoriError:
        return
    assert loaded.report.entries == len(loaded.entries)
    assert sum(loaded.report.by_family.values()) == len(loaded.entries)
    assert len(loaded.report.unrecognised) == loaded.report.by_family.get("other", 0)
