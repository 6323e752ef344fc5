"""The report's two charts as plain geometry, drawn the same way in SVG (the HTML page) and in the PDF.

:func:`radar_chart` and :func:`bar_chart` lay a chart out as a :class:`Chart`: a box of ``width`` x ``height``
units (SVG user units; the PDF scales them to millimetres) holding lines, polygons, rectangles, dots and labels.
:func:`to_svg` writes it as an inline SVG element; pdf.py draws the same shapes. Scores are percentages; a score
of None (nothing asked in the group) is drawn as 0 and its label carries a ``*`` that the chart's note explains.
Pure functions, no I/O.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Literal

from mamori.errors import MamoriError

Point = tuple[float, float]
Anchor = Literal["start", "middle", "end"]

GRID_COLOUR = "#c8ced6"
AXIS_TEXT_COLOUR = "#4b5563"
TEXT_COLOUR = "#111827"
FONT_FAMILY = "'Hiragino Sans', 'Noto Sans JP', 'Noto Sans CJK JP', 'Yu Gothic', Meiryo, sans-serif"
RINGS = (20, 40, 60, 80, 100)
TICKS = (0, 25, 50, 75, 100)
NONE_MARK = "*"


@dataclass(frozen=True, slots=True)
class Line:
    start: Point
    end: Point
    colour: str
    width: float = 1.0
    dashed: bool = False


@dataclass(frozen=True, slots=True)
class Polygon:
    points: tuple[Point, ...]
    colour: str
    fill: str | None = None
    fill_opacity: float = 1.0
    width: float = 1.0
    dashed: bool = False


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str


@dataclass(frozen=True, slots=True)
class Dot:
    centre: Point
    radius: float
    fill: str


@dataclass(frozen=True, slots=True)
class Label:
    at: Point  # the baseline's anchor point
    text: str
    size: float
    anchor: Anchor = "start"
    colour: str = TEXT_COLOUR


Shape = Line | Polygon | Rect | Dot | Label


@dataclass(frozen=True, slots=True)
class Chart:
    width: float
    height: float
    title: str
    shapes: tuple[Shape, ...]

    @property
    def labels(self) -> tuple[Label, ...]:
        return tuple(shape for shape in self.shapes if isinstance(shape, Label))


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: tuple[float | None, ...]  # percentages, one per axis or group; None: nothing asked
    colour: str
    dashed: bool = False
    filled: bool = True


def clamp(value: float | None) -> float:
    """A percentage as drawn: None and NaN as 0, anything outside 0..100 brought to the edge."""
    if value is None or math.isnan(value):
        return 0.0
    return min(100.0, max(0.0, value))


def radar_point(centre: Point, radius: float, index: int, count: int, value: float | None) -> Point:
    """Where ``value`` lies on axis ``index`` of ``count``: axis 0 points up, the others follow clockwise."""
    angle = -math.pi / 2 + 2 * math.pi * index / count
    distance = radius * clamp(value) / 100
    return centre[0] + distance * math.cos(angle), centre[1] + distance * math.sin(angle)


def bar_length(value: float | None, full: float) -> float:
    """The length of a bar for ``value`` when 100% is ``full`` long."""
    return full * clamp(value) / 100


def text_width(text: str, size: float) -> float:
    """An estimate of a label's width: a full-width character is one em, any other about half of one."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 0.56 for c in text)


def radar_chart(
    axes: Sequence[str], series: Sequence[Series], *, title: str, note: str, radius: float = 120.0
) -> Chart:
    """A radar with one axis per name in ``axes`` (at least three), rings every 20%, one polygon per series."""
    count = len(axes)
    if count < 3:  # a polygon needs three corners
        raise MamoriError("FIELD_TYPE_INVALID", field="axes", expected="at least three axes")
    label_size, margin = 12.0, 14.0
    widest = max(text_width(f"{a}{NONE_MARK}", label_size) for a in axes)
    width = max(2 * (radius + margin + widest) + 8, 320.0)
    centre = (width / 2, radius + margin + label_size + 10)
    shapes: list[Shape] = []
    for ring in RINGS:
        corners = tuple(radar_point(centre, radius, i, count, ring) for i in range(count))
        shapes.append(Polygon(corners, GRID_COLOUR, width=0.8 if ring < 100 else 1.2))
    for i in range(count):
        shapes.append(Line(centre, radar_point(centre, radius, i, count, 100), GRID_COLOUR, width=0.8))
    for ring in RINGS:
        x, y = radar_point(centre, radius, 0, count, ring)
        shapes.append(Label((x + 3, y - 2), str(ring), 8.0, "start", AXIS_TEXT_COLOUR))
    for one in series:
        corners = tuple(radar_point(centre, radius, i, count, v) for i, v in enumerate(one.values))
        fill = one.colour if one.filled else None
        shapes.append(Polygon(corners, one.colour, fill, 0.14, 1.8, one.dashed))
        if not one.dashed:
            shapes.extend(Dot(corner, 2.6, one.colour) for corner in corners)
    missing = {i for one in series for i, v in enumerate(one.values) if v is None}
    for i, name in enumerate(axes):
        x, y = radar_point(centre, radius + margin, i, count, 100)
        dx, dy = x - centre[0], y - centre[1]
        anchor: Anchor = "middle" if abs(dx) < 1 else ("start" if dx > 0 else "end")
        baseline = y + (label_size * 0.35 if abs(dy) < radius * 0.9 else (label_size if dy > 0 else -2))
        shapes.append(Label((x, baseline), name + (NONE_MARK if i in missing else ""), label_size, anchor))
    y = centre[1] + radius + margin + label_size + 20
    y = _legend(shapes, series, 16.0, y)
    if missing:
        shapes.append(Label((16.0, y + 4), note, 10.0, "start", AXIS_TEXT_COLOUR))
        y += 18
    return Chart(width, y, title, tuple(shapes))


