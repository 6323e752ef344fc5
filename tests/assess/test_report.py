"""Assessment reports (assess/report.py, report_html.py, pdf.py, charts.py): HTML and PDF in Japanese and English
from the shipped bank, the charts' geometry, escaping of what people typed, and text that can be read back out of
the PDF (pypdf, an independent reader)."""

from __future__ import annotations

import dataclasses
import io
import math
import re
from datetime import date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from xml.etree.ElementTree import Element

import pytest
from defusedxml.ElementTree import fromstring
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from mamori.assess.answers import Answer, answer
from mamori.assess.charts import (
    Label,
    Line,
    Polygon,
    Rect,
    Series,
    bar_chart,
    bar_length,
    clamp,
    radar_chart,
    radar_point,
    to_svg,
)
from mamori.assess.framework import AnswerType, Framework, Text, load_framework
from mamori.assess.pdf import render_pdf, truetype_subset
from mamori.assess.report import MachineNote, RemediationItem, ReportInput, build_view, signed
from mamori.assess.report_html import render_html
from mamori.assess.scoring import Score, score
from mamori.errors import MamoriError

JST = timezone(timedelta(hours=9))
NOW = datetime(2026, 4, 1, 9, 0, tzinfo=JST)
ORGANISATION_JA = "株式会社みらい暗号資産取引所"
ORGANISATION_EN = "Mirai Crypto Exchange K.K."
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def bank() -> Framework:
    return load_framework(Path(str(resources.files("mamori.content").joinpath("cssa"))))


def answers(framework: Framework, shift: int) -> dict[str, Answer]:
    """yes / partial / no in turn on the ynpna questions, levels on the maturity ones; choice questions left blank."""
    given = {}
    for index, question in enumerate(framework.questions):
        step = index + shift
        if question.answer is AnswerType.YNPNA:
            given[question.id] = answer(question, ("yes", "partial", "no", "yes")[step % 4], ("yes", "no")[step % 2])
        elif question.answer is AnswerType.MATURITY:
            given[question.id] = answer(question, str(step % 5), "partial")
    return given


