"""The TAXII 2.1 wire forms the hub speaks: media types and their negotiation (§1.6.8), envelopes, manifests,
version lists, status and error resources (§3.6, §4.3). Pure: bytes and dicts in, bytes and dicts out.

Envelopes are written by joining the stored objects' canonical JSON bytes, never by decoding and encoding them
again: a page of 1,000 objects costs a join, not 1,000 parses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from mamori.errors import MamoriError

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
_TAXII_TYPE = "application/taxii+json"


@dataclass(frozen=True, slots=True)
class MediaRange:
    type: str  # lower case, e.g. application/taxii+json or */*
    parameters: Mapping[str, str]
    quality: float


def media_ranges(header: str) -> list[MediaRange]:
    """The media ranges of an ``Accept`` header (RFC 9110 §12.5.1), parameters lower-cased by name."""
    ranges = []
    for item in header.split(","):
        kind, *parameters = (part.strip() for part in item.split(";"))
        if not kind:
            continue
        values: dict[str, str] = {}
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            name, value = name.strip().lower(), value.strip().strip('"')
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0  # an unreadable weight accepts nothing rather than everything
            elif name:
                values[name] = value
        ranges.append(MediaRange(kind.lower(), values, quality))
    return ranges


def accepts_taxii(header: str | None) -> bool:
    """Whether a client sending ``Accept: header`` takes a TAXII 2.1 answer. No header takes anything; TAXII without a
    version means the latest, which is 2.1; any other version of TAXII, or only other types, is a 406 (§1.6.8.1)."""
    if header is None or not header.strip():
        return True
    for media in media_ranges(header):
        if media.quality <= 0:
            continue
        if media.type in ("*/*", "application/*"):
            return True
        if media.type == _TAXII_TYPE and media.parameters.get("version", "2.1") == "2.1":
            return True
    return False


def is_taxii_content(content_type: str | None) -> bool:
    """Whether a request body of ``Content-Type: content_type`` is TAXII 2.1 (without a version: the latest)."""
    if not content_type:
        return False
    ranges = media_ranges(content_type)
    if len(ranges) != 1:
        return False
    media = ranges[0]
    return media.type == _TAXII_TYPE and media.parameters.get("version", "2.1") == "2.1"


def envelope(documents: Sequence[bytes], *, more: bool, next_cursor: str | None) -> bytes:
    """An envelope (§3.7) of stored objects; no objects: ``{}`` (every property of an envelope is optional)."""
    if not documents:
        return b"{}"
    head = {"more": more, "next": next_cursor} if more else {"more": False}
    return orjson.dumps(head)[:-1] + b',"objects":[' + b",".join(documents) + b"]}"


def listing(name: str, items: Sequence[Any], *, more: bool, next_cursor: str | None) -> bytes:
    """A manifest (§5.3) or version list (§5.8): ``{"more", "next", name: items}``; nothing found: ``{}``."""
    if not items:
        return b"{}"
    document: dict[str, Any] = {"more": more}
    if more:
        document["next"] = next_cursor
    document[name] = items
    return orjson.dumps(document)


def manifest_record(stix_id: str, date_added: str, version: str) -> dict[str, str]:
    return {"id": stix_id, "date_added": date_added, "version": version, "media_type": STIX_MEDIA_TYPE}


@dataclass(frozen=True, slots=True)
class StatusDetail:
    """One object of a submission: its id and version, and for a refusal, why (§4.3.1 status-details)."""

    stix_id: str
    version: str
    message: str | None = None

    def to_json(self) -> dict[str, str]:
        detail = {"id": self.stix_id, "version": self.version}
        if self.message is not None:
            detail["message"] = self.message
        return detail


def status_resource(
    status_id: str, request_timestamp: str, successes: Iterable[StatusDetail], failures: Iterable[StatusDetail]
) -> dict[str, Any]:
    """A completed submission's status (§4.3.1): the hub adds objects within the request, so nothing is pending."""
    succeeded, failed = [d.to_json() for d in successes], [d.to_json() for d in failures]
    return {
        "id": status_id,
        "status": "complete",
        "request_timestamp": request_timestamp,
        "total_count": len(succeeded) + len(failed),
        "success_count": len(succeeded),
        "successes": succeeded,
        "failure_count": len(failed),
        "failures": failed,
        "pending_count": 0,
        "pendings": [],
    }


def error_resource(error: MamoriError, http_status: int) -> dict[str, Any]:
    """A TAXII error message (§3.6.1): the English message as ``title``, the Japanese one as ``description``, the
    stable code as ``error_code`` and the error's fields as ``details``."""
    details = error.to_dict()["error"]["details"]
    resource: dict[str, Any] = {
        "title": error.message_en,
        "description": error.message_ja,
        "error_code": error.code,
        "http_status": str(http_status),
    }
    if details:
        resource["details"] = details
    return resource


def parse_envelope(body: bytes) -> list[Any]:
    """The objects of a submitted envelope. Each is checked later on its own (a bad object fails alone); the
    envelope itself must be a JSON object whose ``objects`` is a list."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MamoriError("TAXII_ENVELOPE_INVALID", reason=f"not JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise MamoriError("TAXII_ENVELOPE_INVALID", reason="not a JSON object")
    objects = document.get("objects", [])
    if not isinstance(objects, list):
        raise MamoriError("TAXII_ENVELOPE_INVALID", reason="'objects' is not a list")
    return objects
