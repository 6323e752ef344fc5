"""The screening index: hits with provenance, revocation on re-import, persistence, and its guarantees (no false
negatives, no false positives even when keys collide). Real lists from ../shared/data/intel."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.chains.addresses import CASE_INSENSITIVE_FAMILIES, normalise
from mamori.errors import MamoriError
from mamori.intel import screening
from mamori.intel.lists import AddressList, ListSource, load_fbi_list, load_ofac_directory
from mamori.intel.screening import Hit, ScreeningIndex, ScreeningIndexBuilder

INTEL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "intel"
OFAC_2024 = load_ofac_directory(INTEL / "ofac_sdn_2024-09-27")
OFAC_2025 = load_ofac_directory(INTEL / "ofac_sdn_2025-11-19")
FBI = load_fbi_list(INTEL / "fbi_psa250226_bybit" / "eth_addresses.txt")
# Tornado Cash's 0.1, 1, 10 and 100 ETH pools: on the 2024-09-27 list, delisted by 2025-11-19.
TORNADO_POOLS = [
    "0x12D66f87A04A9E220743712cE6d9bB1B5616B8Fc",
    "0x47CE0C6eD5B0Ce3d3A51fdb1C52DC66a7c3c2936",
    "0x910Cbd523D972eb0a6f4cAe4618aD62622b39DbF",
    "0xA160cdAB225685dA1d56aa342Ad8841c3b53f291",
]
SOURCE = ListSource("test", "1", "0" * 64)


def build(*lists: AddressList) -> ScreeningIndex:
    builder = ScreeningIndexBuilder()
    for address_list in lists:
        builder.add_list(address_list)
    return builder.build()


def eth_set(address_list: AddressList) -> set[str]:
    return {entry.listed_as for entry in address_list.entries if entry.asset == "ETH"}


def test_reimporting_a_newer_ofac_snapshot_revokes_what_it_no_longer_holds() -> None:
    before = build(OFAC_2024, FBI)
    after = before.with_list(OFAC_2025)
    assert [source.version for source in after.lists] == ["sha256:" + FBI.source.sha256[:16], "2025-11-19"]
    for pool in TORNADO_POOLS:
        assert before.lookup(pool) == (Hit("ofac-sdn", "2024-09-27", "ETH", pool),)
        assert after.lookup(pool) == ()
    delisted, added = eth_set(OFAC_2024) - eth_set(OFAC_2025), eth_set(OFAC_2025) - eth_set(OFAC_2024)
    assert (len(delisted), len(added)) == (90, 15)
    assert all("ETH" not in {hit.asset for hit in after.lookup(address)} for address in delisted)
    assert all(("ofac-sdn", "2025-11-19", "ETH") in {h[:3] for h in after.lookup(address)} for address in added)
    # The old index is untouched, and the FBI list survives the OFAC swap.
    assert before.lookup(TORNADO_POOLS[0])
    assert before.count("fbi-psa250226-bybit") == after.count("fbi-psa250226-bybit") == 51
    assert (len(before), len(after)) == (len(OFAC_2024.entries) + 51, len(OFAC_2025.entries) + 51)


def test_hit_provenance_and_several_hits_for_one_address() -> None:
    index = build(OFAC_2025, FBI)
    # One address, three OFAC asset files: three hits, each with its asset label.
    hits = index.lookup("0x4F47BC496083C727C5FBE3CE9CDF2B0F6496270C")
    assert [hit.asset for hit in hits] == ["ARB", "BSC", "ETH"]
    assert {hit.listed_as for hit in hits} == {"0x4f47bc496083c727c5fbe3ce9cdf2b0f6496270c"}
    fbi_address = "0x51E9d833Ecae4E8D9D8Be17300AEE6D3398C135D"
    [hit] = index.lookup(fbi_address.lower())
    assert hit == Hit("fbi-psa250226-bybit", "sha256:" + FBI.source.sha256[:16], "ETH", fbi_address)
    assert hit.to_json() == {
        "list": hit.list_name,
        "version": hit.list_version,
        "asset": "ETH",
        "listed_as": fbi_address,
    }


def test_evm_matches_whatever_the_case_and_reports_a_bad_checksum() -> None:
    index = build(OFAC_2025)
    listed = "0x983a81ca6FB1e441266D2FbcB7D8E530AC2E05A2"
    wrong_checksum = listed[:2] + listed[2:].swapcase()
    for query in (listed, listed.lower(), "0x" + listed[2:].upper(), wrong_checksum):
        assert {hit.asset for hit in index.lookup(query)} == {"ETH", "USDC", "USDT"}
    result = index.screen(wrong_checksum).to_json()
    assert result["verdict"] == "blocked"
    assert [note["code"] for note in result["notes"]] == ["EVM_CHECKSUM_MISMATCH"]
    assert result["notes"][0]["message"]["ja"]


def test_bech32_case_insensitive_and_base58_exact() -> None:
    index = build(OFAC_2025)
    assert index.lookup("BC1Q05AKTDDF9CE4P7HH3STGSF253M4VWEU7NKHTMW")
    assert index.lookup("bitcoincash:QPF2CPHC5DKUCLKQUR7LHJ2YUQQ9PK3HMUKLE77VHQ")
    tron = "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"
    assert index.lookup(tron) == (Hit("ofac-sdn", "2025-11-19", "XBT", tron),)
    assert index.lookup(tron.swapcase()) == ()
    assert index.lookup("rnXyVQzgxZe7TR1EPzTkGj2jxH4LMJYh66")[0].asset == "XRP"
    other = "5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320"
    assert index.lookup(other)[0].asset == "XMR"
    assert index.lookup(other.upper()) == ()  # unrecognised text is matched exactly


# H4: one key, several written forms. The OFAC BCH file lists only the legacy form of this address.
BCH_LEGACY = "18M8bJWMzWHDBMxoLqjHHAffdRy4SrzkfB"
BCH_CASHADDR = "bitcoincash:qpgf0ztxq3mwfq6eg5versgfdzq9c3pwv5jsk6wnay"
# The OFAC BCH file's first CashAddr entry, and its legacy form (the same hash160, version 0).
BCH_LISTED_CASHADDR, BCH_LISTED_CASHADDR_LEGACY = (
    "qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq",
    "18Y8VPic2pZsvyLaYVdSLQdCuT2nAJJ3hd",
)
LTC_M, LTC_3 = "M8yFL6SFC6TreATegTyuSYkDfDRbisdpT3", "32m72D2HEycRqfBkaazZcuVpLWq9k3sYdt"


def test_cashaddr_hits_the_listed_legacy_form_and_vice_versa() -> None:
    for snapshot in (OFAC_2024, OFAC_2025):
        index = build(snapshot)
        expected = (Hit("ofac-sdn", snapshot.source.version, "BCH", BCH_LEGACY),)
        bare = BCH_CASHADDR.partition(":")[2]
        for query in (BCH_LEGACY, BCH_CASHADDR, bare, bare.upper(), BCH_CASHADDR.upper(), f"  {bare}\n"):
            assert index.lookup(query) == expected, query
            assert index.screen(query).verdict == "blocked"
        listed = (Hit("ofac-sdn", snapshot.source.version, "BCH", BCH_LISTED_CASHADDR),)
        for query in (BCH_LISTED_CASHADDR_LEGACY, "bitcoincash:" + BCH_LISTED_CASHADDR.upper()):
            assert index.lookup(query) == listed, query
    # The other way round: a list holding only the CashAddr form is hit by the legacy one.
    builder = ScreeningIndexBuilder()
    builder.add(SOURCE, BCH_CASHADDR, "BCH")
    assert builder.build().lookup(BCH_LEGACY) == (Hit("test", "1", "BCH", BCH_CASHADDR),)


def test_litecoin_p2sh_version_5_and_50_forms_hit_each_other() -> None:
    index = build(OFAC_2025)
    assert index.lookup(LTC_3) == index.lookup(LTC_M) == (Hit("ofac-sdn", "2025-11-19", "LTC", LTC_M),)
    builder = ScreeningIndexBuilder()
    builder.add(SOURCE, LTC_3, "LTC")
    assert builder.build().lookup(LTC_M) == (Hit("test", "1", "LTC", LTC_3),)


def test_tron_hex_and_evm_without_0x_hit_the_listed_forms() -> None:
    index = build(OFAC_2025)
    tron = "TA3941uFAvmVibSkQ6fMJXxmaSNovX86mz"  # in the USDT file
    tron_hex = "4100be5e0c85be35948d97ad37f62d108243f89ae0"
    for query in (tron_hex, tron_hex.upper()):
        assert index.lookup(query) == (Hit("ofac-sdn", "2025-11-19", "USDT", tron),)
    evm = "0x983a81ca6FB1e441266D2FbcB7D8E530AC2E05A2"
    for query in (evm[2:], evm[2:].lower(), evm[2:].upper()):
        assert {hit.asset for hit in index.lookup(query)} == {"ETH", "USDC", "USDT"}
    # And a list that writes them so is hit by the usual forms.
    builder = ScreeningIndexBuilder()
    builder.add_many(SOURCE, [tron_hex, evm[2:]])
    hex_index = builder.build()
    assert [hit.listed_as for hit in hex_index.lookup(tron)] == [tron_hex]
    assert [hit.listed_as for hit in hex_index.lookup(evm.lower())] == [evm[2:]]


def test_written_forms_are_confirmed_on_canonical_keys_when_every_key_collides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(screening, "index_key", lambda family, normalised: 7)
    index = build(OFAC_2025)
    assert [hit.listed_as for hit in index.lookup(BCH_CASHADDR)] == [BCH_LEGACY]
    assert [hit.listed_as for hit in index.lookup(LTC_3)] == [LTC_M]
    # Another hash in the same written forms: every key collides, yet nothing is confirmed.
    other_cashaddr = "bitcoincash:qr6m7j9njldwwzlg9v7v53unlr4jkmx6eylep8ekg2"
    assert normalise(other_cashaddr).family.value == "hash"
    assert index.lookup(other_cashaddr) == ()
    assert index.lookup("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2") == ()
    assert index.lookup("41" + "00" * 20) == ()


def test_screen_result_json_shape() -> None:
    result = build(OFAC_2025).screen("  TA3941uFAvmVibSkQ6fMJXxmaSNovX86mz ", "XBT").to_json()
    assert set(result) == {"address", "family", "normalised", "chain", "notes", "verdict", "hits"}
    assert (result["family"], result["chain"], result["verdict"]) == ("hash", "tron", "blocked")
    assert result["normalised"] == "tron:00be5e0c85be35948d97ad37f62d108243f89ae0"  # the account, in hex
    assert [hit["asset"] for hit in result["hits"]] == ["USDT"]
    clean = build(OFAC_2025).screen("0x" + "00" * 20).to_json()
    assert (clean["verdict"], clean["hits"]) == ("ok", [])


def test_lookup_many_keeps_the_order() -> None:
    index = build(FBI)
    queries = ["0x" + "11" * 20, "0x51E9d833Ecae4E8D9D8Be17300AEE6D3398C135D", "nothing"]
    assert [len(hits) for hits in index.lookup_many(queries)] == [0, 1, 0]
    assert [r.verdict for r in index.screen_many(queries)] == ["ok", "blocked", "ok"]


def test_merge_without_list_and_empty_index() -> None:
    ofac, fbi = build(OFAC_2025), build(FBI)
    both = ofac.merge(fbi)
    assert [s.name for s in both.lists] == ["fbi-psa250226-bybit", "ofac-sdn"]
    assert both.without_list("ofac-sdn").lists == fbi.lists
    assert both.merge(build(OFAC_2024)).count("ofac-sdn") == len(OFAC_2024.entries)
    empty = ScreeningIndex()
    assert (len(empty), empty.lists, empty.lookup(TORNADO_POOLS[0])) == (0, (), ())


def test_builder_rejects_empty_entries_and_conflicting_versions() -> None:
    builder = ScreeningIndexBuilder()
    with pytest.raises(MamoriError) as raised:
        builder.add(SOURCE, "   ")
    assert raised.value.code == "ADDRESS_EMPTY"
    builder.add(SOURCE, "0x" + "22" * 20)
    with pytest.raises(MamoriError) as raised:
        builder.add(ListSource("test", "2", "1" * 64), "0x" + "33" * 20)
    assert raised.value.code == "USAGE_INVALID"
    with pytest.raises(MamoriError):
        ScreeningIndex().lookup("")


def test_no_false_positive_even_when_every_key_collides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(screening, "index_key", lambda family, normalised: 42)
    index = build(OFAC_2025, FBI)
    assert index.lookup("0x" + "00" * 20) == ()
    assert index.lookup("TA3941uFAvmVibSkQ6fMJXxmaSNovX86mz".swapcase()) == ()
    assert [h.asset for h in index.lookup("0x4f47bc496083c727c5fbe3ce9cdf2b0f6496270c")] == ["ARB", "BSC", "ETH"]


def test_memory_per_address_is_within_the_goal() -> None:
    rng = random.Random(3)  # noqa: S311 - deterministic test data, not a secret
    builder = ScreeningIndexBuilder()
    builder.add_many(SOURCE, ["0x" + rng.randbytes(20).hex() for _ in range(20_000)], asset="ETH")
    index = builder.build()
    assert index.nbytes / len(index) <= 64  # 8 key + 1 asset + 4 offset + 42 text = 55


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    index = build(OFAC_2025, FBI)
    path = tmp_path / "screen.idx"
    index.save(path)
    for loaded in (ScreeningIndex.load(path), ScreeningIndex.load(path, verify=False)):
        assert loaded.lists == index.lists
        assert len(loaded) == len(index)
        assert loaded.nbytes == index.nbytes
        for entry in OFAC_2025.entries + FBI.entries:
            assert loaded.lookup(entry.listed_as) == index.lookup(entry.listed_as)
        assert loaded.with_list(OFAC_2024).lookup(TORNADO_POOLS[0])


def test_damaged_index_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "screen.idx"
    build(OFAC_2025).save(path)
    good = path.read_bytes()
    flipped = bytearray(good)
    flipped[-3] ^= 1  # a byte of the listed texts
    cases = {"flipped": bytes(flipped), "truncated": good[: len(good) // 2], "magic": b"X" + good[1:], "empty": b""}
    for name, content in cases.items():
        damaged = tmp_path / f"{name}.idx"
        damaged.write_bytes(content)
        with pytest.raises(MamoriError) as raised:
            ScreeningIndex.load(damaged)
        assert raised.value.code == "SCREENING_INDEX_INVALID", name
    with pytest.raises(MamoriError):
        ScreeningIndex.load(tmp_path / "absent.idx")


# --- properties ------------------------------------------------------------------------------------------------

REAL = [entry.listed_as for entry in OFAC_2025.entries + FBI.entries]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from(REAL), st.text(min_size=1, max_size=60)), min_size=1, max_size=40),
    st.randoms(use_true_random=False),
)
def test_every_inserted_address_is_found(addresses: list[str], rng: random.Random) -> None:
    inserted = [a for a in addresses if a.strip()]
    builder = ScreeningIndexBuilder()
    builder.add_many(SOURCE, inserted)
    index = builder.build()
    for address in inserted:
        assert address.strip() in {hit.listed_as for hit in index.lookup(address)}
        if _case_free(address):
            variant = "".join(c.swapcase() if rng.random() < 0.5 else c for c in address)
            assert address.strip() in {hit.listed_as for hit in index.lookup(variant)}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=20, max_size=20), min_size=1, max_size=50), st.binary(min_size=20, max_size=20))
def test_addresses_not_inserted_do_not_hit(listed: list[bytes], query: bytes) -> None:
    builder = ScreeningIndexBuilder()
    builder.add_many(SOURCE, ["0x" + raw.hex() for raw in listed])
    index = builder.build()
    assert bool(index.lookup("0x" + query.hex())) == (query in listed)


@settings(max_examples=300)
@given(st.text(max_size=120))
def test_any_query_gives_hits_or_a_mamori_error(text: str) -> None:
    index = build(FBI)
    try:
        hits = index.lookup(text)
    except MamoriError:
        assert not text.strip()
        return
    # A hit is the same address: the same canonical key, whichever written form the list and the query use.
    assert hits == () or all(normalise(hit.listed_as) == normalise(text) for hit in hits)


def _case_free(address: str) -> bool:
    """Whether the address's written form ignores case (EVM, bech32, CashAddr, TRON hex)."""
    key = normalise(address)
    if key.family in CASE_INSENSITIVE_FAMILIES:
        return True
    return key.family.value == "hash" and normalise(address.lower()) == normalise(address.upper()) == key