def report_of(framework: Framework, **changes: object) -> ReportInput:
    first = framework.questions[0].id
    base = ReportInput(
        framework=framework,
        scorecard=score(framework, answers(framework, 0)),
        organisation_en=ORGANISATION_EN,
        organisation_ja=ORGANISATION_JA,
        year=2026,
        status="locked",
        locked_at="2026-03-31T17:00:00+09:00",
        reviewer="山田 太郎",
        remediation=(
            RemediationItem("R-1", first, "取締役会の承認手続きを整備する", "佐藤", date(2026, 3, 31), "open"),
            RemediationItem("R-2", None, "Write the key ceremony runbook", "Suzuki", date(2026, 4, 1), "open"),
            RemediationItem("R-3", None, "Retire the shared admin account", "Tanaka", date(2025, 12, 31), "done"),
        ),
        machine_evidence=(
            MachineNote(
                "CX-001",
                "guard.cold-wallet-employee-quorum",
                Text(
                    "Every cold-wallet rule needs two employees",
                    "すべてのコールドウォレット規則で従業員2名の承認が必要",
                ),
                "2026-03-30T10:00:00+09:00",
            ),
        ),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def report(bank: Framework) -> ReportInput:
    return report_of(bank, previous=score(bank, answers(bank, 1)))


@pytest.fixture(scope="module")
def pdfs(report: ReportInput) -> dict[str, bytes]:
    """The full-bank report as PDF in each language (rendered once: about 3 s each)."""
    return {language: render_pdf(report, language=language, generated_at=NOW) for language in ("ja", "en")}


@pytest.fixture(scope="module")
def pdf_text(pdfs: dict[str, bytes]) -> dict[str, str]:
    """The text pypdf, an independent reader, extracts from each PDF."""
    return {language: text_of(data) for language, data in pdfs.items()}


def text_of(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def svgs(html: str) -> list[Element]:
    return [fromstring(found) for found in re.findall(r"<svg\b.*?</svg>", html, flags=re.DOTALL)]


# --- HTML ---------------------------------------------------------------------------------------------------------


def test_the_japanese_page_is_in_japanese(report: ReportInput) -> None:
    html = render_html(report, language="ja", generated_at=NOW)
    assert html.startswith("<!DOCTYPE html>") and '<html lang="ja">' in html
    labels = ["総合スコア", "実施状況", "文書化", "目標とのギャップ", "改善計画", "§2.1 ガバナンス", "§2.5 対応・復旧"]
    labels += ["§2.6 サードパーティリスク管理", "GV 統治", "確定・承認済み", "期限超過"]
    for label in labels:
        assert label in html, label
    assert "Overall score" not in html and "Implementation" not in html
    both = f'<span lang="ja">{ORGANISATION_JA}</span> / <span lang="en">{ORGANISATION_EN}</span>'
    assert both in html  # both names in the header
    assert report.scorecard.gaps[0].question.text.ja in html


def test_the_english_page_is_in_english(report: ReportInput) -> None:
    html = render_html(report, language="en", generated_at=NOW)
    assert '<html lang="en">' in html
    for label in ("Overall score", "Implementation", "Documentation", "Gaps against the target", "Remediation plan",
                  "§2.1 Governance", "§2.5 Respond and recover", "§2.6 Third-party risk management", "GV Govern",
                  "Overdue"):  # fmt: skip
        assert label in html, label
    assert "総合スコア" not in html and "実施状況" not in html
    assert f"<title>Cyber security self-assessment report — {ORGANISATION_EN} 2026</title>" in html
    assert ORGANISATION_JA in html


def test_the_page_is_self_contained(report: ReportInput) -> None:
    html = render_html(report, language="en", generated_at=NOW)
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "url(" not in html


def test_the_page_holds_a_radar_with_six_axes_and_a_bar_chart(report: ReportInput) -> None:
    radar, bars = svgs(render_html(report, language="ja", generated_at=NOW))
    lines = [line for line in radar.findall(f"{SVG}line") if not line.get("stroke-dasharray")]  # not the legend's
    centres = {(line.get("x1"), line.get("y1")) for line in lines}
    assert len(lines) == 6 and len(centres) == 1  # six axes from one centre
    labels = [t.text or "" for t in radar.findall(f"{SVG}text")]
    assert [label.split()[0] for label in labels if label[:2] in {"GV", "ID", "PR", "DE", "RS", "RC"}] == [
        "GV", "ID", "PR", "DE", "RS", "RC"
    ]  # fmt: skip
    dashed = [p for p in radar.findall(f"{SVG}polygon") if p.get("stroke-dasharray")]
    assert len(dashed) == 1  # last year's implementation
    assert bars.findtext(f"{SVG}title") == "金融庁ガイドラインの項目別スコア"
    assert len(bars.findall(f"{SVG}rect")) == 2 * 6 + 2  # two bars per guideline section and two legend swatches


def test_what_people_typed_is_escaped(bank: Framework) -> None:
    hostile = '<script>alert("x")</script>'
    item = RemediationItem("R-<b>", None, '"><img src=x onerror=alert(1)>', "<i>owner</i>", date(2027, 1, 1), "open")
    note = MachineNote("Q<1>", "check&<", Text("<b>en</b>", "<b>ja</b>"), "<now>")
    report = report_of(bank, organisation_en=hostile, organisation_ja=hostile, reviewer=hostile, remediation=(item,),
                       machine_evidence=(note,))  # fmt: skip
    for language in ("ja", "en"):
        html = render_html(report, language=language, generated_at=NOW)
        assert "<script" not in html and "<img" not in html and "<b>" not in html and "<i>" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
        assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html and "check&amp;&lt;" in html


def test_the_gap_list_follows_the_scorecard(report: ReportInput) -> None:
    html = render_html(report, language="en", generated_at=NOW)
    listed = re.findall(r'<tr data-question="([^"]+)">', html)
    assert listed == [gap.question.id for gap in report.scorecard.gaps] and len(listed) > 10
    weights = [gap.question.weight for gap in report.scorecard.gaps]
    assert weights == sorted(weights, reverse=True)


def test_an_open_item_past_its_due_date_is_overdue(report: ReportInput) -> None:
    view = build_view(report, language="en", generated_at=NOW)
    assert [(r.id, r.overdue) for r in view.remediation] == [("R-1", True), ("R-2", False), ("R-3", False)]
    html = render_html(report, language="en", generated_at=NOW)
    rows = re.findall(r'<tr class="(overdue|on-time)">.*?</tr>', html)
    assert rows == ["overdue", "on-time", "on-time"]  # due today is not late; a done item never is
    assert html.count('class="overdue-mark"') == 1
    later = render_html(report, language="en", generated_at=NOW + timedelta(days=1))
    assert later.count('class="overdue-mark"') == 2


def test_last_years_scores_give_the_changes(bank: Framework, report: ReportInput) -> None:
    assert report.previous is not None
    now, before = report.scorecard.overall, report.previous.overall
    assert now.implementation is not None and before.implementation is not None
    change = signed(now.implementation - before.implementation)
    html = render_html(report, language="en", generated_at=NOW)
    assert f"Change from previous year: {change}" in html
    section = bank.sections[0].id
    current, previous = report.scorecard.by_section[section], report.previous.by_section[section]
    assert current.implementation is not None and previous.implementation is not None
    table = re.search(r'<table class="sections">.*?</table>', html, flags=re.DOTALL)
    assert table is not None
    row = re.search(rf"<tr><td class=\"nowrap\">{section} .*?</tr>", table.group(0))
    assert row is not None and f">{signed(current.implementation - previous.implementation)}<" in row.group(0)
    without = render_html(report_of(bank), language="en", generated_at=NOW)
    assert "Change from previous year" not in without and '<th class="number">Δ</th>' not in without
    assert "stroke-dasharray" not in svgs(without)[0].findall(f"{SVG}polygon")[-1].attrib


def test_signed_changes() -> None:
    assert [signed(v) for v in (5.0, -2.54, 0.04, -0.04, None)] == ["+5.0", "-2.5", "0.0", "0.0", "—"]


def test_scores_of_groups_with_nothing_asked_are_drawn_as_zero(bank: Framework) -> None:
    nothing = Score(None, None, 0, 0, 0)
    card = score(bank, {})
    functions = {**card.by_function, "RC": nothing, "DE": nothing}
    guideline = {**card.by_guideline, "2.6": nothing}
    card = dataclasses.replace(card, overall=nothing, gaps=card.gaps[:3], by_function=functions, by_guideline=guideline)
    empty = report_of(bank, scorecard=card, previous=card, status="open", locked_at=None, reviewer=None,
                      remediation=(), machine_evidence=())  # fmt: skip
    html = render_html(empty, language="en", generated_at=NOW)
    radar, bars = svgs(html)
    assert "DE Detect*" in [t.text for t in radar.findall(f"{SVG}text")]
    assert "* no question asked: drawn as 0" in [t.text for t in bars.findall(f"{SVG}text")]
    assert "Open: answers may still change" in html and "No remediation items." in html
    assert "No machine evidence." in html
    for language in ("ja", "en"):
        text = text_of(render_pdf(empty, language=language, generated_at=NOW))
        assert ORGANISATION_JA in text and "—" in text


def test_unknown_language_and_status_are_refused(report: ReportInput) -> None:
    with pytest.raises(MamoriError) as raised:
        render_html(report, language="fr", generated_at=NOW)
    assert raised.value.code == "FIELD_TYPE_INVALID"
    with pytest.raises(MamoriError):
        dataclasses.replace(report, status="closed")  # type: ignore[arg-type]
    with pytest.raises(MamoriError):
        RemediationItem("R", None, "t", "o", date(2026, 1, 1), "later")  # type: ignore[arg-type]


# --- PDF ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_pdf_holds_the_japanese_name_as_text(pdf_text: dict[str, str], language: str) -> None:
    assert ORGANISATION_JA in pdf_text[language]
    assert ORGANISATION_EN in pdf_text[language]


def test_the_japanese_pdf_is_in_japanese(pdf_text: dict[str, str], report: ReportInput) -> None:
    text = pdf_text["ja"]
    for label in ("総合スコア", "ガバナンス", "対応・復旧", "サードパーティリスク管理", "目標とのギャップ", "改善計画",
                  "期限超過", "統治", "前年比"):  # fmt: skip
        assert label in text, label
    assert "Overall score" not in text
    assert report.scorecard.gaps[0].question.id in text


def test_the_english_pdf_is_in_english(pdf_text: dict[str, str]) -> None:
    text = pdf_text["en"]
    for label in ("Overall score", "Governance", "Respond and recover", "Third-party risk management",
                  "Gaps against the target", "Remediation plan", "Overdue", "Govern"):  # fmt: skip
        assert label in text, label
    assert "総合スコア" not in text


def test_the_pdf_embeds_a_truetype_subset_of_noto_sans_jp(pdfs: dict[str, bytes]) -> None:
    reader = PdfReader(io.BytesIO(pdfs["en"]))
    font = reader.pages[0]["/Resources"]["/Font"]
    (only,) = [f.get_object() for f in font.values()]
    assert only["/Encoding"] == "/Identity-H" and str(only["/BaseFont"]).endswith("+NotoSansJP")
    assert only["/DescendantFonts"][0].get_object()["/Subtype"] == "/CIDFontType2"
    assert (
        reader.metadata is not None and reader.metadata.title is not None and ORGANISATION_EN in reader.metadata.title
    )


def test_the_same_report_gives_the_same_bytes(report: ReportInput, pdfs: dict[str, bytes]) -> None:
    assert render_pdf(report, language="en", generated_at=NOW) == pdfs["en"]


def test_the_font_subset_holds_only_what_is_asked_with_its_licence() -> None:
    font = TTFont(io.BytesIO(truetype_subset("株式A𝄞")))  # the musical symbol is not in the font: left out
    assert "glyf" in font and "CFF " not in font
    assert set(font.getBestCmap()) == {ord(c) for c in "株式A"}
    assert font.getGlyphOrder()[0] == ".notdef" and len(font.getGlyphOrder()) == 4
    assert "SIL Open Font License" in font["name"].getDebugName(13)
    glyph = font["glyf"][font.getBestCmap()[ord("株")]]
    assert glyph.numberOfContours > 0  # a real outline, not an empty box


def test_a_font_file_other_than_the_pinned_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from mamori.assess import pdf

    monkeypatch.setattr(pdf, "FONT_SHA256", "00" * 32)
    with pytest.raises(MamoriError) as caught:
        truetype_subset("株式会社")
    assert caught.value.code == "INPUT_UNREADABLE" and "pinned" in caught.value.message_en


def test_the_documented_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "assess-reports.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```python\n(.*?)```", doc, flags=re.DOTALL)
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "docs/assess-reports.md", "exec"), {})  # noqa: S102 - the doc's own example
    assert ORGANISATION_JA in text_of((tmp_path / "report-ja.pdf").read_bytes())
    assert "Mirai Crypto Exchange K.K." in (tmp_path / "report-en.html").read_text(encoding="utf-8")


