"""``mamori serve`` and ``mamori guard …``: run the withdrawal guard service, and the operator's set-up steps.

The operator (who holds the database) initialises the guard once (``guard init``: first policy, approvers' public
keys, the existing address book, the guard key) and issues API keys (``guard api-key``). Everything after that
goes through the service and its quorums. Each step is written to the audit log.
"""

from __future__ import annotations

import dataclasses
import gc
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
import yaml

from mamori.cli.audit import DatabaseOption, JsonOption
from mamori.cli.screen import FbiOption, IndexOption, IntelOption, ListOption, OfacOption
from mamori.errors import InputError, MamoriError

app = typer.Typer(help="Set up the withdrawal guard service: initialise it, issue API keys.", no_args_is_help=True)
api_key_app = typer.Typer(help="Issue and revoke API keys (shown once; only their hash is kept).", no_args_is_help=True)
app.add_typer(api_key_app, name="api-key")

GuardKeyOption = Annotated[
    Path,
    typer.Option("--guard-key", envvar="MAMORI_GUARD_KEY", help="File with the guard's Ed25519 seed (hex, mode 600)."),
]


def _engine(database: str | None) -> Any:
    from mamori.store.database import create_engine

    if not database:
        raise MamoriError("USAGE_INVALID", reason="no database: give --database URL or set MAMORI_DATABASE_URL")
    return create_engine(database)


def _yaml_file(path: Path | None, what: str) -> Any:
    if path is None:
        return None
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError("INPUT_UNREADABLE", source=str(path), reason=f"{what}: {type(exc).__name__}") from exc


@app.command("check")
def check(
    database: DatabaseOption = None,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Report at most this many differences.")] = 50,
) -> None:
    """Recompute the velocity counters' reservations and buckets from the withdrawals; report every difference.

    Exit 0 when they match, 1 when they do not (a row changed or removed outside the guard), 2 when the database
    cannot be read. The audit log itself is checked by ``mamori audit verify``."""
    from mamori.cli.audit import connect
    from mamori.service.integrity import differences

    with connect(database) as connection:
        found = differences(connection, limit=limit)
    if as_json:
        document = {"consistent": not found, "differences": [dataclasses.asdict(d) for d in found]}
        sys.stdout.buffer.write(orjson.dumps(document) + b"\n")
    elif not found:
        typer.echo("velocity counters consistent / 速度制限カウンタは出金記録と一致しています")
    else:
        typer.echo(
            f"velocity counters DIFFER from the withdrawals in {len(found)} place(s)"
            f"{' (first ' + str(limit) + ')' if len(found) >= limit else ''} /"
            f" 速度制限カウンタが出金記録と一致しません ({len(found)} 件)"
        )
        for difference in found:
            typer.echo(f"  {difference.text()}")
    if found:
        raise typer.Exit(1)


@app.command("init")
def init(
    policy: Annotated[Path, typer.Option("--policy", help="The first policy (YAML), installed as version 1.")],
    guard_key: GuardKeyOption,
    database: DatabaseOption = None,
    approvers: Annotated[
        Path | None, typer.Option("--approvers", help="YAML: person -> Ed25519 public key (hex or base64).")
    ] = None,
    address_book: Annotated[
        Path | None,
        typer.Option("--address-book", help="YAML list of {chain, address, label, approved_by, effective_at}."),
    ] = None,
    operator: Annotated[str, typer.Option("--operator", help="Who runs this, for the audit log.")] = "operator",
) -> None:
    """Create the tables, the guard key (if the file does not exist) and the first trusted state."""
    from mamori.service.setup import initialise, load_guard_key, write_guard_key
    from mamori.store.database import upgrade

    engine = _engine(database)
    try:
        text = policy.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("INPUT_UNREADABLE", source=str(policy), reason=type(exc).__name__) from exc
    keys = _yaml_file(approvers, "approvers") or {}
    book = _yaml_file(address_book, "address book") or []
    if not isinstance(keys, dict) or not isinstance(book, list):
        raise InputError("RECORD_SHAPE_INVALID", reason="--approvers is a mapping, --address-book a list")
    upgrade(engine)
    key = load_guard_key(guard_key) if guard_key.exists() else write_guard_key(guard_key)
    summary = initialise(
        engine,
        policy_text=text,
        approver_keys={str(k): str(v) for k, v in keys.items()},
        address_book=book,
        operator=operator,
        now=datetime.now(UTC),
    )
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    typer.echo(f"guard initialised: policy {summary['policy']['id']} v1 ({summary['policy']['digest'][:16]}…)")
    typer.echo(f"approvers: {', '.join(sorted(summary['approvers'])) or 'none'}")
    typer.echo(f"address book: {len(summary['address_book'])} entries")
    typer.echo(f"guard public key (give it to the signers for `mamori attest verify`): {public}")


@api_key_app.command("create")
def api_key_create(
    role: Annotated[
        str, typer.Option("--role", help="initiator, approver, policy_admin, auditor, assessor or reviewer.")
    ],
    principal: Annotated[str, typer.Option("--principal", help="Service account, or the approver's person id.")],
    database: DatabaseOption = None,
) -> None:
    """Print a new API key (once)."""
    from mamori.service.setup import create_api_key

    token, key_id = create_api_key(_engine(database), role=role, principal=principal, now=datetime.now(UTC))
    typer.echo(token)
    typer.echo(f"key id {key_id} ({role}, {principal}); store the key now: it is not kept", err=True)


