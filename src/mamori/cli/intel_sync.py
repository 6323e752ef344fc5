"""``mamori intel sync``, ``mamori intel sightings`` and ``mamori intel share-sightings``: the member node's side of
the hub. Pull a remote collection into a local one (incrementally), print the sightings of the withdrawals that hub
indicators blocked, post them to the hub. Secrets come from the environment rather than the command line.

These are plain functions; the ``intel`` group registers them (cli/intel.py).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import typer

from mamori.cli.audit import DatabaseOption, JsonOption
from mamori.cli.io import write_error
from mamori.errors import MamoriError

RemoteArgument = Annotated[
    str, typer.Argument(help="The hub's API root URL (https://hub.example/taxii2/isac/), or the collection's URL.")
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="MAMORI_HUB_TOKEN", help="Bearer token of the hub account.", show_envvar=True),
]
UserOption = Annotated[
    str | None,
    typer.Option("--user", envvar="MAMORI_HUB_USER", help="HTTP Basic user of the hub account.", show_envvar=True),
]
PasswordOption = Annotated[
    str | None,
    typer.Option(
        "--password", envvar="MAMORI_HUB_PASSWORD", help="HTTP Basic password (prefer the variable).", show_envvar=True
    ),
]
TimeoutOption = Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds to wait for each HTTP answer.")]


def _engine(database: str | None) -> Any:
    from mamori.store.database import create_engine

    if not database:
        raise MamoriError("USAGE_INVALID", reason="no database: give --database URL or set MAMORI_DATABASE_URL")
    return create_engine(database)


def _now_us() -> int:
    from mamori.service.facts import to_us

    return to_us(datetime.now(UTC))


def _print_json(document: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(document) + b"\n")


def sync_command(
    remote: RemoteArgument,
    collection: Annotated[
        str | None,
        typer.Option("--collection", help="The remote collection: its id under the API root, or its URL."),
    ] = None,
    into: Annotated[
        str | None,
        typer.Option("--into", help="The local collection (a UUID; created if missing). Default: the remote's id."),
    ] = None,
    token: TokenOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
    page_size: Annotated[int, typer.Option("--page-size", min=1, max=10_000, help="Objects per request.")] = 500,
    timeout: TimeoutOption = 30.0,
    every: Annotated[
        float | None,
        typer.Option("--every", min=0.1, help="Keep pulling, this many seconds apart, until stopped (Ctrl-C)."),
    ] = None,
    rounds: Annotated[int | None, typer.Option("--rounds", min=1, help="With --every: stop after N pulls.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Pull what a remote TAXII 2.1 collection added since the last pull into a local collection.

    With --every, pull again and again: a failed round is reported on stderr and the next one tries again (the
    guard's feed turns stale meanwhile, and a policy that requires it denies).

    Each page is stored with the cursor in one transaction: re-running is safe, and an interrupted pull resumes.
    Exit 0 when everything was stored, 1 when some objects were refused as invalid (reported; not stored), 2 when
    the server cannot be reached, refuses the credentials or answers something unusable (nothing of it stored)."""
    from mamori.service.intel_sync import sync
    from mamori.service.taxii_remote import Credentials, Taxii2Source, collection_url
    from mamori.store.database import upgrade

    url = collection_url(remote, collection)
    local = into or url.rstrip("/").rsplit("/", 1)[-1]
    engine = _engine(database)
    upgrade(engine)
    credentials = Credentials(token, user, password)

    def pull() -> bool:
        """One pull, reported; whether every object was stored."""
        with Taxii2Source(url, credentials, timeout=timeout) as source:
            report = sync(engine, source, local_collection=local, clock_us=_now_us, page_size=page_size)
        _report_sync(report, url, local, as_json)
        return not report.refused

    if every is None:
        if not pull():
            raise typer.Exit(1)
        return
    done = 0
    try:
        while rounds is None or done < rounds:
            try:
                pull()
            except MamoriError as exc:  # the next round tries again; the error is on record meanwhile
                write_error(exc, as_json=False)
            done += 1
            if rounds is None or done < rounds:
                time.sleep(every)
    except KeyboardInterrupt:
        return