# --- charts -------------------------------------------------------------------------------------------------------


def test_radar_points_lie_between_the_centre_and_the_outer_ring() -> None:
    centre, radius = (200.0, 150.0), 120.0
    assert radar_point(centre, radius, 0, 6, 100) == pytest.approx((200, 30))  # axis 0 points up
    assert radar_point(centre, radius, 3, 6, 100) == pytest.approx((200, 270))  # axis 3 points down
    right = radar_point(centre, radius, 1, 6, 100)  # 60 degrees clockwise from the top
    assert right == pytest.approx((200 + radius * math.sin(math.pi / 3), 150 - radius * math.cos(math.pi / 3)))
    for index in range(6):
        assert math.dist(radar_point(centre, radius, index, 6, 100), centre) == pytest.approx(radius)
        assert math.dist(radar_point(centre, radius, index, 6, 50), centre) == pytest.approx(radius / 2)
        assert radar_point(centre, radius, index, 6, 0) == pytest.approx(centre)
        assert radar_point(centre, radius, index, 6, None) == pytest.approx(centre)
    assert radar_point(centre, radius, 2, 6, 150) == radar_point(centre, radius, 2, 6, 100)
    assert radar_point(centre, radius, 2, 6, -5) == pytest.approx(centre)


def test_clamp_and_bar_length_at_the_edges() -> None:
    assert [clamp(v) for v in (None, math.nan, -1, 0, 42.5, 100, 101)] == [0, 0, 0, 0, 42.5, 100, 100]
    assert [bar_length(v, 300) for v in (None, 0, 50, 100, 250)] == [0, 0, 150, 300, 300]


