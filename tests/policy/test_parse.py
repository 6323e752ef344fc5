"""The policy language: YAML/JSON → JSON Schema → cross-reference checks → frozen Policy; every problem located."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from mamori.errors import MamoriError
from mamori.policy.model import Approvals, TimeWindow
from mamori.policy.parse import PolicyError, load_policy, load_policy_text, parse_duration, policy_schema

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_PATH = ROOT / "src" / "mamori" / "content" / "policies" / "sample.yaml"
ETH = 10**18
USDC = 10**6


def sample_document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SAMPLE_PATH.read_text(encoding="utf-8"))
    return document


def problems_of(mutate: Callable[[dict[str, Any]], object]) -> list[tuple[str, str]]:
    document = sample_document()
    mutate(document)
    with pytest.raises(PolicyError) as caught:
        load_policy(document)
    assert caught.value.code == "POLICY_INVALID"
    return caught.value.problems


# --- the sample -------------------------------------------------------------------------------------------------------
def test_sample_policy_loads_into_base_units_seconds_and_minutes() -> None:
    raw = SAMPLE_PATH.read_bytes()
    policy = load_policy_text(raw)
    assert policy.id == "sample-exchange"
    assert policy.digest == hashlib.sha256(raw).hexdigest()
    assert policy.timezone == "Asia/Tokyo"
    assert policy.require_signed_request
    assert policy.require_transaction == frozenset({"hot", "warm", "cold"})
    assert {w.id: w.tier for w in policy.wallets.values()} == {
        "eth-hot-1": "hot",
        "eth-warm-1": "warm",
        "eth-cold-1": "cold",
    }
    cold = policy.wallets["eth-cold-1"]
    assert cold.address == "0x1db92e2eebc8e0c075a02bea49a2935bcd2dfcf4"  # normalised: lowercase
    assert cold.safe_version == "1.1.1"
    assert policy.assets["USDC"].contract == bytes.fromhex("a0b86991c6218b36c1d19d4a2e9eb0ce3606eb48")
    assert policy.assets["ETH"].contract is None
    rules = {rule.id: rule for rule in policy.rules}
    assert rules["hot-routine"].match.amount_at_most == 10 * ETH
    assert rules["hot-routine"].match.amount_asset == "ETH"
    assert rules["hot-routine-usdc"].match.amount_at_most == 20_000 * USDC
    assert rules["cold-two-approvals"].approvals == Approvals(
        2, frozenset({"treasury", "security"}), min_employees=1, distinct_organisations=True
    )
    assert rules["cold-business-hours"].effect == "forbid"
    assert rules["cold-business-hours"].match.outside == TimeWindow(frozenset(range(5)), 9 * 60, 18 * 60)
    limits = {limit.id: limit for limit in policy.limits}
    assert limits["hot-single-eth"].max_amount == 10 * ETH and limits["hot-single-eth"].asset == "ETH"
    assert limits["hot-velocity"].window_seconds == 600 and limits["hot-velocity"].max_count == 5
    assert limits["hot-velocity"].per == ("wallet",)
    assert limits["hot-daily-eth"].window_seconds == 86400 and limits["hot-daily-eth"].max_amount == 50 * ETH
    assert limits["hot-daily-eth"].per == ("wallet", "asset")
    assert limits["cold-share"].max_percent == 5
    assert policy.address_book.cooling_off_seconds == 48 * 3600
    assert policy.address_book.required_for == frozenset({"warm", "cold"})
    assert policy.findings.deny == frozenset({"critical", "high"})
    assert dict(policy.findings.escalate) == {"medium": Approvals(1, frozenset({"security"}))}
    assert policy.screening.deny and not policy.screening.lists


def test_sample_policy_is_valid_against_the_published_schema() -> None:
    schema = policy_schema()
    Draft202012Validator.check_schema(schema)
    assert not list(Draft202012Validator(schema).iter_errors(sample_document()))


def test_the_same_policy_as_json_text_loads_identically() -> None:
    as_json = json.dumps(sample_document())
    from_json = load_policy_text(as_json)
    from_yaml = load_policy_text(SAMPLE_PATH.read_bytes())
    assert from_json.rules == from_yaml.rules
    assert from_json.limits == from_yaml.limits
    assert from_json.digest == hashlib.sha256(as_json.encode()).hexdigest() != from_yaml.digest


def test_defaults() -> None:
    document = sample_document()
    for key in ("require_transaction", "address_book", "findings", "screening"):
        del document[key]
    del document["system_of_record"]["require_signed_request"]
    document["limits"] = [{"id": "v", "kind": "velocity", "window": "1h", "max_count": 3}]
    policy = load_policy(document)
    assert policy.require_signed_request is True
    assert policy.require_transaction == frozenset({"hot", "warm", "cold"})
    assert policy.address_book.cooling_off_seconds == 48 * 3600
    assert policy.address_book.add_quorum == Approvals(2)
    assert policy.address_book.required_for == frozenset({"warm", "cold"})
    assert policy.findings.deny == frozenset({"critical", "high"}) and policy.findings.escalate == ()
    assert policy.screening.deny is True and policy.screening.lists == frozenset()
    assert policy.limits[0].per == ("wallet", "asset")
    assert policy.digest == ""  # load_policy of a document: no text, no digest


def test_candidates_preselect_rules_per_wallet_and_asset() -> None:
    document = sample_document()
    document["rules"].append(
        {"id": "block-one", "effect": "forbid", "when": {"destination": ["0x51E9d833Ecae4E8D9D8Be17300AEE6D3398C135D"]}}
    )
    policy = load_policy(document)
    hot_eth = policy.candidates[("eth-hot-1", "ETH")]
    assert [rule.id for rule in hot_eth.rules] == ["hot-routine"]
    assert [limit.id for limit in hot_eth.limits] == ["hot-single-eth", "hot-velocity", "hot-daily-eth"]
    assert [rule.id for rule in hot_eth.rules_for("0x51e9d833ecae4e8d9d8be17300aee6d3398c135d")] == [
        "hot-routine",
        "block-one",
    ]
    cold_usdc = policy.candidates[("eth-cold-1", "USDC")]
    assert [rule.id for rule in cold_usdc.rules] == ["cold-two-approvals", "cold-business-hours"]
    assert [limit.id for limit in cold_usdc.limits] == []
    assert set(policy.candidates) == {(w, a) for w in policy.wallets for a in ("ETH", "USDC")}


# --- amounts, durations, windows --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 ETH", 10 * ETH),
        ("0.5 ETH", ETH // 2),
        ("0.000000000000000001 ETH", 1),
        ("20000 USDC", 20_000 * USDC),
        ("1.250000 USDC", 1_250_000),
        ("0 USDC", 0),
    ],
)
def test_amounts_are_decimal_text_in_base_units_of_their_asset(text: str, expected: int) -> None:
    document = sample_document()
    document["rules"][0]["when"] = {"amount_at_most": text}
    policy = load_policy(document)
    assert policy.rules[0].match.amount_at_most == expected
    assert type(policy.rules[0].match.amount_at_most) is int


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("0.0000001 USDC", "has more decimals than USDC"),
        ("0.0000000000000000001 ETH", "has more decimals than ETH"),
        ("10 BTC", "asset 'BTC' is not defined"),
    ],
)
def test_amounts_that_do_not_fit_their_asset_are_problems(text: str, at: str) -> None:
    found = problems_of(lambda d: d["rules"][0].__setitem__("when", {"amount_at_most": text}))
    assert any(location == "rules[0].when.amount_at_most" and at in problem for location, problem in found), found


@pytest.mark.parametrize("text", ["10", "10ETH", "1e3 ETH", "-1 ETH", "1,000 ETH", "ten ETH", 10, 0.5])
def test_amounts_are_never_floats_or_bare_numbers(text: object) -> None:
    found = problems_of(lambda d: d["rules"][0].__setitem__("when", {"amount_at_most": text}))
    assert [location for location, _ in found] == ["rules[0].when.amount_at_most"]


def test_amounts_with_many_digits_are_exact_or_reported() -> None:
    document = sample_document()
    document["rules"][1]["when"]["amount_at_most"] = "12345678901234567890123456789 USDC"
    try:
        policy = load_policy(document)
    except PolicyError:
        return
    assert policy.rules[1].match.amount_at_most == 12345678901234567890123456789 * USDC


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("48h", 48 * 3600),
        ("1h30m", 5400),
        ("10m", 600),
        ("2d", 172800),
        ("90s", 90),
        ("1d2h3m4s", 93784),
        ("PT48H", 48 * 3600),
        ("P2D", 172800),
        ("P1DT2H", 93600),
        ("PT1H30M", 5400),
        ("PT45S", 45),
    ],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "48", "1x", "1h 30m", "P", "PT1X", "1.5h", "h48"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_time_windows_and_their_problems() -> None:
    document = sample_document()
    document["rules"][4]["when"] = {"outside": {"from": "22:00", "to": "06:00", "days": ["fri"]}}
    window = load_policy(document).rules[4].match.outside
    assert window == TimeWindow(frozenset({4}), 22 * 60, 6 * 60)
    document["rules"][4]["when"] = {"within": {"from": "00:00", "to": "24:00"}}
    assert load_policy(document).rules[4].match.within == TimeWindow(frozenset(range(7)), 0, 24 * 60)
    for bad in ({"from": "09:00", "to": "09:00"}, {"from": "24:30", "to": "09:00"}):
        found = problems_of(lambda d, bad=bad: d["rules"][4].__setitem__("when", {"outside": bad}))
        assert found == [("rules[4].when.outside", "the window must span some time within 00:00–24:00")]
    found = problems_of(lambda d: d["rules"][4].__setitem__("when", {"outside": {"from": "9:00", "to": "18:00"}}))
    assert found[0][0] == "rules[4].when.outside.from"


def test_rule_destinations_are_normalised_and_checked() -> None:
    document = sample_document()
    document["rules"].append(
        {"id": "block", "effect": "forbid", "when": {"destination": ["0x51E9d833Ecae4E8D9D8Be17300AEE6D3398C135D"]}}
    )
    assert load_policy(document).rules[-1].match.destinations == frozenset(
        {"0x51e9d833ecae4e8d9d8be17300aee6d3398c135d"}
    )
    document["rules"][-1]["when"]["destination"] = ["0x51E9d833Ecae4E8D9D8Be17300AEE6D3398C135d"]  # checksum broken
    with pytest.raises(PolicyError) as caught:
        load_policy(document)
    assert caught.value.problems[0][0] == "rules[5].when.destination"


# --- problems: located, all at once -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mutate", "location", "fragment"),
    [
        (lambda d: d["rules"][0].__setitem__("effect", "maybe"), "rules[0].effect", "is not one of"),
        (lambda d: d.__setitem__("policy", 2), "policy", "1 was expected"),
        (lambda d: d.__setitem__("extra", 1), "(root)", "'extra' was unexpected"),
        (lambda d: d["wallets"]["eth-hot-1"].__setitem__("tier", "lukewarm"), "wallets.eth-hot-1.tier", "not one of"),
        (lambda d: d["wallets"]["eth-hot-1"]["assets"].append("BTC"), "wallets.eth-hot-1.assets", "not defined"),
        (lambda d: d["rules"][0]["when"].__setitem__("wallet", ["nope"]), "rules[0].when.wallet", "not defined"),
        (lambda d: d["limits"][0]["when"].__setitem__("asset", ["DAI"]), "limits[0].when.asset", "not defined"),
        (
            lambda d: d["rules"][0]["when"].__setitem__("amount_above", "1 USDC"),
            "rules[0].when.amount_at_most",
            "must name the same asset",
        ),
        (
            lambda d: d["rules"][0]["when"].__setitem__("asset", ["USDC"]),
            "rules[0].when.asset",
            "which this condition excludes",
        ),
        (
            lambda d: d["rules"][2]["approvals"].__setitem__("groups", ["ghosts"]),
            "rules[2].approvals.groups",
            "no members",
        ),
        (
            lambda d: d["rules"][2]["approvals"].__setitem__("min_employees", 2),
            "rules[2].approvals.min_employees",
            "exceed",
        ),
        (lambda d: d["rules"][3]["approvals"].__setitem__("count", 4), "rules[3].approvals.count", "can never be met"),
        (
            lambda d: d.__setitem__("rules", [r for r in d["rules"] if r["effect"] == "forbid"]),
            "rules",
            "no rule permits anything",
        ),
        (lambda d: d["limits"][0].__setitem__("id", "hot-routine"), "limits[0].id", "duplicate id"),
        (lambda d: d["rules"][4].__setitem__("approvals", {"count": 1}), "rules[4].approvals", "cannot be overcome"),
        (lambda d: d["limits"][1].pop("window"), "limits[1]", "needs window"),
        (lambda d: d["limits"][1].pop("max_count"), "limits[1]", "needs max_count or max_amount"),
        (lambda d: d["limits"][3].pop("asset"), "limits[3]", "needs the asset"),
        (lambda d: d["limits"][0].pop("max_amount"), "limits[0]", "needs max_amount"),
        (lambda d: d["limits"][3].__setitem__("max_amount", "1 USDC"), "limits[3].max_amount", "the limit is for ETH"),
        (lambda d: d["limits"][1].__setitem__("window", "PT1X"), "limits[1].window", "is not a duration"),
        (lambda d: d["limits"][3].__setitem__("max_percent", 101), "limits[3].max_percent", "maximum"),
        (lambda d: d["findings"].__setitem__("deny", ["high"]), "findings.deny", "'critical' cannot be left out"),
        (lambda d: d["findings"]["escalate"].__setitem__("high", {"count": 1}), "findings.escalate.high", "already"),
        (lambda d: d.__setitem__("timezone", "Mars/Olympus"), "timezone", "unknown time zone"),
        (
            lambda d: d["wallets"]["eth-cold-1"].__setitem__("address", "0x1db92e2eebc8e0c075a02bea49a2935bcd2dfcF4"),
            "wallets.eth-cold-1.address",
            "checksum",
        ),
        (
            lambda d: d["wallets"]["eth-cold-1"].__setitem__("safe_version", "9.9.9"),
            "wallets.eth-cold-1.safe_version",
            "",
        ),
        (
            lambda d: d["system_of_record"]["keys"][0].__setitem__("ed25519", "0x1234"),
            "system_of_record.keys[0].ed25519",
            "32-byte",
        ),
        (lambda d: d.pop("system_of_record"), "system_of_record", "no system-of-record key"),
        (lambda d: d["system_of_record"].__setitem__("keys", []), "system_of_record.keys", "should be non-empty"),
        (
            lambda d: d["address_book"].__setitem__("cooling_off", "two days"),
            "address_book.cooling_off",
            "does not match",
        ),
        (lambda d: d["assets"]["USDC"].__setitem__("contract", "0x12"), "assets.USDC.contract", "not a valid contract"),
        (lambda d: d["rules"][0].__setitem__("id", "has space"), "rules[0].id", "does not match"),
        (lambda d: d["people"]["aiko"].pop("employee"), "people.aiko", "'employee' is a required property"),
    ],
)
def test_problems_name_their_location(mutate: Callable[[dict[str, Any]], object], location: str, fragment: str) -> None:
    found = problems_of(mutate)
    assert any(at == location and fragment in problem for at, problem in found), found


def test_every_problem_is_reported_at_once() -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["rules"][0]["effect"] = "maybe"
        d["timezone"] = 5
        d["limits"][0]["kind"] = "weekly"

    found = problems_of(mutate)
    assert {at for at, _ in found} == {"rules[0].effect", "timezone", "limits[0].kind"}
    with pytest.raises(PolicyError) as caught:
        document = sample_document()
        mutate(document)
        load_policy(document)
    body = caught.value.to_dict()["error"]
    assert body["code"] == "POLICY_INVALID"
    assert len(body["problems"]) == 3 and body["details"]["count"] == 3
    assert body["message"]["en"] and body["message"]["ja"]


def test_cross_reference_problems_are_all_reported_too() -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["timezone"] = "Mars/Olympus"
        d["rules"][0]["when"]["wallet"] = ["nope"]
        d["limits"][1].pop("max_count")

    assert {at for at, _ in problems_of(mutate)} == {"timezone", "rules[0].when.wallet", "limits[1]"}


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n", "{}", "null", "~"])
def test_an_empty_policy_is_an_error(text: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy_text(text)
    assert caught.value.problems == [("(file)", "the policy is empty")]


@pytest.mark.parametrize("text", ["policy: [", "a: b: c", "\t- x", "key: 'open"])
def test_invalid_yaml_is_a_policy_error(text: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy_text(text)
    assert caught.value.problems[0][0] == "(file)"
    assert "not valid YAML" in caught.value.problems[0][1]


@pytest.mark.parametrize("document", [[], "policy", 1, [{"policy": 1}], True])
def test_a_policy_is_a_mapping(document: object) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(document)
    assert caught.value.problems[0][0] == "(root)"


def test_a_yaml_scalar_that_looks_like_an_impossible_date_is_a_policy_error() -> None:
    with pytest.raises(MamoriError):
        load_policy_text("policy: 1\nid: x\ntimezone: 2020-13-45\n")


@pytest.mark.parametrize("timezone", ["America", "Etc", "a" * 300])
def test_a_time_zone_that_names_a_directory_or_is_too_long_is_a_problem(timezone: str) -> None:
    document = sample_document()
    document["timezone"] = timezone
    with pytest.raises(PolicyError):
        load_policy(document)


def test_integral_float_decimals_are_handled() -> None:
    document = sample_document()
    document["assets"]["ETH"]["decimals"] = 18.0
    try:
        policy = load_policy(document)
    except PolicyError:
        return
    assert policy.rules[0].match.amount_at_most == 10 * ETH


def test_load_policy_does_not_modify_its_document() -> None:
    document = sample_document()
    before = copy.deepcopy(document)
    load_policy(document)
    assert document == before
