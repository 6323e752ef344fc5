"""Address lists as STIX 2.1 (intel/wallet_stix.py) on the real lists in ../shared/data/intel (provenance:
../shared/data/MANIFEST.csv), checked against independent implementations: the OASIS stix2 library (parsing, SCO
ids, RFC 8785), stix2-validator and stix2-patterns. Pinned ids: tests/vectors/intel/wallet_stix_ids.json."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
import stix2
from hypothesis import example, given
from hypothesis import strategies as st
from stix2.canonicalization.Canonicalize import canonicalize
from stix2.properties import StringProperty
from stix2.v21 import CustomObservable
from stix2patterns.v21.pattern import Pattern
from stix2patterns.validator import run_validator
from stix2validator import ValidationOptions, validate_instance

from mamori.chains.addresses import Family, normalise
from mamori.errors import InputError, MamoriError
from mamori.intel.lists import AddressList, ListEntry, ListSource, load_fbi_list, load_ofac_directory
from mamori.intel.wallet_stix import (
    MAMORI_ID_NAMESPACE,
    SCO_ID_NAMESPACE,
    TLP_CLEAR,
    WALLET_PROPERTIES_EXTENSION,
    WALLET_TYPE_EXTENSION,
    PublishedIndicator,
    StixIdentity,
    bundle,
    definition_objects,
    indicator_id,
    plan_import,
    relationship_id,
    revocations,
    stix_timestamp,
    successor_id,
    wallet_entries,
    wallet_extensions,
    wallet_id,
    wallet_objects,
    wallet_pattern,
    wallet_value,
    wallet_values_from_pattern,
)

ROOT = Path(__file__).resolve().parents[2]
INTEL = ROOT / ".." / "shared" / "data" / "intel"
OFAC_2024, OFAC_2025 = INTEL / "ofac_sdn_2024-09-27", INTEL / "ofac_sdn_2025-11-19"
FBI_CSV = INTEL / "fbi_psa250226_bybit" / "eth_addresses.csv"
VECTORS = json.loads((ROOT / "tests" / "vectors" / "intel" / "wallet_stix_ids.json").read_text(encoding="utf-8"))
DOC = (ROOT / "docs" / "intel-stix.md").read_text(encoding="utf-8")

ISAC = StixIdentity(
    "identity--f346ea74-ea30-48a8-81f5-cdb7bcbd6edf", "Example ISAC", created=datetime(2026, 1, 1, tzinfo=UTC)
)
T_FIRST = datetime(2026, 12, 1, 9, 0, 0, 123456, tzinfo=UTC)
T_UPDATE = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
TLP_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
TORNADO_CASH_ROUTER = "0xd90e2f925da726b50c4ed8d0fb90ad053324f31b"  # in the 2024 ETH file, delisted by 2025
VALIDATOR_OPTIONS = ValidationOptions(version="2.1", strict=False)


# The stix2 library's own model of the wallet SCO: it derives the id itself from the id-contributing properties.
@CustomObservable(
    "cryptocurrency-wallet",
    [("value", StringProperty(required=True))],
    id_contrib_props=["value", "extensions"],
    extension_name=WALLET_TYPE_EXTENSION,
)
class ReferenceWallet:
    pass


@cache
def ofac_2024() -> AddressList:
    return load_ofac_directory(OFAC_2024)


@cache
def ofac_2025() -> AddressList:
    return load_ofac_directory(OFAC_2025)


@cache
def fbi() -> AddressList:
    return load_fbi_list(FBI_CSV)


def build(address_list: AddressList, **options: Any) -> list[dict[str, Any]]:
    return wallet_objects(address_list, author=ISAC, now=options.pop("now", T_FIRST), **options)


def of_type(objects: list[dict[str, Any]], object_type: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["type"] == object_type]


def stored(objects: list[dict[str, Any]]) -> list[PublishedIndicator]:
    """What the hub keeps of an import: its indicators, through JSON as a database would hold them."""
    return [PublishedIndicator.from_json(orjson.dumps(obj)) for obj in of_type(objects, "indicator")]


def key_of(indicator: dict[str, Any]) -> tuple[str, str]:
    """(screening key, chain) of an indicator, read back through its pattern and extension only."""
    values = wallet_values_from_pattern(indicator["pattern"])
    assert values is not None and len(values) == 1
    return normalise(values[0]).normalised, indicator["extensions"][WALLET_PROPERTIES_EXTENSION]["chain"]


def listed_keys(address_list: AddressList, asset: str | None = None) -> set[tuple[str, str]]:
    """(screening key, chain) of every entry: the list's content, computed without the module."""
    return {(e.normalised, e.chain) for e in address_list.entries if asset is None or e.asset == asset}


