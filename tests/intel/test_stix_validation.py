"""STIX 2.1 validation of submitted objects (intel/stix_validation.py), differentially against stix2-validator.

The differential tests draw valid objects of every fast-path type, apply one mutation each, and compare our verdict
with stix2-validator's (non-strict, errors only; the validator raising counts as a refusal). Where the two disagree
by design, the mutation says so with a :class:`Differs` that cites the STIX 2.1 section settling it, and the test
asserts both documented verdicts: the difference cannot silently widen, and it shows when the validator changes.
Vectors: the OASIS bundles and TLP 2.0 marking definitions in ../shared/data/intel/stix (from
oasis-open/cti-stix2-json-schemas examples and cti-stix-common-objects).
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stix2patterns.validator import run_validator
from stix2validator import ValidationOptions, validate_instance

from mamori.errors import ERROR_CATALOG, InputError
from mamori.intel.stix_validation import FAST_PATH_TYPES, Problem, Validator, validate
from mamori.intel.tlp import TLP2_EXTENSION

STIX = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "intel" / "stix"
# The reference: stix2-validator as a user would run it, non-strict, every SHOULD check on (warnings are ignored).
REFERENCE_OPTIONS = ValidationOptions(version="2.1", strict=False)
# stix2-validator evaluates a deprecated jsonschema name whenever a check of its raises; nothing of ours.
pytestmark = pytest.mark.filterwarnings("ignore:jsonschema.exceptions.RefResolutionError:DeprecationWarning")
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TLP_CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
TLP_RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
WALLET_TYPE_EXTENSION = "extension-definition--4bb98549-a34f-4edc-9333-98d5d47f25b6"
WALLET_PROPERTIES_EXTENSION = "extension-definition--243225c1-e82b-454f-9b8c-3c8e3b4707bf"
TLP1 = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "white",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}


def reference_valid(obj: Any) -> bool:
    """stix2-validator's verdict from its errors alone; an exception (it raises on some malformed input) refuses."""
    try:
        return bool(validate_instance(obj, REFERENCE_OPTIONS).is_valid)
    except Exception:  # noqa: BLE001 - any failure of the reference is its refusal
        return False


# --- valid objects ----------------------------------------------------------------------------------------------

uuids = st.one_of(st.uuids(version=4), st.builds(uuid.uuid5, st.just(uuid.NAMESPACE_URL), st.text(max_size=8)))
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1))  # naive: STIX times are UTC
texts = st.text(min_size=1, max_size=12)


def ident(kind: str) -> st.SearchStrategy[str]:
    return uuids.map(lambda u: f"{kind}--{u}")


