"""The assessment report as a PDF (A4, fpdf2): the same content as the HTML page, charts drawn as vector graphics.

Text stays text: every string is set in Noto Sans JP (SIL Open Font License 1.1, from the ``pylopdf-fonts-jp``
package), embedded as a subset, so the Japanese organisation name can be searched, copied and extracted in both
the Japanese and the English report. The font ships with CFF (PostScript) outlines; fpdf2 embeds those with a
custom CMap encoding that common extractors (pypdf among them) misread, so :func:`truetype_subset` first builds a
small TrueType font holding only the characters of this report, which fpdf2 embeds as an Identity-H CID font that
every reader understands. The subset lives in a temporary folder for the length of one render: fpdf2 reads fonts
from files only. The same input and ``generated_at`` give the same bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import string
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, WrapMode
from fpdf.fonts import FontFace

from mamori.assess.charts import Chart, Dot, Label, Line, Polygon, Rect
from mamori.assess.report import LABELS, ReportInput, ReportView, ScoreRow, build_view, charts, percent, signed
from mamori.errors import InputError

FONT_PACKAGE, FONT_FILE = "pylopdf_fonts_jp", "NotoSansJP-Regular.otf"
# The font is data from a small third-party package: its bytes are pinned (Noto Sans JP 2.004 as that package's
# 0.1.1 ships it), so a changed or replaced file is refused before fontTools parses a byte of it.
FONT_SHA256 = "dff723ba59d57d136764a04b9b2d03205544f7cd785a711442d6d2d085ac5073"
FAMILY = "NotoSansJP"
TEXT = (17, 24, 39)
MUTED = (75, 85, 99)
ACCENT = (29, 95, 191)
DOCUMENTATION = (217, 122, 6)
BAD = (180, 35, 24)
RULE = (213, 218, 225)
HEAD_FILL = (238, 242, 247)
OVERDUE_FILL = (254, 243, 242)
PT = 25.4 / 72  # millimetres per point
LAYOUT_CHARACTERS = "·—§/()*%+-:"  # what the layout adds to the view's text


def render_pdf(report: ReportInput, *, language: str, generated_at: datetime) -> bytes:
    """The report as PDF bytes in ``language`` (``ja`` or ``en``); overdue is judged on ``generated_at``'s date."""
    view = build_view(report, language=language, generated_at=generated_at)
    radar, bars = charts(view)
    used = "".join(_strings(view)) + "".join(label.text for label in (*radar.labels, *bars.labels))
    used += "".join(en if view.language == "en" else ja for en, ja in LABELS.values()) + LAYOUT_CHARACTERS
    with tempfile.TemporaryDirectory(prefix="mamori-report-") as folder:
        font = Path(folder) / "report-font.ttf"
        font.write_bytes(truetype_subset(used + string.printable))
        pdf = _Document(view, generated_at)
        pdf.add_font(FAMILY, "", font)
        pdf.set_font(FAMILY, size=9)
        _lay_out(pdf, view, radar, bars)
        return bytes(pdf.output())


def _font_bytes() -> bytes:
    """The pinned font file, found through the package's installed files (its code is never imported)."""
    where = f"{FONT_PACKAGE}/{FONT_FILE}"
    try:
        data = Path(str(metadata.distribution("pylopdf-fonts-jp").locate_file(where))).read_bytes()
    except (metadata.PackageNotFoundError, OSError) as exc:
        raise InputError("INPUT_UNREADABLE", source=where, reason=str(exc)) from exc
    if hashlib.sha256(data).hexdigest() != FONT_SHA256:
        raise InputError("INPUT_UNREADABLE", source=where, reason="not the pinned font file (SHA-256 differs)")
    return data