def entry(text: str, chain: str = "unknown", asset: str | None = None) -> ListEntry:
    return ListEntry(text, asset, Family.OTHER, text, chain, ())


def made_up_list(*entries: ListEntry, name: str = "members-list") -> AddressList:
    source = ListSource(name, "2026-12-01", "0" * 64)
    return AddressList(source, entries, fbi().report)


# --- the objects -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("load", [ofac_2024, ofac_2025, fbi])
def test_every_wallet_gets_an_sco_an_indicator_and_a_relationship(load: Any) -> None:
    address_list = load()
    objects = build(address_list)
    wallets = {(wallet_value(e), e.chain) for e in address_list.entries}
    assert len(objects) == 3 * len(wallets)
    scos = {obj["id"]: obj for obj in of_type(objects, "cryptocurrency-wallet")}
    indicators = {obj["id"]: obj for obj in of_type(objects, "indicator")}
    relationships = of_type(objects, "relationship")
    assert len(scos) == len(indicators) == len(relationships) == len(wallets)
    assert {(s["value"], s["extensions"][WALLET_PROPERTIES_EXTENSION]["chain"]) for s in scos.values()} == wallets
    for relationship in relationships:
        indicator, sco = indicators[relationship["source_ref"]], scos[relationship["target_ref"]]
        assert relationship["relationship_type"] == "based-on"
        assert wallet_values_from_pattern(indicator["pattern"]) == [sco["value"]]
        properties = indicator["extensions"][WALLET_PROPERTIES_EXTENSION]
        assert properties["chain"] == sco["extensions"][WALLET_PROPERTIES_EXTENSION]["chain"]
        assert properties["list_name"] == address_list.source.name
    assert {key_of(i) for i in indicators.values()} == listed_keys(address_list)


def test_indicator_properties() -> None:
    objects = build(ofac_2025(), marking=TLP_AMBER, source_url="https://example.org/ofac", now=T_UPDATE)
    indicator = next(i for i in of_type(objects, "indicator") if "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq" in i["pattern"])
    assert indicator["created_by_ref"] == ISAC.id
    assert indicator["created"] == indicator["modified"] == indicator["valid_from"] == "2026-12-03T09:30:00.000Z"
    assert indicator["indicator_types"] == ["malicious-activity"]
    assert (indicator["pattern_type"], indicator["pattern_version"]) == ("stix", "2.1")
    assert "ofac-sdn version 2025-11-19" in indicator["description"]
    assert indicator["external_references"] == [
        {
            "source_name": "ofac-sdn",
            "description": f"ofac-sdn version 2025-11-19; SHA-256 of the list files {ofac_2025().source.sha256}",
            "url": "https://example.org/ofac",
        }
    ]
    # The TRON address OFAC filed under XBT: its chain is TRON's, the label stays the list's.
    assert indicator["extensions"][WALLET_PROPERTIES_EXTENSION] == {
        "extension_type": "property-extension",
        "chain": "tron",
        "asset_labels": ["XBT"],
        "list_name": "ofac-sdn",
    }
    assert all(obj["object_marking_refs"] == [TLP_AMBER] for obj in objects)
    assert all(obj["object_marking_refs"] == [TLP_CLEAR] for obj in build(fbi()))