def _report_sync(report: Any, url: str, local: str, as_json: bool) -> None:
    if as_json:
        _print_json(report.to_json())
        return
    typer.echo(
        f"{url} -> collection {local}: {report.received} object version(s) received in {report.pages} page(s),"
        f" {report.stored} stored, {len(report.refused)} refused; resume after {report.date_added_last or '-'}"
    )
    typer.echo(
        f"受信 {report.received} 件、保存 {report.stored} 件、拒否 {len(report.refused)} 件"
        f"（次回は {report.date_added_last or '-'} 以降から取得）"
    )
    for item in report.refused:
        typer.echo(f"  refused / 拒否 {item.stix_id}: {', '.join(item.codes)} {'; '.join(item.reasons)}")


def _since(since: str | None) -> int | None:
    from mamori.intel.stix_forms import timestamp_us

    if since is None:
        return None
    parsed = timestamp_us(since)
    if parsed is None:
        raise MamoriError("USAGE_INVALID", reason=f"--since {since!r} is not a UTC timestamp (2026-03-03T02:00:00Z)")
    return parsed


def _tlp(level: str | None) -> Any:
    from mamori.intel.tlp import Tlp

    if level is None:
        return None
    names = {t.label.removeprefix("TLP:").lower(): t for t in Tlp}
    if level.lower() not in names:
        raise MamoriError("USAGE_INVALID", reason=f"--tlp {level!r}: one of {', '.join(sorted(names))}")
    return names[level.lower()]


IdentityOption = Annotated[
    str,
    typer.Option(
        "--identity",
        envvar="MAMORI_INTEL_IDENTITY",
        help="This member's STIX identity (identity--UUID): where the sightings were made.",
        show_envvar=True,
    ),
]
SinceOption = Annotated[
    str | None, typer.Option("--since", help="Only withdrawals decided at or after this UTC time (RFC 3339).")
]
TlpOption = Annotated[
    str | None, typer.Option("--tlp", help="Mark the sightings: clear, green, amber, amber+strict or red.")
]


def _sightings(engine: Any, identity: str, since: str | None, tlp: str | None) -> list[dict[str, Any]]:
    from mamori.service.intel_sightings import blocked_withdrawals, sighting

    level = _tlp(tlp)
    return [sighting(b, identity=identity, tlp=level) for b in blocked_withdrawals(engine, since_us=_since(since))]


def sightings_command(
    identity: IdentityOption,
    since: SinceOption = None,
    tlp: TlpOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print a STIX 2.1 sighting for each withdrawal that a hub indicator blocked (a bundle with --json)."""
    from mamori.service.intel_sightings import sightings_bundle

    objects = _sightings(_engine(database), identity, since, tlp)
    if as_json:
        _print_json(sightings_bundle(objects))
        return
    for obj in objects:
        typer.echo(f"{obj['first_seen']}  {obj['sighting_of_ref']}  {obj['id']}")
    typer.echo(f"{len(objects)} sighting(s) / 目撃情報 {len(objects)} 件")


def share_sightings_command(
    remote: RemoteArgument,
    identity: IdentityOption,
    collection: Annotated[
        str | None, typer.Option("--collection", help="The hub collection to post to: its id or its URL.")
    ] = None,
    since: SinceOption = None,
    tlp: TlpOption = None,
    token: TokenOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
    timeout: TimeoutOption = 30.0,
    as_json: JsonOption = False,
) -> None:
    """Post the sightings to a hub collection (sharing them again is a repeat, which the hub accepts).

    Exit 0 when the hub took all of them, 1 when it refused some, 2 when it cannot be reached or refuses the
    credentials."""
    from mamori.service.taxii_remote import Credentials, Taxii2Source, collection_url

    url = collection_url(remote, collection)
    objects = _sightings(_engine(database), identity, since, tlp)
    status: dict[str, Any] = {"success_count": 0, "failure_count": 0, "failures": []}
    if objects:
        with Taxii2Source(url, Credentials(token, user, password), timeout=timeout) as target:
            status = target.add(objects)
    failures = int(status.get("failure_count", 0) or 0)
    if as_json:
        _print_json({"collection": url, "sightings": len(objects), "status": status})
    else:
        typer.echo(
            f"{len(objects)} sighting(s) posted to {url}: {status.get('success_count', 0)} taken, {failures} refused"
            f" / 目撃情報 {len(objects)} 件を送信、受理 {status.get('success_count', 0)} 件、拒否 {failures} 件"
        )
    if failures:
        raise typer.Exit(1)
