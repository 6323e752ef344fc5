"""Sightings: each withdrawal the guard denied because a hub indicator named its address becomes a STIX 2.1
``sighting`` of that indicator, shared back to the hub.

They are derived from the durable decisions (``guard_withdrawals.verdict``: the ``SCREENING_HIT`` reasons of an
intelligence feed carry the indicator's id), never written in the decision's hot path. A sighting's id is the
UUIDv5 of (request id, indicator id) and its times are the decision's, so deriving it again gives the same object
and sharing it twice is a repeat, which the hub takes as a success.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Engine, select

from mamori.errors import InputError
from mamori.intel.stix_forms import format_timestamp_us, id_type
from mamori.intel.tlp import TLP2_IDS, Tlp
from mamori.store.database import allow_table_scans
from mamori.store.guard_models import Withdrawal

# mamori's namespace for sighting ids. A random UUID fixed once: changing it would give every sighting a new id.
SIGHTING_NAMESPACE = uuid.UUID("8d7b3a5e-1f0c-4b2a-9e6d-3c5a7f1e2b90")
FEED_PREFIX = "hub:"


@dataclass(frozen=True, slots=True)
class Blocked:
    """A withdrawal denied because an indicator of a feed named one of its addresses."""

    request_id: str
    indicator_id: str
    decided_us: int
    list_name: str


def sighting_id(request_id: str, indicator_id: str) -> str:
    name = orjson.dumps([request_id, indicator_id]).decode()
    return f"sighting--{uuid.uuid5(SIGHTING_NAMESPACE, name)}"


def blocked_by_feeds(request_id: str, decided_us: int, verdict: bytes) -> list[Blocked]:
    """The feed indicators that denied one decision (each indicator once, whatever the addresses it hit)."""
    try:
        document = orjson.loads(verdict)
    except orjson.JSONDecodeError:
        return []
    found: dict[str, Blocked] = {}
    reasons = document.get("reasons") if isinstance(document, dict) else None
    for reason in reasons if isinstance(reasons, list) else ():
        details = reason.get("details") if isinstance(reason, dict) else None
        if reason.get("code") != "SCREENING_HIT" or not isinstance(details, dict):
            continue
        indicator, list_name = details.get("indicator"), details.get("list")
        if (
            isinstance(indicator, str)
            and isinstance(list_name, str)
            and list_name.startswith(FEED_PREFIX)
            and id_type(indicator) == "indicator"
        ):
            found.setdefault(indicator, Blocked(request_id, indicator, decided_us, list_name))
    return list(found.values())


def sighting(blocked: Blocked, *, identity: str, tlp: Tlp | None = None) -> dict[str, Any]:
    """The STIX 2.1 sighting of ``blocked`` by the member ``identity`` (``identity--UUID``)."""
    if id_type(identity) != "identity":
        raise InputError("FIELD_TYPE_INVALID", field="identity", expected="a STIX identity id (identity--UUID)")
    seen = format_timestamp_us(blocked.decided_us)
    obj: dict[str, Any] = {
        "type": "sighting",
        "spec_version": "2.1",
        "id": sighting_id(blocked.request_id, blocked.indicator_id),
        "created_by_ref": identity,
        "created": seen,
        "modified": seen,
        "first_seen": seen,
        "last_seen": seen,
        "count": 1,
        "sighting_of_ref": blocked.indicator_id,
        "where_sighted_refs": [identity],
        "description": "A withdrawal to an address of this indicator was denied by the exchange's withdrawal guard.",
    }
    if tlp is not None:
        obj["object_marking_refs"] = [TLP2_IDS[tlp]]
    return obj


def blocked_withdrawals(engine: Engine, *, since_us: int | None = None) -> list[Blocked]:
    """Every denied withdrawal (decided at or after ``since_us``) that a feed indicator denied, oldest first."""
    statement = select(Withdrawal.request_id, Withdrawal.decided_us, Withdrawal.verdict).where(
        Withdrawal.status == "denied", Withdrawal.verdict.is_not(None), Withdrawal.decided_us.is_not(None)
    )
    if since_us is not None:
        statement = statement.where(Withdrawal.decided_us >= since_us)
    found: list[Blocked] = []
    with engine.connect().execution_options(mamori_read_only=True) as connection:
        allow_table_scans(connection)  # the whole table, once: a report, not the hot path
        for request_id, decided_us, verdict in connection.execute(statement.order_by(Withdrawal.decided_us)):
            if decided_us is not None and verdict is not None:  # the query's condition too
                found.extend(blocked_by_feeds(request_id, decided_us, verdict))
        connection.rollback()
    return found


def sightings_bundle(objects: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A STIX 2.1 bundle of ``objects``; its id derived from theirs, so the same sightings give the same bundle."""
    name = orjson.dumps(sorted(str(obj["id"]) for obj in objects)).decode()
    return {"type": "bundle", "id": f"bundle--{uuid.uuid5(SIGHTING_NAMESPACE, name)}", "objects": list(objects)}