def test_one_wallet_under_several_asset_labels_is_one_wallet() -> None:
    # OFAC lists 0x983a…05a2 in both its USDC and its USDT file, and 1CF46R…m9EP in both XBT and USDT.
    merged = {w.value: w for w in wallet_entries(ofac_2025()) if len(w.asset_labels) > 1}
    assert merged["0x983a81ca6fb1e441266d2fbcb7d8e530ac2e05a2"].asset_labels == ("USDC", "USDT")
    assert merged["0x983a81ca6fb1e441266d2fbcb7d8e530ac2e05a2"].chain == "evm"  # the token files name no chain
    assert merged["1CF46Rfbp97absrs7zb7dFfZS6qBXUm9EP"].asset_labels == ("USDT", "XBT")
    assert len(merged) == 6


def test_values_are_addresses_that_screen_as_the_list_entry() -> None:
    for address_list in (ofac_2024(), ofac_2025(), fbi()):
        for item in address_list.entries:
            value = wallet_value(item)
            assert (normalise(value).family, normalise(value).normalised) == (item.family, item.normalised)
            if item.family is Family.HASH:  # a screening key such as p2pkh:<hash> is no address
                assert value == item.listed_as


def test_gc_state_is_restored() -> None:
    build(fbi())
    assert gc.isenabled()
    gc.disable()
    try:
        build(fbi())
        assert not gc.isenabled()
    finally:
        gc.enable()


# --- independent implementations ---------------------------------------------------------------------------


def test_the_stix2_library_parses_every_object_as_built() -> None:
    objects = [ISAC.to_stix(), *definition_objects(), *build(ofac_2025()), *build(fbi())]
    for obj in objects:
        parsed = stix2.parse(obj, allow_custom=True)
        assert not isinstance(parsed, dict), obj["type"]  # a real stix2 object, not passed through
        assert parsed.id == obj["id"]
        assert json.loads(parsed.serialize()) == obj


def test_the_stix2_library_derives_the_same_wallet_ids() -> None:
    for sco in of_type(build(ofac_2025()) + build(fbi()), "cryptocurrency-wallet"):
        reference = ReferenceWallet(value=sco["value"], extensions=sco["extensions"], allow_custom=True)
        assert reference.id == sco["id"]


@given(value=st.text(min_size=1), chain=st.text(min_size=1))
@example(value="it's \\ \x00\x7f\u2028 é", chain="ethereum")
def test_wallet_id_is_stix_sco_id_derivation(value: str, chain: str) -> None:
    reference = ReferenceWallet(value=value, extensions=wallet_extensions(chain), allow_custom=True)
    assert wallet_id(value, chain) == reference.id


@given(list_name=st.text(), value=st.text(), chain=st.text())
def test_indicator_ids_are_uuid5_over_rfc8785(list_name: str, value: str, chain: str) -> None:
    name = canonicalize({"list": list_name, "value": value, "chain": chain}, utf8=False)
    assert indicator_id(list_name, value, chain) == f"indicator--{uuid.uuid5(MAMORI_ID_NAMESPACE, name)}"


def test_pinned_ids() -> None:
    for vector in VECTORS["vectors"]:
        value, chain, ident = vector["value"], vector["chain"], vector["indicator_id"]
        assert wallet_id(value, chain) == vector["wallet_id"]
        reference = ReferenceWallet(value=value, extensions=wallet_extensions(chain), allow_custom=True)
        assert reference.id == vector["wallet_id"]
        assert indicator_id(vector["list"], value, chain) == ident
        mamori = MAMORI_ID_NAMESPACE
        expected = uuid.uuid5(mamori, canonicalize({"chain": chain, "list": vector["list"], "value": value}, False))
        assert ident == f"indicator--{expected}"
        assert successor_id(ident) == vector["successor_id"]
        assert successor_id(ident) == f"indicator--{uuid.uuid5(mamori, canonicalize({'relisted_after': ident}, False))}"
        assert relationship_id(ident, vector["wallet_id"]) == vector["relationship_id"]
        assert wallet_pattern([value]) == vector["pattern"]
        assert run_validator(vector["pattern"], stix_version="2.1") == []
    assert str(SCO_ID_NAMESPACE) == "00abedb4-aa42-466c-9c01-fed23315a9b7"  # STIX 2.1 §2.9


