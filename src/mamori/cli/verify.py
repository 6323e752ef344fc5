"""``mamori verify …``: independent, offline verification of what is about to be signed.

Exit codes: 0 nothing critical or high was found; 1 findings block signing (do not sign); 2 bad input or usage
(the error, with its code, goes to stderr and nothing is printed as if it were valid).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from mamori.chains.evm.encoding import parse_hash32
from mamori.cli.batch import run_batch
from mamori.cli.io import parse_json, read_bytes, read_json, read_safe_book
from mamori.errors import InputError, MamoriError
from mamori.verify.context import SafeBook
from mamori.verify.registry import default_registry

app = typer.Typer(help="Verify, offline, what a transaction really does before anyone signs it.", no_args_is_help=True)

EXIT_OK, EXIT_BLOCKED, EXIT_BAD_INPUT = 0, 1, 2

JsonOption = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
LangOption = Annotated[str, typer.Option("--lang", help="Language of the human view: en, ja or both.")]
BatchOption = Annotated[
    Path | None,
    typer.Option("--batch", help="JSON Lines file: one input per line in, one JSON result per line out."),
]
ChainOption = Annotated[int, typer.Option("--chain-id", help="Chain id the transaction is meant for.")]


def _emit_reports(reports: list[dict[str, Any]], as_list: bool, as_json: bool, lang: str, kind: str) -> int:
    if as_json:
        document: Any = {"count": len(reports), "results": reports} if as_list else reports[0]
        sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        from rich.console import Console

        from mamori.cli import render

        # Wide enough for full addresses and hashes when written to a file or a pipe.
        console = Console(width=None if sys.stdout.isatty() else 160)
        for index, report in enumerate(reports):
            if as_list:
                console.rule(f"record {index + 1} / {len(reports)}")
            if kind == "safe":
                render.render_safe_report(console, report, lang)
            elif kind == "psbt":
                render.render_psbt_report(console, report, lang)
            else:
                render.render_evm_report(console, report, lang)
    return EXIT_BLOCKED if any(r["verdict"] == "blocked" for r in reports) else EXIT_OK


def _check_lang(lang: str) -> None:
    if lang not in ("en", "ja", "both"):
        raise InputError("USAGE_INVALID", reason="--lang must be en, ja or both")


@app.command("safe-tx")
def safe_tx(
    record: Annotated[
        str | None,
        typer.Argument(help="Safe Transaction Service record (one object or a list response), a file or - for stdin."),
    ] = None,
    chain_id: ChainOption = 1,
    safe_version: Annotated[
        str | None, typer.Option("--safe-version", help="Safe contract version, e.g. 1.3.0 (0.1.0 to 1.5.0).")
    ] = None,
    safes: Annotated[
        Path | None,
        typer.Option("--safes", help="Local YAML/JSON file mapping Safe addresses to versions, owners, threshold."),
    ] = None,
    safe: Annotated[str | None, typer.Option("--safe", help="Field: the Safe's address.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Field: target address.")] = None,
    value: Annotated[str, typer.Option("--value", help="Field: value in wei.")] = "0",
    data: Annotated[str, typer.Option("--data", help="Field: call data, hex.")] = "0x",
    operation: Annotated[int, typer.Option("--operation", help="Field: 0 CALL, 1 DELEGATECALL.")] = 0,
    safe_tx_gas: Annotated[str, typer.Option("--safe-tx-gas")] = "0",
    base_gas: Annotated[str, typer.Option("--base-gas")] = "0",
    gas_price: Annotated[str, typer.Option("--gas-price")] = "0",
    gas_token: Annotated[str | None, typer.Option("--gas-token")] = None,
    refund_receiver: Annotated[str | None, typer.Option("--refund-receiver")] = None,
    nonce: Annotated[str | None, typer.Option("--nonce", help="Field: the Safe nonce.")] = None,
    signatures: Annotated[str | None, typer.Option("--signatures", help="Field: packed signatures, hex.")] = None,
    safe_tx_hash: Annotated[
        str | None,
        typer.Option(
            "--safe-tx-hash", help="The safeTxHash your device or UI shows: compared with the recomputed one."
        ),
    ] = None,
    batch: BatchOption = None,
    as_json: JsonOption = False,
    lang: LangOption = "both",
) -> None:
    """Verify a Safe multisig transaction: every hash the device shows, the decoded calls, every signature."""
    from mamori.verify.safe import verify_safe_record

    _check_lang(lang)
    book: SafeBook | None = read_safe_book(str(safes)) if safes else None
    registry = default_registry()

    def verify_one(item: object, shown: bytes | None = None) -> dict[str, Any]:
        report = verify_safe_record(
            item, chain_id=chain_id, safe_version=safe_version, book=book, registry=registry, shown_hash=shown
        )
        return report.to_json()

    given_fields = [
        name
        for name, given in (
            ("--safe", safe is not None), ("--to", to is not None), ("--value", value != "0"),
            ("--data", data != "0x"), ("--operation", operation != 0), ("--safe-tx-gas", safe_tx_gas != "0"),
            ("--base-gas", base_gas != "0"), ("--gas-price", gas_price != "0"), ("--gas-token", gas_token is not None),
            ("--refund-receiver", refund_receiver is not None), ("--nonce", nonce is not None),
            ("--signatures", signatures is not None),
        )
        if given
    ]  # fmt: skip
    if (batch is not None or record is not None) and given_fields:
        # Never silently ignore what the operator typed: a field option next to a record is a mistake.
        raise InputError("USAGE_INVALID", reason=f"{', '.join(given_fields)} cannot be combined with a record")
    if batch is not None:
        if record is not None or safe_tx_hash is not None:
            raise InputError("USAGE_INVALID", reason="--batch takes no record argument and no --safe-tx-hash")
        raise typer.Exit(run_batch(str(batch), lambda line: verify_one(parse_json(line))))
    shown = parse_hash32(safe_tx_hash, field="--safe-tx-hash") if safe_tx_hash is not None else None
    if record is None:
        if safe is None or to is None or nonce is None:
            raise InputError("USAGE_INVALID", reason="give a record, or at least --safe, --to and --nonce")
        document: object = {
            "safe": safe,
            "to": to,
            "value": value,
            "data": data,
            "operation": operation,
            "safeTxGas": safe_tx_gas,
            "baseGas": base_gas,
            "gasPrice": gas_price,
            "gasToken": gas_token,
            "refundReceiver": refund_receiver,
            "nonce": nonce,
            "signatures": signatures,
        }
    else:
        document = read_json(record)
    from mamori.chains.evm.safe.record import records_in_document

    items, as_list = records_in_document(document)
    if not items:
        raise InputError("RECORD_SHAPE_INVALID", reason="the list response holds no results")
    # Verify everything before printing anything: a bad record must not leave half a report on stdout.
    reports = [verify_one(item, shown) for item in items]
    raise typer.Exit(_emit_reports(reports, as_list, as_json, lang, "safe"))


@app.command("evm-tx")
def evm_tx(
    raw: Annotated[
        str | None,
        typer.Argument(help="Raw transaction hex (legacy, 0x01, 0x02, 0x04), signed or unsigned, or @FILE."),
    ] = None,
    chain_id: Annotated[
        int | None,
        typer.Option("--chain-id", help="Expected chain id; a different one is a critical finding."),
    ] = None,
    sender: Annotated[str | None, typer.Option("--from", help="Expected sender address.")] = None,
    batch: BatchOption = None,
    as_json: JsonOption = False,
    lang: LangOption = "both",
) -> None:
    """Verify a raw EVM transaction: fields, hashes, recovered sender, decoded call, findings."""
    from mamori.chains.evm.encoding import parse_address, parse_hex
    from mamori.verify.evm import verify_evm_tx

    _check_lang(lang)
    registry = default_registry()
    expected_sender = parse_address(sender, field="--from") if sender is not None else None

    def verify_hex(text: object) -> dict[str, Any]:
        if isinstance(text, dict):
            text = text.get("raw")
        payload = parse_hex(text.strip() if isinstance(text, str) else text, field="raw")
        report = verify_evm_tx(payload, registry=registry, expected_chain_id=chain_id, expected_sender=expected_sender)
        return report.to_json()

    if batch is not None:
        if raw is not None:
            raise InputError("USAGE_INVALID", reason="--batch takes no transaction argument")
        raise typer.Exit(run_batch(str(batch), lambda line: verify_hex(_batch_tx(line))))
    if raw is None:
        raise InputError("USAGE_INVALID", reason="give a raw transaction (hex, @FILE or - for stdin)")
    if raw == "-" or raw.startswith("@"):
        raw = read_bytes("-" if raw == "-" else raw[1:]).decode("ascii", errors="replace").strip()
    report = verify_hex(raw)
    raise typer.Exit(_emit_reports([report], False, as_json, lang, "evm"))


@app.command("psbt")
def psbt_command(
    source: Annotated[
        str | None, typer.Argument(help="The PSBT: base64 or hex text, @FILE (base64, hex or binary), or - for stdin.")
    ] = None,
    wallet: Annotated[
        list[str] | None,
        typer.Option("--wallet", help="The exchange's wallet: an output descriptor, or a file of them (repeatable)."),
    ] = None,
    network: Annotated[
        str | None,
        typer.Option(
            "--network",
            help="mainnet, testnet, signet or regtest (default: the wallets', else the PSBT's xpubs', else mainnet).",
        ),
    ] = None,
    max_fee_rate: Annotated[int, typer.Option("--max-fee-rate", help="Most sat/vB before FEE_EXCESSIVE.")] = 500,
    max_fee: Annotated[int, typer.Option("--max-fee", help="Most fee in satoshis before FEE_EXCESSIVE.")] = 1_000_000,
    current_height: Annotated[
        int | None, typer.Option("--current-height", help="The chain's height: a lock time beyond it is unusual.")
    ] = None,
    batch: BatchOption = None,
    as_json: JsonOption = False,
    lang: LangOption = "both",
) -> None:
    """Verify a PSBT (BIP-174 v0 or BIP-370 v2) before signing: every output's address and amount, change proven
    by derivation from --wallet, inputs' previous transactions and signatures, fee, lock time, findings."""
    from mamori.chains.bitcoin.descriptor import parse_wallet_argument
    from mamori.chains.bitcoin.networks import parse_network
    from mamori.chains.bitcoin.psbt import decode_psbt_text
    from mamori.verify.psbt import Limits, verify_psbt

    _check_lang(lang)
    chosen = parse_network(network) if network is not None else None
    wallets = [d for value in wallet or [] for d in parse_wallet_argument(value, network=chosen)]
    limits = Limits(max_fee_rate=max_fee_rate, max_fee=max_fee, current_height=current_height)

    def verify_one(data: bytes) -> dict[str, Any]:
        return verify_psbt(decode_psbt_text(data), wallets=wallets, network=chosen, limits=limits).to_json()

    if batch is not None:
        if source is not None:
            raise InputError("USAGE_INVALID", reason="--batch takes no PSBT argument")
        raise typer.Exit(run_batch(str(batch), lambda line: verify_one(_batch_psbt(line))))
    if source is None:
        raise InputError("USAGE_INVALID", reason="give a PSBT (base64, hex, @FILE or - for stdin)")
    data = (
        read_bytes("-" if source == "-" else source[1:]) if source == "-" or source.startswith("@") else source.encode()
    )
    raise typer.Exit(_emit_reports([verify_one(data)], False, as_json, lang, "psbt"))


def _batch_psbt(line: bytes) -> bytes:
    """A batch line is a JSON string (base64 or hex), an object with ``psbt``, or bare base64 / hex."""
    text = line.strip()
    if text[:1] in (b'"', b"{"):
        value = parse_json(text)
        value = value.get("psbt") if isinstance(value, dict) else value
        if not isinstance(value, str):
            raise InputError("FIELD_TYPE_INVALID", field="psbt", expected="base64 or hex text")
        return value.encode()
    return text


def _batch_tx(line: bytes) -> object:
    """A batch line is a JSON string of hex, an object with ``raw``, or bare hex."""
    text = line.strip()
    if text[:1] in (b'"', b"{"):
        return parse_json(text)
    return text.decode("ascii", errors="replace")


__all__ = ["EXIT_BAD_INPUT", "EXIT_BLOCKED", "EXIT_OK", "MamoriError", "app"]
