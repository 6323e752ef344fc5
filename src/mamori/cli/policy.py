"""``mamori policy …``: validate a policy file; decide withdrawal requests against it.

Exit codes of ``check``: 0 allow; 1 deny or needs approval; 2 bad input or usage (code on stderr).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from mamori.cli.batch import run_batch
from mamori.cli.io import parse_json, read_bytes, read_json
from mamori.cli.screen import FbiOption, IndexOption, IntelOption, ListOption, OfacOption
from mamori.errors import InputError

if TYPE_CHECKING:
    from mamori.policy.check import Screen

app = typer.Typer(help="Withdrawal policy: validate it, and decide requests against it.", no_args_is_help=True)

PolicyOption = Annotated[Path, typer.Option("--policy", help="The policy file (YAML or JSON).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("validate")
def validate(
    policy: Annotated[Path, typer.Argument(help="The policy file (YAML or JSON).")], as_json: JsonOption = False
) -> None:
    """Check a policy against the published schema and its cross-references; print every problem found."""
    from mamori.policy.parse import load_policy_text

    loaded = load_policy_text(read_bytes(str(policy)))
    summary = {
        "valid": True,
        "id": loaded.id,
        "digest": loaded.digest,
        "wallets": len(loaded.wallets),
        "rules": len(loaded.rules),
        "limits": len(loaded.limits),
    }
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(summary) + b"\n")
    else:
        typer.echo(
            f"policy {loaded.id} is valid / ポリシーは有効です: {summary['wallets']} wallets, "
            f"{summary['rules']} rules, {summary['limits']} limits; sha256 {loaded.digest}"
        )


@app.command("check")
def check(
    request: Annotated[str | None, typer.Argument(help="Withdrawal request JSON (file, or - for stdin).")] = None,
    policy: PolicyOption = Path("policy.yaml"),
    facts: Annotated[
        Path | None, typer.Option("--facts", help="Facts JSON: balances, history or velocity, address book, approvals.")
    ] = None,
    now: Annotated[
        str | None, typer.Option("--now", help="Decide as of this ISO 8601 time (default: the current time).")
    ] = None,
    batch: Annotated[
        Path | None, typer.Option("--batch", help="JSON Lines: one request per line (optionally {request, facts}).")
    ] = None,
    as_json: JsonOption = False,
    lang: Annotated[str, typer.Option("--lang", help="en, ja or both")] = "both",
    lists: ListOption = None,
    ofac: OfacOption = None,
    fbi: FbiOption = None,
    intel: IntelOption = None,
    index: IndexOption = None,
) -> None:
    """Decide a withdrawal request: allow, deny or needs_approval, with reasons in English and Japanese.

    Screening lists (--intel, --ofac, --fbi, --list, --index, as for `mamori screen`) are consulted for the
    destination and every address the attached transaction touches."""
    from mamori.policy.check import check_request
    from mamori.policy.parse import load_policy_text
    from mamori.policy.request import parse_timestamp
    from mamori.verify.registry import default_registry

    if lang not in ("en", "ja", "both"):
        raise InputError("USAGE_INVALID", reason="--lang must be en, ja or both")
    loaded = load_policy_text(read_bytes(str(policy)))
    moment = parse_timestamp(now, field="--now") if now is not None else datetime.now(UTC)
    shared_facts: object = read_json(str(facts)) if facts is not None else {}
    registry = default_registry()
    screen, screened = _screening(lists or [], ofac, fbi, intel, index)

    def decide(document: object, facts_document: object) -> dict[str, Any]:
        verdict = check_request(
            document, loaded, facts_document, now=moment, registry=registry, screen=screen, screened_lists=screened
        )
        result = verdict.to_json()
        result["verdict"] = "ok" if verdict.decision == "allow" else "blocked"
        return result

    def decide_line(line: bytes) -> dict[str, Any]:
        item = parse_json(line)
        if isinstance(item, dict) and "request" in item:
            return decide(item["request"], item.get("facts", shared_facts))
        return decide(item, shared_facts)

    if batch is not None:
        if request is not None:
            raise InputError("USAGE_INVALID", reason="--batch takes no request argument")
        raise typer.Exit(run_batch(str(batch), decide_line))
    if request is None:
        raise InputError("USAGE_INVALID", reason="give a request file, - for stdin, or --batch")
    result = decide(read_json(request), shared_facts)
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        _render(result, lang)
    raise typer.Exit(0 if result["decision"] == "allow" else 1)


def _screening(
    lists: list[str], ofac: Path | None, fbi: Path | None, intel: Path | None, index: Path | None
) -> tuple[Screen | None, frozenset[str]]:
    if not (lists or ofac or fbi or intel or index):
        return None, frozenset()
    from mamori.cli.screen import load_screening_index
    from mamori.policy.facts import ScreeningHit

    screening_index, _ = load_screening_index(lists, ofac, fbi, intel, index)

    def screen(_chain: str, address: str) -> tuple[ScreeningHit, ...]:
        return tuple(ScreeningHit(h.list_name, h.list_version, h.listed_as) for h in screening_index.lookup(address))

    return screen, frozenset(source.name for source in screening_index.lists)


def _render(result: dict[str, Any], lang: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)
    styles = {"allow": "bold white on green", "deny": "bold white on red", "needs_approval": "bold black on yellow"}
    labels = {"allow": "ALLOW / 許可", "deny": "DENY / 拒否", "needs_approval": "NEEDS APPROVAL / 承認待ち"}
    console.print(
        f"[{styles[result['decision']]}] {labels[result['decision']]} [/] request {result['request_id']}"
        f" · policy {result['policy']['id']} ({result['policy']['digest'][:12]})"
    )
    table = Table(show_lines=True, expand=True)
    for column in ("code", "rule", "reason / 理由"):
        table.add_column(column)
    for item in result["reasons"]:
        message = item["message"]
        text = f"{message['en']}\n{message['ja']}" if lang == "both" else message[lang]
        table.add_row(item["code"], item["rule"] or "", text)
    console.print(table)
    for need in result["required_approvals"]:
        console.print(f"needs {need['count']} approval(s) for {need['source']} (have {need['have']})")