def stamp(moment: datetime, digits: int = 3) -> str:
    """A STIX timestamp with ``digits`` fractional digits (three: millisecond precision)."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}" + (f".{moment.microsecond:06d}"[: digits + 1] if digits else "") + "Z"


def draw_optional(draw: st.DrawFn, obj: dict[str, Any], optional: dict[str, st.SearchStrategy[Any]]) -> None:
    """Each optional property drawn or left out."""
    for name, strategy in optional.items():
        if draw(st.booleans()):
            obj[name] = draw(strategy)


@st.composite
def times(draw: st.DrawFn) -> tuple[str, str]:
    """created and modified: modified at or after created, each to the millisecond or the microsecond."""
    created = draw(moments)
    if draw(st.booleans()):
        created = created.replace(microsecond=created.microsecond // 1000 * 1000)
    modified = created + draw(st.sampled_from([timedelta(0), timedelta(milliseconds=1), timedelta(days=3)]))

    def spelled(moment: datetime) -> str:  # three digits only where they are exact
        return stamp(moment, 6 if moment.microsecond % 1000 else draw(st.sampled_from([3, 6])))

    return spelled(created), spelled(modified)


external_reference = st.one_of(
    st.builds(lambda n, u: {"source_name": n, "url": u}, texts, st.sampled_from(["https://example.com/a?b=c#d"])),
    st.builds(lambda n, i: {"source_name": n, "external_id": i}, texts, st.sampled_from(["T1566", "ofac-sdn"])),
    st.builds(lambda n, d: {"source_name": n, "description": d}, texts, texts),
    st.just({"source_name": "cve", "external_id": "CVE-2024-3094"}),
    st.just(
        {
            "source_name": "list",
            "url": "https://example.com/list.csv",
            "hashes": {"SHA-256": "a" * 64, "MD5": "0" * 32},
        }
    ),
)


@st.composite
def common(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """The common properties of an SDO/SRO (§3.2), optional ones drawn at random."""
    created, modified = draw(times())
    obj: dict[str, Any] = {
        "type": kind,
        "spec_version": "2.1",
        "id": draw(ident(kind)),
        "created": created,
        "modified": modified,
    }
    optional = {
        "created_by_ref": ident("identity"),
        "revoked": st.booleans(),
        "labels": st.lists(texts, min_size=1, max_size=3),
        "confidence": st.integers(0, 100),
        "lang": st.sampled_from(["en", "ja", "ja-JP", "en-US", "fr"]),
        "external_references": st.lists(external_reference, min_size=1, max_size=2),
        "object_marking_refs": st.lists(st.sampled_from([TLP_CLEAR, TLP_RED]), min_size=1, max_size=2),
        "x_mamori_note": texts,
    }
    draw_optional(draw, obj, optional)
    return obj


def wallet_pattern(values: list[str]) -> str:
    escaped = (v.replace("\\", "\\\\").replace("'", "\\'") for v in values)
    return "[" + " OR ".join(f"cryptocurrency-wallet:value = '{v}'" for v in escaped) + "]"


OTHER_PATTERNS = [
    "[ipv4-addr:value = '198.51.100.7']",
    "[file:hashes.'SHA-256' = '" + "ab" * 32 + "']",
    "[domain-name:value = 'example.com'] AND [ipv4-addr:value = '192.0.2.1'] WITHIN 600 SECONDS",
    "[cryptocurrency-wallet:value='0xabc']",  # a wallet pattern spelled otherwise: the general path
    "[cryptocurrency-wallet:value = '0xabc'] OR [cryptocurrency-wallet:value = '0xdef']",
]


@st.composite
def indicators(draw: st.DrawFn) -> dict[str, Any]:
    obj = draw(common("indicator"))
    start = draw(moments)
    wallets = st.lists(st.text(max_size=10), min_size=1, max_size=3).map(wallet_pattern)
    obj |= {
        "pattern": draw(st.one_of(wallets, st.sampled_from(OTHER_PATTERNS))),
        "pattern_type": "stix",
        "valid_from": stamp(start, draw(st.sampled_from([0, 3, 6]))),
    }
    optional = {
        "name": texts,
        "description": texts,
        "indicator_types": st.just(["malicious-activity"]),
        "pattern_version": st.just("2.1"),
        "valid_until": st.just(stamp(start + timedelta(days=30))),
        "kill_chain_phases": st.just([{"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": "c2"}]),
    }
    draw_optional(draw, obj, optional)
    return obj


@st.composite
def relationships(draw: st.DrawFn) -> dict[str, Any]:
    obj = draw(common("relationship"))
    start = draw(moments)
    obj |= {
        "relationship_type": draw(st.sampled_from(["based-on", "indicates", "related-to", "x-mamori-holds"])),
        "source_ref": draw(ident("indicator")),
        "target_ref": draw(st.sampled_from(["cryptocurrency-wallet", "malware", "identity"]).flatmap(ident)),
    }
    if draw(st.booleans()):
        obj |= {"start_time": stamp(start, 0), "stop_time": stamp(start + timedelta(seconds=1), 0)}
    if draw(st.booleans()):
        obj["description"] = draw(texts)
    return obj


@st.composite
def sightings(draw: st.DrawFn) -> dict[str, Any]:
    obj = draw(common("sighting"))
    seen = draw(moments)
    obj["sighting_of_ref"] = draw(ident("indicator"))
    optional = {
        "count": st.integers(0, 999_999_999),
        "first_seen": st.just(stamp(seen)),
        "last_seen": st.just(stamp(seen + timedelta(hours=1))),
        "observed_data_refs": st.lists(ident("observed-data"), min_size=1, max_size=2),
        "where_sighted_refs": st.lists(st.sampled_from(["identity", "location"]).flatmap(ident), min_size=1),
        "summary": st.booleans(),
        "description": texts,
    }
    draw_optional(draw, obj, optional)
    return obj


@st.composite
def identities(draw: st.DrawFn) -> dict[str, Any]:
    obj = draw(common("identity"))
    obj["name"] = draw(texts)
    optional = {
        "identity_class": st.sampled_from(["organization", "individual"]),
        "roles": st.lists(texts, min_size=1, max_size=2),
        "sectors": st.just(["financial-services"]),
        "contact_information": texts,
        "description": texts,
    }
    draw_optional(draw, obj, optional)
    return obj


@st.composite
def extension_definitions(draw: st.DrawFn) -> dict[str, Any]:
    obj = draw(common("extension-definition"))
    kinds = draw(st.sampled_from([["new-sco"], ["property-extension"], ["toplevel-property-extension"]]))
    obj |= {
        "created_by_ref": draw(ident("identity")),
        "name": draw(texts),
        "schema": "https://mamori.example/stix/extensions/schema.json",
        "version": "1.0.0",
        "extension_types": kinds,
    }
    if "toplevel-property-extension" in kinds and draw(st.booleans()):
        obj["extension_properties"] = ["x_mamori_chain"]
    return obj


@st.composite
def marking_definitions(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["tlp2", "statement", "tlp1", "other"]))
    if kind == "tlp1":
        marking_id, level = draw(st.sampled_from(sorted(TLP1.items())))
        return {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": marking_id,
            "created": "2017-01-20T00:00:00.000Z",
            "definition_type": "tlp",
            "name": f"TLP:{level.upper()}",
            "definition": {"tlp": level},
        }
    obj: dict[str, Any] = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": draw(ident("marking-definition")),
        "created": draw(times())[0],
    }
    if kind == "tlp2":
        level = draw(st.sampled_from(["clear", "green", "amber", "amber+strict", "red"]))
        obj |= {
            "name": f"TLP:{level.upper()}",
            "extensions": {TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level}},
        }
    elif kind == "statement":
        obj |= {"definition_type": "statement", "definition": {"statement": draw(texts)}}
    else:
        obj |= {"definition_type": "x-acme-handling", "definition": {"handling": draw(texts)}}
    if draw(st.booleans()):
        obj["created_by_ref"] = draw(ident("identity"))
    if draw(st.booleans()):
        obj["object_marking_refs"] = [TLP_CLEAR]
    return obj


@st.composite
def wallets(draw: st.DrawFn) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "cryptocurrency-wallet",
        "id": draw(ident("cryptocurrency-wallet")),
        "value": draw(
            st.sampled_from(
                ["0x098b716b8aaf21512996dc57eb0615e2383e2f96", "bc1qa5wkgaew2dkv56kfvj49j0av5nml45x9ek9hz6"]
            )
        ),
    }
    if draw(st.booleans()):
        obj["spec_version"] = "2.1"
    if draw(st.booleans()):
        obj["object_marking_refs"] = [TLP_CLEAR]
    if draw(st.booleans()):
        obj["defanged"] = draw(st.booleans())
    if draw(st.booleans()):
        obj["extensions"] = {
            WALLET_TYPE_EXTENSION: {"extension_type": "new-sco"},
            WALLET_PROPERTIES_EXTENSION: {"extension_type": "property-extension", "chain": "ethereum"},
        }
    return obj


VALID: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "indicator": indicators(),
    "relationship": relationships(),
    "sighting": sightings(),
    "identity": identities(),
    "extension-definition": extension_definitions(),
    "marking-definition": marking_definitions(),
    "cryptocurrency-wallet": wallets(),
}
SDO_SRO = ("indicator", "relationship", "sighting", "identity", "extension-definition")
ALL = tuple(VALID)


@st.composite
def granular(draw: st.DrawFn, obj: dict[str, Any]) -> dict[str, Any]:
    """A granular marking of one of the object's own properties."""
    return {"selectors": [draw(st.sampled_from(sorted(k for k in obj if k != "type")))], "marking_ref": TLP_CLEAR}


