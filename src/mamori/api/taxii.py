"""The hub's TAXII 2.1 server under ``/taxii2/``: an ASGI layer in front of the guard's app that answers every
request below that prefix and passes the rest on. An adapter only: it negotiates media types, authenticates,
reads the query and the body within the API root's size limit, calls service/hub_taxii.py, and turns every error
into a TAXII error resource (§3.6.1) with a fitting status.

TAXII is its own protocol (OASIS), with its own media types and error form, so it is not a set of FastAPI routes:
the guard's JSON rules (``application/json`` only, its error object) do not apply below ``/taxii2/``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import orjson
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mamori.errors import MamoriError
from mamori.intel.taxii.protocol import (
    TAXII_MEDIA_TYPE,
    accepts_taxii,
    error_resource,
    is_taxii_content,
    parse_envelope,
)
from mamori.intel.taxii.query import Endpoint, parse_query
from mamori.intel.tlp import Reader
from mamori.service.hub_taxii import Answer, HubService, Submission

PREFIX = "/taxii2"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SHARE_WITH_HEADER = "x-mamori-share-with"
RECIPIENTS_HEADER = "x-mamori-recipients"

TAXII_STATUS: dict[str, int] = {
    "TAXII_QUERY_INVALID": 400,
    "TAXII_ENVELOPE_INVALID": 400,
    "TAXII_AUTH_REQUIRED": 401,
    "AUTH_INVALID": 401,
    "TAXII_PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ROUTE_NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "TAXII_NOT_ACCEPTABLE": 406,
    "BODY_TOO_LARGE": 413,
    "TAXII_MEDIA_TYPE_UNSUPPORTED": 415,
    "HUB_AUDIENCE_INVALID": 422,
    "HUB_OPERATOR_MISSING": 422,
    "INTERNAL_ERROR": 500,
    "DATABASE_UNAVAILABLE": 503,
}


class TaxiiResponse(Response):
    media_type = TAXII_MEDIA_TYPE


def taxii_error(error: MamoriError) -> TaxiiResponse:
    status = TAXII_STATUS.get(error.code, 400)
    headers = {"WWW-Authenticate": 'Basic realm="mamori hub", Bearer realm="mamori hub"'} if status == 401 else {}
    if error.code == "METHOD_NOT_ALLOWED":
        headers["Allow"] = str(error.details.get("allow", ""))
    return TaxiiResponse(orjson.dumps(error_resource(error, status)), status_code=status, headers=headers)


@dataclass(frozen=True, slots=True)
class _Request:
    scope: Scope
    receive: Receive
    segments: list[str]
    reader: Reader

    def header(self, name: bytes) -> str | None:
        return _header(self.scope, name)

    def parameters(self) -> dict[str, list[str]]:
        return parse_qs(self.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)


Handler = Callable[["TaxiiGateway", _Request], Awaitable[Response]]


class TaxiiGateway:
    """Serves ``/taxii2/…`` from ``hub``; every other request goes on to ``app`` unchanged."""

    def __init__(self, app: ASGIApp, hub: HubService, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.hub = hub
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        try:
            response = await self._answer(scope, receive)
        except MamoriError as exc:
            response = taxii_error(exc)
        except DBAPIError as exc:
            response = taxii_error(
                MamoriError("DATABASE_UNAVAILABLE", url="(the hub's database)", reason=type(exc).__name__)
            )
        except Exception as exc:  # noqa: BLE001 - a 500 with a code, never a traceback
            response = taxii_error(MamoriError("INTERNAL_ERROR", reason=type(exc).__name__))
        await response(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive) -> Response:
        path, method = scope["path"], scope["method"]
        inner = path[len(PREFIX) :].strip("/")
        segments = inner.split("/") if inner else []
        methods = _route(segments)
        if methods is None:
            raise MamoriError("ROUTE_NOT_FOUND", path=path, method=method)
        handler = methods.get(method)
        if handler is None:
            raise MamoriError("METHOD_NOT_ALLOWED", path=path, method=method, allow=", ".join(sorted(methods)))
        authorization = _header(scope, b"authorization")
        reader = await run_in_threadpool(self.hub.authenticate, authorization)
        if not accepts_taxii(_header(scope, b"accept")):
            raise MamoriError("TAXII_NOT_ACCEPTABLE", accept=_header(scope, b"accept"))
        return await handler(self, _Request(scope, receive, segments, reader))

    # --- handlers (segments: [], [root], [root, "status", id], [root, "collections", id, …]) ---------------------
    async def discovery(self, request: _Request) -> Response:
        scope = request.scope
        host = request.header(b"host") or "localhost"
        base = f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}{PREFIX}/"
        return _ok(orjson.dumps(await run_in_threadpool(self.hub.discovery, base)))

    async def api_root(self, request: _Request) -> Response:
        return _ok(orjson.dumps(await run_in_threadpool(self.hub.api_root_resource, request.segments[0])))

    async def status(self, request: _Request) -> Response:
        root, _, status_id = request.segments
        return _ok(await run_in_threadpool(self.hub.status, request.reader, root, status_id))

    async def collections(self, request: _Request) -> Response:
        return _ok(orjson.dumps(await run_in_threadpool(self.hub.collections, request.reader, request.segments[0])))

    async def collection(self, request: _Request) -> Response:
        root, _, collection_id = request.segments
        return _ok(orjson.dumps(await run_in_threadpool(self.hub.collection, request.reader, root, collection_id)))

    async def manifest(self, request: _Request) -> Response:
        root, _, collection_id, _ = request.segments
        query = parse_query(request.parameters(), Endpoint.MANIFEST)
        return _answered(await run_in_threadpool(self.hub.manifest, request.reader, root, collection_id, query))

    async def objects(self, request: _Request) -> Response:
        root, _, collection_id, _ = request.segments
        query = parse_query(request.parameters(), Endpoint.OBJECTS)
        return _answered(await run_in_threadpool(self.hub.objects, request.reader, root, collection_id, query))

    async def add_objects(self, request: _Request) -> Response:
        root, _, collection_id, _ = request.segments
        content_type = request.header(b"content-type")
        if not is_taxii_content(content_type):
            raise MamoriError("TAXII_MEDIA_TYPE_UNSUPPORTED", media_type=content_type or "none")
        api_root = await run_in_threadpool(self.hub.api_root, root)
        body = await _body(request, api_root.max_content_length)
        objects = parse_envelope(body)
        submission = Submission(
            share_with=_listed(request.header(SHARE_WITH_HEADER.encode())),
            recipients=_listed(request.header(RECIPIENTS_HEADER.encode())),
        )
        now_us = _micros(self.clock())
        status = await run_in_threadpool(
            self.hub.add, request.reader, root, collection_id, objects, submission, now_us=now_us
        )
        return TaxiiResponse(orjson.dumps(status), status_code=202)

    async def object(self, request: _Request) -> Response:
        root, _, collection_id, _, object_id = request.segments
        query = parse_query(request.parameters(), Endpoint.OBJECT)
        return _answered(
            await run_in_threadpool(self.hub.object, request.reader, root, collection_id, object_id, query)
        )

    async def delete_object(self, request: _Request) -> Response:
        root, _, collection_id, _, object_id = request.segments
        query = parse_query(request.parameters(), Endpoint.DELETE)
        await run_in_threadpool(self.hub.delete, request.reader, root, collection_id, object_id, query)
        return TaxiiResponse(b"", status_code=200)

    async def versions(self, request: _Request) -> Response:
        root, _, collection_id, _, object_id, _ = request.segments
        query = parse_query(request.parameters(), Endpoint.VERSIONS)
        return _answered(
            await run_in_threadpool(self.hub.versions, request.reader, root, collection_id, object_id, query)
        )


def _route(segments: list[str]) -> dict[str, Handler] | None:
    """The handlers of a path by method, or None where TAXII defines no endpoint."""
    g = TaxiiGateway
    count = len(segments)
    if any(not segment for segment in segments):
        return None
    if count == 0:
        return {"GET": g.discovery}
    if count == 1:
        return {"GET": g.api_root}
    kind = segments[1]
    if kind == "status" and count == 3:
        return {"GET": g.status}
    if kind != "collections":
        return None
    shapes: dict[tuple[int, str | None, str | None], dict[str, Handler]] = {
        (2, None, None): {"GET": g.collections},
        (3, None, None): {"GET": g.collection},
        (4, "manifest", None): {"GET": g.manifest},
        (4, "objects", None): {"GET": g.objects, "POST": g.add_objects},
        (5, "objects", None): {"GET": g.object, "DELETE": g.delete_object},
        (6, "objects", "versions"): {"GET": g.versions},
    }
    third = segments[3] if count > 3 else None
    sixth = segments[5] if count > 5 else None
    return shapes.get((count, third, sixth))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _ok(body: bytes) -> Response:
    return TaxiiResponse(body)


def _answered(answer: Answer) -> Response:
    return TaxiiResponse(answer.body, headers=dict(answer.headers))


def _listed(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


async def _body(request: _Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to exceed ``limit`` bytes: by its Content-Length
    before anything is read, or while it arrives."""
    length = request.header(b"content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise MamoriError("BODY_TOO_LARGE", limit=limit)
    chunks: list[bytes] = []
    received = 0
    while True:
        message: dict[str, Any] = dict(await request.receive())
        if message["type"] != "http.request":
            raise MamoriError("TAXII_ENVELOPE_INVALID", reason="the client went away")
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > limit:
            raise MamoriError("BODY_TOO_LARGE", limit=limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _outside(scope: Scope, receive: Receive, send: Send) -> None:
    """What a hub-only server answers outside ``/taxii2/``: there is nothing there."""
    if scope["type"] != "http":
        return
    error = MamoriError("ROUTE_NOT_FOUND", path=scope.get("path", ""), method=scope.get("method", ""))
    await taxii_error(error)(scope, receive, send)


def create_hub_app(hub: HubService, clock: Callable[[], datetime]) -> TaxiiGateway:
    """The hub on its own (``mamori hub serve``): the TAXII server and nothing else, no guard needed."""
    return TaxiiGateway(_outside, hub, clock)
