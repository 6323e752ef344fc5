"""The assessment report's input and its content, shared by the HTML (report_html.py) and PDF (pdf.py) renderers.

:class:`ReportInput` is what the storage layer fills: the bank, this year's scorecard, last year's if any, the
remediation plan and the notes of the platform's own checks. :func:`build_view` turns it into a
:class:`ReportView` in one language: every label translated, every score row paired with last year's, every
remediation item marked overdue or not against ``generated_at``. Both renderers draw the same view, so the HTML
page and the PDF say the same thing. Pure: no clock, no files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from mamori.assess.charts import Chart, Series, bar_chart, radar_chart
from mamori.assess.framework import GUIDELINE_SECTIONS, Framework, Level, Text
from mamori.assess.scoring import CSF_FUNCTIONS, Score, Scorecard
from mamori.errors import MamoriError

Language = Literal["ja", "en"]
LANGUAGES: tuple[Language, ...] = ("ja", "en")
IMPLEMENTATION_COLOUR = "#1d5fbf"
DOCUMENTATION_COLOUR = "#d97a06"
PREVIOUS_COLOUR = "#6b7280"


@dataclass(frozen=True, slots=True)
class RemediationItem:
    id: str
    question: str | None  # the question it closes the gap of, if any
    title: str
    owner: str
    due: date
    status: Literal["open", "done"]

    def __post_init__(self) -> None:
        if self.status not in ("open", "done"):
            raise MamoriError("FIELD_TYPE_INVALID", field="remediation.status", expected="open or done")


@dataclass(frozen=True, slots=True)
class MachineNote:
    """What one of the platform's own checks (assess/machine.py) found for a question."""

    question: str
    check: str
    detail: Text
    checked_at: str  # ISO 8601, as stored


