"""The guard's HTTP API (FastAPI). An adapter: it authenticates, turns bodies into documents, calls the services
and turns every error into ``{"error": {"code", "message": {"en", "ja"}, "details"}}`` with a fitting status.

Nothing is readable anonymously, the OpenAPI description included. Bad input is a 4xx with a stable code; a
database that cannot answer is a 503 (nothing changed); a 500 would be a bug.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mamori import __version__
from mamori.api.assessments import add_assessment_routes
from mamori.api.schemas import (
    ApprovalBody,
    BalanceBody,
    ChangeApprovalBody,
    ChangeBody,
    TransactionBody,
    WithdrawalRequestBody,
)
from mamori.api.taxii import TaxiiGateway
from mamori.errors import MamoriError
from mamori.service.assessments import AssessmentService
from mamori.service.auth import Principal, authorize
from mamori.service.guard import GuardServices
from mamori.service.hub_taxii import HubService
from mamori.service.setup import Authenticator

MAX_BODY_BYTES = 1_048_576
Clock = Callable[[], datetime]

STATUS: dict[str, int] = {
    "AUTH_REQUIRED": 401,
    "AUTH_INVALID": 401,
    "PERMISSION_DENIED": 403,
    "APPROVER_NOT_ELIGIBLE": 403,
    "APPROVER_KEY_UNKNOWN": 403,
    "NOT_FOUND": 404,
    "ROUTE_NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "STATE_CONFLICT": 409,
    "REQUEST_ID_REUSED": 409,
    "CHANGE_INVALID": 409,
    "GUARD_ALREADY_INITIALISED": 409,
    "ASSESSMENT_EXISTS": 409,
    "ASSESSMENT_LOCKED": 409,
    "ASSESSMENT_INCOMPLETE": 409,
    "ASSESSMENT_NOT_LOCKED": 409,
    "ASSESSMENT_TAMPERED": 409,
    "ASSESSMENT_REVIEWER_CONFLICT": 403,
    "BODY_TOO_LARGE": 413,
    "MEDIA_TYPE_UNSUPPORTED": 415,
    "SERVICE_UNAVAILABLE": 503,
    "DATABASE_UNAVAILABLE": 503,
    "GUARD_NOT_INITIALISED": 503,
    "INTERNAL_ERROR": 500,
}


class OrjsonResponse(JSONResponse):
    """Every answer, errors included, written by orjson straight from the service's dicts: Japanese text stays
    UTF-8, big integers stay exact, and FastAPI's own encoder (which walks every value again, at a cost above the
    decision's SQL) is not involved."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _json(content: Any) -> Response:
    return OrjsonResponse(content)


def utc_now() -> datetime:
    return datetime.now(UTC)


def error_response(error: MamoriError) -> OrjsonResponse:
    headers = {"WWW-Authenticate": "Bearer"} if error.code in ("AUTH_REQUIRED", "AUTH_INVALID") else None
    return OrjsonResponse(error.to_dict(), status_code=STATUS.get(error.code, 422), headers=headers)


class BodyLimit:
    """Refuse bodies above ``limit`` bytes (413) whether or not Content-Length says so, and non-JSON bodies (415),
    before the framework reads them."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        media_type = headers.get(b"content-type", b"").split(b";")[0].strip().decode("latin-1").lower()
        length = headers.get(b"content-length")
        has_body = length not in (None, b"0") or b"transfer-encoding" in headers  # chunked: no length given
        if media_type != "application/json" and has_body:
            await error_response(MamoriError("MEDIA_TYPE_UNSUPPORTED", media_type=media_type or "none"))(
                scope, receive, send
            )
            return
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self.too_large(scope, receive, send)
            return
        # Read the body here, never more than the limit: the framework turns any error raised while it reads
        # into a 400, so a body without a length that grows too large is refused before it gets there.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away: nobody to answer
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.limit:
                await self.too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await error_response(MamoriError("BODY_TOO_LARGE", limit=self.limit))(scope, receive, send)


async def _principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    state = request.app.state
    return await authenticated(state.authenticator, authorization, state.clock)


async def authenticated(authenticator: Authenticator, authorization: str | None, clock: Clock) -> Principal:
    """The caller named by an ``Authorization: Bearer`` header. On the event loop when the key was seen valid
    moments ago (no database read); otherwise the key is looked up on a worker thread."""
    if not authorization:
        raise MamoriError("AUTH_REQUIRED")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise MamoriError("AUTH_INVALID")
    remembered = authenticator.remembered(token.strip())
    if remembered is not None:
        return remembered
    return await run_in_threadpool(authenticator, token.strip(), now=clock())


def body_error(error: ValidationError) -> MamoriError:
    """BODY_INVALID naming where the body first fails its model (``body.<field>``), as FastAPI's own check does."""
    errors = error.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid"}
    at = ".".join(["body", *(str(part) for part in first.get("loc", ()))])
    return MamoriError("BODY_INVALID", at=at, reason=str(first.get("msg", "invalid")))