SCRIPT = """
import sys
from datetime import datetime
import orjson
from mamori.intel.lists import load_ofac_directory
from mamori.intel.wallet_stix import StixIdentity, wallet_objects
directory, identity, time = sys.argv[1:]
author = StixIdentity(identity, "Example ISAC", created=datetime.fromisoformat(time))
objects = wallet_objects(load_ofac_directory(directory), author=author, now=datetime.fromisoformat(time))
sys.stdout.write(orjson.dumps(objects).decode())
"""


def test_ids_do_not_depend_on_the_process() -> None:
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}  # other set and dict hashing than this process
    output = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(OFAC_2025), ISAC.id, T_FIRST.isoformat()],
        capture_output=True,
        check=True,
        text=True,
        env=environment,
    ).stdout
    assert json.loads(output) == build(ofac_2025())


def validator_findings(objects: list[dict[str, Any]]) -> tuple[list[str], set[tuple[str, str]]]:
    """The validator's errors, and its warnings as (object type, code)."""
    result = validate_instance(bundle(objects), VALIDATOR_OPTIONS)
    warnings = set()
    for warning in result.warnings or []:
        object_type, code = re.match(r"([a-z-]+)--\S+: \{(\d+)\}", str(warning)).groups()  # type: ignore[union-attr]
        warnings.add((object_type, code))
    return [str(error) for error in result.errors], warnings


DOCUMENTED_WARNINGS = {
    ("bundle", "103"),  # deterministic ids are UUIDv5, the validator wants UUIDv4 for all but known SCO types
    ("indicator", "103"),
    ("relationship", "103"),
    ("cryptocurrency-wallet", "103"),
    ("relationship", "202"),  # based-on indicator -> SCO: permitted, not a "suggested" target
}


def sample_per_kind(address_list: AddressList) -> AddressList:
    """One entry per (family, chain, asset label) of the list: every kind of wallet, without validating 2,000."""
    chosen: dict[tuple[str, str, str | None], ListEntry] = {}
    for item in address_list.entries:
        chosen.setdefault((item.family.value, item.chain, item.asset), item)
    return AddressList(address_list.source, tuple(chosen.values()), address_list.report)


def test_the_validator_accepts_the_bundles() -> None:
    definitions = [ISAC.to_stix(), *definition_objects()]
    for address_list in (fbi(), sample_per_kind(ofac_2024()), sample_per_kind(ofac_2025())):
        errors, warnings = validator_findings([*definitions, *build(address_list)])
        assert errors == []
        assert warnings == DOCUMENTED_WARNINGS
    # A list's URL without a hash of what it serves is the one more warning.
    errors, warnings = validator_findings(
        [*definitions, *build(fbi(), source_url="https://www.ic3.gov/PSA/2025/PSA250226")]
    )
    assert errors == []
    assert warnings == DOCUMENTED_WARNINGS | {("indicator", "302")}
    revoked = revocations(stored(build(ofac_2024())), ofac_2025(), now=T_UPDATE)
    errors, warnings = validator_findings(revoked)
    assert errors == []
    assert warnings == {("bundle", "103"), ("indicator", "103")}


def test_the_documented_schemas_hold_for_every_object() -> None:
    schemas = {
        name: json.loads(body)
        for name, body in re.findall(r"<!-- schema: ([a-z-]+) -->\n```json\n(.*?)\n```", DOC, flags=re.DOTALL)
    }
    assert set(schemas) == {"cryptocurrency-wallet", "wallet-properties"}
    definitions = {obj["id"]: obj for obj in definition_objects() if obj["type"] == "extension-definition"}
    assert definitions[WALLET_TYPE_EXTENSION]["schema"] == schemas["cryptocurrency-wallet"]["$id"]
    assert definitions[WALLET_PROPERTIES_EXTENSION]["schema"] == schemas["wallet-properties"]["$id"]
    wallet_schema = jsonschema.Draft202012Validator(schemas["cryptocurrency-wallet"])
    properties_schema = jsonschema.Draft202012Validator(schemas["wallet-properties"])
    for obj in build(ofac_2025()) + build(fbi()):
        if obj["type"] == "cryptocurrency-wallet":
            wallet_schema.validate(obj)
        if obj["type"] != "relationship":
            properties_schema.validate(obj["extensions"][WALLET_PROPERTIES_EXTENSION])


