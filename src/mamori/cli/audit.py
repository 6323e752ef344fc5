"""``mamori audit …``: check the stored audit log, and print inclusion proofs a third party can check.

Exit codes of ``verify``: 0 the log is intact; 1 it was tampered with (the entry and the reason on stdout);
2 bad input or usage, or a database that cannot be read (code on stderr, from ``mamori.cli.main``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from mamori.errors import MamoriError

if TYPE_CHECKING:
    from sqlalchemy import Connection

app = typer.Typer(help="The audit log: verify it, and prove that an entry is in it.", no_args_is_help=True)

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        envvar="MAMORI_DATABASE_URL",
        help="Database URL (sqlite:///path or postgresql+psycopg://…); default $MAMORI_DATABASE_URL.",
        show_envvar=True,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@contextmanager
def connect(url: str | None) -> Iterator[Connection]:
    """A read transaction on the database; SQLAlchemy's errors become ``DATABASE_UNAVAILABLE`` (exit 2)."""
    from pathlib import Path

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from mamori.store.database import DatabaseError, create_engine, safe_url

    if not url:
        raise MamoriError("USAGE_INVALID", reason="no database: give --database URL or set MAMORI_DATABASE_URL")
    engine = create_engine(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:  # create_engine has already refused it; kept for the type checker
        raise DatabaseError(safe_url(url), "not a database URL") from exc
    if parsed.get_backend_name() == "sqlite" and not (parsed.database and Path(parsed.database).is_file()):
        # SQLite would silently create an empty database: checking a log that is not there is bad input.
        raise DatabaseError(safe_url(url), "no such database file")
    try:
        with engine.connect() as connection, connection.begin():
            yield connection
    except SQLAlchemyError as exc:
        reason = type(exc).__name__
        if "no such table" in str(exc) or "UndefinedTable" in str(exc):
            reason = "it holds no audit log (run the migrations first)"
        raise DatabaseError(safe_url(url), reason) from exc
    finally:
        engine.dispose()


@app.command("verify")
def verify(
    database: DatabaseOption = None,
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key",
            help="The guard's Ed25519 public key (hex or base64, as GET /v1/guard gives it): every signed tree "
            "head must verify with it. Without it, heads are checked against the tree only.",
        ),
    ] = None,
    published: Annotated[
        list[Path] | None,
        typer.Option(
            "--head",
            help="A signed tree head kept outside the database (JSON of GET /v1/audit/head); repeatable. The log "
            "must still hold exactly the tree it signed: an insider who rewrites the whole log cannot match it.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute every entry's leaf hash and the whole Merkle tree; report the first tampered entry."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from mamori.audit.store import AuditLog, AuditTamperError
    from mamori.policy.request import decode_key_or_signature

    key = None
    if public_key is not None:
        raw = decode_key_or_signature(public_key, field="--public-key", size=32)
        key = Ed25519PublicKey.from_public_bytes(raw)
    heads = [_published_head(path, key) for path in published or []]
    with connect(database) as connection:
        try:
            log = AuditLog(connection)
            report = log.verify_all(public_key=key)
            for head in heads:
                _check_published(log, head, report.tree_size)
        except AuditTamperError as exc:
            if as_json:
                sys.stdout.buffer.write(orjson.dumps({"intact": False, **exc.to_dict()}) + b"\n")
            else:
                typer.echo(f"TAMPERED entry {exc.seq}: {exc.reason}\n{exc.message_ja}")
            raise typer.Exit(1) from exc
    if as_json:
        summary = {"intact": True, "tree_size": report.tree_size, "root_hash": report.root_hash.hex()}
        sys.stdout.buffer.write(orjson.dumps(summary) + b"\n")
    else:
        typer.echo(
            f"audit log intact / 監査ログは改ざんされていません: {report.tree_size} entries, "
            f"root {report.root_hash.hex()}, {report.heads_checked} signed tree heads checked"
            + (" with the guard key" if key is not None else "")
        )


@app.command("proof")
def proof(
    seq: Annotated[int, typer.Argument(help="The entry's sequence number (its leaf index, from 0).", min=0)],
    database: DatabaseOption = None,
    size: Annotated[int | None, typer.Option("--size", help="Prove against this tree size (default: current).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Print an inclusion proof for entry SEQ; check it with mamori.audit.merkle.verify_inclusion."""
    from mamori.audit.store import AuditLog

    with connect(database) as connection:
        result = AuditLog(connection).inclusion_proof(seq, size=size)
    result.verify()  # never hand out a proof that does not hold
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(result.to_dict()) + b"\n")
        return
    typer.echo(f"entry      {result.index}")
    typer.echo(f"leaf hash  {result.leaf_hash.hex()}")
    typer.echo(f"tree size  {result.tree_size}")
    typer.echo(f"root hash  {result.root_hash.hex()}")
    typer.echo("path (leaf side first):")
    for h in result.path:
        typer.echo(f"  {h.hex()}")
    typer.echo(f"entry document: {result.entry.decode()}")


def _published_head(path: Path, key: Any) -> Any:
    from mamori.audit.tree_head import SignedTreeHead, verify_tree_head

    if key is None:
        raise MamoriError("USAGE_INVALID", reason="--head needs --public-key: a head is only worth its signature")
    try:
        signed = SignedTreeHead.from_dict(orjson.loads(path.read_bytes()))
    except (OSError, orjson.JSONDecodeError) as exc:
        raise MamoriError("INPUT_UNREADABLE", source=str(path), reason=type(exc).__name__) from exc
    return verify_tree_head(signed, key, log_id=signed.head.log_id)


def _check_published(log: Any, head: Any, size: int) -> None:
    from mamori.audit.store import AuditTamperError

    where = f"(published head of size {head.tree_size})"
    if head.tree_size > size:
        raise AuditTamperError(where, f"the log holds {size} entries, fewer than the {head.tree_size} it once signed")
    if log.root(head.tree_size) != head.root_hash:
        raise AuditTamperError(where, "the log's first entries no longer form the tree this head signed")