class SubmitHotPath:
    """``POST /v1/requests`` — every withdrawal — served here, in front of the framework: the same authentication,
    body model, service call and answers as the route in :func:`create_app` (which documents it in the OpenAPI
    description and serves it when this layer is off; tests/api hold the two together), without the framework's
    routing, dependency resolution and exception middleware, which cost as much CPU as the decision's own checks
    (docs/benchmarks.md). Every other request goes on to the framework unchanged."""

    def __init__(self, app: ASGIApp, submit: Callable[[Principal, dict[str, Any]], Any], state: Any) -> None:
        self.app = app
        self.submit = submit
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != SUBMIT_PATH:
            await self.app(scope, receive, send)
            return
        try:
            response: Response = _json(await self._answer(scope, receive))
        except MamoriError as exc:
            response = error_response(exc)
        except Exception as exc:  # noqa: BLE001 - as the framework's handler: a 500 with a code, never a traceback
            response = error_response(MamoriError("INTERNAL_ERROR", reason=type(exc).__name__))
        await response(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive) -> Any:
        authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        caller = await authenticated(self.state.authenticator, authorization, self.state.clock)
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise MamoriError("BODY_INVALID", at="body", reason="the client went away")
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        if not raw:
            raise MamoriError("BODY_INVALID", at="body", reason="Field required")
        try:
            # The standard library's parser, as the framework's: the same documents refused at the same offset.
            document = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise MamoriError("BODY_INVALID", at=f"body.{exc.pos}", reason="JSON decode error") from exc
        except (UnicodeDecodeError, RecursionError) as exc:  # not text, or nested beyond the parser's depth
            raise MamoriError("BODY_INVALID", at="request", reason="There was an error parsing the body") from exc
        try:
            body = WithdrawalRequestBody.model_validate(document, from_attributes=True)  # as the framework does
        except ValidationError as exc:
            raise body_error(exc) from exc
        return await self.submit(caller, body.model_dump(exclude_none=True))


Caller = Annotated[Principal, Depends(_principal)]


@dataclass(frozen=True, slots=True)
class ApiSettings:
    clock: Clock = utc_now
    max_body_bytes: int = MAX_BODY_BYTES
    auth_cache_seconds: float = 2.0  # how long a key seen valid is trusted without a database read
    hot_path: bool = True  # serve POST /v1/requests in front of the framework (SubmitHotPath)


SUBMIT_PATH = "/v1/requests"


