"""TLP levels of STIX objects and who may read them (intel/tlp.py), on the OASIS TLP 2.0 marking definitions
(../shared/data/intel/stix) and the TLP 1.0 definitions as the stix2 library ships them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import stix2
from hypothesis import given
from hypothesis import strategies as st

from mamori.errors import InputError
from mamori.intel.tlp import (
    STANDARD_MARKINGS,
    TLP1_MARKINGS,
    TLP2_MARKINGS,
    Audience,
    Reader,
    Tlp,
    marking_tlp,
    may_read,
    object_tlp,
)

STIX = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "intel" / "stix"
TLP2_FILE = STIX / "oasis_tlp2_marking_definitions.json"
CLEAR, GREEN, AMBER, STRICT, RED = (
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
)
STATEMENT = {
    "type": "marking-definition",
    "spec_version": "2.1",
    "id": "marking-definition--0e1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    "created": "2026-01-01T00:00:00.000Z",
    "definition_type": "statement",
    "definition": {"statement": "Copyright 2026, Example ISAC"},
}


def tlp2_definitions() -> list[dict[str, Any]]:
    return [o for o in json.loads(TLP2_FILE.read_text())["objects"] if o["type"] == "marking-definition"]


def test_the_oasis_tlp2_definitions_state_the_level_their_name_gives() -> None:
    definitions = tlp2_definitions()
    assert len(definitions) == 5
    for definition in definitions:
        level = marking_tlp(definition)
        assert level is not None
        assert level.label == definition["name"]
        assert TLP2_MARKINGS[definition["id"]] == level


@pytest.mark.parametrize(
    ("marking", "level"),
    [
        (stix2.TLP_WHITE, Tlp.CLEAR),
        (stix2.TLP_GREEN, Tlp.GREEN),
        (stix2.TLP_AMBER, Tlp.AMBER),
        (stix2.TLP_RED, Tlp.RED),
    ],
)
def test_tlp1_definitions_as_the_stix2_library_ships_them_white_read_as_clear(marking: Any, level: Tlp) -> None:
    definition = json.loads(marking.serialize())
    assert marking_tlp(definition) == level
    assert TLP1_MARKINGS[definition["id"]] == level


def test_a_standard_id_stating_another_level_is_refused() -> None:
    forged = next(d for d in tlp2_definitions() if d["id"] == RED)
    forged = {**forged, "extensions": {**forged["extensions"]}}
    forged["extensions"]["extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"] = {
        "extension_type": "property-extension",
        "tlp_2_0": "clear",
    }
    with pytest.raises(InputError) as caught:
        marking_tlp(forged)
    assert caught.value.code == "TLP_MARKING_INVALID"
    white = json.loads(stix2.TLP_WHITE.serialize())
    with pytest.raises(InputError):
        marking_tlp({**white, "definition_type": "statement", "definition": {"statement": "free"}})


@pytest.mark.parametrize(
    "definition",
    [
        {"type": "marking-definition", "id": "marking-definition--x", "definition_type": "tlp", "definition": {}},
        {"type": "marking-definition", "id": "marking-definition--x", "definition_type": "tlp",
         "definition": {"tlp": "purple"}},
        {"type": "marking-definition", "id": "marking-definition--x",
         "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {"tlp_2_0": "amber+"}}},
        {"type": "indicator", "id": "indicator--x"},
    ],
)  # fmt: skip
def test_a_tlp_marking_naming_no_known_level_is_refused(definition: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        marking_tlp(definition)


def test_opencti_s_amber_strict_in_its_own_form() -> None:
    opencti = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37",
        "created": "2022-10-01T00:00:00.000Z",
        "definition_type": "TLP",
        "definition": {"TLP": "TLP:AMBER+STRICT"},
        "name": "TLP:AMBER+STRICT",
    }
    assert marking_tlp(opencti) == Tlp.AMBER_STRICT
    indicator = {"type": "indicator", "id": "indicator--1", "object_marking_refs": [opencti["id"]]}
    assert object_tlp(indicator, {}, default=Tlp.CLEAR) == Tlp.AMBER_STRICT
    with pytest.raises(InputError):
        marking_tlp({**opencti, "definition": {"TLP": "TLP:CLEAR"}})


def test_a_statement_marking_is_not_tlp() -> None:
    assert marking_tlp(STATEMENT) is None


def test_an_object_takes_its_most_restrictive_tlp_marking_wherever_it_is() -> None:
    known = {STATEMENT["id"]: None}
    indicator = {"type": "indicator", "id": "indicator--1"}
    assert object_tlp(indicator, known, default=Tlp.AMBER) == Tlp.AMBER
    assert object_tlp({**indicator, "object_marking_refs": [GREEN]}, known, default=Tlp.AMBER) == Tlp.GREEN
    both = {**indicator, "object_marking_refs": [GREEN, STATEMENT["id"], STRICT]}
    assert object_tlp(both, known, default=Tlp.CLEAR) == Tlp.AMBER_STRICT
    granular = {
        **indicator,
        "object_marking_refs": [CLEAR],
        "granular_markings": [{"selectors": ["description"], "marking_ref": RED}],
    }
    assert object_tlp(granular, known, default=Tlp.CLEAR) == Tlp.RED
    only_statement = {**indicator, "object_marking_refs": [STATEMENT["id"]]}
    assert object_tlp(only_statement, known, default=Tlp.GREEN) == Tlp.GREEN
    tlp1_white = {**indicator, "object_marking_refs": [stix2.TLP_WHITE.id]}
    assert object_tlp(tlp1_white, known, default=Tlp.RED) == Tlp.CLEAR


def test_a_marking_the_hub_does_not_know_counts_as_red() -> None:
    unknown = {"type": "indicator", "id": "indicator--1", "object_marking_refs": [CLEAR, "marking-definition--zz"]}
    assert object_tlp(unknown, {}, default=Tlp.CLEAR) == Tlp.RED


# Who reads what: written out in full, not derived from the code under test.
PRODUCER, GROUP_MEMBER, NAMED, RECIPIENT_ORG, OTHER = "org-a", "org-b", "org-c", "org-d", "org-e"
AUDIENCE = Audience(
    producer=PRODUCER,
    sharing_group=frozenset({PRODUCER, GROUP_MEMBER}),
    named_organisations=frozenset({NAMED}),
    recipients=frozenset({"org-d/analyst-1"}),
)
READERS = {
    "producer": Reader(PRODUCER, "org-a/bot"),
    "sharing group": Reader(GROUP_MEMBER, "org-b/bot"),
    "named organisation": Reader(NAMED, "org-c/bot"),
    "named recipient": Reader(RECIPIENT_ORG, "org-d/analyst-1"),
    "recipient's colleague": Reader(RECIPIENT_ORG, "org-d/bot"),
    "other member": Reader(OTHER, "org-e/bot"),
}
MATRIX = {  # level -> the readers who may see it
    Tlp.CLEAR: set(READERS),
    Tlp.GREEN: set(READERS),
    Tlp.AMBER: {"producer", "sharing group", "named organisation", "named recipient"},
    Tlp.AMBER_STRICT: {"producer", "named organisation", "named recipient"},
    Tlp.RED: {"producer", "named recipient"},
}


@pytest.mark.parametrize("level", list(Tlp))
@pytest.mark.parametrize("who", list(READERS))
def test_the_tlp_matrix(level: Tlp, who: str) -> None:
    assert may_read(level, READERS[who], AUDIENCE) is (who in MATRIX[level])


organisations = st.sampled_from(["a", "b", "c", "d"])


@given(
    reader=st.builds(Reader, organisations, st.sampled_from(["a/1", "b/1", "c/2"])),
    audience=st.builds(
        Audience,
        organisations,
        st.frozensets(organisations),
        st.frozensets(organisations),
        st.frozensets(st.sampled_from(["a/1", "b/1", "c/2"])),
    ),
)
def test_a_reader_who_may_see_a_level_may_see_every_lower_one(reader: Reader, audience: Audience) -> None:
    allowed = [may_read(level, reader, audience) for level in Tlp]
    assert allowed == sorted(allowed, reverse=True)  # True ... True False ... False


def test_the_standard_ids_are_those_of_the_specifications() -> None:
    assert {d["id"] for d in tlp2_definitions()} == set(TLP2_MARKINGS)
    assert {m.id for m in (stix2.TLP_WHITE, stix2.TLP_GREEN, stix2.TLP_AMBER, stix2.TLP_RED)} == set(TLP1_MARKINGS)
    assert len(STANDARD_MARKINGS) == 10
