"""The assessment report as one self-contained HTML page: inline CSS, inline SVG charts, no external asset.

Every text that comes from a person (organisation names, remediation items, the bank's own text) is escaped.
The page prints on A4 as it is shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape

from mamori.assess.charts import to_svg
from mamori.assess.report import ReportInput, ReportView, ScoreRow, build_view, charts, percent, signed

STYLE = """
:root { --impl: #1d5fbf; --doc: #d97a06; --line: #d5dae1; --muted: #4b5563; --bad: #b42318; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 60rem; padding: 2rem 1.5rem 3rem; color: #111827; line-height: 1.55;
  font-family: "Hiragino Sans", "Noto Sans JP", "Noto Sans CJK JP", "Yu Gothic", Meiryo, system-ui, sans-serif; }
header { border-bottom: 3px solid var(--impl); padding-bottom: 1rem; margin-bottom: 1.5rem; }
.kicker { color: var(--muted); margin: 0; font-size: .9rem; }
h1 { font-size: 1.6rem; margin: .2rem 0; }
.organisation { font-size: 1.3rem; margin: .2rem 0 .8rem; }
h2 { font-size: 1.2rem; border-left: 4px solid var(--impl); padding-left: .5rem; margin: 2rem 0 .8rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
.scores { display: flex; gap: 1rem; flex-wrap: wrap; }
.score { border: 1px solid var(--line); border-radius: 6px; padding: .6rem 1rem; min-width: 12rem; }
.score .value { font-size: 1.8rem; font-weight: 600; }
.score.implementation .value { color: var(--impl); }
.score.documentation .value { color: var(--doc); }
.score .delta, .note { color: var(--muted); font-size: .85rem; }
.chart { display: flex; flex-wrap: wrap; gap: 1rem 1.5rem; align-items: flex-start; }
.chart svg { max-width: 100%; height: auto; flex: none; }
.chart table { flex: 1 1 22rem; width: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; margin-bottom: 1rem; }
th, td { border: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #eef2f7; font-weight: 600; }
td.number, th.number { text-align: right; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
tr.overdue td { background: #fef3f2; }
.overdue-mark { color: var(--bad); font-weight: 600; }
footer { margin-top: 2rem; color: var(--muted); font-size: .8rem; }
@media print { body { max-width: none; padding: 0; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
@page { size: A4; margin: 15mm; }
"""


def render_html(report: ReportInput, *, language: str, generated_at: datetime) -> str:
    """The report as a self-contained HTML page in ``language`` (``ja`` or ``en``)."""
    view = build_view(report, language=language, generated_at=generated_at)
    radar, bars = charts(view)
    body = [
        _header(view),
        _overall(view),
        f'<h2 id="functions">{_e(radar.title)}</h2><div class="chart">{to_svg(radar)}',
        _score_table(view, view.label("functions"), view.functions, "functions"),
        "</div>",
        f'<h2 id="guideline">{_e(bars.title)}</h2><div class="chart">{to_svg(bars)}',
        _score_table(view, view.label("guideline"), view.guideline, "guideline"),
        "</div>",
        f'<h2 id="sections">{_e(view.label("sections"))}</h2>',
        _score_table(view, view.label("section"), view.sections, "sections"),
        _gaps(view),
        _remediation(view),
        _evidence(view),
        f"<footer>{_e(view.title)} · {_e(view.organisation)} · {view.year} · {_e(view.bank)} · "
        f"{_e(view.label('generated_at'))} {_e(view.generated_at)}</footer>",
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{view.language}">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(view.title)} — {_e(view.organisation)} {view.year}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            *body,
            "</body>",
            "</html>",
            "",
        ]
    )


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _header(view: ReportView) -> str:
    names = f'<span lang="ja">{_e(view.organisation_ja)}</span> / <span lang="en">{_e(view.organisation_en)}</span>'
    meta = [
        ("year", str(view.year)),
        ("bank", f"{view.bank} — {view.bank_title}"),
        ("status", view.status),
        ("locked_at", view.locked_at),
        ("reviewer", view.reviewer),
        ("generated_at", view.generated_at),
    ]
    rows = f"<dt>{_e(view.label('organisation'))}</dt><dd>{names}</dd>" + "".join(
        f"<dt>{_e(view.label(key))}</dt><dd>{_e(value)}</dd>" for key, value in meta
    )
    return (
        f'<header><p class="kicker">{_e(view.bank_title)}</p><h1>{_e(view.title)} {view.year}</h1>'
        f'<p class="organisation">{_e(view.organisation)}</p><dl class="meta">{rows}</dl></header>'
    )


def _overall(view: ReportView) -> str:
    overall = view.overall
    boxes = []
    for key, value, delta in (
        ("implementation", overall.implementation, overall.delta_implementation),
        ("documentation", overall.documentation, overall.delta_documentation),
    ):
        change = f'<div class="delta">{_e(view.label("delta"))}: {_e(signed(delta))}</div>' if view.has_previous else ""
        boxes.append(
            f'<div class="score {key}"><div>{_e(view.label(key))}</div>'
            f'<div class="value">{_e(percent(value))}</div>{change}</div>'
        )
    counts = (
        f'<p class="note">{_e(view.label("answered"))}: {overall.answered} / {overall.asked} · '
        f"{_e(view.label('not_applicable'))}: {overall.not_applicable}</p>"
    )
    return (
        f'<h2 id="overall">{_e(view.label("overall"))}</h2><div class="scores">{"".join(boxes)}</div>'
        f'{counts}<p class="note">{_e(view.label("method"))}</p>'
    )


def _score_table(view: ReportView, first: str, rows: Sequence[ScoreRow], name: str) -> str:
    heads = view.score_heads(first)
    body = []
    for row in rows:
        cells = [_e(row.label), _e(percent(row.implementation))]
        if view.has_previous:
            cells.append(_e(signed(row.delta_implementation)))
        cells.append(_e(percent(row.documentation)))
        if view.has_previous:
            cells.append(_e(signed(row.delta_documentation)))
        cells += [f"{row.answered} / {row.asked}", str(row.not_applicable)]
        body.append(_row(cells, numeric_from=1))
    return _table(name, heads, body, numeric_from=1)


def _gaps(view: ReportView) -> str:
    title = f'<h2 id="gaps">{_e(view.label("gaps"))}</h2>'
    if not view.gaps:
        return f"{title}<p>{_e(view.label('gaps.none'))}</p>"
    heads = ["#", view.label("id"), view.label("question"), view.label("level"), view.label("weight"),
             view.label("target"), view.label("achieved")]  # fmt: skip
    body = []
    for index, gap in enumerate(view.gaps, start=1):
        achieved = percent(gap.achieved) + (f" ({view.label('unanswered')})" if gap.unanswered else "")
        cells = [str(index), _e(gap.question), _e(gap.text), _e(gap.level), str(gap.weight),
                 _e(percent(gap.target)), _e(achieved)]  # fmt: skip
        body.append(
            f'<tr data-question="{_e(gap.question)}"><td class="number">{cells[0]}</td>'
            f'<td class="nowrap">{cells[1]}</td><td>{cells[2]}</td><td class="nowrap">{cells[3]}</td>'
            + "".join(f'<td class="number">{c}</td>' for c in cells[4:])
            + "</tr>"
        )
    return title + _table("gaps", heads, body, numeric_from=4, numeric_first=True)


def _remediation(view: ReportView) -> str:
    title = f'<h2 id="remediation">{_e(view.label("remediation"))}</h2>'
    if not view.remediation:
        return f"{title}<p>{_e(view.label('remediation.none'))}</p>"
    heads = [view.label(k) for k in ("id", "action", "question", "owner", "due", "status")]
    body = []
    for item in view.remediation:
        status = _e(item.status)
        if item.overdue:
            status += f' <span class="overdue-mark">{_e(view.label("overdue"))}</span>'
        body.append(
            f'<tr class="{"overdue" if item.overdue else "on-time"}">'
            f'<td class="nowrap">{_e(item.id)}</td><td>{_e(item.title)}</td><td class="nowrap">{_e(item.question)}</td>'
            f'<td>{_e(item.owner)}</td><td class="nowrap">{_e(item.due)}</td><td>{status}</td></tr>'
        )
    return title + _table("remediation", heads, body)


def _evidence(view: ReportView) -> str:
    title = f'<h2 id="evidence">{_e(view.label("evidence"))}</h2>'
    if not view.evidence:
        return f"{title}<p>{_e(view.label('evidence.none'))}</p>"
    heads = [view.label(k) for k in ("question", "check", "detail", "checked_at")]
    body = [_row([_e(note.question), _e(note.check), _e(note.detail), _e(note.checked_at)]) for note in view.evidence]
    return title + _table("evidence", heads, body)


def _row(cells: Iterable[str], *, numeric_from: int | None = None) -> str:
    """A row of cells already escaped; the first is kept on one line, those from ``numeric_from`` right-aligned."""

    def cell(index: int, content: str) -> str:
        if numeric_from is not None and index >= numeric_from:
            return f'<td class="number">{content}</td>'
        return f'<td class="nowrap">{content}</td>' if index == 0 else f"<td>{content}</td>"

    return "<tr>" + "".join(cell(i, c) for i, c in enumerate(cells)) + "</tr>"


def _table(name: str, heads: Sequence[str], body: Sequence[str], *, numeric_from: int | None = None,
           numeric_first: bool = False) -> str:  # fmt: skip
    def head(index: int, text: str) -> str:
        numeric = (numeric_from is not None and index >= numeric_from) or (numeric_first and index == 0)
        return f'<th class="number">{_e(text)}</th>' if numeric else f"<th>{_e(text)}</th>"

    heading = "".join(head(i, h) for i, h in enumerate(heads))
    return f'<table class="{name}"><thead><tr>{heading}</tr></thead><tbody>{"".join(body)}</tbody></table>'