@api_key_app.command("revoke")
def api_key_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (the 16 hex digits after mk_).")],
    database: DatabaseOption = None,
) -> None:
    """Revoke an API key at once."""
    from mamori.service.setup import revoke_api_key

    revoke_api_key(_engine(database), key_id, now=datetime.now(UTC))
    typer.echo(f"revoked {key_id}")


def serve_command(
    guard_key: GuardKeyOption,
    database: DatabaseOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=0, max=65535)] = 8700,
    lists: ListOption = None,
    ofac: OfacOption = None,
    fbi: FbiOption = None,
    intel: IntelOption = None,
    index: IndexOption = None,
    workers: Annotated[
        int, typer.Option("--workers", help="Server processes sharing the port and the database.", min=1, max=64)
    ] = 1,
    feeds: Annotated[
        list[str] | None,
        typer.Option("--feed", help="A local collection whose wallet indicators screen as list hub:<id> (repeat)."),
    ] = None,
    feed_interval: Annotated[
        float, typer.Option("--feed-interval", min=0.05, help="Seconds between feed polls.")
    ] = 1.0,
    feed_max_age: Annotated[
        float, typer.Option("--feed-max-age", min=1.0, help="A feed older than this (s) no longer counts as screened.")
    ] = 30.0,
    tls_cert: Annotated[str | None, typer.Option("--tls-cert", help="PEM certificate chain: serve HTTPS.")] = None,
    tls_key: Annotated[str | None, typer.Option("--tls-key", help="PEM private key of --tls-cert.")] = None,
) -> None:
    """Run the withdrawal guard service (HTTP API; OpenAPI at /openapi.json, behind authentication).

    Screening lists (--intel, --ofac, --fbi, --list, --index) are loaded at start; without them, a policy that
    requires lists denies every withdrawal. --feed adds the wallet indicators of a local collection (pulled from
    the hub by `mamori intel sync`) as list hub:<id>, refreshed while the service runs. The hub's TAXII 2.1 server
    answers under /taxii2/. Serve HTTPS (--tls-cert/--tls-key) or stay behind a TLS proxy in production.
    """
    import os

    import orjson
    import uvicorn

    settings = {
        "database": database,
        "guard_key": str(guard_key),
        "lists": lists or [],
        "ofac": str(ofac) if ofac else None,
        "fbi": str(fbi) if fbi else None,
        "intel": str(intel) if intel else None,
        "index": str(index) if index else None,
        "feeds": feeds or [],
        "feed_interval": feed_interval,
        "feed_max_age": feed_max_age,
    }
    if (tls_cert is None) != (tls_key is None):
        raise MamoriError("USAGE_INVALID", reason="--tls-cert and --tls-key go together")
    tls: dict[str, Any] = {"ssl_certfile": tls_cert, "ssl_keyfile": tls_key} if tls_cert else {}
    app = app_from_settings(settings)  # every check runs here, once, before any worker starts
    scheme = "https" if tls else "http"
    typer.echo(f"mamori guard listening on {scheme}://{host}:{port} ({workers} process(es))", err=True)
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, **tls)
        return
    # Each worker process builds its own app (engine, caches, group-commit writer) from the same settings;
    # decisions stay serialised across them by the audit log's lock in the shared database.
    os.environ[SETTINGS_VARIABLE] = orjson.dumps(settings).decode()
    uvicorn.run(
        "mamori.cli.guard:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        **tls,
    )


SETTINGS_VARIABLE = "MAMORI_SERVE_SETTINGS"


def app_from_settings(settings: dict[str, Any]) -> Any:
    from mamori.api.app import create_app
    from mamori.cli.screen import load_screening_index
    from mamori.service.guard import build_services
    from mamori.service.setup import load_guard_key
    from mamori.service.state import PolicyCache, unit_of_work

    engine = _engine(settings["database"])
    key = load_guard_key(Path(settings["guard_key"]))
    screening = None
    paths = {name: Path(settings[name]) if settings[name] else None for name in ("ofac", "fbi", "intel", "index")}
    if settings["lists"] or any(paths.values()):
        screening, _ = load_screening_index(
            settings["lists"], paths["ofac"], paths["fbi"], paths["intel"], paths["index"]
        )
    with unit_of_work(engine, datetime.now(UTC), write=False) as work:
        PolicyCache().active(work.session)  # refuse to start on a database that was never initialised
    feed = None
    if settings.get("feeds"):
        from mamori.service.intel_feed import IntelFeed

        feed = IntelFeed(
            engine, settings["feeds"], interval_s=settings["feed_interval"], max_age_s=settings["feed_max_age"]
        )
        feed.refresh()  # built from the database before the first request; an unreadable feed stops the start
        feed.start()
    app = create_app(build_services(engine, guard_key=key, screening=screening, feed=feed))
    # What is loaded now (the screening index, the policy, the code) lives as long as the process: moved out of
    # the cyclic collector's way, a full collection no longer pauses every decision in flight for up to 100 ms
    # (measured with the OFAC and FBI lists loaded; docs/benchmarks.md).
    gc.collect()
    gc.freeze()
    # The group commit's writer thread releases the GIL for every short C call (a signature, a database wait) and
    # must then win it back from the event loop's thread, which keeps it for up to the switch interval (5 ms by
    # default) when busy: at saturation a 40 µs Ed25519 signature took a quarter of the writer's time. 0.5 ms
    # bounds that wait (durable decisions/s on PostgreSQL 690-790 -> 835-880 in the same runs; docs/benchmarks.md).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    return app


SWITCH_INTERVAL_S = 0.0005


def app_from_environment() -> Any:
    """uvicorn's factory in each worker process of ``mamori serve --workers N``."""
    import os

    import orjson

    return app_from_settings(orjson.loads(os.environ[SETTINGS_VARIABLE]))