def test_the_strategies_cover_the_fast_path() -> None:
    assert set(VALID) == FAST_PATH_TYPES


@pytest.mark.parametrize("kind", ALL)
@SETTINGS
@given(data=st.data())
def test_valid_objects_are_valid_for_both(kind: str, data: st.DataObject) -> None:
    obj = data.draw(VALID[kind])
    if not is_tlp1(obj) and data.draw(st.booleans()):
        obj["granular_markings"] = [data.draw(granular(obj))]
    assert validate(obj) == []
    assert reference_valid(obj), obj


# --- mutations ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Differs:
    """A mutation on which we and stix2-validator disagree by design: ``ours`` is our verdict (valid?), the
    validator's is the opposite; ``why`` cites the rule that settles it."""

    ours: bool
    why: str


Mutate = Callable[[dict[str, Any], st.DataObject], "Differs | None"]


@dataclass(frozen=True)
class Mutation:
    name: str
    kinds: tuple[str, ...]
    apply: Mutate


MUTATIONS: list[Mutation] = []


def mutation(*kinds: str) -> Callable[[Mutate], Mutate]:
    def register(function: Mutate) -> Mutate:
        MUTATIONS.append(Mutation(function.__name__, kinds or ALL, function))
        return function

    return register


def is_tlp1(obj: dict[str, Any]) -> bool:
    """One of the four standard TLP 1.0 definitions: any change makes it invalid for both (§7.2.1.4)."""
    return obj.get("definition_type") == "tlp"


REQUIRED = {
    "indicator": ["id", "spec_version", "created", "modified", "pattern", "pattern_type", "valid_from"],
    "relationship": ["id", "spec_version", "created", "modified", "relationship_type", "source_ref", "target_ref"],
    "sighting": ["id", "spec_version", "created", "modified", "sighting_of_ref"],
    "identity": ["id", "spec_version", "created", "modified", "name"],
    "extension-definition": [
        "id",
        "spec_version",
        "created",
        "modified",
        "name",
        "schema",
        "version",
        "extension_types",
    ],
    "marking-definition": ["id", "spec_version", "created"],
}


