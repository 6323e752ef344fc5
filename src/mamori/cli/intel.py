"""``mamori intel …``: threat intelligence in the hub. ``mamori intel import SOURCE…`` adds address lists (OFAC
SDN, FBI) as STIX indicators, revoking those of delisted wallets, or the objects of STIX 2.1 bundles, to a
collection of the hub's database. A member node's commands (``sync``, ``sightings``, ``share-sightings``) are in
cli/intel_sync.py and registered here.

Exit codes: 0 every object was stored (or was there already); 1 the hub refused some objects (the others are
stored; the first reasons are shown); 2 bad input or usage — a source that cannot be read or recognised, an
unknown collection or organisation — and then nothing is stored.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer

from mamori.cli import intel_sync
from mamori.cli.audit import DatabaseOption, JsonOption
from mamori.cli.io import write_error
from mamori.errors import MamoriError

app = typer.Typer(
    help="Threat intelligence: import lists and STIX bundles; pull a hub, share sightings back.", no_args_is_help=True
)

EXIT_OK, EXIT_REFUSED, EXIT_BAD_INPUT = 0, 1, 2

SourceArgument = Annotated[
    list[Path],
    typer.Argument(
        help="An OFAC SDN snapshot (folder, or one of its sanctioned_addresses_<ASSET> files), the FBI list "
        "(eth_addresses.txt or .csv), or a STIX 2.1 bundle (JSON); recognised by what they hold.",
        show_default=False,
    ),
]
CollectionOption = Annotated[str, typer.Option("--collection", help="The id of the collection to add to.")]
OrganisationOption = Annotated[
    str, typer.Option("--organisation", help="The member organisation publishing them (their producer).")
]


@app.command("import")
def import_command(
    sources: SourceArgument,
    collection: CollectionOption,
    organisation: OrganisationOption,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import lists and bundles into a collection: new objects are added, a list's delisted wallets revoked."""
    try:
        code = _run(sources, collection, organisation, database, as_json)
    except MamoriError as exc:
        # Caught here, not only in main(), so that the command behaves the same however it is invoked.
        write_error(exc, as_json=as_json)
        code = EXIT_BAD_INPUT
    raise typer.Exit(code)


def _run(sources: list[Path], collection: str, organisation: str, database: str | None, as_json: bool) -> int:
    from mamori.service.intel_import import import_source, read_source
    from mamori.store.database import create_engine

    if not database:
        raise MamoriError("USAGE_INVALID", reason="no database: give --database URL or set MAMORI_DATABASE_URL")
    read = [read_source(source) for source in sources]  # every source read before anything is stored
    engine = create_engine(database)
    try:
        with engine.begin() as connection:  # one transaction: all the sources, or none of them
            reports = [
                import_source(
                    connection, source, collection_id=collection, organisation_id=organisation, now=datetime.now(UTC)
                )
                for source in read
            ]
    finally:
        engine.dispose()
    if as_json:
        document = {"collection": collection, "imports": [report.to_json() for report in reports]}
        sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        for report in reports:
            label = f"{report.kind} {report.name}" + (f" version {report.version}" if report.version else "")
            typer.echo(f"{report.origin}: {label}")
            typer.echo(
                f"  {report.submitted} objects: {report.added} added ({report.revoked} revoked), "
                f"{report.repeats} already held, {report.refused} refused"
            )
            for reason in report.reasons:
                typer.echo(f"  refused {reason}")
            if report.refused > len(report.reasons):
                typer.echo(f"  … and {report.refused - len(report.reasons)} more refused")
    return EXIT_REFUSED if any(report.refused for report in reports) else EXIT_OK


app.command("sync")(intel_sync.sync_command)
app.command("sightings")(intel_sync.sightings_command)
app.command("share-sightings")(intel_sync.share_sightings_command)
