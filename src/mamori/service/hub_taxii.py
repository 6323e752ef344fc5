"""The hub's TAXII 2.1 operations over the database: who is asking, what they may see, and each endpoint's answer
as the wire forms of intel/taxii/protocol.py. api/taxii.py is the HTTP adapter in front of it.

Rules that hold on every path:
- A collection on which the caller's organisation has neither read nor write rights does not exist for it (404);
  with one right but not the one needed, the answer is 403 (§5.7 for DELETE, which needs both).
- TLP is applied in the query (service/hub_objects.py ``visible_to``): an object the caller may not read is absent,
  in pages, manifests, version lists and single-object reads alike, and a request for it is a 404.
- A submission is written in one transaction with its status resource: either every accepted object and the
  status are stored, or nothing is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, and_, delete, exists, func, insert, select, update

from mamori.errors import MamoriError
from mamori.intel.stix_forms import format_timestamp_us
from mamori.intel.stix_validation import Problem
from mamori.intel.taxii.protocol import (
    StatusDetail,
    envelope,
    listing,
    manifest_record,
    status_resource,
)
from mamori.intel.taxii.query import Query
from mamori.intel.tlp import Audience, Reader
from mamori.service.hub_collections import NO_RIGHTS, Rights, collections_of, rights_of
from mamori.service.hub_members import (
    account_ids,
    authenticate_basic,
    authenticate_token,
    is_anonymous,
    operator_of,
    organisation,
    require_members,
)
from mamori.service.hub_objects import Page, Refused, Stored, add_objects, lock_collection, read_page, visible_to
from mamori.store.hub_models import (
    SharingGroupMember,
    TaxiiApiRoot,
    TaxiiCollection,
    TaxiiObject,
    TaxiiObjectReader,
    TaxiiStatus,
)

_O = TaxiiObject.__table__.c
PAGE_BYTES = 32 * 1024 * 1024  # a page stops growing here whatever its limit: 1,000 large reports stay in bounds
ANONYMOUS_IDENTITY_REFUSED = (
    "an anonymous submission cannot carry its submitter's own identity object"  # in the status resource
)


@dataclass(frozen=True, slots=True)
class Answer:
    """A TAXII response body and the headers that go with it (the date-added range of a page, §3.3.1)."""

    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Submission:
    """What a POST of objects asks beyond its envelope: who else may read what it marks AMBER+STRICT or RED."""

    share_with: tuple[str, ...] = ()  # organisation ids (AMBER, AMBER+STRICT)
    recipients: tuple[str, ...] = ()  # account user names or key ids (RED)


class HubService:
    """The TAXII endpoints of the hub on ``engine``. ``auth_cache_seconds``: how long a credential seen valid is
    trusted without asking the database (and, for HTTP Basic, without the deliberately slow password hash); a
    revoked account is refused within that time. Failures are never remembered."""

    def __init__(
        self,
        engine: Engine,
        *,
        title: str = "mamori threat-intelligence hub",
        auth_cache_seconds: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.title = title
        self.auth_cache_seconds = auth_cache_seconds
        self.monotonic = monotonic
        self._seen: dict[bytes, tuple[float, Reader]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A connection whose transaction only reads: on SQLite it takes no write lock (store/database.py), so pages
        are served while a large submission is being written."""
        with self.engine.connect() as connection:
            yield connection.execution_options(mamori_read_only=True)

    # --- who is asking ---------------------------------------------------------------------------------------------
    def authenticate(self, authorization: str | None) -> Reader:
        """The member account of an ``Authorization`` header: ``Bearer <token>`` or HTTP ``Basic``."""
        if not authorization or not authorization.strip():
            raise MamoriError("TAXII_AUTH_REQUIRED")
        key = hashlib.sha256(authorization.encode("utf-8", "surrogatepass")).digest()
        with self._lock:
            seen = self._seen.get(key)
        if seen is not None and self.monotonic() - seen[0] < self.auth_cache_seconds:
            return seen[1]
        scheme, _, credentials = authorization.strip().partition(" ")
        credentials = credentials.strip()
        with self._reading() as connection:
            if scheme.lower() == "bearer" and credentials:
                reader = authenticate_token(connection, credentials)
            elif scheme.lower() == "basic" and credentials:
                name, password = _basic(credentials)
                reader = authenticate_basic(connection, name, password)
            else:
                raise MamoriError("AUTH_INVALID")
        if self.auth_cache_seconds > 0:
            with self._lock:
                if len(self._seen) > 10_000:
                    self._seen.clear()
                self._seen[key] = (self.monotonic(), reader)
        return reader

    # --- discovery, API roots, collections -------------------------------------------------------------------------
    def discovery(self, base_url: str) -> dict[str, Any]:
        """The server's discovery resource (§4.1): every API root (their names are not secret; their collections
        are)."""
        with self._reading() as connection:
            names = list(connection.execute(select(TaxiiApiRoot.name).order_by(TaxiiApiRoot.name)).scalars())
        document: dict[str, Any] = {
            "title": self.title,
            "description": "STIX 2.1 over TAXII 2.1 for the members of the industry's ISAC; TLP 2.0 enforced.",
            "api_roots": [f"{base_url}{name}/" for name in names],
        }
        if len(names) == 1:
            document["default"] = document["api_roots"][0]
        return document

    def api_root(self, name: str) -> TaxiiApiRoot:
        with self._reading() as connection:
            return _api_root(connection, name)

    def api_root_resource(self, name: str) -> dict[str, Any]:
        root = self.api_root(name)
        return {
            "title": root.title,
            "description": root.description,
            "versions": ["application/taxii+json;version=2.1"],
            "max_content_length": root.max_content_length,
        }

    def collections(self, reader: Reader, root: str) -> dict[str, Any]:
        with self._reading() as connection:
            _api_root(connection, root)
            found = collections_of(connection, root, reader.organisation)
        if not found:
            return {}
        return {"collections": [_collection_resource(collection, rights) for collection, rights in found]}

    def collection(self, reader: Reader, root: str, collection_id: str) -> dict[str, Any]:
        with self._reading() as connection:
            collection, rights = _collection(connection, reader, root, collection_id)
        return _collection_resource(collection, rights)

    # --- reads ----------------------------------------------------------------------------------------------------
    def objects(self, reader: Reader, root: str, collection_id: str, query: Query) -> Answer:
        """A page of objects (§5.4)."""
        with self._reading() as connection:
            collection = _readable(connection, reader, root, collection_id)
            page = _bounded(read_page(connection, collection, query, reader))
        return _paged(page, query, envelope([row["document"] for row in page.rows], **_more(page, query)))

    def manifest(self, reader: Reader, root: str, collection_id: str, query: Query) -> Answer:
        """A page of manifest records (§5.3): ids, versions and when each was added, without the objects."""
        with self._reading() as connection:
            collection = _readable(connection, reader, root, collection_id)
            page = read_page(connection, collection, query, reader, documents=False)
        records = [
            manifest_record(row["stix_id"], format_timestamp_us(row["date_added_us"]), _version(row))
            for row in page.rows
        ]
        return _paged(page, query, listing("objects", records, **_more(page, query)))

    def object(self, reader: Reader, root: str, collection_id: str, object_id: str, query: Query) -> Answer:
        """The versions of one object that the filters select (§5.6); 404 when the reader can see none at all."""
        query = replace(query, ids=frozenset([object_id]))
        with self._reading() as connection:
            collection = _readable(connection, reader, root, collection_id)
            page = _bounded(read_page(connection, collection, query, reader))
            if not page.rows:
                _require_visible(connection, collection, reader, object_id)
        return _paged(page, query, envelope([row["document"] for row in page.rows], **_more(page, query)))

    def versions(self, reader: Reader, root: str, collection_id: str, object_id: str, query: Query) -> Answer:
        """The versions of one object (§5.8), oldest added first."""
        query = replace(query, ids=frozenset([object_id]))
        with self._reading() as connection:
            collection = _readable(connection, reader, root, collection_id)
            page = read_page(connection, collection, query, reader, documents=False)
            if not page.rows:
                _require_visible(connection, collection, reader, object_id)
        return _paged(page, query, listing("versions", [_version(row) for row in page.rows], **_more(page, query)))

    def status(self, reader: Reader, root: str, status_id: str) -> bytes:
        """A submission's status (§4.3), for the organisation that submitted it only."""
        with self._reading() as connection:
            _api_root(connection, root)
            document = connection.execute(
                select(TaxiiStatus.document).where(
                    TaxiiStatus.id == status_id,
                    TaxiiStatus.api_root == root,
                    TaxiiStatus.organisation_id == reader.organisation,
                )
            ).scalar_one_or_none()
        if document is None:
            raise MamoriError("NOT_FOUND", what="status", id=status_id)
        return bytes(document)

    # --- writes ---------------------------------------------------------------------------------------------------
    def add(
        self,
        reader: Reader,
        root: str,
        collection_id: str,
        objects: Sequence[Any],
        submission: Submission,
        *,
        now_us: int,
    ) -> dict[str, Any]:
        """Add the objects of an envelope (§5.5) and return the status resource, stored with them."""
        with self.engine.begin() as connection:
            collection, rights = _collection(connection, reader, root, collection_id)
            if not rights.can_write:
                _denied(reader, collection, "add objects")
            audience = _audience(connection, collection, reader, submission)
            refused: dict[int, Problem] = {}
            if is_anonymous(connection, reader.account):
                objects, refused = _anonymised(connection, reader, objects)
            kept = [obj for index, obj in enumerate(objects) if index not in refused]
            outcomes = iter(add_objects(connection, collection, kept, audience=audience, account=reader.account,
                                        now_us=now_us))  # fmt: skip
            successes, failures = [], []
            for index, obj in enumerate(objects):
                problem = refused.get(index)
                outcome: Stored | Refused = Refused(_id_of(obj), (problem,)) if problem else next(outcomes)
                if isinstance(outcome, Stored):
                    successes.append(StatusDetail(outcome.stix_id, format_timestamp_us(outcome.version_us)))
                else:
                    reasons = "; ".join(f"{p.code} at {p.path or '(object)'}: {p.reason}" for p in outcome.problems)
                    failures.append(StatusDetail(outcome.stix_id, _version_text(obj), reasons))
            status_id = str(uuid.uuid4())
            document = status_resource(status_id, format_timestamp_us(now_us), successes, failures)
            connection.execute(
                insert(TaxiiStatus).values(
                    id=status_id,
                    api_root=root,
                    organisation_id=reader.organisation,
                    request_us=now_us,
                    document=orjson.dumps(document),
                )
            )
        return document

    def delete(self, reader: Reader, root: str, collection_id: str, object_id: str, query: Query) -> None:
        """Delete the versions of an object that the filters select (§5.7): the caller needs read and write rights
        on the collection, and may delete only what its organisation produced (the operator: anything)."""
        with self.engine.begin() as connection:
            collection, rights = _collection(connection, reader, root, collection_id)
            if not (rights.can_read and rights.can_write):
                _denied(reader, collection, "delete objects")
            lock_collection(connection, collection.id)
            page = read_page(connection, collection, replace(query, ids=frozenset([object_id])), reader,
                             documents=False, producers=True)  # fmt: skip
            if not page.rows:
                raise MamoriError("NOT_FOUND", what="object", id=object_id)
            operator = operator_of(connection)
            if any(row["producer_id"] != reader.organisation for row in page.rows) and (
                operator is None or operator.id != reader.organisation
            ):
                _denied(reader, collection, "delete objects another organisation produced")
            doomed = [row["seq"] for row in page.rows]
            connection.execute(delete(TaxiiObjectReader).where(TaxiiObjectReader.object_seq.in_(doomed)))
            connection.execute(delete(TaxiiObject).where(_O.seq.in_(doomed)))
            _mark_ends(connection, collection.id, object_id)