def test_the_documented_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    code = re.search(r"```python\n(.*?)```", DOC, flags=re.DOTALL).group(1)  # type: ignore[union-attr]
    *lines, last = code.strip().splitlines()
    monkeypatch.chdir(ROOT)
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), namespace)  # noqa: S102 - the documentation's own example
    expected = re.search(r"# \((\d+), (\d+), (\d+)\)", last).groups()  # type: ignore[union-attr]
    assert eval(last.split("#")[0], namespace) == tuple(map(int, expected))  # noqa: S307


# --- updates -------------------------------------------------------------------------------------------------


def test_2025_revokes_exactly_what_the_2024_snapshot_held_and_the_2025_one_dropped() -> None:
    first = build(ofac_2024())
    plan = plan_import(stored(first), ofac_2025(), author=ISAC, now=T_UPDATE)
    dropped = listed_keys(ofac_2024()) - listed_keys(ofac_2025())
    assert {key_of(version) for version in plan.revoked} == dropped
    # Between the snapshots OFAC delisted the Tornado Cash contracts: 90 of the 152 ETH entries, and nothing else.
    dropped_eth = {key for key, _ in listed_keys(ofac_2024(), "ETH") - listed_keys(ofac_2025(), "ETH")}
    assert {key for key, _ in dropped} == dropped_eth
    assert len(dropped_eth) == 90 and TORNADO_CASH_ROUTER in dropped_eth
    before = {obj["id"]: obj for obj in of_type(first, "indicator")}
    for version in plan.revoked:  # a new version of the stored object: same id, revoked, later modified
        assert {**before[version["id"]], "revoked": True, "modified": "2026-12-03T09:30:00.000Z"} == version
    assert plan.revoked == tuple(revocations(stored(first), ofac_2025(), now=T_UPDATE))
    assert [version["id"] for version in plan.revoked] == sorted(version["id"] for version in plan.revoked)
    added = of_type(list(plan.added), "indicator")
    assert {key_of(indicator) for indicator in added} == listed_keys(ofac_2025()) - listed_keys(ofac_2024())
    assert set(plan.unchanged) == set(before) - {version["id"] for version in plan.revoked}
    assert len(plan.objects) == len(plan.revoked) + len(plan.added)


@pytest.mark.parametrize("load", [ofac_2024, ofac_2025, fbi])
def test_an_unchanged_reimport_publishes_nothing(load: Any) -> None:
    first = build(load())
    plan = plan_import(stored(first), load(), author=ISAC, now=T_UPDATE)
    assert plan.revoked == plan.added == ()
    assert sorted(plan.unchanged) == sorted(obj["id"] for obj in of_type(first, "indicator"))
    assert revocations(stored(first), load(), now=T_UPDATE) == []


def test_a_revoked_indicator_is_not_revoked_again_and_the_latest_version_counts() -> None:
    first = build(ofac_2024())
    update = plan_import(stored(first), ofac_2025(), author=ISAC, now=T_UPDATE)
    history = stored(first) + stored(list(update.objects))  # every version, the revoked ones after the originals
    again = plan_import(history, ofac_2025(), author=ISAC, now=T_UPDATE + timedelta(days=1))
    assert again.revoked == again.added == ()
    assert revocations(history[::-1], ofac_2025(), now=T_UPDATE + timedelta(days=1)) == []  # in any order


