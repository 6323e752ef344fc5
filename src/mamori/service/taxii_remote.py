"""The adapter to a remote TAXII 2.1 collection, on the OASIS client (taxii2-client): pages of objects with the
``X-TAXII-Date-Added-Last`` header they came with, and submissions. Every failure of the network, the server or
its answers becomes one of three stable errors (unreachable, credentials refused, response unusable).

Credentials: a bearer token (``Authorization: Bearer …``) or HTTP Basic, never both; they are not part of the URL
that names the collection (the sync cursor's key).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
import requests.adapters
from taxii2client.common import _HTTPConnection
from taxii2client.exceptions import AccessError, TAXIIServiceException
from taxii2client.v21 import Collection

from mamori.errors import MamoriError
from mamori.intel.stix_forms import timestamp_us
from mamori.service.intel_sync import RemotePage, parse_page

DEFAULT_TIMEOUT_S = 30.0


class BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer <token>`` (RFC 6750). taxii2-client's own ``TokenAuth`` sends ``Token <key>``, which
    the hub does not take."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


@dataclass(frozen=True, slots=True)
class Credentials:
    token: str | None = None
    user: str | None = None
    password: str | None = None

    def __post_init__(self) -> None:
        if self.token and (self.user or self.password):
            raise MamoriError("USAGE_INVALID", reason="give a token or a user and password, not both")
        if bool(self.user) != bool(self.password):
            raise MamoriError("USAGE_INVALID", reason="HTTP Basic needs both a user and a password")

    def auth(self) -> requests.auth.AuthBase | None:
        if self.token:
            return BearerAuth(self.token)
        if self.user and self.password:
            return requests.auth.HTTPBasicAuth(self.user, self.password)
        return None


def collection_url(api_root_or_collection: str, collection: str | None) -> str:
    """The collection's URL: ``collection`` as a URL, or an id under the API root ``api_root_or_collection``."""
    if collection is None:
        base = api_root_or_collection
    elif collection.startswith(("http://", "https://")):
        base = collection
    else:
        base = api_root_or_collection.rstrip("/") + f"/collections/{collection}/"
    if not base.startswith(("http://", "https://")):
        raise MamoriError("USAGE_INVALID", reason=f"{base!r} is not an http(s) URL")
    if "@" in base.split("/")[2]:
        raise MamoriError("USAGE_INVALID", reason="credentials in the URL: use --token or --user/--password")
    return base if base.endswith("/") else base + "/"


class _TimeoutAdapter(requests.adapters.HTTPAdapter):
    """requests waits forever by default: every request of the client gets a timeout."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


class Taxii2Source:
    """A remote collection through taxii2-client. Use as a context manager (it holds a connection pool)."""

    def __init__(
        self, url: str, credentials: Credentials, *, timeout: float = DEFAULT_TIMEOUT_S, verify: bool = True
    ) -> None:
        self._url = url
        self._connection = _HTTPConnection(auth=credentials.auth(), verify=verify, version="2.1")
        adapter = _TimeoutAdapter(timeout)
        self._connection.session.mount("http://", adapter)
        self._connection.session.mount("https://", adapter)
        self._headers: Mapping[str, str] = {}
        self._connection.session.hooks["response"].append(self._keep_headers)
        self._collection = Collection(url, conn=self._connection)

    @property
    def url(self) -> str:
        return self._url

    def _keep_headers(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        self._headers = response.headers

    def __enter__(self) -> Taxii2Source:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._connection.close()

    def page(self, *, added_after: str | None, next_page: str | None, limit: int) -> RemotePage:
        filters: dict[str, Any] = {"version": "all", "limit": limit}
        if next_page is not None:
            filters["next"] = next_page
        if added_after is not None:
            filters["added_after"] = added_after
        with remote_errors(self._url):
            self._headers = {}
            document = self._collection.get_objects(**filters)
            last = self._headers.get("X-TAXII-Date-Added-Last")
        return parse_page(self._url, document, last, after_us=timestamp_us(added_after) if added_after else None)

    def add(self, objects: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Submit ``objects`` in one envelope and wait for the status (TAXII 2.1 §5.4)."""
        envelope = {"objects": list(objects)}
        with remote_errors(self._url):
            status = self._collection.add_objects(envelope, wait_for_completion=True, poll_interval=1, timeout=60)
        raw = getattr(status, "_raw", None)
        if not isinstance(raw, dict):
            raise MamoriError("INTEL_REMOTE_RESPONSE_INVALID", url=self._url, reason="no status resource")
        return raw


@contextmanager
def remote_errors(url: str) -> Iterator[None]:
    """Translate the client's and the network's failures into mamori's three errors."""
    try:
        yield
    except requests.exceptions.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else 0
        if status in (401, 403):
            raise MamoriError("INTEL_REMOTE_UNAUTHORISED", url=url, status=status) from exc
        if status >= 500:
            raise MamoriError("INTEL_REMOTE_UNREACHABLE", url=url, reason=f"HTTP {status}") from exc
        shown = f"HTTP {status}" + (": no such collection, or this account may not see it" if status == 404 else "")
        raise MamoriError("INTEL_REMOTE_RESPONSE_INVALID", url=url, reason=shown) from exc
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise MamoriError("INTEL_REMOTE_UNREACHABLE", url=url, reason=type(exc).__name__) from exc
    except AccessError as exc:
        raise MamoriError(
            "INTEL_REMOTE_UNAUTHORISED", url=url, status="200 (the collection denies this account)"
        ) from exc
    except (TAXIIServiceException, requests.exceptions.RequestException, ValueError, KeyError, TypeError) as exc:
        raise MamoriError(
            "INTEL_REMOTE_RESPONSE_INVALID", url=url, reason=f"{type(exc).__name__}: {exc}"[:300]
        ) from exc
