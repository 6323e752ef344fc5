"""A member node pulls a remote TAXII 2.1 collection (the hub) into a local collection, incrementally.

Each page of the remote collection (``added_after`` the cursor, every version, ``next`` followed while ``more``) is
checked as an envelope, stored with :func:`mamori.service.hub_objects.add_objects` (which validates every object;
a repeat is a success, so pulling twice is harmless) and the cursor moved to the page's
``X-TAXII-Date-Added-Last`` — all in one transaction, so a crash never moves the cursor past objects that were not
stored. A response that cannot be decoded stops the pull with nothing of it stored; an object that fails validation
is refused (never stored) and reported, and the pull goes on past it.

The HTTP side sits behind :class:`TaxiiSource`; :class:`Taxii2Source` is the adapter on the OASIS client
(taxii2-client), tests use in-memory sources. The remote hub is represented locally by an organisation of its own
(the producer of everything pulled), created with the local collection the first time.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, insert, select, update

from mamori.errors import MamoriError
from mamori.intel.stix_forms import timestamp_us
from mamori.intel.tlp import Audience, Tlp
from mamori.service.hub_collections import add_api_root, add_collection
from mamori.service.hub_members import add_organisation
from mamori.service.hub_objects import Refused, add_objects
from mamori.store.hub_models import HubOrganisation, TaxiiApiRoot, TaxiiCollection
from mamori.store.member_models import IntelSyncState

LOCAL_API_ROOT = "member"  # the API root of the local copies of remote collections
SYNC_ACCOUNT = "intel-sync"  # ``submitted_by`` of what a pull stores
DEFAULT_PAGE_SIZE = 500
# The namespace of the identity derived for a remote hub that names none (uuid5 of its host).
_REMOTE_NAMESPACE = uuid.UUID("5f0c6b0e-7d0a-4c38-9a55-6c2f0a3d1e44")


@dataclass(frozen=True, slots=True)
class RemotePage:
    """One envelope of a remote collection, checked: its objects (JSON objects, not yet validated as STIX)."""

    objects: tuple[Mapping[str, Any], ...]
    more: bool
    next: str | None
    date_added_last: str | None  # the server's own text, kept as written
    date_added_last_us: int | None


class TaxiiSource(Protocol):
    """A remote TAXII 2.1 collection. ``url``: its URL (the cursor's key, without credentials)."""

    @property
    def url(self) -> str: ...

    def page(self, *, added_after: str | None, next_page: str | None, limit: int) -> RemotePage: ...


@dataclass(frozen=True, slots=True)
class RefusedObject:
    stix_id: str
    codes: tuple[str, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SyncReport:
    remote_url: str
    local_collection: str
    pages: int
    received: int  # object versions the server sent
    stored: int  # of which now in the local collection (new or already there)
    refused: tuple[RefusedObject, ...]
    date_added_last: str | None  # the cursor after the pull

    def to_json(self) -> dict[str, Any]:
        return {
            "remote": self.remote_url,
            "collection": self.local_collection,
            "pages": self.pages,
            "received": self.received,
            "stored": self.stored,
            "refused": [
                {"id": item.stix_id, "codes": list(item.codes), "reasons": list(item.reasons)} for item in self.refused
            ],
            "date_added_last": self.date_added_last,
        }


def parse_page(url: str, document: object, date_added_last: str | None, *, after_us: int | None) -> RemotePage:
    """The envelope ``document`` with the ``X-TAXII-Date-Added-Last`` it came with, checked (TAXII 2.1 §3.7, §5.3).
    ``after_us``: the page must lie after this instant (the ``added_after`` asked, or the previous page's last)."""

    def invalid(reason: str) -> MamoriError:
        return MamoriError("INTEL_REMOTE_RESPONSE_INVALID", url=url, reason=reason)

    if not isinstance(document, dict):
        raise invalid("the body is not a TAXII envelope (a JSON object)")
    objects = document.get("objects", [])
    more = document.get("more", False)
    next_page = document.get("next")
    if not isinstance(objects, list) or not all(isinstance(item, dict) for item in objects):
        raise invalid("'objects' is not a list of JSON objects")
    if not isinstance(more, bool):
        raise invalid("'more' is not a boolean")
    if next_page is not None and (not isinstance(next_page, str) or not next_page):
        raise invalid("'next' is not a non-empty string")
    if more and not objects:
        raise invalid("'more' is true on a page without objects: the pull would never end")
    last_us = None
    if objects:
        if date_added_last is None:
            raise invalid("a page of objects without the X-TAXII-Date-Added-Last header: no safe place to resume")
        last_us = timestamp_us(date_added_last)
        if last_us is None:
            raise invalid(f"X-TAXII-Date-Added-Last {date_added_last!r} is not a timestamp")
        if after_us is not None and last_us < after_us:
            raise invalid(f"X-TAXII-Date-Added-Last {date_added_last} is before the position asked for")
    if more and next_page is None and last_us is None:
        raise invalid("'more' is true without 'next'")
    return RemotePage(tuple(objects), more, next_page, date_added_last if objects else None, last_us)


@dataclass
class _Progress:
    cursor: str | None
    cursor_us: int | None
    pages: int = 0
    received: int = 0
    stored: int = 0
    refused: list[RefusedObject] = field(default_factory=list)


def sync(
    engine: Engine,
    source: TaxiiSource,
    *,
    local_collection: str,
    clock_us: Callable[[], int],
    page_size: int = DEFAULT_PAGE_SIZE,
    title: str | None = None,
) -> SyncReport:
    """Pull what ``source`` added after the stored cursor into ``local_collection`` (created if missing)."""
    url = source.url
    with engine.begin() as connection:
        state = connection.execute(
            select(IntelSyncState.date_added_last, IntelSyncState.local_collection_id).where(
                IntelSyncState.remote_url == url
            )
        ).one_or_none()
    if state is not None and state.local_collection_id != local_collection:
        raise MamoriError(
            "USAGE_INVALID",
            reason=f"{url} is already pulled into collection {state.local_collection_id}, not {local_collection}",
        )
    cursor = state.date_added_last if state is not None else None
    progress = _Progress(cursor, timestamp_us(cursor) if cursor else None)
    next_page: str | None = None
    added_after = progress.cursor  # unchanged while ``next`` is followed: the server holds the query to it
    while True:
        page = source.page(added_after=added_after, next_page=next_page, limit=page_size)
        progress.pages += 1
        with engine.begin() as connection:
            collection = _local_collection(connection, url, local_collection, title, clock_us())
            _store(connection, collection, url, page, progress, clock_us())
        if not page.more:
            break
        next_page = page.next
        if next_page is None:  # no ``next``: continue with added_after the new cursor
            added_after = progress.cursor
    return SyncReport(
        url,
        local_collection,
        progress.pages,
        progress.received,
        progress.stored,
        tuple(progress.refused),
        progress.cursor,
    )


def _store(
    connection: Connection, collection: TaxiiCollection, url: str, page: RemotePage, progress: _Progress, now_us: int
) -> None:
    audience = Audience(producer=_remote_organisation(url))
    outcomes = add_objects(connection, collection, page.objects, audience=audience, account=SYNC_ACCOUNT, now_us=now_us)
    for outcome in outcomes:
        if isinstance(outcome, Refused):
            codes = tuple(problem.code for problem in outcome.problems)
            reasons = tuple(f"{problem.path}: {problem.reason}" for problem in outcome.problems)
            progress.refused.append(RefusedObject(outcome.stix_id, codes, reasons))
        else:
            progress.stored += 1
    progress.received += len(page.objects)
    if page.date_added_last is not None:
        progress.cursor, progress.cursor_us = page.date_added_last, page.date_added_last_us
    values = {
        "local_collection_id": collection.id,
        "date_added_last": progress.cursor,
        "objects": len(page.objects),
        "synced_us": now_us,
    }
    changed = connection.execute(
        update(IntelSyncState)
        .where(IntelSyncState.remote_url == url)
        .values({**values, "objects": IntelSyncState.objects + len(page.objects)})
    ).rowcount
    if not changed:
        connection.execute(insert(IntelSyncState).values(remote_url=url, **values))


def remote_organisation_id(url: str) -> str:
    """The local organisation standing for the hub at ``url``: ``hub-<host>`` (64 characters at most)."""
    return _remote_organisation(url)


def _remote_organisation(url: str) -> str:
    host = urlsplit(url).netloc.rpartition("@")[2] or "remote"
    name = f"hub-{host}"
    if len(name) > 64:
        name = f"hub-{hashlib.sha256(host.encode()).hexdigest()[:32]}"
    return name


def _local_collection(
    connection: Connection, url: str, collection_id: str, title: str | None, now_us: int
) -> TaxiiCollection:
    row = connection.execute(
        select(TaxiiCollection.id, TaxiiCollection.default_tlp).where(TaxiiCollection.id == collection_id)
    ).one_or_none()
    if row is not None:
        return TaxiiCollection(id=row.id, default_tlp=row.default_tlp)
    organisation = _remote_organisation(url)
    if connection.execute(select(HubOrganisation.id).where(HubOrganisation.id == organisation)).first() is None:
        host = urlsplit(url).netloc.rpartition("@")[2]
        identity = f"identity--{uuid.uuid5(_REMOTE_NAMESPACE, host)}"
        add_organisation(connection, organisation, f"TAXII hub {host}", identity, now_us=now_us)
    if connection.execute(select(TaxiiApiRoot.name).where(TaxiiApiRoot.name == LOCAL_API_ROOT)).first() is None:
        add_api_root(connection, LOCAL_API_ROOT, "Local copies of remote TAXII collections")
    try:
        uuid.UUID(collection_id)
    except ValueError as exc:
        raise MamoriError("USAGE_INVALID", reason=f"local collection {collection_id!r} is not a UUID") from exc
    # Unmarked objects are AMBER here, as on the hub: what the hub did not mark for sharing is not for sharing.
    add_collection(
        connection,
        LOCAL_API_ROOT,
        title or f"copy of {url}",
        now_us=now_us,
        default_tlp=Tlp.AMBER,
        description=f"Pulled from {url} by mamori intel sync",
        collection_id=collection_id,
    )
    return TaxiiCollection(id=collection_id, default_tlp=int(Tlp.AMBER))


def sync_state(engine: Engine) -> list[dict[str, Any]]:
    """Every remote collection pulled so far, with its cursor (``mamori intel sync --status``)."""
    with engine.connect() as connection:
        rows = connection.execute(select(IntelSyncState.__table__).order_by(IntelSyncState.remote_url))
        return [dict(row._mapping) for row in rows]