def test_a_wallet_listed_again_gets_a_successor_indicator() -> None:
    first = build(ofac_2024())
    delisting = plan_import(stored(first), ofac_2025(), author=ISAC, now=T_UPDATE)
    history = stored(first) + [PublishedIndicator.from_stix(v) for v in delisting.objects if v["type"] == "indicator"]
    relisting = plan_import(history, ofac_2024(), author=ISAC, now=T_UPDATE + timedelta(days=1))
    revoked_ids = {version["id"] for version in delisting.revoked}
    relisted = of_type(list(relisting.added), "indicator")
    assert {successor_id(ident) for ident in revoked_ids} == {indicator["id"] for indicator in relisted}
    assert {version["id"] for version in relisting.revoked} == {
        obj["id"] for obj in of_type(list(delisting.added), "indicator")
    }
    assert of_type(list(relisting.added), "cryptocurrency-wallet") == [
        sco for sco in of_type(first, "cryptocurrency-wallet") if any(sco["value"] in i["pattern"] for i in relisted)
    ]
    # And the successor is then the wallet's indicator: importing the same list again changes nothing.
    history += [PublishedIndicator.from_stix(v) for v in relisting.objects if v["type"] == "indicator"]
    again = plan_import(history, ofac_2024(), author=ISAC, now=T_UPDATE + timedelta(days=2))
    assert again.revoked == again.added == ()


@pytest.mark.parametrize(
    "now",
    [
        T_FIRST,
        T_FIRST + timedelta(microseconds=500),  # the same millisecond once written as STIX
        T_FIRST - timedelta(days=1),
        T_FIRST.astimezone(timezone(timedelta(hours=9))),  # the same instant in Tokyo
    ],
)
def test_a_revocation_must_be_strictly_later(now: datetime) -> None:
    with pytest.raises(InputError) as raised:
        revocations(stored(build(ofac_2024())), ofac_2025(), now=now)
    assert raised.value.code == "STIX_VERSION_NOT_LATER"
    assert "2026-12-01T09:00:00.123000+00:00" in raised.value.message_en


def test_a_revocation_one_millisecond_later_is_accepted() -> None:
    versions = revocations(stored(build(ofac_2024())), ofac_2025(), now=T_FIRST + timedelta(microseconds=877))
    assert {version["modified"] for version in versions} == {"2026-12-01T09:00:00.124Z"}


def test_a_previous_import_of_another_list_is_refused() -> None:
    with pytest.raises(InputError) as raised:
        plan_import(stored(build(fbi())), ofac_2025(), author=ISAC, now=T_UPDATE)
    assert raised.value.code == "STIX_LIST_MISMATCH"


# --- patterns ------------------------------------------------------------------------------------------------


@given(st.lists(st.text(), min_size=1, max_size=5))
@example(["'", "\\", "\\'", "a' OR cryptocurrency-wallet:value = 'b", "]", ""])
def test_patterns_round_trip(values: list[str]) -> None:
    pattern = wallet_pattern(values)
    assert wallet_values_from_pattern(pattern) == values