def test_the_radar_draws_each_score_on_its_axis() -> None:
    axes = ["GV", "ID", "PR", "DE", "RS", "RC"]
    chart = radar_chart(axes, [Series("now", (100, 0, 50, None, 100, 25), "#000000")], title="t", note="* none")
    spokes = [s for s in chart.shapes if isinstance(s, Line)]
    assert len(spokes) == 6 and len({s.start for s in spokes}) == 1
    centre = spokes[0].start
    rings = [s for s in chart.shapes if isinstance(s, Polygon) and s.fill is None]
    assert len(rings) == 5 and rings[-1].points == tuple(s.end for s in spokes)  # the 100% ring meets the spokes
    (series,) = [s for s in chart.shapes if isinstance(s, Polygon) and s.fill == "#000000"]
    assert series.points[0] == pytest.approx(spokes[0].end)  # 100%: on the outer ring
    assert series.points[1] == pytest.approx(centre) and series.points[3] == pytest.approx(centre)  # 0 and None
    assert math.dist(series.points[2], centre) == pytest.approx(math.dist(spokes[2].end, centre) / 2)
    texts = [s.text for s in chart.labels]
    assert "DE*" in texts and "* none" in texts and "GV" in texts
    complete = radar_chart(axes, [Series("now", (10, 20, 30, 40, 50, 60), "#000000")], title="t", note="* none")
    assert "* none" not in [s.text for s in complete.labels]
    with pytest.raises(MamoriError):
        radar_chart(["a", "b"], [], title="t", note="n")