def bar_chart(groups: Sequence[str], series: Sequence[Series], *, title: str, note: str) -> Chart:
    """Horizontal bars: one row per group name, one bar per series in it, a scale of 0..100% below."""
    label_size, bar, gap, row_gap = 12.0, 12.0, 3.0, 14.0
    missing_any = any(v is None for one in series for v in one.values)
    label_width = max(text_width(f"{g}{NONE_MARK}", label_size) for g in groups) + 12
    plot_left, plot_width = label_width, 300.0
    width = plot_left + plot_width + 62
    shapes: list[Shape] = []
    y = _legend(shapes, series, plot_left, 16.0) + 4
    top = y
    row_height = len(series) * (bar + gap) - gap
    for index, name in enumerate(groups):
        row_top = top + index * (row_height + row_gap)
        mark = NONE_MARK if any(one.values[index] is None for one in series) else ""
        centre_y = row_top + row_height / 2 + label_size * 0.35
        shapes.append(Label((plot_left - 8, centre_y), name + mark, label_size, "end"))
        for k, one in enumerate(series):
            value = one.values[index]
            bar_top = row_top + k * (bar + gap)
            length = bar_length(value, plot_width)
            if length > 0:
                shapes.append(Rect(plot_left, bar_top, length, bar, one.colour))
            shown = "—" + NONE_MARK if value is None else f"{clamp(value):.1f}%"
            shapes.append(Label((plot_left + length + 4, bar_top + bar - 2), shown, 10.0, "start", AXIS_TEXT_COLOUR))
    bottom = top + len(groups) * (row_height + row_gap) - row_gap + 4
    for tick in TICKS:
        x = plot_left + bar_length(tick, plot_width)
        shapes.insert(0, Line((x, top - 4), (x, bottom), GRID_COLOUR, 0.8, dashed=tick not in (0, 100)))
        shapes.append(Label((x, bottom + 13), f"{tick}%", 9.0, "middle", AXIS_TEXT_COLOUR))
    height = bottom + 22
    if missing_any:
        shapes.append(Label((plot_left, height + 4), note, 10.0, "start", AXIS_TEXT_COLOUR))
        height += 18
    return Chart(width, height, title, tuple(shapes))


def _legend(shapes: list[Shape], series: Sequence[Series], x: float, y: float) -> float:
    """One swatch and name per series, on one line; returns the y below it."""
    for one in series:
        if one.dashed:
            shapes.append(Line((x, y - 4), (x + 18, y - 4), one.colour, 1.8, dashed=True))
        else:
            shapes.append(Rect(x, y - 9, 18, 10, one.colour))
        shapes.append(Label((x + 22, y), one.name, 10.0, "start"))
        x += 22 + text_width(one.name, 10.0) + 16
    return y + 16


def to_svg(chart: Chart) -> str:
    """The chart as an inline ``<svg>`` element; every text escaped."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(chart.width)} {_n(chart.height)}" '
        f'width="{_n(chart.width)}" height="{_n(chart.height)}" role="img" aria-label="{escape(chart.title)}" '
        f'font-family="{escape(FONT_FAMILY)}">',
        f"<title>{escape(chart.title)}</title>",
    ]
    parts.extend(_svg_shape(shape) for shape in chart.shapes)
    parts.append("</svg>")
    return "\n".join(parts)


def _svg_shape(shape: Shape) -> str:
    if isinstance(shape, Line):
        (x1, y1), (x2, y2) = shape.start, shape.end
        dash = ' stroke-dasharray="5 4"' if shape.dashed else ""
        return (
            f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{shape.colour}" '
            f'stroke-width="{_n(shape.width)}"{dash}/>'
        )
    if isinstance(shape, Polygon):
        points = " ".join(f"{_n(x)},{_n(y)}" for x, y in shape.points)
        fill = f'fill="{shape.fill}" fill-opacity="{_n(shape.fill_opacity)}"' if shape.fill else 'fill="none"'
        dash = ' stroke-dasharray="6 4"' if shape.dashed else ""
        return (
            f'<polygon points="{points}" {fill} stroke="{shape.colour}" stroke-width="{_n(shape.width)}" '
            f'stroke-linejoin="round"{dash}/>'
        )
    if isinstance(shape, Rect):
        return (
            f'<rect x="{_n(shape.x)}" y="{_n(shape.y)}" width="{_n(shape.width)}" height="{_n(shape.height)}" '
            f'fill="{shape.fill}"/>'
        )
    if isinstance(shape, Dot):
        (x, y), radius = shape.centre, shape.radius
        return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(radius)}" fill="{shape.fill}"/>'
    return (
        f'<text x="{_n(shape.at[0])}" y="{_n(shape.at[1])}" font-size="{_n(shape.size)}" '
        f'text-anchor="{shape.anchor}" fill="{shape.colour}">{escape(shape.text)}</text>'
    )


def _n(value: float) -> str:
    """A coordinate as SVG text: two decimals at most, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