@dataclass(frozen=True, slots=True)
class ReportInput:
    framework: Framework
    scorecard: Scorecard
    organisation_en: str
    organisation_ja: str
    year: int
    status: Literal["open", "locked"]
    locked_at: str | None  # ISO 8601, as stored
    reviewer: str | None  # who signed the locked assessment off
    remediation: tuple[RemediationItem, ...] = ()
    previous: Scorecard | None = None  # last year's, for the year-on-year columns
    machine_evidence: tuple[MachineNote, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in ("open", "locked"):
            raise MamoriError("FIELD_TYPE_INVALID", field="status", expected="open or locked")


# The report's labels: key -> (English, Japanese).
LABELS: Mapping[str, tuple[str, str]] = {
    "title": ("Cyber security self-assessment report", "サイバーセキュリティ・セルフアセスメント報告書"),
    "organisation": ("Organisation", "事業者名"),
    "year": ("Assessment year", "評価年度"),
    "bank": ("Question bank", "設問集"),
    "status": ("Status", "ステータス"),
    "status.open": ("Open: answers may still change", "未確定（回答は変更される可能性があります）"),
    "status.locked": ("Locked and signed off", "確定・承認済み"),
    "locked_at": ("Locked at", "確定日時"),
    "reviewer": ("Signed off by", "承認者"),
    "generated_at": ("Generated at", "作成日時"),
    "overall": ("Overall score", "総合スコア"),
    "implementation": ("Implementation", "実施状況"),
    "documentation": ("Documentation", "文書化"),
    "previous": ("Implementation, previous year", "実施状況（前年度）"),
    "delta": ("Change from previous year", "前年度比"),
    "delta.short": ("Δ", "前年比"),
    "answered": ("Answered / asked", "回答数／設問数"),
    "not_applicable": ("Not applicable", "対象外"),
    "method": (
        "Scores are the weighted means of the asked questions, in percent; an unanswered question counts as 0.",
        "スコアは対象となる設問の重み付き平均（％）です。未回答の設問は 0 として計算しています。",
    ),
    "radar": ("Scores by NIST CSF 2.0 function", "NIST CSF 2.0 の機能別スコア"),
    "bars": ("Scores by FSA guideline section", "金融庁ガイドラインの項目別スコア"),
    "drawn_as_zero": ("* no question asked: drawn as 0", "＊ 対象となる設問がないため 0 として表示"),
    "functions": ("CSF 2.0 function", "CSF 2.0 機能"),
    "guideline": ("FSA guideline section", "ガイドライン項目"),
    "sections": ("Scores by section of the bank", "設問集のセクション別スコア"),
    "section": ("Section", "セクション"),
    "gaps": ("Gaps against the target", "目標とのギャップ"),
    "gaps.none": (
        "No gaps: every asked question meets its target.",
        "ギャップはありません（すべての設問が目標を満たしています）。",
    ),
    "question": ("Question", "設問"),
    "id": ("ID", "ID"),
    "level": ("Level", "区分"),
    "level.basic": ("Basic", "基本"),
    "level.advanced": ("Advanced", "望ましい"),
    "weight": ("Weight", "重み"),
    "target": ("Target", "目標"),
    "achieved": ("Achieved", "達成"),
    "unanswered": ("unanswered", "未回答"),
    "remediation": ("Remediation plan", "改善計画"),
    "remediation.none": ("No remediation items.", "改善項目はありません。"),
    "action": ("Action", "対応内容"),
    "owner": ("Owner", "担当者"),
    "due": ("Due", "期限"),
    "remediation.open": ("Open", "未完了"),
    "remediation.done": ("Done", "完了"),
    "overdue": ("Overdue", "期限超過"),
    "evidence": ("Evidence from the platform's own checks", "プラットフォームによる自動確認"),
    "evidence.none": ("No machine evidence.", "自動確認の記録はありません。"),
    "check": ("Check", "確認項目"),
    "detail": ("Result", "結果"),
    "checked_at": ("Checked at", "確認日時"),
    "not_scored": ("not scored", "評価対象外"),
    "page": ("Page", "ページ"),
}

FUNCTION_NAMES: Mapping[str, Text] = {
    "GV": Text("Govern", "統治"),
    "ID": Text("Identify", "識別"),
    "PR": Text("Protect", "防御"),
    "DE": Text("Detect", "検知"),
    "RS": Text("Respond", "対応"),
    "RC": Text("Recover", "復旧"),
}

GUIDELINE_NAMES: Mapping[str, Text] = {
    "2.1": Text("Governance", "ガバナンス"),
    "2.2": Text("Identify", "特定"),
    "2.3": Text("Protect", "防御"),
    "2.4": Text("Detect", "検知"),
    "2.5": Text("Respond and recover", "対応・復旧"),
    "2.6": Text("Third-party risk management", "サードパーティリスク管理"),
}


def check_language(language: str) -> Language:
    if language == "ja":
        return "ja"
    if language == "en":
        return "en"
    raise MamoriError("FIELD_TYPE_INVALID", field="language", expected="ja or en")


def label(key: str, language: Language) -> str:
    en, ja = LABELS[key]
    return ja if language == "ja" else en


def text(value: Text, language: Language) -> str:
    return value.ja if language == "ja" else value.en


def percent(value: float | None) -> str:
    """``72.5%``; an em dash for a group with nothing asked."""
    return "—" if value is None else f"{value:.1f}%"


def signed(value: float | None) -> str:
    """A year-on-year change in points: ``+5.0``, ``-2.5``, ``0.0``; an em dash when either year is missing."""
    if value is None:
        return "—"
    return "0.0" if abs(value) < 0.05 else f"{value:+.1f}"  # a change below the shown precision is none


@dataclass(frozen=True, slots=True)
class ScoreRow:
    key: str  # section id, CSF function, guideline section, or "overall"
    label: str
    implementation: float | None
    documentation: float | None
    previous_implementation: float | None
    previous_documentation: float | None
    asked: int
    answered: int
    not_applicable: int

    @property
    def delta_implementation(self) -> float | None:
        return _delta(self.implementation, self.previous_implementation)

    @property
    def delta_documentation(self) -> float | None:
        return _delta(self.documentation, self.previous_documentation)


@dataclass(frozen=True, slots=True)
class GapRow:
    question: str
    section: str
    text: str
    level: str
    weight: int
    target: float  # percent
    achieved: float
    unanswered: bool


@dataclass(frozen=True, slots=True)
class RemediationRow:
    id: str
    question: str
    title: str
    owner: str
    due: str  # ISO date
    status: str
    overdue: bool


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    question: str
    check: str
    detail: str
    checked_at: str


@dataclass(frozen=True, slots=True)
class ReportView:
    """Everything the report shows, in one language; the renderers only lay it out."""

    language: Language
    title: str
    organisation: str  # in the report's language
    organisation_en: str
    organisation_ja: str
    year: int
    bank: str  # "id version"
    bank_title: str
    status: str
    locked_at: str
    reviewer: str
    generated_at: str
    has_previous: bool
    overall: ScoreRow
    functions: tuple[ScoreRow, ...]
    guideline: tuple[ScoreRow, ...]
    sections: tuple[ScoreRow, ...]
    gaps: tuple[GapRow, ...]
    remediation: tuple[RemediationRow, ...]
    evidence: tuple[EvidenceRow, ...]

    def label(self, key: str) -> str:
        return label(key, self.language)

    def score_heads(self, first: str) -> list[str]:
        """The head row of a score table: implementation and documentation, each with last year's change."""
        delta = [self.label("delta.short")] if self.has_previous else []
        return [first, self.label("implementation"), *delta, self.label("documentation"), *delta,
                self.label("answered"), self.label("not_applicable")]  # fmt: skip


def build_view(report: ReportInput, *, language: str, generated_at: datetime) -> ReportView:
    """The report's content in ``language`` (``ja`` or ``en``); overdue is judged on ``generated_at``'s date."""
    lang = check_language(language)
    card, previous, framework = report.scorecard, report.previous, report.framework

    def row(key: str, name: str, group: str) -> ScoreRow:
        now = _group(card, group).get(key)
        before = _group(previous, group).get(key) if previous is not None else None
        return _row(key, name, now, before)

    section_titles = {section.id: text(section.title, lang) for section in framework.sections}
    today = generated_at.date()
    return ReportView(
        language=lang,
        title=label("title", lang),
        organisation=report.organisation_ja if lang == "ja" else report.organisation_en,
        organisation_en=report.organisation_en,
        organisation_ja=report.organisation_ja,
        year=report.year,
        bank=f"{framework.id} {framework.version}",
        bank_title=text(framework.title, lang),
        status=label(f"status.{report.status}", lang),
        locked_at=report.locked_at or "—",
        reviewer=report.reviewer or "—",
        generated_at=generated_at.isoformat(timespec="minutes"),
        has_previous=previous is not None,
        overall=_row("overall", label("overall", lang), card.overall, previous.overall if previous else None),
        functions=tuple(row(f, f"{f} {text(FUNCTION_NAMES[f], lang)}", "function") for f in CSF_FUNCTIONS),
        guideline=tuple(row(g, f"§{g} {text(GUIDELINE_NAMES[g], lang)}", "guideline") for g in GUIDELINE_SECTIONS),
        sections=tuple(row(s.id, f"{s.id} {section_titles[s.id]}", "section") for s in framework.sections),
        gaps=tuple(
            GapRow(
                question=gap.question.id,
                section=section_titles.get(gap.top_section, gap.top_section),
                text=text(gap.question.text, lang),
                level=label("level.basic" if gap.question.level is Level.BASIC else "level.advanced", lang),
                weight=gap.question.weight,
                target=gap.target * 100,
                achieved=gap.achieved * 100,
                unanswered=gap.unanswered,
            )
            for gap in card.gaps
        ),
        remediation=tuple(
            RemediationRow(
                id=item.id,
                question=item.question or "—",
                title=item.title,
                owner=item.owner,
                due=item.due.isoformat(),
                status=label(f"remediation.{item.status}", lang),
                overdue=item.status == "open" and item.due < today,
            )
            for item in report.remediation
        ),
        evidence=tuple(
            EvidenceRow(note.question, note.check, text(note.detail, lang), note.checked_at)
            for note in report.machine_evidence
        ),
    )


def charts(view: ReportView) -> tuple[Chart, Chart]:
    """The radar by CSF 2.0 function and the bars by FSA guideline section, as drawn in both formats."""
    implementation, documentation = view.label("implementation"), view.label("documentation")
    series = [
        Series(implementation, tuple(r.implementation for r in view.functions), IMPLEMENTATION_COLOUR),
        Series(documentation, tuple(r.documentation for r in view.functions), DOCUMENTATION_COLOUR),
    ]
    if view.has_previous:
        previous = tuple(r.previous_implementation for r in view.functions)
        series.append(Series(view.label("previous"), previous, PREVIOUS_COLOUR, dashed=True, filled=False))
    radar = radar_chart(
        [r.label for r in view.functions], series, title=view.label("radar"), note=view.label("drawn_as_zero")
    )
    bars = bar_chart(
        [r.label for r in view.guideline],
        [
            Series(implementation, tuple(r.implementation for r in view.guideline), IMPLEMENTATION_COLOUR),
            Series(documentation, tuple(r.documentation for r in view.guideline), DOCUMENTATION_COLOUR),
        ],
        title=view.label("bars"),
        note=view.label("drawn_as_zero"),
    )
    return radar, bars


def _group(card: Scorecard, group: str) -> Mapping[str, Score]:
    return {"function": card.by_function, "guideline": card.by_guideline, "section": card.by_section}[group]


def _row(key: str, name: str, now: Score | None, before: Score | None) -> ScoreRow:
    return ScoreRow(
        key=key,
        label=name,
        implementation=now.implementation if now else None,
        documentation=now.documentation if now else None,
        previous_implementation=before.implementation if before else None,
        previous_documentation=before.documentation if before else None,
        asked=now.asked if now else 0,
        answered=now.answered if now else 0,
        not_applicable=now.not_applicable if now else 0,
    )


def _delta(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before