@mutation(*REQUIRED)
def remove_a_required_property(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    del obj[data.draw(st.sampled_from(REQUIRED[obj["type"]]))]
    return None


@mutation("extension-definition")
def remove_created_by_ref_of_an_extension_definition(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    del obj["created_by_ref"]
    return Differs(
        False, "§7.3: created_by_ref is required on an extension-definition; the validator's schema omits it"
    )


@mutation("cryptocurrency-wallet")
def remove_or_retype_the_wallet_value(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    if data.draw(st.booleans()):
        del obj["value"]
    else:
        obj["value"] = data.draw(st.sampled_from([5, ["0xabc"], {"a": "b"}, True]))
    return Differs(
        False, "OpenCTI's cryptocurrency-wallet SCO has a required string 'value'; the validator has no schema for it"
    )


@mutation()
def null_property(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    obj[data.draw(st.sampled_from(sorted(k for k in obj if k != "type")))] = None
    return None


@mutation()
def wrongly_typed_property(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    name = data.draw(st.sampled_from(sorted(k for k in obj if k not in ("type", "value"))))
    current = obj[name]
    if isinstance(current, bool):
        wrong: list[Any] = ["true", 1, None]
    elif isinstance(current, int):
        wrong = ["5", 5.5, True]
    elif isinstance(current, str):
        wrong = [5, [current], {"a": current}, True]
    elif isinstance(current, list):
        wrong = ["x", {"a": 1}, []]
    else:
        wrong = ["x", 5, []]
    obj[name] = data.draw(st.sampled_from(wrong))
    return None


@mutation(*SDO_SRO, "marking-definition")
def bad_created_timestamp(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    bad = data.draw(
        st.sampled_from(
            [
                "2026-01-02T03:04:05Z",  # below millisecond precision
                "2026-01-02T03:04:05.6Z",
                "2026-01-02T03:04:05.67Z",
                "2026-01-02T03:04:05.678+00:00",
                "2026-01-02 03:04:05.678Z",
                "2026-01-02t03:04:05.678z",
                "2026-02-30T03:04:05.678Z",
                "2026-13-02T03:04:05.678Z",
                "2026-01-02T24:00:00.000Z",
                "2026-01-02T03:04:60.000Z",  # a leap second: not a time Python (or the hub) can order
                "0000-01-01T00:00:00.000Z",
                "2026-01-02T03:04:05.678",
                "",
            ]
        )
    )
    tlp1, obj["created"] = is_tlp1(obj), bad
    if obj["type"] == "marking-definition" and not tlp1 and bad.startswith("2026-01-02T03:04:05") and bad.endswith("Z"):
        return Differs(
            False,
            "§3.2: created is precise to the millisecond on every object; the validator's marking-definition "
            "schema checks only the timestamp form",
        )
    return None


@mutation(*SDO_SRO)
def modified_before_created(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    created = datetime.strptime(obj["created"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    step = data.draw(st.sampled_from([timedelta(milliseconds=1), timedelta(microseconds=1), timedelta(days=1)]))
    obj["modified"] = stamp(created - step, 6)
    return None


@mutation(*SDO_SRO)
def precise_timestamps(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    """More fractional digits than six are valid (§2.14); instants are ordered by value, not by spelling."""
    milliseconds = obj["created"][:23]
    case = data.draw(st.sampled_from(["same instant", "1 ns later", "100 ns earlier"]))
    obj["created"] = milliseconds + ("0001Z" if case == "100 ns earlier" else "000000Z")
    obj["modified"] = milliseconds + ("000000001Z" if case == "1 ns later" else "Z")
    if case == "same instant":
        return None
    # With more than six digits the validator compares created and modified as strings, where 'Z' sorts after '0'.
    return Differs(case == "1 ns later", "§3.2: modified is later than or equal to created, as instants")


@mutation(*SDO_SRO, "marking-definition", "cryptocurrency-wallet")
def bad_id(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    kind, suffix = obj["type"], str(uuid.uuid4())
    bad = data.draw(
        st.sampled_from(
            [
                f"{kind}--{suffix[:14]}0{suffix[15:]}",  # UUID version 0
                f"{kind}--{suffix[:14]}7{suffix[15:]}",  # version 7: not RFC 4122
                f"{kind}--{suffix[:19]}c{suffix[20:]}",  # not the RFC 4122 variant
                f"{kind}--{suffix.replace('-', '')}",
                f"{kind}-{suffix}",
                f"{kind}--{suffix}x",
                f"{'identity' if kind != 'identity' else 'malware'}--{suffix}",
                suffix,
            ]
        )
    )
    obj["id"] = bad
    if kind == "cryptocurrency-wallet" and bad.startswith("identity--"):
        return Differs(False, "§2.9: an id begins with its object's type; the validator has no schema for this SCO")
    return None


@mutation(*ALL)
def bad_type_name(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    """An object of a type outside the fast path (however malformed) goes to stix2-validator: same verdict."""
    kind = data.draw(st.sampled_from(["Indicator", "in", "x--wallet", "a" * 251, "wallet-", "x-mamori-wallet", ""]))
    obj["type"], obj["id"] = kind, f"{kind}--{uuid.uuid4()}"
    return None


@mutation(*SDO_SRO, "cryptocurrency-wallet")
def uppercase_uuid(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    kind, _, suffix = obj["id"].partition("--")
    obj["id"] = f"{kind}--{suffix.upper()}"
    return None


@mutation(*SDO_SRO, "cryptocurrency-wallet")
def id_with_a_final_newline(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    obj["id"] += "\n"
    return Differs(
        False,
        "§2.9: an identifier is type--UUID; jsonschema's 'pattern' is re.search, whose '$' also matches before a "
        "final newline",
    )


@mutation("indicator", "relationship", "sighting", "identity")
def bad_reference(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    name = {"indicator": "created_by_ref", "identity": "created_by_ref"}.get(obj["type"], "")
    name = name or ("source_ref" if obj["type"] == "relationship" else "sighting_of_ref")
    suffix = str(uuid.uuid4())
    case = data.draw(st.sampled_from(["malformed", "two-letter", "capital", "double-hyphen", "long", "unrelatable"]))
    obj[name] = {
        "malformed": f"identity-{suffix}",
        "two-letter": f"ab--{suffix}",
        "capital": f"Identity--{suffix}",
        "double-hyphen": f"x--identity--{suffix}",
        "long": f"{'a' * 251}--{suffix}",
        "unrelatable": f"relationship--{suffix}",
    }[case]
    if case == "double-hyphen":
        return Differs(False, "§7.3.2.2: a type name has no two hyphens in a row; the validator's id regex allows them")
    if case == "long":
        return Differs(False, "§7.3.2.2: a type name has at most 250 characters; the validator's id regex has no bound")
    if name == "created_by_ref" and case == "unrelatable":
        return Differs(False, "§3.2: created_by_ref is an identifier of an identity; the validator takes any type")
    return None


@mutation("relationship", "sighting")
def reference_to_an_extension_definition(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    obj["source_ref" if obj["type"] == "relationship" else "sighting_of_ref"] = f"extension-definition--{uuid.uuid4()}"
    return Differs(False, "§5.1, §5.2: an SRO relates SDOs and SCOs; an extension-definition is a meta object")


@mutation(*SDO_SRO)
def wrong_marking_reference(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    obj["object_marking_refs"] = [f"identity--{uuid.uuid4()}"]
    return Differs(
        False, "§3.2: object_marking_refs lists marking-definition ids; the validator's core schema takes any"
    )


@mutation("marking-definition")
def marking_reference_of_a_marking(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    obj["object_marking_refs"] = data.draw(st.sampled_from([[f"identity--{uuid.uuid4()}"], [obj["id"]]]))
    return None  # the validator checks both here: its marking-definition schema and the circular-reference MUST


@mutation(*SDO_SRO)
def values_out_of_range(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    name, value = data.draw(
        st.sampled_from(
            [
                ("confidence", 101),
                ("confidence", -1),
                ("revoked", "true"),
                ("revoked", 0),
                ("labels", [1]),
                ("labels", []),
                ("lang", "en_US"),
                ("lang", "e"),
                ("lang", "ja-"),
                ("lang", ""),
            ]
        )
    )
    obj[name] = value
    return None


@mutation(*SDO_SRO)
def well_formed_language_tag_not_in_the_validator_list(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    obj["lang"] = data.draw(st.sampled_from(["ja-Jpan-JP", "zh-Hant-TW", "x-klingon", "de-CH-1996"]))
    return Differs(True, "§3.2: lang is any RFC 5646 tag; the validator accepts only the 232 codes of its own list")


@mutation(*SDO_SRO, "marking-definition")
def bad_external_reference(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    reference = data.draw(
        st.sampled_from(
            [
                {"source_name": "x"},
                {"url": "https://example.com"},
                {"source_name": 5, "url": "https://example.com"},
                {"source_name": "x", "url": "not a url"},
                {"source_name": "x", "url": "https://exa mple.com/"},
                {"source_name": "cve", "external_id": "2024-3094"},
                {"source_name": "capec", "description": "no id"},
                {"source_name": "x", "external_id": "CVE-2024-3094"},
                {"source_name": "x", "url": "https://example.com", "hashes": {"SHA-256": "abc"}},
                {"source_name": "x", "url": "https://example.com", "hashes": {}},
                {"source_name": "x", "description": 5},
                "https://example.com",
            ]
        )
    )
    obj["external_references"] = [reference]
    return None


@mutation(*ALL)
def granular_markings(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    case = data.draw(st.sampled_from(["unknown property", "bad index", "not a marking", "lang only", "both", "none"]))
    marking = {
        "unknown property": {"selectors": ["no_such_property"], "marking_ref": TLP_CLEAR},
        "bad index": {"selectors": ["id.[99]"], "marking_ref": TLP_CLEAR},
        "not a marking": {"selectors": ["id"], "marking_ref": f"identity--{uuid.uuid4()}"},
        "lang only": {"selectors": ["id"], "lang": "ja"},
        "both": {"selectors": ["id"], "marking_ref": TLP_CLEAR, "lang": "ja"},
        "none": {"selectors": ["id"]},
    }[case]
    obj["granular_markings"] = [marking]
    if is_tlp1(obj):
        return None
    if case == "lang only":
        return Differs(True, "§7.2.3: a granular marking has marking_ref or lang; the validator requires marking_ref")
    if case == "both":
        return Differs(False, "§7.2.3: marking_ref and lang exclude each other; the validator's schema allows both")
    return None


@mutation(*ALL)
def custom_property(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    name, value = data.draw(
        st.sampled_from(
            [
                ("x_mamori_score", 50),
                ("ab", "x"),
                ("Abc", "x"),
                ("_abc", "x"),
                ("severity", "high"),
                ("x_payload_bin", "aGVsbG8="),
                ("x_payload_bin", "not base64"),
                ("x_digest_hex", "abz0"),
                ("x_empty", []),
                ("x_dict", {"a": [1]}),
            ]
        )
    )
    obj[name] = value
    valid = (name, value) in [("x_mamori_score", 50), ("x_payload_bin", "aGVsbG8=")] or name == "x_dict"
    if obj["type"] == "marking-definition" and not is_tlp1(obj) and not valid:
        return Differs(
            False, "§3.1, §2.11 hold for every object; the validator's marking-definition schema checks none"
        )
    return None


@mutation(*ALL)
def property_name_with_a_hyphen(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    obj["x_mamori-score"] = 1
    if is_tlp1(obj):
        return None
    return Differs(
        False,
        "§3.1: property names have a-z, 0-9 and _ only; the validator's name regex '^(…)|id$' is unanchored at the end",
    )


@mutation(*ALL)
def bad_extensions(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    definition = f"extension-definition--{uuid.uuid4()}"
    obj["extensions"] = data.draw(
        st.sampled_from(
            [
                {},
                {definition: {}},
                {definition: {"chain": "ethereum"}},
                {definition: {"extension_type": "new-thing"}},
                {definition: {"extension_type": "property-extension", "Chain": 1}},
                {"extension-definition--not-a-uuid": {"extension_type": "new-sco"}},
                {"x-mamori": {"extension_type": "new-sco"}},
                "property-extension",
            ]
        )
    )
    return None


@mutation(*ALL)
def spec_version(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    value = data.draw(st.sampled_from(["2.0", "2.2", 2.1, ""]))
    obj["spec_version"] = value
    if value == "2.0" and not is_tlp1(obj):
        why = (
            "§3.2: an object of this specification has spec_version 2.1; told to read 2.1, the validator lets 2.0 pass"
        )
        return Differs(False, why)
    return None


@mutation("indicator")
def bad_pattern(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    obj["pattern"] = data.draw(
        st.sampled_from(
            [
                "[cryptocurrency-wallet:value = 'it's']",  # an unescaped quote
                "[cryptocurrency-wallet:value = 'C:\\temp']",  # \t is no escape in a STIX string
                "[cryptocurrency-wallet:value = '0xabc'",
                "cryptocurrency-wallet:value = '0xabc'",
                "[cryptocurrency-wallet:value = '0xabc' or cryptocurrency-wallet:value = '0xdef']",
                "[cryptocurrency-wallet:value = 0xabc]",
                "[File:name = 'a.exe']",
                "[file:hashes.MD5 = 'not a hash']",
                "[cryptocurrency-wallet:value = 'a'] WITHIN 5 SECONDS WITHIN 6 SECONDS",
                "",
            ]
        )
    )
    return None


@mutation("indicator")
def not_a_stix_pattern(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    obj["pattern_type"] = data.draw(st.sampled_from(["sigma", "yara"]))
    obj["pattern"] = "title: anything goes here"
    return None


@mutation("indicator", "relationship", "sighting")
def times_out_of_order(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    start = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    later, earlier = {
        "indicator": ("valid_until", "valid_from"),
        "relationship": ("stop_time", "start_time"),
        "sighting": ("last_seen", "first_seen"),
    }[obj["type"]]
    step = data.draw(st.sampled_from([timedelta(0), timedelta(milliseconds=-1), timedelta(days=-1)]))
    obj[earlier] = stamp(start)
    obj[later] = data.draw(st.sampled_from([stamp(start + step), stamp(start + step, 6)]))
    return None  # equal instants are valid for a sighting (>=) and invalid for the others (>)


@mutation("relationship")
def bad_relationship_type(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    obj["relationship_type"] = data.draw(st.sampled_from(["Based-On", "based on", "based_on", ""]))
    return None


@mutation("sighting")
def bad_sighting_properties(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    name, value = data.draw(
        st.sampled_from(
            [
                ("count", -1),
                ("count", 1_000_000_000),
                ("observed_data_refs", [f"identity--{uuid.uuid4()}"]),
                ("where_sighted_refs", [f"indicator--{uuid.uuid4()}"]),
                ("where_sighted_refs", [f"location--{uuid.uuid4()}"]),
                ("summary", "yes"),
                ("sighting_of_ref", f"sighting--{uuid.uuid4()}"),
            ]
        )
    )
    obj[name] = value
    return None


@mutation("extension-definition")
def bad_extension_definition(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    name, value = data.draw(
        st.sampled_from(
            [
                ("extension_types", ["new-thing"]),
                ("extension_types", []),
                ("extension_properties", ["x_a"]),  # only a toplevel-property-extension has them
                ("schema", 5),
            ]
        )
    )
    obj[name] = value
    if name == "extension_properties":
        obj["extension_types"] = ["property-extension"]
    return None


@mutation("marking-definition")
def bad_marking_definition(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    case = data.draw(st.sampled_from(["statement", "tlp1 id", "tlp1 extra", "tlp1 level", "no definition", "tlp2"]))
    if case == "statement":
        obj |= {"definition_type": "statement", "definition": {"text": "no statement"}}
        obj.pop("extensions", None)
    elif case == "tlp1 id":
        obj |= {"definition_type": "tlp", "definition": {"tlp": "green"}, "name": "TLP:GREEN"}
        obj |= {"id": f"marking-definition--{uuid.uuid4()}", "created": "2017-01-20T00:00:00.000Z"}
        obj.pop("extensions", None)
    elif case == "tlp1 extra":
        obj |= {"id": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "definition_type": "tlp"}
        obj |= {"definition": {"tlp": "green"}, "name": "TLP:GREEN", "created": "2017-01-20T00:00:00.000Z"}
        obj["created_by_ref"] = f"identity--{uuid.uuid4()}"
    elif case == "tlp1 level":
        obj |= {"id": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "definition_type": "tlp"}
        obj |= {"definition": {"tlp": "red"}, "name": "TLP:GREEN", "created": "2017-01-20T00:00:00.000Z"}
    elif case == "no definition":
        for name in ("extensions", "definition", "definition_type"):
            obj.pop(name, None)
    else:
        obj.pop("definition_type", None)
        obj.pop("definition", None)
        obj["extensions"] = {TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": "purple"}}
        return Differs(False, "the TLP 2.0 extension's schema (cti-stix-common-objects) allows five levels")
    return None


@mutation("cryptocurrency-wallet")
def bad_wallet_properties(obj: dict[str, Any], data: st.DataObject) -> Differs | None:
    name, value = data.draw(st.sampled_from([("defanged", "no"), ("object_marking_refs", []), ("value", "")]))
    obj[name] = value
    return None


def test_every_mutation_applies_to_some_type() -> None:
    assert all(set(m.kinds) <= set(ALL) for m in MUTATIONS)
    assert len({m.name for m in MUTATIONS}) == len(MUTATIONS)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.name)
@SETTINGS
@given(data=st.data())
def test_we_agree_with_stix2_validator_on_mutated_objects(mutation: Mutation, data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(mutation.kinds))
    obj = data.draw(VALID[kind])
    mutated = copy.deepcopy(obj)
    differs = mutation.apply(mutated, data)
    problems = validate(mutated)
    ours, theirs = not problems, reference_valid(mutated)
    if differs is None:
        assert ours == theirs, (problems, mutated)
    else:
        assert (ours, theirs) == (differs.ours, not differs.ours), (differs.why, problems, mutated)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_json_in_any_property_gives_problems_not_exceptions(data: st.DataObject) -> None:
    obj = data.draw(st.sampled_from(ALL).flatmap(lambda kind: VALID[kind]))
    names = [*sorted(obj), "x_custom", "extensions", "granular_markings", "external_references", "definition"]
    for name in data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3)):
        obj[name] = data.draw(json_values)
    problems = validate(obj)
    assert all(isinstance(p, Problem) and p.code in ERROR_CATALOG for p in problems)


# --- patterns -----------------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=3))
def test_wallet_patterns_are_valid_whatever_they_hold(values: list[str]) -> None:
    pattern = wallet_pattern(values)
    assert run_validator(pattern) == []
    assert validate(_indicator(pattern)) == []


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["[", "]", "'", "\\", " ", "OR", "or", "=", ":", "value", "cryptocurrency-wallet", "a", "\n"]),
        max_size=24,
    ).map("".join)
)
def test_patterns_near_the_wallet_form_get_stix2_validator_s_verdict(pattern: str) -> None:
    """Strings near the wallet form: our verdict is stix2-validator's, so the fast form accepts nothing the grammar
    refuses."""
    indicator = _indicator(pattern)
    assert (validate(indicator) == []) == reference_valid(indicator), pattern


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="'\\a ][", max_size=6), min_size=1, max_size=2))
def test_wallet_literals_as_written_get_stix2_validator_s_verdict(bodies: list[str]) -> None:
    """Wallet comparisons whose literals are written unescaped: quotes and backslashes in every position."""
    pattern = "[" + " OR ".join(f"cryptocurrency-wallet:value = '{body}'" for body in bodies) + "]"
    indicator = _indicator(pattern)
    assert (validate(indicator) == []) == reference_valid(indicator), pattern


def _indicator(pattern: str) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2026-03-03T02:00:00.000Z",
        "modified": "2026-03-03T02:00:00.000Z",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2026-03-03T02:00:00Z",
    }


# --- the OASIS vectors --------------------------------------------------------------------------------------------


BUNDLE_OBJECTS = [
    (f"{f.name}:{o['id']}", o)
    for f in sorted(STIX.glob("*.json"))
    for o in json.loads(f.read_text(encoding="utf-8"))["objects"]
]


def test_the_oasis_bundles_are_there() -> None:
    assert len(BUNDLE_OBJECTS) > 200, STIX


@pytest.mark.parametrize(("where", "obj"), BUNDLE_OBJECTS, ids=[where for where, _ in BUNDLE_OBJECTS])
def test_every_object_of_the_oasis_bundles_is_valid(where: str, obj: dict[str, Any]) -> None:
    assert validate(obj) == []


def test_the_tlp2_marking_definitions_are_valid_on_the_fast_path() -> None:
    objects = json.loads((STIX / "oasis_tlp2_marking_definitions.json").read_text(encoding="utf-8"))["objects"]
    markings = [o for o in objects if o["type"] == "marking-definition"]
    assert {o["extensions"][TLP2_EXTENSION]["tlp_2_0"] for o in markings} == {
        "clear",
        "green",
        "amber",
        "amber+strict",
        "red",
    }
    assert all(o["type"] in FAST_PATH_TYPES for o in objects)
    for obj in objects:
        assert validate(obj) == [], obj["id"]
        relabelled = copy.deepcopy(obj)
        if obj["type"] == "marking-definition":
            relabelled["extensions"][TLP2_EXTENSION]["tlp_2_0"] = "white"  # TLP 1.0's word, not a TLP 2.0 level
            assert [p.code for p in validate(relabelled)] == ["STIX_EXTENSION_INVALID"]


# --- fixed invalid vectors -----------------------------------------------------------------------------------------

BASE = _indicator("[cryptocurrency-wallet:value = '0x098b716b8aaf21512996dc57eb0615e2383e2f96']")
WALLET = {
    "type": "cryptocurrency-wallet",
    "id": "cryptocurrency-wallet--5a3a3ab8-3c56-5a6e-9f0e-8d3b7e6c1f20",
    "value": "0xabc",
}
MALWARE = {
    "type": "malware",
    "spec_version": "2.1",
    "id": "malware--0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    "created": "2026-03-03T02:00:00.000Z",
    "modified": "2026-03-03T02:00:00.000Z",
    "is_family": False,
}


def ind(**changes: Any) -> dict[str, Any]:
    """The base indicator with ``changes``; a change to ``...`` removes the property."""
    return {k: v for k, v in {**BASE, **changes}.items() if v is not ...}


# (what, object, expected first code, its path, whether stix2-validator refuses it too)
VECTORS: list[tuple[str, Any, str, str, bool]] = [
    ("created below ms", ind(created="2026-03-03T02:00:00Z"), "STIX_TIMESTAMP_INVALID", "created", True),
    ("not a calendar day", ind(valid_from="2026-02-29T00:00:00Z"), "STIX_TIMESTAMP_INVALID", "valid_from", True),
    ("modified < created", ind(modified="2026-03-03T01:59:59.999Z"), "STIX_TIMESTAMP_ORDER", "modified", True),
    (
        "valid_until = valid_from",
        ind(valid_until="2026-03-03T02:00:00.000Z"),
        "STIX_TIMESTAMP_ORDER",
        "valid_until",
        True,
    ),
    ("revoked as a string", ind(revoked="false"), "STIX_PROPERTY_INVALID", "revoked", True),
    ("confidence 101", ind(confidence=101), "STIX_PROPERTY_INVALID", "confidence", True),
    ("confidence true", ind(confidence=True), "STIX_PROPERTY_INVALID", "confidence", True),
    ("null pattern", ind(pattern=None), "STIX_PROPERTY_INVALID", "pattern", True),
    ("missing valid_from", ind(valid_from=...), "STIX_PROPERTY_MISSING", "valid_from", True),
    ("spec 2.0", ind(spec_version="2.0"), "STIX_SPEC_VERSION_INVALID", "spec_version", False),
    ("UUID version 7", ind(id="indicator--8e2e2d2b-17d4-7cbf-938f-98ee46b3cd3f"), "STIX_ID_INVALID", "id", True),
    ("id of another type", ind(id="malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"), "STIX_ID_INVALID", "id", True),
    ("author not an identity", ind(created_by_ref=TLP_CLEAR), "STIX_REF_INVALID", "created_by_ref", False),
    (
        "marking not a marking",
        ind(object_marking_refs=[BASE["id"]]),
        "STIX_REF_INVALID",
        "object_marking_refs[0]",
        False,
    ),
    ("unescaped quote", ind(pattern="[cryptocurrency-wallet:value = 'a'b']"), "STIX_PATTERN_INVALID", "pattern", True),
    (
        "no such escape",
        ind(pattern="[cryptocurrency-wallet:value = 'C:\\temp']"),
        "STIX_PATTERN_INVALID",
        "pattern",
        True,
    ),
    ("type in pattern", ind(pattern="[Wallet:value = 'a']"), "STIX_PATTERN_INVALID", "pattern", True),
    ("reserved name", ind(severity="high"), "STIX_PROPERTY_NAME_INVALID", "severity", True),
    ("short name", ind(ab=1), "STIX_PROPERTY_NAME_INVALID", "ab", True),
    ("empty labels", ind(labels=[]), "STIX_PROPERTY_INVALID", "labels", True),
    ("lang", ind(lang="ja_JP"), "STIX_PROPERTY_INVALID", "lang", True),
    (
        "url",
        ind(external_references=[{"source_name": "x", "url": "example.com/x y"}]),
        "STIX_PROPERTY_INVALID",
        "external_references[0].url",
        True,
    ),
    (
        "extension without its type",
        ind(extensions={WALLET_PROPERTIES_EXTENSION: {"chain": "btc"}}),
        "STIX_EXTENSION_INVALID",
        f"extensions.{WALLET_PROPERTIES_EXTENSION}.extension_type",
        True,
    ),
    (
        "selector of nothing",
        ind(granular_markings=[{"selectors": ["name"], "marking_ref": TLP_CLEAR}]),
        "STIX_MARKING_INVALID",
        "granular_markings[0].selectors[0]",
        True,
    ),
    ("wallet without value", {**WALLET, "value": ...}, "STIX_PROPERTY_MISSING", "value", False),
    ("wallet bad id", {**WALLET, "id": "cryptocurrency-wallet--0xabc"}, "STIX_ID_INVALID", "id", True),
    (
        "TLP 1.0 of another id",
        {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": "marking-definition--0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "created": "2017-01-20T00:00:00.000Z",
            "definition_type": "tlp",
            "definition": {"tlp": "white"},
            "name": "TLP:WHITE",
        },
        "STIX_MARKING_INVALID",
        "",
        True,
    ),
    ("other type: a validator error", {**MALWARE, "is_family": "yes"}, "STIX_VALIDATOR_REJECTED", "", True),
    ("other type: the validator raises", {**MALWARE, "created": 20260303}, "STIX_VALIDATOR_REJECTED", "", True),
    ("other type: 2.0", {**MALWARE, "spec_version": "2.0"}, "STIX_SPEC_VERSION_INVALID", "spec_version", False),
    ("no type", {"id": "x"}, "STIX_PROPERTY_MISSING", "type", True),
    ("not an object", ["indicator"], "STIX_OBJECT_INVALID", "", True),
]


@pytest.mark.parametrize(("what", "obj", "code", "path", "refused"), VECTORS, ids=[v[0] for v in VECTORS])
def test_invalid_vectors_give_their_code(what: str, obj: Any, code: str, path: str, refused: bool) -> None:
    obj = {k: v for k, v in obj.items() if v is not ...} if isinstance(obj, dict) else obj
    problems = validate(obj)
    assert (problems[0].code, problems[0].path) == (code, path), problems
    assert code in ERROR_CATALOG
    assert reference_valid(obj) is not refused


URLS = [
    "https://example.com:8443/a/b?c=d&e#f",
    "urn:isbn:0451450523",
    "mailto:a@b.c",
    "http://[2001:db8::1]/x",
    "ftp://user:pw@host/p",
    "file:///etc/passwd",
    "https://x/%41",
    "https://",
    "http://[::1",
    "https://a b",
    "https://例え.jp/",
    "https://x/%zz",
    "https://x#a#b",
    "http://x/a[1]",
    "http://x:port/",
    "1http://x",
    "example.com",
]


@pytest.mark.parametrize("url", URLS)
def test_urls_of_external_references_get_stix2_validator_s_verdict(url: str) -> None:
    """RFC 3986 as stix2-validator checks it (through jsonschema's "uri" format and rfc3986-validator)."""
    indicator = ind(external_references=[{"source_name": "list", "url": url}])
    assert (validate(indicator) == []) == reference_valid(indicator)


def test_a_problem_becomes_a_bilingual_error() -> None:
    problem = validate({**BASE, "confidence": 101})[0]
    error = problem.error(BASE["id"])
    assert isinstance(error, InputError)
    assert error.code == "STIX_PROPERTY_INVALID"
    assert "confidence" in error.message_en and "confidence" in error.message_ja
    assert BASE["id"] in error.message_en


def test_every_problem_code_is_in_the_catalog() -> None:
    source = (Path(__file__).resolve().parents[2] / "src" / "mamori" / "intel" / "stix_validation.py").read_text()
    codes = set(re.findall(r'"(STIX_[A-Z_]+)"', source))
    assert codes <= set(ERROR_CATALOG), codes - set(ERROR_CATALOG)
    assert len(codes) >= 10


def test_a_validator_instance_is_reusable_and_independent() -> None:
    first, second = Validator(), Validator()
    assert first.validate(MALWARE) == second.validate(MALWARE) == []
    assert isinstance(first.validate(WALLET), list)
    assert Problem("a", "b", "STIX_PROPERTY_INVALID") == Problem("a", "b", "STIX_PROPERTY_INVALID")