def truetype_subset(characters: str) -> bytes:
    """Noto Sans JP cut down to ``characters`` (those it has) and .notdef, with TrueType outlines.

    A new font is built from the glyphs needed rather than the CFF font subset: drawing a few hundred glyphs
    through fontTools' cubic-to-quadratic pen (1 font unit tolerance) is faster than subsetting the CFF table.
    The name table keeps the font's copyright and licence.
    """
    data = _font_bytes()
    source = TTFont(io.BytesIO(data))
    cmap: dict[int, str] = source.getBestCmap()
    codes = sorted({ord(c) for c in characters} & cmap.keys())
    names = [".notdef", *sorted({cmap[code] for code in codes} - {".notdef"}, key=source.getGlyphID)]
    outlines = source.getGlyphSet()
    glyphs = {}
    for name in names:
        pen = TTGlyphPen(None)
        outlines[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    head, hhea, os2, advances = source["head"], source["hhea"], source["OS/2"], source["hmtx"].metrics
    builder = FontBuilder(head.unitsPerEm, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({code: cmap[code] for code in codes})
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics({name: (advances[name][0], getattr(glyphs[name], "xMin", 0)) for name in names})
    builder.setupHorizontalHeader(ascent=hhea.ascent, descent=hhea.descent, lineGap=hhea.lineGap)
    os2_fields = ("usWeightClass", "usWidthClass", "fsType", "sTypoAscender", "sTypoDescender", "sTypoLineGap",
                  "usWinAscent", "usWinDescent", "sxHeight", "sCapHeight", "achVendID", "panose")  # fmt: skip
    builder.setupOS2(**{field: getattr(os2, field) for field in os2_fields})
    kept = {0, 1, 2, 3, 4, 5, 6, 13, 14}  # copyright, names, version, licence and its URL
    builder.setupNameTable(
        {r.nameID: r.toUnicode() for r in source["name"].names if r.platformID == 3 and r.nameID in kept}, mac=False
    )
    builder.setupPost(keepGlyphNames=False)
    builder.setupHead(unitsPerEm=head.unitsPerEm, fontRevision=head.fontRevision, created=head.created,
                      modified=head.modified)  # fmt: skip
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue()


def _strings(value: object) -> Iterator[str]:
    """Every string in a view, walking its dataclasses and tuples."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, tuple):
        for item in value:
            yield from _strings(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _strings(getattr(value, field.name))


class _Document(FPDF):
    def __init__(self, view: ReportView, generated_at: datetime) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.view = view
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=16)
        self.alias_nb_pages()
        self.set_title(f"{view.title} {view.year} — {view.organisation}")
        self.set_author(view.organisation)
        self.set_subject(f"{view.bank} — {view.bank_title}")
        self.set_creator("mamori")
        self.set_lang("ja-JP" if view.language == "ja" else "en")
        self.set_creation_date(generated_at)
        self.wrap = WrapMode.CHAR if view.language == "ja" else WrapMode.WORD
        self.add_page()

    def footer(self) -> None:
        view = self.view
        self.set_y(-11)
        with self.local_context(font_size_pt=7, text_color=MUTED):
            self.cell(0, 4, f"{view.organisation} · {view.year} · {view.title}", align=Align.L)
            self.set_x(self.l_margin)
            self.cell(0, 4, f"{view.label('page')} {self.page_no()} / {{nb}}", align=Align.R)


def _lay_out(pdf: _Document, view: ReportView, radar: Chart, bars: Chart) -> None:
    _header(pdf, view)
    _overall(pdf, view)
    _heading(pdf, radar.title, keep=radar.height * 0.25 + 10)
    _chart(pdf, radar, width=105)
    _score_table(pdf, view, view.label("functions"), view.functions)
    _heading(pdf, bars.title, keep=bars.height * 0.3 + 10)
    _chart(pdf, bars, width=min(175.0, bars.width * 0.3))
    _score_table(pdf, view, view.label("guideline"), view.guideline)
    _heading(pdf, view.label("sections"))
    _score_table(pdf, view, view.label("section"), view.sections)
    _gaps(pdf, view)
    _remediation(pdf, view)
    _evidence(pdf, view)


def _header(pdf: _Document, view: ReportView) -> None:
    width = pdf.epw
    with pdf.local_context(font_size_pt=8, text_color=MUTED):
        pdf.multi_cell(width, 4, view.bank_title, wrapmode=pdf.wrap, new_x="LMARGIN", new_y="NEXT")
    with pdf.local_context(font_size_pt=17, text_color=TEXT):
        pdf.multi_cell(width, 9, f"{view.title} {view.year}", wrapmode=pdf.wrap, new_x="LMARGIN", new_y="NEXT")
    with pdf.local_context(font_size_pt=13, text_color=TEXT):
        pdf.multi_cell(width, 7, view.organisation, wrapmode=pdf.wrap, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    meta = [
        ("organisation", f"{view.organisation_ja} / {view.organisation_en}"),
        ("year", str(view.year)),
        ("bank", f"{view.bank} — {view.bank_title}"),
        ("status", view.status),
        ("locked_at", view.locked_at),
        ("reviewer", view.reviewer),
        ("generated_at", view.generated_at),
    ]
    _table(pdf, [(view.label(key), value) for key, value in meta], (0.22, 0.78), head=False, borders="NONE", size=9)
    with pdf.local_context(draw_color=ACCENT, line_width=0.8):
        pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.l_margin + width, pdf.get_y() + 1)
    pdf.ln(4)


def _overall(pdf: _Document, view: ReportView) -> None:
    _heading(pdf, view.label("overall"), keep=40)
    overall, top, x = view.overall, pdf.get_y(), pdf.l_margin
    boxes = (
        ("implementation", overall.implementation, overall.delta_implementation, ACCENT),
        ("documentation", overall.documentation, overall.delta_documentation, DOCUMENTATION),
    )
    for key, value, delta, colour in boxes:
        with pdf.local_context(draw_color=RULE, line_width=0.3):
            pdf.rect(x, top, 58, 22 if view.has_previous else 18)
        pdf.set_xy(x + 3, top + 2)
        with pdf.local_context(font_size_pt=9, text_color=TEXT):
            pdf.cell(52, 4, view.label(key))
        pdf.set_xy(x + 3, top + 7)
        with pdf.local_context(font_size_pt=20, text_color=colour):
            pdf.cell(52, 8, percent(value))
        if view.has_previous:
            pdf.set_xy(x + 3, top + 16)
            with pdf.local_context(font_size_pt=8, text_color=MUTED):
                pdf.cell(52, 4, f"{view.label('delta')}: {signed(delta)}")
        x += 62
    pdf.set_xy(pdf.l_margin, top + (24 if view.has_previous else 20))
    with pdf.local_context(font_size_pt=8, text_color=MUTED):
        counts = (
            f"{view.label('answered')}: {overall.answered} / {overall.asked} · "
            f"{view.label('not_applicable')}: {overall.not_applicable}"
        )
        pdf.multi_cell(pdf.epw, 4, counts, wrapmode=pdf.wrap, new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(pdf.epw, 4, view.label("method"), wrapmode=pdf.wrap, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _heading(pdf: _Document, title: str, *, keep: float = 20) -> None:
    """A section heading, moved to the next page with what follows it when fewer than ``keep`` mm are left."""
    if pdf.will_page_break(keep + 10):
        pdf.add_page()
    pdf.ln(3)
    y = pdf.get_y()
    with pdf.local_context(fill_color=ACCENT):
        pdf.rect(pdf.l_margin, y + 0.8, 1.2, 5.4, style="F")
    pdf.set_x(pdf.l_margin + 3)
    with pdf.local_context(font_size_pt=12, text_color=TEXT):
        pdf.multi_cell(pdf.epw - 3, 7, title, wrapmode=pdf.wrap, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _chart(pdf: _Document, chart: Chart, *, width: float) -> None:
    """Draws ``chart`` as vector graphics, ``width`` mm wide, centred, below the current position."""
    scale = width / chart.width
    if pdf.will_page_break(chart.height * scale):
        pdf.add_page()
    left, top = pdf.l_margin + (pdf.epw - width) / 2, pdf.get_y()

    def at(point: tuple[float, float]) -> tuple[float, float]:
        return left + point[0] * scale, top + point[1] * scale

    for shape in chart.shapes:
        with pdf.local_context():
            if isinstance(shape, Line):
                pdf.set_draw_color(shape.colour)
                pdf.set_line_width(shape.width * scale)
                if shape.dashed:
                    pdf.set_dash_pattern(dash=5 * scale, gap=4 * scale)
                pdf.line(*at(shape.start), *at(shape.end))
            elif isinstance(shape, Polygon):
                points = [at(p) for p in shape.points]
                if shape.fill is not None:
                    with pdf.local_context(fill_opacity=shape.fill_opacity, fill_color=shape.fill):
                        pdf.polygon(points, style="F")
                pdf.set_draw_color(shape.colour)
                pdf.set_line_width(shape.width * scale)
                if shape.dashed:
                    pdf.set_dash_pattern(dash=6 * scale, gap=4 * scale)
                pdf.polygon(points, style="D")
            elif isinstance(shape, Rect):
                pdf.set_fill_color(shape.fill)
                pdf.rect(*at((shape.x, shape.y)), shape.width * scale, shape.height * scale, style="F")
            elif isinstance(shape, Dot):
                pdf.set_fill_color(shape.fill)
                pdf.circle(*at(shape.centre), shape.radius * scale, style="F")
            elif isinstance(shape, Label):
                _label(pdf, shape, at(shape.at), scale)
    pdf.set_y(top + chart.height * scale + 2)


def _label(pdf: _Document, label: Label, at: tuple[float, float], scale: float) -> None:
    pdf.set_font_size(label.size * scale / PT)
    pdf.set_text_color(label.colour)
    x, y = at
    width = pdf.get_string_width(label.text)
    x -= {"start": 0.0, "middle": width / 2, "end": width}[label.anchor]
    pdf.text(x, y, label.text)


def _score_table(pdf: _Document, view: ReportView, first: str, rows: Sequence[ScoreRow]) -> None:
    heads = view.score_heads(first)
    body: list[tuple[str, ...]] = []
    for row in rows:
        cells = [row.label, percent(row.implementation)]
        if view.has_previous:
            cells.append(signed(row.delta_implementation))
        cells.append(percent(row.documentation))
        if view.has_previous:
            cells.append(signed(row.delta_documentation))
        cells += [f"{row.answered} / {row.asked}", str(row.not_applicable)]
        body.append(tuple(cells))
    widths = (0.3, 0.14, 0.07, 0.15, 0.07, 0.16, 0.11) if view.has_previous else (0.38, 0.15, 0.16, 0.18, 0.13)
    _table(pdf, [tuple(heads), *body], widths, numeric_from=1)
    pdf.ln(2)


def _gaps(pdf: _Document, view: ReportView) -> None:
    _heading(pdf, view.label("gaps"))
    if not view.gaps:
        _paragraph(pdf, view.label("gaps.none"))
        return
    heads = ("#", *(view.label(k) for k in ("id", "question", "level", "weight", "target", "achieved")))
    rows: list[tuple[str, ...]] = [heads]
    for index, gap in enumerate(view.gaps, start=1):
        achieved = percent(gap.achieved) + (f"\n({view.label('unanswered')})" if gap.unanswered else "")
        rows.append((str(index), gap.question, gap.text, gap.level, str(gap.weight), percent(gap.target), achieved))
    _table(pdf, rows, (0.05, 0.09, 0.49, 0.09, 0.07, 0.09, 0.12), numeric_from=4, numeric_first=True)


def _remediation(pdf: _Document, view: ReportView) -> None:
    _heading(pdf, view.label("remediation"))
    if not view.remediation:
        _paragraph(pdf, view.label("remediation.none"))
        return
    rows: list[tuple[str, ...]] = [tuple(view.label(k) for k in ("id", "action", "question", "owner", "due", "status"))]
    overdue: set[int] = set()
    for index, item in enumerate(view.remediation, start=1):
        status = f"{item.status} · {view.label('overdue')}" if item.overdue else item.status
        if item.overdue:
            overdue.add(index)
        rows.append((item.id, item.title, item.question, item.owner, item.due, status))
    _table(pdf, rows, (0.09, 0.35, 0.11, 0.16, 0.13, 0.16), highlighted=overdue)


def _evidence(pdf: _Document, view: ReportView) -> None:
    _heading(pdf, view.label("evidence"))
    if not view.evidence:
        _paragraph(pdf, view.label("evidence.none"))
        return
    rows: list[tuple[str, ...]] = [tuple(view.label(k) for k in ("question", "check", "detail", "checked_at"))]
    rows += [(note.question, note.check, note.detail, note.checked_at) for note in view.evidence]
    _table(pdf, rows, (0.13, 0.3, 0.32, 0.25))


def _paragraph(pdf: _Document, text: str) -> None:
    with pdf.local_context(font_size_pt=9, text_color=TEXT):
        pdf.multi_cell(pdf.epw, 5, text, wrapmode=pdf.wrap, new_x="LMARGIN", new_y="NEXT")


def _table(
    pdf: _Document,
    rows: Sequence[tuple[str, ...]],
    widths: Sequence[float],
    *,
    head: bool = True,
    borders: str = "ALL",
    numeric_from: int | None = None,
    numeric_first: bool = False,
    highlighted: Iterable[int] = (),
    size: float = 8,
) -> None:
    """A table; row 0 is its heading (repeated on each page) unless ``head`` is False."""

    def align(index: int) -> str:
        numeric = (numeric_from is not None and index >= numeric_from) or (numeric_first and index == 0)
        return "RIGHT" if numeric else "LEFT"

    marked = set(highlighted)
    with pdf.local_context(font_size_pt=size, draw_color=RULE, line_width=0.2, text_color=TEXT):
        _fill(pdf, rows, {
            "col_widths": tuple(widths),
            "text_align": tuple(align(i) for i in range(len(widths))),
            "first_row_as_headings": head,
            "headings_style": FontFace(emphasis="", color=TEXT, fill_color=HEAD_FILL),
            "borders_layout": TableBordersLayout.ALL if borders == "ALL" else TableBordersLayout.NONE,
            "line_height": pdf.font_size * 1.45,
            "padding": (0.8, 1.2),
            "wrapmode": pdf.wrap,
            "v_align": "TOP",
        }, marked)  # fmt: skip


def _fill(pdf: _Document, rows: Sequence[tuple[str, ...]], options: dict[str, Any], marked: set[int]) -> None:
    with pdf.table(**options) as table:
        for index, cells in enumerate(rows):
            style = FontFace(color=BAD, fill_color=OVERDUE_FILL) if index in marked else None
            row = table.row(style=style)
            for cell in cells:
                row.cell(cell)
