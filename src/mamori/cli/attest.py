"""``mamori attest verify``: check a release attestation offline, with the guard's public key, before signing.

Exit codes: 0 the attestation is valid (and, with ``--signing-hash``, releases exactly that hash); 1 it is
invalid, expired, not yet valid, or for another hash: do not sign (code and bilingual message on stdout);
2 bad input or usage: a public key, time or hash that cannot be read (code on stderr; nothing printed as valid).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from mamori.cli.io import write_error
from mamori.errors import InputError, MamoriError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

app = typer.Typer(help="Release attestations: check one before signing.", no_args_is_help=True)

EXIT_OK, EXIT_DO_NOT_SIGN, EXIT_BAD_INPUT = 0, 1, 2


@app.callback()
def attest() -> None:
    """Release attestations: the guard's short-lived, signed word that one exact transaction may be signed."""


@app.command("verify")
def verify(
    token: Annotated[str, typer.Argument(help="The attestation token, or - to read it from standard input.")],
    public_key: Annotated[
        str, typer.Option("--public-key", help="The guard's Ed25519 public key: 32 bytes in hex or base64.")
    ],
    signing_hash: Annotated[
        str | None,
        typer.Option("--signing-hash", help="The hash you are about to sign (0x…); it must be the one released."),
    ] = None,
    now: Annotated[
        str | None, typer.Option("--now", help="Check at this ISO 8601 time with a zone (default: the clock).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Verify TOKEN with the guard's public key; exit 0 only if it may be signed."""
    from mamori.guard.attestation import AttestationError, verify_attestation

    try:
        key, moment, expected, text = _inputs(token, public_key, signing_hash, now)
    except MamoriError as exc:
        write_error(exc, as_json=as_json)
        raise typer.Exit(EXIT_BAD_INPUT) from exc
    try:
        attestation = verify_attestation(text, public_key=key, now=moment, expected_signing_hash=expected)
    except AttestationError as exc:
        if as_json:
            sys.stdout.buffer.write(orjson.dumps({"valid": False, **exc.to_dict()}) + b"\n")
        else:
            typer.echo(f"INVALID {exc.code}: {exc.message_en}\n無効 {exc.code}: {exc.message_ja}")
        raise typer.Exit(EXIT_DO_NOT_SIGN) from exc
    if as_json:
        sys.stdout.buffer.write(orjson.dumps({"valid": True, "attestation": attestation.to_dict()}) + b"\n")
        return
    body = attestation.to_dict()
    typer.echo(
        f"VALID: request {body['request_id']} may sign {body['signing_hash']}\n"
        f"  chain {body['chain']}, wallet {body['wallet']}\n"
        f"  valid from {body['issued_at']} until {body['expires_at']} (guard key {body['key_id']})\n"
        f"有効: リクエスト {body['request_id']} は {body['signing_hash']} に署名できます（期限 {body['expires_at']}）"
    )
    if signing_hash is None:
        typer.echo(
            "note: compare the signing hash above with what your device shows, or pass --signing-hash\n"
            "注意: 上記の署名ハッシュを端末の表示と照合するか、--signing-hash を指定してください"
        )


def _inputs(
    token: str, public_key: str, signing_hash: str | None, now: str | None
) -> tuple[Ed25519PublicKey, datetime, str | None, str]:
    """Parse the command's inputs; every problem is a MamoriError (exit 2)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from mamori.cli.io import read_bytes
    from mamori.guard import normalise_signing_hash
    from mamori.policy.request import decode_key_or_signature, parse_timestamp

    raw_key = decode_key_or_signature(public_key, field="public_key", size=32)
    try:
        key = Ed25519PublicKey.from_public_bytes(raw_key)
    except ValueError as exc:
        raise InputError("FIELD_TYPE_INVALID", field="public_key", expected="an Ed25519 public key") from exc
    moment = datetime.now(UTC) if now is None else parse_timestamp(now, field="now")
    expected = None if signing_hash is None else normalise_signing_hash(signing_hash, field="signing_hash")
    text = token
    if token == "-":  # noqa: S105 - "-" means standard input, not a password
        text = read_bytes("-").decode("utf-8", errors="replace").strip()  # not a token if not ASCII: exit 1
    return key, moment, expected, text
