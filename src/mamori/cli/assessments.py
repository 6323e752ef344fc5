"""``mamori assess start|list|show|answer|evidence|remediation|score|gaps|trend|refresh|lock|verify|export|import|
report``: an organisation's assessment of a year, on the database (``--database`` / ``$MAMORI_DATABASE_URL``).

Who acts is named with ``--as`` (``$MAMORI_USER``): answers, evidence and sign-off are recorded under that name in
the answers' revisions and in the audit log. An ASSESSMENT is its id or ``ORGANISATION/YEAR``.

These are plain functions; the ``assess`` group registers them (cli/assess.py).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from mamori.cli.audit import DatabaseOption, JsonOption
from mamori.errors import InputError, MamoriError

AssessmentArgument = Annotated[str, typer.Argument(help="The assessment: its id, or ORGANISATION/YEAR.")]
ActorOption = Annotated[
    str,
    typer.Option("--as", envvar="MAMORI_USER", show_envvar=True, help="Who acts (recorded with what they do)."),
]
LanguageOption = Annotated[str, typer.Option("--language", help="ja or en.")]


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _service(database: str | None) -> Iterator[Any]:
    from mamori.service.assessments import AssessmentService
    from mamori.store.database import create_engine

    if not database:
        raise MamoriError("USAGE_INVALID", reason="no database: give --database URL or set MAMORI_DATABASE_URL")
    engine = create_engine(database)
    try:
        yield AssessmentService(engine)
    finally:
        engine.dispose()


def _principal(role: str, name: str) -> Any:
    from mamori.guard import require_text
    from mamori.service.auth import Principal

    return Principal("cli", role, require_text(name, field="--as"))


def _resolve(service: Any, reference: str) -> Any:
    reader = _principal("auditor", "cli")
    organisation, _, year = reference.rpartition("/")
    if organisation and year.isdigit():
        return service.find(reader, organisation, int(year), now=_now())
    return service.read(reader, reference, now=_now())


def _out(as_json: bool, document: Any, text: str) -> None:
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(document) + b"\n")
    else:
        typer.echo(text)


def _date(value: str | None, option: str) -> date | None:
    return None if value is None else _required_date(value, option)


def _required_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InputError("FIELD_TYPE_INVALID", field=option, expected="a date as YYYY-MM-DD") from exc


def start_command(
    organisation: Annotated[str, typer.Argument(help="A short id of the organisation, e.g. mirai-exchange.")],
    year: Annotated[int, typer.Argument(help="The (fiscal) year assessed.")],
    name_en: Annotated[str, typer.Option("--name-en", help="The organisation's name in English.")],
    name_ja: Annotated[str, typer.Option("--name-ja", help="The organisation's name in Japanese.")],
    actor: ActorOption,
    bank: Annotated[Path | None, typer.Option("--bank", help="A question bank (default: the mamori bank).")] = None,
    target: Annotated[Path | None, typer.Option("--target", help="A target profile (YAML).")] = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open the assessment of ORGANISATION for YEAR; machine evidence is answered at once."""
    from mamori.assess.framework import load_framework, mamori_bank_path
    from mamori.assess.scoring import parse_target_profile
    from mamori.cli.io import read_yaml
    from mamori.store.database import upgrade

    framework = load_framework(bank or mamori_bank_path())
    profile = parse_target_profile(read_yaml(str(target)), framework) if target is not None else None
    with _service(database) as service:
        upgrade(service.engine)
        assessor = _principal("assessor", actor)
        record = service.create(assessor, organisation=organisation, name_en=name_en, name_ja=name_ja, year=year,
                                framework=framework, target=profile, now=_now())  # fmt: skip
    machine = [q for q, a in record.answers.items() if a.machine is not None]
    _out(as_json, record.summary(),
         f"assessment {record.id}: {organisation} {year}, {framework.id} {framework.version}, "
         f"{len(framework.questions)} question(s); machine evidence answered {len(machine)}\n"
         f"アセスメントを開始しました（機械的証跡による回答 {len(machine)} 件）")  # fmt: skip


