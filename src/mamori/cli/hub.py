"""``mamori hub …``: the operator's set-up of the threat-intelligence hub that ``mamori serve`` serves under
``/taxii2/`` — the operator's own organisation and API root (``init``), member organisations, their accounts
(bearer tokens shown once; HTTP Basic passwords kept as scrypt hashes), sharing groups, collections and rights.

Every command works on the database directly (the operator holds it) and prints what it did; ``--json`` for
scripts. Nothing here is reachable over HTTP.
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import typer

from mamori.cli.audit import DatabaseOption, JsonOption, connect
from mamori.errors import InputError, MamoriError
from mamori.intel.tlp import Tlp

app = typer.Typer(help="Set up the threat-intelligence hub (TAXII 2.1 under /taxii2/).", no_args_is_help=True)
organisation_app = typer.Typer(help="Member organisations.", no_args_is_help=True)
account_app = typer.Typer(help="Member accounts: bearer tokens and HTTP Basic passwords.", no_args_is_help=True)
collection_app = typer.Typer(help="Collections and who may read or write them.", no_args_is_help=True)
group_app = typer.Typer(help="Sharing groups: who receives a collection's TLP:AMBER.", no_args_is_help=True)
app.add_typer(organisation_app, name="organisation")
app.add_typer(account_app, name="account")
app.add_typer(collection_app, name="collection")
app.add_typer(group_app, name="group")

_LEVELS = {"clear": Tlp.CLEAR, "green": Tlp.GREEN, "amber": Tlp.AMBER, "amber+strict": Tlp.AMBER_STRICT, "red": Tlp.RED}
IdentityOption = Annotated[
    str | None,
    typer.Option("--identity", help="Its STIX identity id (identity--UUID); a new one if not given."),
]


def _now_us() -> int:
    from mamori.service.facts import to_us

    return to_us(datetime.now(UTC))


def _report(as_json: bool, document: dict[str, Any], text: str) -> None:
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(document) + b"\n")
    else:
        typer.echo(text)


@app.command("init")
def init(
    organisation: Annotated[str, typer.Option("--organisation", help="The operator's organisation id.")],
    name: Annotated[str, typer.Option("--name", help="The operator's name, e.g. the ISAC's.")],
    api_root: Annotated[str, typer.Option("--api-root", help="The API root's path segment under /taxii2/.")] = "hub",
    title: Annotated[str, typer.Option("--title", help="The API root's title.")] = "Threat-intelligence hub",
    max_content_length: Annotated[
        int, typer.Option("--max-content-length", min=1, help="The largest submission in bytes (413 above).")
    ] = 10 * 1024 * 1024,
    identity: IdentityOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create the hub's tables if needed, the operator's organisation (whose identity anonymous submissions carry)
    and the first API root."""
    from mamori.service.hub_collections import add_api_root
    from mamori.service.hub_members import add_organisation
    from mamori.store.database import create_engine, upgrade

    if not database:
        raise MamoriError("USAGE_INVALID", reason="no database: give --database URL or set MAMORI_DATABASE_URL")
    engine = create_engine(database)
    try:
        upgrade(engine)
        identity_ref = identity or f"identity--{uuid.uuid4()}"
        with engine.begin() as connection:
            add_organisation(connection, organisation, name, identity_ref, now_us=_now_us(), operator=True)
            add_api_root(connection, api_root, title, max_content_length=max_content_length)
    finally:
        engine.dispose()
    _report(
        as_json,
        {"organisation": organisation, "identity": identity_ref, "api_root": api_root},
        f"hub initialised: operator {organisation} ({identity_ref}), API root /taxii2/{api_root}/ /"
        " ハブを初期化しました",
    )