def _basic(credentials: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise MamoriError("AUTH_INVALID") from exc
    name, colon, password = decoded.partition(":")
    if not colon:
        raise MamoriError("AUTH_INVALID")
    return name, password


def _api_root(connection: Connection, name: str) -> TaxiiApiRoot:
    row = connection.execute(select(TaxiiApiRoot.__table__).where(TaxiiApiRoot.name == name)).one_or_none()
    if row is None:
        raise MamoriError("NOT_FOUND", what="API root", id=name)
    return TaxiiApiRoot(**row._mapping)


def _collection(
    connection: Connection, reader: Reader, root: str, collection_id: str
) -> tuple[TaxiiCollection, Rights]:
    _api_root(connection, root)
    row = connection.execute(
        select(TaxiiCollection.__table__).where(TaxiiCollection.id == collection_id, TaxiiCollection.api_root == root)
    ).one_or_none()
    rights = rights_of(connection, collection_id, reader.organisation) if row is not None else NO_RIGHTS
    if row is None or rights == NO_RIGHTS:
        raise MamoriError("NOT_FOUND", what="collection", id=collection_id)
    return TaxiiCollection(**row._mapping), rights


def _readable(connection: Connection, reader: Reader, root: str, collection_id: str) -> TaxiiCollection:
    collection, rights = _collection(connection, reader, root, collection_id)
    if not rights.can_read:
        _denied(reader, collection, "read objects")
    return collection


def _denied(reader: Reader, collection: TaxiiCollection, action: str) -> None:
    raise MamoriError(
        "TAXII_PERMISSION_DENIED", organisation=reader.organisation, action=action, collection=collection.id
    )


def _collection_resource(collection: TaxiiCollection, rights: Rights) -> dict[str, Any]:
    resource: dict[str, Any] = {"id": collection.id, "title": collection.title}
    if collection.description:
        resource["description"] = collection.description
    if collection.alias:
        resource["alias"] = collection.alias
    resource |= {
        "can_read": rights.can_read,
        "can_write": rights.can_write,
        "media_types": ["application/stix+json;version=2.1"],
    }
    return resource


def _require_visible(connection: Connection, collection: TaxiiCollection, reader: Reader, object_id: str) -> None:
    """404 unless the reader can see some version of ``object_id`` (a filter that selects none is not a 404)."""
    found = connection.execute(
        select(
            exists().where(_O.collection_id == collection.id, _O.stix_id == object_id, visible_to(reader, collection))
        )
    ).scalar()
    if not found:
        raise MamoriError("NOT_FOUND", what="object", id=object_id)


def _bounded(page: Page) -> Page:
    """At most :data:`PAGE_BYTES` of documents (at least one): the rest is the next page's."""
    total = 0
    for index, row in enumerate(page.rows):
        total += len(row["document"])
        if total > PAGE_BYTES and index > 0:
            return Page(page.rows[:index], True)
    return page


def _more(page: Page, query: Query) -> dict[str, Any]:
    cursor = query.next_cursor(page.rows[-1]["date_added_us"]) if page.more and page.rows else None
    return {"more": page.more and bool(page.rows), "next_cursor": cursor}


def _paged(page: Page, query: Query, body: bytes) -> Answer:
    del query
    if not page.rows:
        return Answer(body, {})
    return Answer(
        body,
        {
            "X-TAXII-Date-Added-First": format_timestamp_us(page.rows[0]["date_added_us"]),
            "X-TAXII-Date-Added-Last": format_timestamp_us(page.rows[-1]["date_added_us"]),
        },
    )


def _version(row: Mapping[str, Any]) -> str:
    return format_timestamp_us(row["version_us"])


def _id_of(obj: Any) -> str:
    return str(obj.get("id", "")) if isinstance(obj, Mapping) else ""


def _version_text(obj: Any) -> str:
    if isinstance(obj, Mapping):
        for name in ("modified", "created"):
            if isinstance(obj.get(name), str):
                return str(obj[name])
    return ""


def _audience(connection: Connection, collection: TaxiiCollection, reader: Reader, submission: Submission) -> Audience:
    group: frozenset[str] = frozenset()
    if collection.sharing_group_id is not None:
        group = frozenset(
            connection.execute(
                select(SharingGroupMember.organisation_id).where(
                    SharingGroupMember.group_id == collection.sharing_group_id
                )
            ).scalars()
        )
    try:
        require_members(connection, list(submission.share_with))
        recipients = account_ids(connection, list(submission.recipients))
    except MamoriError as exc:
        header = "X-Mamori-Share-With" if exc.details.get("what") == "member organisation" else "X-Mamori-Recipients"
        raise MamoriError("HUB_AUDIENCE_INVALID", header=header, reason=exc.message_en) from exc
    return Audience(
        producer=reader.organisation,
        sharing_group=group,
        named_organisations=frozenset(submission.share_with),
        recipients=frozenset(recipients.values()),
    )


def _anonymised(connection: Connection, reader: Reader, objects: Sequence[Any]) -> tuple[list[Any], dict[int, Problem]]:
    """The objects with the submitter's identity replaced by the operator's wherever it is referenced; the
    submitter's own identity object is refused (it would name the submitter)."""
    operator = operator_of(connection)
    if operator is None:
        raise MamoriError("HUB_OPERATOR_MISSING")
    own = organisation(connection, reader.organisation).identity_ref
    refused: dict[int, Problem] = {}
    rewritten: list[Any] = []
    for index, obj in enumerate(objects):
        if isinstance(obj, Mapping) and obj.get("id") == own:
            refused[index] = Problem("id", ANONYMOUS_IDENTITY_REFUSED, "HUB_ANONYMITY_BREACH")
        rewritten.append(_replace_reference(obj, own, operator.identity_ref))
    return rewritten, refused


def _replace_reference(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return new if value == old else value
    if isinstance(value, Mapping):
        return {key: _replace_reference(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_reference(item, old, new) for item in value]
    return value


def _mark_ends(connection: Connection, collection_id: str, object_id: str) -> None:
    """Set ``is_first`` / ``is_last`` on the earliest and latest remaining versions of ``object_id``."""
    same = and_(_O.collection_id == collection_id, _O.stix_id == object_id)
    low, high = connection.execute(select(func.min(_O.version_us), func.max(_O.version_us)).where(same)).one()
    if low is None:
        return
    connection.execute(
        update(TaxiiObject).where(same).values(is_first=_O.version_us == low, is_last=_O.version_us == high)
    )