@given(st.lists(st.text(), min_size=1, max_size=3))
def test_patterns_are_what_stix2_patterns_reads(values: list[str]) -> None:
    pattern = wallet_pattern(values)
    assert run_validator(pattern, stix_version="2.1") == []
    comparisons = Pattern(pattern).inspect().comparisons
    literals = [literal for _, _, literal in comparisons["cryptocurrency-wallet"]]
    assert literals == ["'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values]


_SPACE = st.sampled_from(["", " ", "  ", "\n", "\t", " \r\n "])
_NEEDED = st.sampled_from([" ", "\n", "\t "])


@st.composite
def wallet_patterns(draw: st.DrawFn) -> tuple[str, list[str]]:
    """Valid wallet patterns in any spacing, and their values."""
    observations, values = [], []
    for _ in range(draw(st.integers(1, 3))):
        comparisons = []
        for _ in range(draw(st.integers(1, 3))):
            value = draw(st.text(max_size=8))
            values.append(value)
            literal = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
            comparisons.append(f"cryptocurrency-wallet:value{draw(_SPACE)}={draw(_SPACE)}{literal}")
        joiner = draw(_SPACE) + "OR" + draw(_NEEDED)
        observations.append("[" + draw(_SPACE) + joiner.join(comparisons) + draw(_SPACE) + "]")
    return draw(_SPACE) + (draw(_SPACE) + "OR" + draw(_SPACE)).join(observations) + draw(_SPACE), values


@given(wallet_patterns())
def test_any_spacing_of_a_wallet_pattern_is_read(case: tuple[str, list[str]]) -> None:
    pattern, values = case
    assert run_validator(pattern, stix_version="2.1") == []  # what is accepted is STIX
    assert wallet_values_from_pattern(pattern) == values


@pytest.mark.parametrize(
    "pattern",
    [
        "[cryptocurrency-wallet:value = 'a' AND cryptocurrency-wallet:value = 'b']",
        "[cryptocurrency-wallet:value != 'a']",
        "[cryptocurrency-wallet:value IN ('a', 'b')]",
        "[cryptocurrency-wallet:value LIKE 'a%']",
        "[cryptocurrency-wallet:value MATCHES '^a']",
        "[NOT cryptocurrency-wallet:value = 'a']",
        "[cryptocurrency-wallet:value = 'a'] AND [cryptocurrency-wallet:value = 'b']",
        "[cryptocurrency-wallet:value = 'a'] FOLLOWEDBY [cryptocurrency-wallet:value = 'b']",
        "[cryptocurrency-wallet:value = 'a'] WITHIN 300 SECONDS",
        "[cryptocurrency-wallet:value = 'a'] REPEATS 2 TIMES",
        "([cryptocurrency-wallet:value = 'a'])",
        "[(cryptocurrency-wallet:value = 'a')]",
        "[cryptocurrency-wallet:value = 'a' or cryptocurrency-wallet:value = 'b']",
        "[cryptocurrency-wallet:value = 'a' ORcryptocurrency-wallet:value = 'b']",
        "[cryptocurrency-wallet:name = 'a']",
        "[cryptocurrency-wallet:'value' = 'a']",
        "[x-cryptocurrency-wallet:value = 'a']",
        "[ipv4-addr:value = '198.51.100.1']",
        "[cryptocurrency-wallet:value = 'a' /* and b */]",
        "[cryptocurrency-wallet:value = 'a\\b']",  # \b is no escape in STIX patterns
        "[cryptocurrency-wallet:value = 'a'''",
        "[cryptocurrency-wallet:value = 'a']]",
        "[cryptocurrency-wallet:value = 'a'",
        "[cryptocurrency-wallet:value = a]",
        "[cryptocurrency-wallet:value = 'a'] OR",
        "[]",
        "",
    ],
)
def test_anything_but_ored_wallet_equalities_is_not_read(pattern: str) -> None:
    assert wallet_values_from_pattern(pattern) is None


@given(st.text())
def test_reading_any_text_never_raises(text: str) -> None:
    values = wallet_values_from_pattern(text)
    assert values is None or run_validator(text, stix_version="2.1") == []


def test_an_empty_pattern_is_refused() -> None:
    with pytest.raises(InputError):
        wallet_pattern([])


# --- stored indicators, times, bundles, arguments -------------------------------------------------------------


@given(st.binary())
@example(b'{"type": "indicator", "id": "indicator--0", "modified": "x"}')
@example(b'{"type": "indicator", "id": 1}')
@example(b'{"type": "indicator", "id": "indicator--093c482d-df13-519b-81d7-6f59bcffc12f", "extensions": []}')
def test_stored_json_gives_an_indicator_or_a_mamori_error(data: bytes) -> None:
    with contextlib.suppress(MamoriError):  # any other exception fails the test
        PublishedIndicator.from_json(data)


def good_indicator() -> dict[str, Any]:
    return of_type(build(fbi()), "indicator")[0]


@pytest.mark.parametrize(
    "change",
    [
        {"type": "malware"},
        {"id": "indicator--not-a-uuid"},
        {"id": "malware--093c482d-df13-519b-81d7-6f59bcffc12f"},
        {"modified": "2026-12-01T09:00:00.000"},  # no Z: not UTC
        {"modified": "yesterday"},
        {"modified": None},
        {"revoked": "no"},
        {"extensions": {}},
        {"extensions": {WALLET_PROPERTIES_EXTENSION: {"chain": "ethereum"}}},
        {"extensions": "none"},
    ],
)
def test_stored_indicators_that_cannot_be_used_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(InputError) as raised:
        PublishedIndicator.from_stix({**good_indicator(), **change})
    assert raised.value.code == "STIX_OBJECT_INVALID"


def test_stored_indicator_keeps_what_its_next_version_needs() -> None:
    indicator = good_indicator()
    published = PublishedIndicator.from_stix(indicator)
    assert (published.id, published.list_name, published.revoked) == (indicator["id"], "fbi-psa250226-bybit", False)
    assert published.modified == datetime(2026, 12, 1, 9, 0, 0, 123000, tzinfo=UTC)
    assert orjson.loads(published.stix_json) == indicator
    with pytest.raises(InputError):
        PublishedIndicator(indicator["id"], "x", datetime(2026, 12, 1), False, b"{}")  # naive on purpose
    with pytest.raises(InputError) as raised:
        PublishedIndicator.from_json(b"[1]")
    assert raised.value.code == "STIX_OBJECT_INVALID"
    with pytest.raises(InputError) as raised:
        PublishedIndicator.from_json(b"{")
    assert raised.value.code == "JSON_INVALID"


def test_stix_timestamps() -> None:
    assert stix_timestamp(datetime(2026, 12, 3, 18, 30, 0, 999999, tzinfo=timezone(timedelta(hours=9)))) == (
        "2026-12-03T09:30:00.999Z"
    )
    assert stix_timestamp(datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0999-01-02T03:04:05.000Z"
    with pytest.raises(InputError) as raised:
        stix_timestamp(datetime(2026, 12, 3))  # naive on purpose
    assert raised.value.code == "USAGE_INVALID"


def test_bundle_ids() -> None:
    objects = build(fbi())
    made = bundle(objects)
    assert made["type"] == "bundle" and made["objects"] == objects and "spec_version" not in made
    assert bundle(reversed(objects))["id"] == made["id"]  # order-independent
    assert bundle(objects[1:])["id"] != made["id"]
    first = of_type(objects, "indicator")[0]
    delisted = made_up_list(entry("not the same wallet"), name="fbi-psa250226-bybit")
    revoked = next(v for v in revocations(stored(objects), delisted, now=T_UPDATE) if v["id"] == first["id"])
    assert bundle([first])["id"] != bundle([revoked])["id"]  # another version of the same object
    chosen = "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d"
    assert bundle(objects, bundle_id=chosen)["id"] == chosen
    for bad in ("bundle--x", "indicator--5d0092c5-5f74-4287-9642-33f4c354e56d"):
        with pytest.raises(InputError):
            bundle(objects, bundle_id=bad)
    with pytest.raises(InputError):
        bundle([{"type": "indicator"}])


def test_caller_arguments_are_checked() -> None:
    for options in ({"marking": "TLP:CLEAR"}, {"indicator_types": []}, {"indicator_types": ["Malicious Activity"]}):
        with pytest.raises(InputError):
            build(fbi(), **options)
    with pytest.raises(InputError):
        StixIdentity("organization--f346ea74-ea30-48a8-81f5-cdb7bcbd6edf", "x", created=T_FIRST)
    with pytest.raises(InputError):
        StixIdentity(ISAC.id, " ", created=T_FIRST)
    with pytest.raises(InputError):
        StixIdentity(ISAC.id, "x", created=datetime(2026, 1, 1))  # naive on purpose


def test_made_up_text_and_custom_vocabulary() -> None:
    odd = made_up_list(entry("it's \\ a wallet"), entry("ウォレット", chain="unknown", asset="XMR"))
    objects = build(odd, indicator_types=["attribution"])
    indicators = of_type(objects, "indicator")
    assert [wallet_values_from_pattern(i["pattern"]) for i in indicators] == [["it's \\ a wallet"], ["ウォレット"]]
    assert indicators[0]["indicator_types"] == ["attribution"]
    assert "asset_labels" not in indicators[0]["extensions"][WALLET_PROPERTIES_EXTENSION]
    assert orjson.loads(orjson.dumps(bundle(objects)))["objects"] == objects


def test_text_that_is_not_unicode_is_refused() -> None:
    with pytest.raises(InputError) as raised:
        wallet_id("0x\ud800", "unknown")  # a lone surrogate: no UTF-8 for it
    assert raised.value.code == "FIELD_TYPE_INVALID"