def list_command(database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Every assessment: organisation, year, status."""
    with _service(database) as service:
        found = service.all(_principal("auditor", "cli"), now=_now())
    lines = [f"{a['id']}  {a['organisation']}/{a['year']}  {a['status']}  {a['framework']['id']}" for a in found]
    _out(as_json, found, "\n".join(lines) if lines else "no assessment / アセスメントはありません")


def show_command(assessment: AssessmentArgument, database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """The assessment: answers with who gave them, evidence, remediation, scores."""
    with _service(database) as service:
        record = _resolve(service, assessment)
    today = _now().date()
    document = record.to_json(today=today)
    card = record.scorecard()
    asked = [r for r in card.results if r.asked]
    lines = [
        f"{record.organisation_en} / {record.organisation_ja} — {record.year} ({record.status})",
        f"{record.framework.id} {record.framework.version}: {sum(r.answer is not None for r in asked)} of "
        f"{len(asked)} asked question(s) answered / 回答済み",
        *(f"  {q}: {a['value']}" + (f" (doc {a['documentation']})" if a["documentation"] else "")
          + f"  [{a['source']}, {a['by']}]" for q, a in document["answers"].items()),
        f"evidence / 証跡: {len(record.evidence)}, remediation / 改善項目: {len(record.remediation)}",
    ]  # fmt: skip
    _out(as_json, document, "\n".join(lines))


def answer_command(
    assessment: AssessmentArgument,
    question: Annotated[str, typer.Argument(help="The question's id.")],
    value: Annotated[str, typer.Argument(help="yes/partial/no/na, 0-4, a choice id, or choice ids a,b ('none').")],
    actor: ActorOption,
    documentation: Annotated[
        str | None, typer.Option("--documentation", help="Is it documented: yes, partial or no.")
    ] = None,
    note: Annotated[str, typer.Option("--note", help="A note for the reviewer.")] = "",
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Answer one question (a new revision; earlier ones are kept)."""
    with _service(database) as service:
        record = _resolve(service, assessment)
        given = service.answer(_principal("assessor", actor), record.id, question, value,
                               documentation=documentation, note=note, now=_now())  # fmt: skip
    document = {"question": question, "value": given.answer.value_text() if given else None,
                "revision": given.revision if given else None}  # fmt: skip
    _out(as_json, document, f"{question}: {document['value']} (revision {document['revision']}) / 回答を記録しました")


def evidence_add_command(
    assessment: AssessmentArgument,
    question: Annotated[str, typer.Argument(help="The question it supports.")],
    file: Annotated[Path, typer.Argument(help="The evidence file.")],
    effective: Annotated[str, typer.Option("--effective", help="The date it takes effect (YYYY-MM-DD).")],
    actor: ActorOption,
    expires: Annotated[str | None, typer.Option("--expires", help="The date it expires (YYYY-MM-DD).")] = None,
    description: Annotated[str, typer.Option("--description", help="What it shows.")] = "",
    media_type: Annotated[str, typer.Option("--media-type")] = "application/octet-stream",
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Attach an evidence file to a question; stored once by its SHA-256."""
    from mamori.cli.io import read_bytes

    content = read_bytes(str(file))
    with _service(database) as service:
        record = _resolve(service, assessment)
        added = service.add_evidence(
            _principal("assessor", actor), record.id, question, content, filename=file.name, media_type=media_type,
            description=description, effective_on=_required_date(effective, "--effective"),
            expires_on=_date(expires, "--expires"), now=_now(),
        )  # fmt: skip
    _out(as_json, {"id": added.id, "sha256": added.sha256, "size": added.size},
         f"evidence {added.id}: {file.name} sha256 {added.sha256} / 証跡を登録しました")  # fmt: skip


def evidence_withdraw_command(
    assessment: AssessmentArgument,
    evidence: Annotated[str, typer.Argument(help="The evidence id.")],
    actor: ActorOption,
    database: DatabaseOption = None,
) -> None:
    """Withdraw an evidence link (the file itself stays stored)."""
    with _service(database) as service:
        record = _resolve(service, assessment)
        service.withdraw_evidence(_principal("assessor", actor), record.id, evidence, now=_now())
    typer.echo(f"evidence {evidence} withdrawn / 証跡を取り下げました")


def remediation_add_command(
    assessment: AssessmentArgument,
    title: Annotated[str, typer.Option("--title", help="What will be done.")],
    owner: Annotated[str, typer.Option("--owner", help="Who is responsible.")],
    due: Annotated[str, typer.Option("--due", help="Due date (YYYY-MM-DD).")],
    actor: ActorOption,
    question: Annotated[str | None, typer.Option("--question", help="The question it remedies.")] = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a remediation item (also after the sign-off: it is the plan)."""
    due_on = _required_date(due, "--due")
    with _service(database) as service:
        record = _resolve(service, assessment)
        item = service.add_remediation(_principal("assessor", actor), record.id, title=title, owner=owner,
                                       due_on=due_on, question_id=question, now=_now())  # fmt: skip
    _out(as_json, {"id": item.id}, f"remediation {item.id}: {owner}, due {item.due_on} / 改善項目を登録しました")


def remediation_done_command(
    assessment: AssessmentArgument,
    item: Annotated[str, typer.Argument(help="The remediation item's id.")],
    actor: ActorOption,
    database: DatabaseOption = None,
) -> None:
    """Mark a remediation item done."""
    with _service(database) as service:
        record = _resolve(service, assessment)
        service.close_remediation(_principal("assessor", actor), record.id, item, now=_now())
    typer.echo(f"remediation {item} done / 改善項目を完了にしました")


def score_command(assessment: AssessmentArgument, database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Scores per section, CSF 2.0 function, guideline section and level (implementation / documentation)."""
    with _service(database) as service:
        record = _resolve(service, assessment)
    card = record.scorecard().to_json()
    document = {"framework": {"id": record.framework.id, "version": record.framework.version}, "year": record.year,
                "organisation": record.organisation, "status": record.status, "scorecard": card}  # fmt: skip

    def line(name: str, score: dict[str, Any]) -> str:
        return (
            f"  {name:<8} implementation {_pct(score['implementation'])}  documentation {_pct(score['documentation'])}"
        )

    lines = [f"{record.organisation}/{record.year} — implementation / 実装, documentation / 文書化",
             line("overall", card["overall"]), "sections / セクション:",
             *(line(k, v) for k, v in card["sections"].items()), "CSF 2.0:",
             *(line(k, v) for k, v in card["csf_functions"].items()), "FSA guideline / ガイドライン:",
             *(line("§" + k, v) for k, v in card["guideline"].items())]  # fmt: skip
    _out(as_json, document, "\n".join(lines))


def gaps_command(assessment: AssessmentArgument, database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """The questions below their target, heaviest first, basic before advanced."""
    with _service(database) as service:
        record = _resolve(service, assessment)
    gaps = [gap.to_json() for gap in record.scorecard().gaps]
    lines = [f"{g['question']:<8} w{g['weight']} {g['level']:<8} {_pct(g['achieved'])} < {_pct(g['target'])}  "
             f"{g['text']['en']}" for g in gaps]  # fmt: skip
    _out(as_json, gaps, "\n".join(lines) if lines else "no gap / ギャップはありません")


def trend_command(assessment: AssessmentArgument, database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Compare with the same organisation's assessment of the year before."""
    with _service(database) as service:
        record = _resolve(service, assessment)
        trend = service.trend(_principal("auditor", "cli"), record.id, now=_now())
    if trend is None:
        _out(
            as_json,
            None,
            f"no assessment of {record.organisation} for {record.year - 1} / 前年度のアセスメントはありません",
        )
        return
    document = trend.to_json()
    overall = document["overall"]["implementation"]
    lines = [f"implementation / 実装: {_pct(overall['previous'])} → {_pct(overall['current'])}",
             *(f"  {k}: {_pct(v['implementation']['previous'])} → {_pct(v['implementation']['current'])}"
               for k, v in document["sections"].items()),
             f"improved / 改善: {', '.join(c['question'] for c in document['improved']) or '-'}",
             f"regressed / 後退: {', '.join(c['question'] for c in document['regressed']) or '-'}"]  # fmt: skip
    _out(as_json, document, "\n".join(lines))


def refresh_command(assessment: AssessmentArgument, actor: ActorOption, database: DatabaseOption = None) -> None:
    """Answer the machine-evidence questions again from the platform's state now."""
    with _service(database) as service:
        record = _resolve(service, assessment)
        changed = service.refresh_machine_evidence(_principal("assessor", actor), record.id, now=_now())
    typer.echo(f"machine evidence changed / 機械的証跡の変更: {', '.join(changed) or 'none / なし'}")


def lock_command(
    assessment: AssessmentArgument,
    actor: ActorOption,
    note: Annotated[str, typer.Option("--note", help="The reviewer's note.")] = "",
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """The reviewer's sign-off: machine evidence re-checked, then the assessment is locked."""
    with _service(database) as service:
        record = _resolve(service, assessment)
        result = service.lock(_principal("reviewer", actor), record.id, note=note, now=_now())
    _out(as_json, result,
         f"locked / 承認・確定しました: digest {result['digest']} (audit entry {result['audit_seq']}); machine "
         f"evidence changed: {', '.join(result['machine_changed']) or 'none'}; evidence not valid today: "
         f"{len(result['evidence_not_valid'])}")  # fmt: skip


def verify_command(
    assessment: AssessmentArgument, database: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """Recompute a locked assessment's digest; exit 2 with ASSESSMENT_TAMPERED if anything changed."""
    with _service(database) as service:
        record = _resolve(service, assessment)
        result = service.verify(_principal("auditor", "cli"), record.id, now=_now())
    _out(as_json, result, f"intact / 改ざんはありません: digest {result['digest']}")


def export_command(
    assessment: AssessmentArgument,
    output: Annotated[Path, typer.Option("--output", "-o", help="The .xlsx file to write.")],
    english_first: Annotated[bool, typer.Option("--english-first", help="English text before Japanese.")] = False,
    database: DatabaseOption = None,
) -> None:
    """The questionnaire with its answers as an Excel workbook a person fills in (docs/assess-excel.md)."""
    from mamori.assess.excel import export_workbook

    with _service(database) as service:
        record = _resolve(service, assessment)
    answers = {q: a.answer for q, a in record.answers.items()}
    order = ("en", "ja") if english_first else ("ja", "en")
    names = f"{record.organisation_ja} / {record.organisation_en}"
    data = export_workbook(record.framework, answers, organisation=names, year=record.year, language_order=order)
    output.write_bytes(data)
    typer.echo(f"wrote {output}: {len(record.framework.questions)} question(s) / 書き出しました")


def import_command(
    assessment: AssessmentArgument,
    workbook: Annotated[Path, typer.Argument(help="The filled-in .xlsx.")],
    actor: ActorOption,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="A column-mapping file for a differently laid out sheet.")
    ] = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import a workbook's answers: all or nothing, every bad cell reported with its reference."""
    from mamori.assess.answers import Source
    from mamori.assess.column_mapping import load_column_mapping
    from mamori.assess.excel import read_workbook
    from mamori.cli.io import read_bytes

    layout = load_column_mapping(mapping) if mapping is not None else None
    data = read_bytes(str(workbook))
    with _service(database) as service:
        record = _resolve(service, assessment)
        current = {q: a.answer for q, a in record.answers.items()}
        answers = read_workbook(data, record.framework, mapping=layout, source=workbook.name, current=current)
        changed = service.answer_many(_principal("assessor", actor), record.id, answers, source=Source.IMPORT,
                                      now=_now())  # fmt: skip
    _out(as_json, {"read": len(answers), "changed": changed},
         f"imported {workbook.name}: {len(answers)} answer(s) read, {changed} changed / 取り込みました")  # fmt: skip


def report_command(
    assessment: AssessmentArgument,
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write.")],
    language: LanguageOption = "ja",
    kind: Annotated[str, typer.Option("--format", help="pdf or html.")] = "pdf",
    database: DatabaseOption = None,
) -> None:
    """The report: radar chart by CSF 2.0 function, bars by guideline section, gaps, remediation, year on year."""
    from zoneinfo import ZoneInfo

    from mamori.service.assessment_report import render_report

    with _service(database) as service:
        record = _resolve(service, assessment)
        previous = service.previous(_principal("auditor", "cli"), record, now=_now())
    generated_at = _now().astimezone(ZoneInfo("Asia/Tokyo"))
    data, _media_type = render_report(record, previous, language=language, kind=kind, generated_at=generated_at)
    output.write_bytes(data)
    typer.echo(f"wrote {output} ({len(data):,} bytes) / レポートを書き出しました")


def _pct(value: float | None) -> str:
    return "   —  " if value is None else f"{value:5.1f}%"
