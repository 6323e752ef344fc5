"""Wallet indicators for the member-node tests, and medallion (the OASIS reference TAXII 2.1 server, memory
backend) on a real local port for clients that speak HTTP themselves (taxii2-client)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mamori.intel.wallet_stix import WALLET_PROPERTIES_EXTENSION

MEDIA = "application/taxii+json;version=2.1"
MEDALLION_USER, MEDALLION_PASSWORD = "member", "member password"
MEDALLION_COLLECTION = "8f0a4b6e-2c3d-4e5f-9a1b-7c6d5e4f3a2b"
MEDALLION_ROOT = "isac"


def stamp(second: int) -> str:
    return f"2026-03-03T02:{second // 60:02d}:{second % 60:02d}.000Z"


def wallet_indicator(
    value: str, *, number: int = 0, second: int = 0, revoked: bool = False, chain: str = "ethereum", ident: str = ""
) -> dict[str, Any]:
    """A wallet indicator as the hub shares them (intel/wallet_stix.py), version ``modified`` = ``stamp(second)``."""
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": ident or f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, f'{value}/{number}')}",
        "created": stamp(0),
        "modified": stamp(second),
        "name": f"test: {value}",
        "indicator_types": ["malicious-activity"],
        "pattern": f"[cryptocurrency-wallet:value = '{value}']",
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": stamp(0),
        "extensions": {WALLET_PROPERTIES_EXTENSION: {"extension_type": "property-extension", "chain": chain}},
    }
    if revoked:
        obj["revoked"] = True
    return obj


class Medallion:
    """medallion's Flask app (a module-level singleton in medallion) with a fresh memory backend per use."""

    def __init__(self, base: str, backend: Any) -> None:
        self.base = base
        self.backend = backend

    @property
    def api_root(self) -> str:
        return f"{self.base}/{MEDALLION_ROOT}/"

    @property
    def collection_url(self) -> str:
        return f"{self.api_root}collections/{MEDALLION_COLLECTION}/"

    def add(self, objects: list[dict[str, Any]], *, at: str) -> None:
        """Objects added at the instant ``at`` (medallion gives every object of one request the same date_added)."""
        from medallion.common import string_to_datetime

        self.backend.add_objects(MEDALLION_ROOT, MEDALLION_COLLECTION, {"objects": objects}, string_to_datetime(at))


_registered = threading.Lock()
_ready = False


@contextmanager
def medallion_server(tmp_path: Path, *, page_size: int = 2) -> Iterator[Medallion]:
    global _ready  # noqa: PLW0603 - medallion's Flask app is a process-wide singleton: blueprints register once
    import medallion
    from werkzeug.serving import make_server

    data = {
        "/discovery": {"title": "medallion", "api_roots": [], "default": ""},
        MEDALLION_ROOT: {
            "information": {"title": "ISAC", "versions": [MEDIA], "max_content_length": 10_000_000},
            "status": [],
            "collections": [
                {
                    "id": MEDALLION_COLLECTION,
                    "title": "wallets",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }
    path = tmp_path / "medallion.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    app = medallion.application_instance
    with _registered:
        medallion.set_config(app, "users", {"users": {MEDALLION_USER: MEDALLION_PASSWORD}})
        medallion.set_config(app, "taxii", {"taxii": {"max_page_size": page_size}})
        config = {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend", "filename": str(path)}
        medallion.set_config(app, "backend", {"backend": config})
        if not _ready:
            medallion.register_blueprints(app)
            _ready = True
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Medallion(f"http://127.0.0.1:{server.server_port}", app.medallion_backend)
    finally:
        server.shutdown()
        thread.join(10)