def test_bars_are_as_long_as_their_scores() -> None:
    chart = bar_chart(["§2.1", "§2.2", "§2.3"], [Series("impl", (100, 0, None), "#111111")], title="t", note="* n")
    bars = [s for s in chart.shapes if isinstance(s, Rect) and s.fill == "#111111" and s.height > 10]
    assert len(bars) == 1 and bars[0].width == pytest.approx(300)  # 0 and None draw no bar
    texts = [s.text for s in chart.labels]
    assert {"100.0%", "0.0%", "—*", "§2.3*", "* n"} <= set(texts)
    ticks = sorted({s.start[0] for s in chart.shapes if isinstance(s, Line)})
    assert len(ticks) == 5 and ticks[-1] - ticks[0] == pytest.approx(300)
    assert bars[0].x == pytest.approx(ticks[0])


def test_svg_is_well_formed_and_escaped() -> None:
    chart = radar_chart(["<a>", "b&c", '"d"'], [Series("<s>", (1, 2, 3), "#123456")], title="<t>", note="n")
    svg = to_svg(chart)
    root = fromstring(svg)
    assert root.findtext(f"{SVG}title") == "<t>" and root.get("aria-label") == "<t>"
    assert {"<a>", "b&c", '"d"', "<s>"} <= {t.text for t in root.findall(f"{SVG}text")}
    assert len([s for s in chart.shapes if isinstance(s, Label)]) == len(root.findall(f"{SVG}text"))
