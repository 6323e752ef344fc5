"""Entry point of the ``mamori`` command. Errors are caught here once and turned into exit code 2."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from mamori import __version__
from mamori.cli import assess, attest, audit, guard, hub, intel, policy, screen, verify
from mamori.cli.io import write_error
from mamori.errors import MamoriError

app = typer.Typer(
    help="mamori (守り): independent verification of what is signed, for crypto-asset exchanges.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(verify.app, name="verify")
app.add_typer(policy.app, name="policy")
app.add_typer(audit.app, name="audit")
app.add_typer(attest.app, name="attest")
app.add_typer(guard.app, name="guard")
app.add_typer(hub.app, name="hub")
app.add_typer(assess.app, name="assess")
app.add_typer(intel.app, name="intel")
app.command("screen")(screen.screen_command)
app.command("serve")(guard.serve_command)


@app.command()
def version() -> None:
    """Print mamori's version."""
    typer.echo(__version__)


@app.command()
def demo(
    lang: Annotated[str, typer.Option("--lang", help="en, ja or both")] = "both",
    intel: Annotated[
        Path | None,
        typer.Option("--intel", help="Folder of the OFAC and FBI lists (default: ../shared/data/intel if present)."),
    ] = None,
    keep: Annotated[
        Path | None, typer.Option("--keep", help="Keep the sample exchange (database, guard key, log) in this folder.")
    ] = None,
    bybit_replay: Annotated[
        bool, typer.Option("--bybit-replay", help="Only replay the Bybit theft through the offline verifier.")
    ] = False,
) -> None:
    """A sample exchange on SQLite served by the guard: a routine withdrawal, a cold one with two approvals, the
    Bybit transaction denied, a tampered request refused, and the audit log verified."""
    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 160)
    if bybit_replay:
        _bybit_replay(console, lang)
        return
    import tempfile

    from mamori.demo.walkthrough import run_walkthrough

    intel = intel or _default_intel()
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        if any(keep.iterdir()):
            raise MamoriError("USAGE_INVALID", reason=f"--keep {keep} is not empty")
        ok = run_walkthrough(console, intel=intel, workdir=keep, lang=lang)
    else:
        with tempfile.TemporaryDirectory(prefix="mamori-demo-") as folder:
            ok = run_walkthrough(console, intel=intel, workdir=Path(folder), lang=lang, kept=False)
    if not ok:
        raise typer.Exit(1)


def _default_intel() -> Path:
    for candidate in (Path.cwd() / ".." / "shared" / "data" / "intel", Path.cwd() / "shared" / "data" / "intel"):
        if candidate.is_dir():
            return candidate.resolve()
    raise MamoriError(
        "USAGE_INVALID",
        reason="no screening lists found: give --intel DIR (the OFAC and FBI lists, ../shared/data/intel)",
    )


def _bybit_replay(console: Any, lang: str) -> None:
    """Replay the Bybit theft (Feb 2025) through the verifier: what the signers signed, and what they were shown."""
    from mamori.cli import render
    from mamori.verify.context import SafeBook
    from mamori.verify.registry import default_registry
    from mamori.verify.safe import verify_safe_record

    sample = resources.files("mamori.content").joinpath("samples/bybit-safe-tx-71.json").read_bytes()
    executed, displayed = orjson.loads(sample)["results"]
    registry = default_registry()
    # What the exchange itself knows of its cold wallet: version and (the three public) owners, never the API's word.
    book = SafeBook.from_document(
        {
            "safes": [
                {
                    "address": executed["safe"],
                    "chain_id": 1,
                    "version": "1.1.1",
                    "owners": [c["owner"] for c in executed["confirmations"]],
                    "threshold": 3,
                }
            ]
        }
    )
    console.rule("1. The transaction the signers really signed and the attacker executed (Safe 1.1.1, nonce 71)")
    signed = verify_safe_record(executed, chain_id=1, safe_version=None, book=book, registry=registry)
    render.render_safe_report(console, signed.to_json(), lang)
    console.rule("2. What the compromised web UI displayed: 30,000 ETH to Bybit's own warm wallet")
    shown = verify_safe_record(displayed, chain_id=1, safe_version=None, book=book, registry=registry)
    render.render_safe_report(console, shown.to_json(), lang)
    console.rule("result")
    console.print(
        f"The executed transaction is [bold]{signed.verdict.label}[/] "
        f"({', '.join(sorted({f.code for f in signed.findings if f.severity.blocks_signing}))}); the displayed one is "
        f"[bold]{shown.verdict.label}[/] because its collected signatures recover to other addresses: they were made "
        "for the first transaction. mamori would have stopped the first signer.\n"
        "実際に署名・実行された取引も、表示された取引も mamori は署名を止めます。"
    )
    if not (signed.verdict.blocked and shown.verdict.blocked):
        raise typer.Exit(1)


def main() -> None:
    """Console-script entry: translate every MamoriError into a bilingual message on stderr and exit 2.

    Click's standalone mode already exits 2 on usage errors and honours typer.Exit codes.
    """
    try:
        app()
    except MamoriError as exc:
        write_error(exc, as_json="--json" in sys.argv)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - never a traceback for a user; an unexpected failure denies (exit 2)
        internal = MamoriError("INTERNAL_ERROR", reason=type(exc).__name__)
        sys.stderr.write(
            f"error {internal.code}: {internal.message_en}\nエラー {internal.code}: {internal.message_ja}\n"
        )
        sys.exit(2)


if __name__ == "__main__":
    main()