@organisation_app.command("add")
def organisation_add(
    organisation: Annotated[str, typer.Argument(help="Its id (short, stable: used in headers and rights).")],
    name: Annotated[str, typer.Option("--name", help="Its name.")],
    identity: IdentityOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a member organisation."""
    from mamori.service.hub_members import add_organisation

    identity_ref = identity or f"identity--{uuid.uuid4()}"
    with connect(database) as connection:
        add_organisation(connection, organisation, name, identity_ref, now_us=_now_us())
    _report(as_json, {"organisation": organisation, "identity": identity_ref},
            f"member {organisation} added ({identity_ref}) / 会員組織を追加しました")  # fmt: skip


@account_app.command("add")
def account_add(
    organisation: Annotated[str, typer.Argument(help="The member organisation.")],
    name: Annotated[str, typer.Argument(help="The account's user name (HTTP Basic).")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read an HTTP Basic password (12+ characters) from stdin.")
    ] = False,
    anonymous: Annotated[
        bool, typer.Option("--anonymous", help="Its submissions carry the operator's identity, not its own.")
    ] = False,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add an account; its bearer token is printed once (only its hash is kept)."""
    from mamori.service.hub_members import add_account

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise InputError("FIELD_MISSING", field="password")
    with connect(database) as connection:
        token = add_account(connection, organisation, name, password=password, anonymous=anonymous, now_us=_now_us())
    key_id = token.split("_")[1]
    _report(as_json, {"organisation": organisation, "name": name, "key_id": key_id, "token": token},
            f"{token}\n(account {name} of {organisation}, key id {key_id}: the token is shown once /"
            " トークンは一度だけ表示されます)")  # fmt: skip


@account_app.command("revoke")
def account_revoke(
    key_id: Annotated[str, typer.Argument(help="The account's key id.")],
    database: DatabaseOption = None,
) -> None:
    """Revoke an account at once (servers stop honouring it within their credential cache's seconds)."""
    from mamori.service.hub_members import revoke_account

    with connect(database) as connection:
        revoke_account(connection, key_id, now_us=_now_us())
    typer.echo(f"account {key_id} revoked / アカウントを失効しました")


@group_app.command("add")
def group_add(
    group: Annotated[str, typer.Argument(help="Its id.")],
    name: Annotated[str, typer.Option("--name", help="Its name.")],
    members: Annotated[list[str], typer.Option("--member", help="A member organisation (repeat).")],
    database: DatabaseOption = None,
) -> None:
    """Add a sharing group."""
    from mamori.service.hub_collections import add_sharing_group

    with connect(database) as connection:
        add_sharing_group(connection, group, name, members)
    typer.echo(f"sharing group {group} added ({', '.join(members)}) / 共有グループを追加しました")


@collection_app.command("add")
def collection_add(
    api_root: Annotated[str, typer.Argument(help="The API root.")],
    title: Annotated[str, typer.Argument(help="Its title.")],
    default_tlp: Annotated[
        str, typer.Option("--default-tlp", help="The level of objects without a TLP marking: clear … red.")
    ] = "amber",
    group: Annotated[str | None, typer.Option("--group", help="The sharing group that receives AMBER.")] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    alias: Annotated[str | None, typer.Option("--alias")] = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a collection; prints its id."""
    from mamori.service.hub_collections import add_collection

    level = _LEVELS.get(default_tlp.lower())
    if level is None:
        raise InputError("FIELD_TYPE_INVALID", field="--default-tlp", expected=" or ".join(_LEVELS))
    with connect(database) as connection:
        collection_id = add_collection(connection, api_root, title, now_us=_now_us(), default_tlp=level,
                                       sharing_group=group, description=description, alias=alias)  # fmt: skip
    _report(as_json, {"id": collection_id, "api_root": api_root, "title": title},
            f"{collection_id}\n(collection {title!r} in /taxii2/{api_root}/ / コレクションを追加しました)")  # fmt: skip


@collection_app.command("grant")
def collection_grant(
    collection: Annotated[str, typer.Argument(help="The collection id.")],
    organisation: Annotated[str, typer.Argument(help="The member organisation.")],
    read: Annotated[bool, typer.Option("--read/--no-read", help="May read its objects.")] = False,
    write: Annotated[bool, typer.Option("--write/--no-write", help="May add objects.")] = False,
    database: DatabaseOption = None,
) -> None:
    """Set an organisation's rights on a collection (replacing what it had; neither: it no longer sees it)."""
    from mamori.service.hub_collections import Rights, grant

    with connect(database) as connection:
        grant(connection, collection, organisation, Rights(can_read=read, can_write=write))
    typer.echo(f"{organisation} on {collection}: read={read} write={write} / 権限を設定しました")


HUB_SETTINGS_VARIABLE = "MAMORI_HUB_SETTINGS"


@app.command("serve")
def serve(
    database: DatabaseOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=0, max=65535)] = 8743,
    workers: Annotated[
        int, typer.Option("--workers", help="Server processes sharing the port and the database.", min=1, max=64)
    ] = 1,
    tls_cert: Annotated[str | None, typer.Option("--tls-cert", help="PEM certificate chain: serve HTTPS.")] = None,
    tls_key: Annotated[str | None, typer.Option("--tls-key", help="PEM private key of --tls-cert.")] = None,
) -> None:
    """Serve the hub alone (TAXII 2.1 under /taxii2/), without the withdrawal guard. Credentials cross the wire:
    serve HTTPS (--tls-cert/--tls-key) or stay behind a TLS-terminating proxy in production."""
    import os

    import uvicorn

    if (tls_cert is None) != (tls_key is None):
        raise MamoriError("USAGE_INVALID", reason="--tls-cert and --tls-key go together")
    settings = {"database": database}
    app = hub_app_from_settings(settings)  # checks the database before any worker starts
    scheme = "https" if tls_cert else "http"
    typer.echo(f"mamori hub listening on {scheme}://{host}:{port}/taxii2/ ({workers} process(es))", err=True)
    tls: dict[str, Any] = {"ssl_certfile": tls_cert, "ssl_keyfile": tls_key} if tls_cert else {}
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, **tls)
        return
    os.environ[HUB_SETTINGS_VARIABLE] = orjson.dumps(settings).decode()
    uvicorn.run("mamori.cli.hub:hub_app_from_environment", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False, **tls)  # fmt: skip


def hub_app_from_settings(settings: dict[str, Any]) -> Any:
    from sqlalchemy import select

    from mamori.api.taxii import create_hub_app
    from mamori.service.hub_taxii import HubService
    from mamori.store.database import create_engine
    from mamori.store.hub_models import TaxiiApiRoot

    if not settings.get("database"):
        raise MamoriError("USAGE_INVALID", reason="no database: give --database URL or set MAMORI_DATABASE_URL")
    engine = create_engine(settings["database"])
    with connect(settings["database"]) as connection:  # refuse to start on a database without a hub
        if connection.execute(select(TaxiiApiRoot.name)).first() is None:
            raise MamoriError("USAGE_INVALID", reason="the database holds no hub: run 'mamori hub init' first")
    return create_hub_app(HubService(engine), lambda: datetime.now(UTC))


def hub_app_from_environment() -> Any:
    import os

    return hub_app_from_settings(orjson.loads(os.environ[HUB_SETTINGS_VARIABLE]))
