"""``mamori assess …``: the Cyber Security Self-Assessment. ``validate`` checks a question bank and reports every
problem with its location; ``coverage`` shows which NIST CSF 2.0 categories and FSA guideline sections a bank covers.
Without a BANK, the mamori bank shipped in the package (content/cssa)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from mamori.cli import assess_benchmark, assessments
from mamori.cli.audit import JsonOption

app = typer.Typer(help="The Cyber Security Self-Assessment (CSSA): question banks, assessments, reports.",
                  no_args_is_help=True)  # fmt: skip
evidence_app = typer.Typer(help="Evidence files of an assessment's answers.", no_args_is_help=True)
remediation_app = typer.Typer(help="Remediation items: what will be done, by whom, by when.", no_args_is_help=True)
app.add_typer(evidence_app, name="evidence")
app.add_typer(remediation_app, name="remediation")

BankArgument = Annotated[
    Path | None,
    typer.Argument(help="A question bank: a YAML file or a folder (default: the mamori bank).", show_default=False),
]


def _bank(path: Path | None) -> Path:
    from mamori.assess.framework import mamori_bank_path

    return path if path is not None else mamori_bank_path()


@app.command("validate")
def validate(bank: BankArgument = None, as_json: JsonOption = False) -> None:
    """Check a question bank; exit 0 if it can be used, 2 with every problem and its location if not."""
    from mamori.assess.framework import load_framework

    framework = load_framework(_bank(bank))
    questions = framework.questions
    if as_json:
        document = {"id": framework.id, "version": framework.version, "questions": len(questions),
                    "profile": len(framework.profile), "valid": True}  # fmt: skip
        sys.stdout.buffer.write(orjson.dumps(document) + b"\n")
        return
    typer.echo(
        f"{framework.id} {framework.version}: valid, {len(questions)} question(s), {len(framework.profile)} profile"
        f" question(s) / 質問集は有効です（質問 {len(questions)} 件）"
    )


@app.command("coverage")
def coverage_command(bank: BankArgument = None, as_json: JsonOption = False) -> None:
    """Questions per CSF 2.0 function and category and per FSA guideline section; what is left uncovered."""
    from mamori.assess.coverage import coverage
    from mamori.assess.framework import csf_subcategories, load_framework

    found = coverage(load_framework(_bank(bank)), csf_subcategories())
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(found.to_json()) + b"\n")
        return
    typer.echo(f"{found.questions} question(s): " + ", ".join(f"{k} {v}" for k, v in found.by_level.items()))
    typer.echo("CSF 2.0 functions / 機能: " + ", ".join(f"{k} {v}" for k, v in found.by_function.items()))
    typer.echo("CSF 2.0 categories / カテゴリ: " + ", ".join(f"{k} {v}" for k, v in found.by_category.items()))
    typer.echo("FSA guideline / ガイドライン: " + ", ".join(f"§{k} {v}" for k, v in found.by_guideline.items()))
    uncovered = found.uncovered_categories + tuple(f"§{g}" for g in found.uncovered_guideline)
    typer.echo(
        "uncovered / 未対応: " + (", ".join(uncovered) if uncovered else "none / なし")
        + f" ({len(found.uncovered_subcategories)} CSF subcategories without a question)"
    )  # fmt: skip


app.command("start")(assessments.start_command)
app.command("list")(assessments.list_command)
app.command("show")(assessments.show_command)
app.command("answer")(assessments.answer_command)
app.command("score")(assessments.score_command)
app.command("gaps")(assessments.gaps_command)
app.command("trend")(assessments.trend_command)
app.command("refresh")(assessments.refresh_command)
app.command("lock")(assessments.lock_command)
app.command("verify")(assessments.verify_command)
app.command("export")(assessments.export_command)
app.command("import")(assessments.import_command)
app.command("report")(assessments.report_command)
app.add_typer(assess_benchmark.app, name="benchmark")
evidence_app.command("add")(assessments.evidence_add_command)
evidence_app.command("withdraw")(assessments.evidence_withdraw_command)
remediation_app.command("add")(assessments.remediation_add_command)
remediation_app.command("done")(assessments.remediation_done_command)
