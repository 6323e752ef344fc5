"""The Traffic Light Protocol on shared STIX objects: which level an object carries, and which reader may see it.

TLP 2.0 (FIRST, 2022) as STIX 2.1 marking definitions with the OASIS extension, TLP 1.0 (STIX 2.1 §7.2.1.4), which
real feeds still carry (WHITE is read as CLEAR), and OpenCTI's own id for AMBER+STRICT. An object's level is the
most restrictive of every TLP marking it references, at object level or on any of its properties (a granular marking
on one property restricts the whole object: the hub serves objects whole). A marking the hub cannot resolve counts as
RED — deny by default; the hub refuses such submissions before they are stored.

Who reads what, in the hub's terms (``may_read``): CLEAR and GREEN go to every member allowed to read the
collection; AMBER to the organisations of the object's sharing group and those the producer names; AMBER+STRICT to
the producer's organisation and the organisations it names; RED to the accounts named as recipients alone. The
producer's own organisation always reads what it produced, and whoever may read a level may read every less
restrictive one (a recipient of RED reads AMBER).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from mamori.errors import InputError

TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"


class Tlp(IntEnum):
    """TLP levels, ordered from the least to the most restrictive."""

    CLEAR = 0
    GREEN = 1
    AMBER = 2
    AMBER_STRICT = 3
    RED = 4

    @property
    def label(self) -> str:
        return "TLP:" + self.name.replace("_", "+")


# The standard marking definitions: TLP 2.0 (OASIS extension) and TLP 1.0 (STIX 2.1 §7.2.1.4).
TLP2_MARKINGS: Mapping[str, Tlp] = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": Tlp.CLEAR,
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": Tlp.GREEN,
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": Tlp.AMBER,
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": Tlp.AMBER_STRICT,
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": Tlp.RED,
}
TLP2_IDS: Mapping[Tlp, str] = {level: marking_id for marking_id, level in TLP2_MARKINGS.items()}
TLP1_MARKINGS: Mapping[str, Tlp] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": Tlp.CLEAR,  # TLP:WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": Tlp.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": Tlp.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": Tlp.RED,
}
# OpenCTI marks AMBER+STRICT with an id of its own (and CLEAR, GREEN, AMBER, RED with the TLP 1.0 ids).
OPENCTI_MARKINGS: Mapping[str, Tlp] = {"marking-definition--826578e1-40ad-459f-bc73-ede076f81f37": Tlp.AMBER_STRICT}
STANDARD_MARKINGS: Mapping[str, Tlp] = {**TLP2_MARKINGS, **TLP1_MARKINGS, **OPENCTI_MARKINGS}

_TLP2_NAMES = {
    "clear": Tlp.CLEAR,
    "green": Tlp.GREEN,
    "amber": Tlp.AMBER,
    "amber+strict": Tlp.AMBER_STRICT,
    "red": Tlp.RED,
}
# The TLP 1.0 form (``definition_type`` "tlp"), as written by STIX 2.1 and, in capitals with a "TLP:" prefix and
# the 2.0 levels, by OpenCTI.
_TLP1_NAMES = {**_TLP2_NAMES, "white": Tlp.CLEAR}


def marking_tlp(definition: Mapping[str, Any]) -> Tlp | None:
    """The level a ``marking-definition`` object states, or None for a marking that is not TLP (a statement, a
    marking of another scheme). A standard id stating another level than its own, or a TLP marking naming no known
    level, is refused: a submission must not be able to relabel TLP:RED as TLP:CLEAR."""
    if definition.get("type") != "marking-definition":
        raise InputError("TLP_MARKING_INVALID", id=str(definition.get("id")), reason="not a marking-definition")
    marking_id = str(definition.get("id"))
    stated = _stated_level(definition, marking_id)
    standard = STANDARD_MARKINGS.get(marking_id)
    if standard is not None and stated != standard:
        reason = f"the standard id of {standard.label} states {stated.label if stated else 'no TLP level'}"
        raise InputError("TLP_MARKING_INVALID", id=marking_id, reason=reason)
    return stated


def _stated_level(definition: Mapping[str, Any], marking_id: str) -> Tlp | None:
    extensions = definition.get("extensions")
    extension = extensions.get(TLP2_EXTENSION) if isinstance(extensions, Mapping) else None
    if extension is not None:
        name = extension.get("tlp_2_0") if isinstance(extension, Mapping) else None
        level = _TLP2_NAMES.get(name) if isinstance(name, str) else None
        if level is None:
            raise InputError("TLP_MARKING_INVALID", id=marking_id, reason=f"unknown TLP 2.0 level {name!r}")
        return level
    definition_type = definition.get("definition_type")
    if isinstance(definition_type, str) and definition_type.lower() == "tlp":
        body = definition.get("definition")
        name = next((v for k, v in body.items() if k.lower() == "tlp"), None) if isinstance(body, Mapping) else None
        level = _TLP1_NAMES.get(name.lower().removeprefix("tlp:")) if isinstance(name, str) else None
        if level is None:
            raise InputError("TLP_MARKING_INVALID", id=marking_id, reason=f"unknown TLP 1.0 level {name!r}")
        return level
    return None


def marking_refs(stix_object: Mapping[str, Any]) -> Iterator[str]:
    """Every marking an object references: at object level and on its properties (granular markings)."""
    refs = stix_object.get("object_marking_refs")
    if isinstance(refs, list):
        yield from (str(ref) for ref in refs)
    granular = stix_object.get("granular_markings")
    if isinstance(granular, list):
        for marking in granular:
            if isinstance(marking, Mapping) and "marking_ref" in marking:
                yield str(marking["marking_ref"])


def object_tlp(stix_object: Mapping[str, Any], known: Mapping[str, Tlp | None], *, default: Tlp) -> Tlp:
    """The most restrictive TLP level among the markings ``stix_object`` references; ``default`` when it references
    none. ``known``: the marking definitions the hub holds beyond the standard ones (id -> their level, None for a
    non-TLP marking). A reference to a marking the hub does not know counts as RED."""
    levels = []
    for ref in marking_refs(stix_object):
        level = STANDARD_MARKINGS.get(ref)
        if level is None:
            level = known.get(ref, Tlp.RED)
            if level is None:
                continue  # a statement or another scheme: no bearing on TLP
        levels.append(level)
    return max(levels) if levels else default


@dataclass(frozen=True, slots=True)
class Audience:
    """Who an object was shared with: the producing organisation, the organisations of its sharing group (AMBER),
    the organisations the producer named (AMBER, AMBER+STRICT) and the accounts named as recipients (RED)."""

    producer: str
    sharing_group: frozenset[str] = frozenset()
    named_organisations: frozenset[str] = frozenset()
    recipients: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Reader:
    """An authenticated member account of the hub, already allowed to read the collection."""

    organisation: str
    account: str


def may_read(level: Tlp, reader: Reader, audience: Audience) -> bool:
    """Whether ``reader`` may see an object of ``level`` shared with ``audience``."""
    # Each level's readers include those of every more restrictive level: whoever may see RED may see AMBER.
    if level <= Tlp.GREEN or reader.organisation == audience.producer or reader.account in audience.recipients:
        return True
    if level == Tlp.RED:
        return False
    if reader.organisation in audience.named_organisations:
        return True
    return level == Tlp.AMBER and reader.organisation in audience.sharing_group