def create_app(services: GuardServices, settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings()
    clock = settings.clock
    app = FastAPI(
        title="mamori guard",
        version=__version__,
        description="Withdrawal guard: signed requests, verified transactions, quorum approvals, release "
        "attestations and a tamper-evident audit log. Every endpoint needs 'Authorization: Bearer <API key>'.",
        openapi_url=None,  # served below, behind authentication
        docs_url=None,
        redoc_url=None,
    )
    _install_error_handlers(app)
    withdrawals, governance, audit = services.withdrawals, services.governance, services.audit

    async def submit_document(caller: Principal, document: dict[str, Any]) -> Any:
        return await withdrawals.submit_async(caller, document, now=clock())

    if settings.hot_path:
        app.add_middleware(SubmitHotPath, submit=submit_document, state=app.state)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)  # bodies are checked before anything of /v1
    # Outermost: the threat-intelligence hub's TAXII 2.1 server under /taxii2/, with its own media types and limits.
    hub = HubService(services.engine, auth_cache_seconds=settings.auth_cache_seconds)
    app.add_middleware(TaxiiGateway, hub=hub, clock=clock)

    app.state.services = services
    app.state.clock = clock
    app.state.authenticator = Authenticator(services.engine, ttl_seconds=settings.auth_cache_seconds)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(caller: Caller) -> Response:
        authorize(caller, "service.read")
        return _json(app.openapi())

    @app.get("/v1/whoami", tags=["service"])
    def whoami(caller: Caller) -> Response:
        authorize(caller, "service.read")
        return _json({"key_id": caller.key_id, "role": caller.role, "principal": caller.name})

    @app.get("/v1/guard", tags=["service"])
    def guard_key(caller: Caller) -> Response:
        """The guard's public key: signers check release attestations with it (`mamori attest verify`)."""
        authorize(caller, "service.read")
        return _json(services.describe())

    # --- withdrawals ---------------------------------------------------------------------------------------------
    @app.post(SUBMIT_PATH, tags=["withdrawals"])
    async def submit(body: WithdrawalRequestBody, caller: Caller) -> Response:
        """Submit a request signed by the system of record; with `transaction`, it is decided at once."""
        # Served by SubmitHotPath unless ApiSettings.hot_path is off; the same calls either way.
        return _json(await submit_document(caller, body.model_dump(exclude_none=True)))

    @app.get("/v1/requests/{request_id}", tags=["withdrawals"])
    def read(request_id: str, caller: Caller) -> Response:
        return _json(withdrawals.read(caller, request_id, now=clock()))

    @app.post("/v1/requests/{request_id}/transaction", tags=["withdrawals"])
    def attach(request_id: str, body: TransactionBody, caller: Caller) -> Response:
        """Attach the exact transaction to be signed; it is verified, compared with the request and decided."""
        return _json(withdrawals.attach(caller, request_id, body.model_dump(exclude_none=True), now=clock()))

    @app.get("/v1/requests/{request_id}/approval-subject", tags=["withdrawals"])
    def approval_subject(
        request_id: str, caller: Caller, expires_in: Annotated[int, Query(ge=60, le=86_400)] = 3600
    ) -> Response:
        """What an approver signs: check it against the ledger and the signing device before signing."""
        now = clock()
        expires_at = now.replace(microsecond=0) + timedelta(seconds=expires_in)
        return _json(withdrawals.approval_subject(caller, request_id, expires_at=expires_at, now=now))

    @app.post("/v1/requests/{request_id}/approvals", tags=["withdrawals"])
    def approve(request_id: str, body: ApprovalBody, caller: Caller) -> Response:
        return _json(withdrawals.approve(caller, request_id, body.model_dump(exclude_none=True), now=clock()))

    @app.post("/v1/requests/{request_id}/release", tags=["withdrawals"])
    def release(request_id: str, caller: Caller) -> Response:
        """The release attestation of an allowed withdrawal (a fresh one, decided again, once it has expired)."""
        return _json(withdrawals.release(caller, request_id, now=clock()))

    @app.post("/v1/requests/{request_id}/cancel", tags=["withdrawals"])
    def cancel(request_id: str, caller: Caller) -> Response:
        return _json(withdrawals.cancel(caller, request_id, now=clock()))

    @app.put("/v1/balances", tags=["withdrawals"])
    def report_balance(body: BalanceBody, caller: Caller) -> Response:
        return _json(withdrawals.report_balance(caller, body.model_dump(), now=clock()))

    # --- governance ----------------------------------------------------------------------------------------------
    @app.get("/v1/policy", tags=["governance"])
    def policy(caller: Caller) -> Response:
        return _json(governance.policy(caller, now=clock()))

    @app.get("/v1/address-book", tags=["governance"])
    def address_book(caller: Caller) -> Response:
        return _json(governance.address_book(caller, now=clock()))

    @app.get("/v1/approvers", tags=["governance"])
    def approvers(caller: Caller) -> Response:
        return _json(governance.approvers(caller, now=clock()))

    @app.get("/v1/changes", tags=["governance"])
    def open_changes(caller: Caller) -> Response:
        return _json(governance.list_open(caller, now=clock()))

    @app.post("/v1/changes", tags=["governance"])
    def propose(body: ChangeBody, caller: Caller) -> Response:
        return _json(governance.propose(caller, body.model_dump(exclude_none=True), now=clock()))

    @app.get("/v1/changes/{change_id}", tags=["governance"])
    def read_change(change_id: str, caller: Caller) -> Response:
        return _json(governance.read(caller, change_id, now=clock()))

    @app.post("/v1/changes/{change_id}/approvals", tags=["governance"])
    def approve_change(change_id: str, body: ChangeApprovalBody, caller: Caller) -> Response:
        return _json(governance.approve(caller, change_id, body.model_dump(exclude_none=True), now=clock()))

    # --- self-assessment (api/assessments.py) ----------------------------------------------------------------------
    add_assessment_routes(app, _principal, AssessmentService(services.engine), clock, _json)

    # --- audit ---------------------------------------------------------------------------------------------------
    @app.get("/v1/audit/head", tags=["audit"])
    def audit_head(caller: Caller) -> Response:
        """A tree head signed now by the guard key (publish it elsewhere to pin the log's history)."""
        return _json(audit.signed_head(caller, now=clock()))

    @app.get("/v1/audit/entries/{seq}", tags=["audit"])
    def audit_entry(seq: int, caller: Caller, tree_size: int | None = None) -> Response:
        """An entry with its inclusion proof in the current tree (or the tree of `tree_size`)."""
        return _json(audit.inclusion(caller, seq, tree_size=tree_size, now=clock()))

    @app.get("/v1/audit/consistency", tags=["audit"])
    def audit_consistency(caller: Caller, old_size: int, new_size: int | None = None) -> Response:
        return _json(audit.consistency(caller, old_size, new_size=new_size, now=clock()))

    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MamoriError)
    async def mamori_error(_request: Request, exc: MamoriError) -> OrjsonResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_request: Request, exc: RequestValidationError) -> OrjsonResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": ("body",), "msg": "invalid"}
        at = ".".join(str(part) for part in first.get("loc", ()))
        error = MamoriError("BODY_INVALID", at=at or "body", reason=str(first.get("msg", "invalid")))
        return error_response(error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> OrjsonResponse:
        path, method = request.url.path, request.method
        if exc.status_code == 405:
            return error_response(MamoriError("METHOD_NOT_ALLOWED", path=path, method=method))
        if exc.status_code == 404:
            return error_response(MamoriError("ROUTE_NOT_FOUND", path=path, method=method))
        return error_response(MamoriError("BODY_INVALID", at="request", reason=str(exc.detail)))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> OrjsonResponse:
        return error_response(MamoriError("INTERNAL_ERROR", reason=type(exc).__name__))
