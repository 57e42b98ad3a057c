"""Charts drawn on the server as SVG: no JavaScript, no external service.

Each chart is built from a ``Chart`` (categories × series of numbers) and returned as markup:
an ``<svg role="img">`` with ``<title>`` and ``<desc>`` (named by ``aria-labelledby``), a
``<title>`` tooltip on every bar and point, and the colours as CSS classes (``series-0``…,
``static/charts.css``) with a presentation-attribute fallback. The page shows the same figures
in a table beside each chart (``templates/macros/charts.html``), so it reads without SVG too.

Every text is escaped. Bars are proportional to their values on a scale starting at zero;
negative values are drawn as zero; a chart with no categories, or with nothing but zeros,
draws its frame and says so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from ..wording import N_, translate

# Okabe-Ito: told apart by people with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
FONT_SIZE = 12
WIDTH = 640
NO_DATA = N_("データがありません")
ALL_ZERO = N_("すべて0です")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int | float]


@dataclass(frozen=True)
class Chart:
    """What a chart and its table show: one value per category and series."""

    key: str  # an id for the SVG and the export: letters, digits, "-" and "_"
    title: str
    categories: Sequence[str]
    series: Sequence[Series]
    description: str = ""
    unit: str = ""  # e.g. %, 日 (a word that reads the same in every language; else a formatter)
    formatter: Callable[[int | float], str] | None = field(default=None, compare=False)

    def label(self, value: int | float | None) -> str:
        if value is None:
            return "—"
        if self.formatter is not None:
            return self.formatter(value)
        text = f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"
        return f"{text}{self.unit}"

    def rows(self) -> list[tuple[str, list[int | float]]]:
        """The table: one row per category, one value per series."""
        return [(name, [s.values[i] for s in self.series]) for i, name in enumerate(self.categories)]

    @property
    def is_empty(self) -> bool:
        return not self.categories or not self.series


def text_width(text: str, size: int = FONT_SIZE) -> float:
    """A rough width of ``text``: full-width characters count 1em, others 0.6em."""
    return sum(size if ord(ch) > 0x2E7F else size * 0.6 for ch in text)


def nice_max(value: float) -> float:
    """The scale's end: ``value`` rounded up to 1, 2, 2.5 or 5 × a power of ten (1 for nothing)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _clean(value) -> float:
    return max(float(value or 0), 0.0)


def _safe_key(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", key) or "chart"


class _Svg:
    """The markup of one chart, put together piece by piece (every text escaped)."""

    def __init__(self, chart: Chart, height: float):
        self.chart = chart
        self.height = height
        self.parts: list[str] = []

    def add(self, markup: str) -> None:
        self.parts.append(markup)

    def rect(self, x, y, width, height, index: int, tip: str) -> None:
        colour = PALETTE[index % len(PALETTE)]
        self.add(
            f'<rect class="bar series-{index % len(PALETTE)}" x="{_number(x)}" y="{_number(y)}" '
            f'width="{_number(width)}" height="{_number(height)}" fill="{colour}">'
            f"<title>{escape(tip)}</title></rect>"
        )

    def text(self, x, y, content: str, *, anchor: str = "start", css: str = "label") -> None:
        self.add(
            f'<text class="{css}" x="{_number(x)}" y="{_number(y)}" text-anchor="{anchor}" '
            f'font-size="{FONT_SIZE}">{escape(content)}</text>'
        )

    def line(self, x1, y1, x2, y2, css: str = "axis") -> None:
        self.add(
            f'<line class="{css}" x1="{_number(x1)}" y1="{_number(y1)}" x2="{_number(x2)}" '
            f'y2="{_number(y2)}" stroke="#9aa5b1" stroke-width="1"/>'
        )

    def legend(self, top: float) -> float:
        """One swatch and name per series, when there are several; returns the height used."""
        if len(self.chart.series) < 2:
            return 0
        x = 10.0
        y = top
        for index, series in enumerate(self.chart.series):
            width = 18 + text_width(series.name) + 16
            if x + width > WIDTH - 10:
                x, y = 10.0, y + 18
            colour = PALETTE[index % len(PALETTE)]
            self.add(
                f'<rect class="swatch series-{index % len(PALETTE)}" x="{_number(x)}" y="{_number(y)}" '
                f'width="12" height="12" fill="{colour}"/>'
            )
            self.text(x + 16, y + 10, series.name, css="legend")
            x += width
        return y - top + 22

    def render(self) -> Markup:
        key = _safe_key(self.chart.key)
        title = escape(self.chart.title)
        desc = escape(self.chart.description or self.chart.title)
        return Markup(
            f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
            f'viewBox="0 0 {WIDTH} {_number(self.height)}" width="{WIDTH}" height="{_number(self.height)}" '
            f'aria-labelledby="{key}-title {key}-desc">'
            f'<title id="{key}-title">{title}</title><desc id="{key}-desc">{desc}</desc>'
            + "".join(self.parts)
            + "</svg>"
        )


def _empty(chart: Chart, svg: _Svg, message: str = NO_DATA) -> None:
    svg.text(WIDTH / 2, svg.height / 2, translate(message), anchor="middle", css="no-data")


def _has_values(chart: Chart) -> bool:
    return any(_clean(v) > 0 for s in chart.series for v in s.values)


def _scale_end(chart: Chart, stacked: bool) -> float:
    if stacked:
        totals = [sum(_clean(s.values[i]) for s in chart.series) for i in range(len(chart.categories))]
        return nice_max(max(totals, default=0))
    return nice_max(max((_clean(v) for s in chart.series for v in s.values), default=0))


def horizontal_bars(chart: Chart, *, stacked: bool = False) -> Markup:
    """One row per category, bars growing to the right; several series grouped or stacked."""
    if chart.is_empty:
        svg = _Svg(chart, 60)
        _empty(chart, svg)
        return svg.render()
    groups = 1 if stacked else len(chart.series)
    bar = 16 if groups == 1 else max(8, 24 // groups + 4)
    row = bar * groups + 10
    label_width = max(text_width(name) for name in chart.categories) + 12
    left = min(label_width, WIDTH * 0.4)
    right = 90
    plot = WIDTH - left - right
    svg = _Svg(chart, 0)
    legend = svg.legend(8)
    top = 8 + legend
    end = _scale_end(chart, stacked)
    for i, name in enumerate(chart.categories):
        y = top + i * row
        svg.text(left - 6, y + row / 2 + 4, name, anchor="end")
        offset = 0.0
        for j, series in enumerate(chart.series):
            value = _clean(series.values[i])
            length = value / end * plot
            tip = f"{name} {series.name}: {chart.label(series.values[i])}"
            if stacked:
                svg.rect(left + offset, y + 5, length, bar, j, tip)
                offset += length
            else:
                svg.rect(left, y + 5 + j * bar, length, bar - 2, j, tip)
                if groups == 1:
                    svg.text(left + length + 4, y + 5 + bar - 4, chart.label(series.values[i]), css="value")
        if stacked:
            total = sum(_clean(s.values[i]) for s in chart.series)
            svg.text(left + offset + 4, y + 5 + bar - 4, chart.label(_as_number(total)), css="value")
    bottom = top + len(chart.categories) * row
    svg.line(left, top, left, bottom)
    svg.text(left, bottom + 14, "0", anchor="middle", css="tick")
    svg.text(left + plot, bottom + 14, chart.label(_as_number(end)), anchor="middle", css="tick")
    svg.height = bottom + 22
    if not _has_values(chart):
        _empty(chart, svg, ALL_ZERO)
    return svg.render()


def vertical_bars(chart: Chart, *, stacked: bool = False) -> Markup:
    """Columns, one group per category (e.g. the months April–March), grouped or stacked."""
    height = 260.0
    if chart.is_empty:
        svg = _Svg(chart, 60)
        _empty(chart, svg)
        return svg.render()
    svg = _Svg(chart, height)
    legend = svg.legend(8)
    top = 8 + legend + 14
    bottom = top + 180
    svg.height = bottom + 26
    end = _scale_end(chart, stacked)
    left, right = 56, 10
    plot = WIDTH - left - right
    slot = plot / len(chart.categories)
    groups = 1 if stacked else len(chart.series)
    bar = max(2.0, (slot - 8) / groups)
    for tick in (0, end / 2, end):
        y = bottom - tick / end * (bottom - top)
        svg.line(left, y, WIDTH - right, y, css="grid")
        svg.text(left - 4, y + 4, chart.label(_as_number(tick)), anchor="end", css="tick")
    for i, name in enumerate(chart.categories):
        x = left + i * slot + 4
        stacked_height = 0.0
        for j, series in enumerate(chart.series):
            value = _clean(series.values[i])
            length = value / end * (bottom - top)
            tip = f"{name} {series.name}: {chart.label(series.values[i])}"
            if stacked:
                svg.rect(x, bottom - stacked_height - length, slot - 8, length, j, tip)
                stacked_height += length
            else:
                svg.rect(x + j * bar, bottom - length, max(bar - 1, 1), length, j, tip)
        svg.text(left + i * slot + slot / 2, bottom + 16, name, anchor="middle", css="tick")
    svg.line(left, bottom, WIDTH - right, bottom)
    if not _has_values(chart):
        _empty(chart, svg, ALL_ZERO)
    return svg.render()


def line_chart(chart: Chart) -> Markup:
    """One line per series across the categories (e.g. months), with a dot on each value."""
    if chart.is_empty:
        svg = _Svg(chart, 60)
        _empty(chart, svg)
        return svg.render()
    svg = _Svg(chart, 0)
    legend = svg.legend(8)
    top = 8 + legend + 14
    bottom = top + 180
    svg.height = bottom + 26
    end = _scale_end(chart, False)
    left, right = 56, 16
    plot = WIDTH - left - right
    step = plot / max(len(chart.categories) - 1, 1)
    for tick in (0, end / 2, end):
        y = bottom - tick / end * (bottom - top)
        svg.line(left, y, WIDTH - right, y, css="grid")
        svg.text(left - 4, y + 4, chart.label(_as_number(tick)), anchor="end", css="tick")
    for i, name in enumerate(chart.categories):
        svg.text(left + i * step, bottom + 16, name, anchor="middle", css="tick")
    for j, series in enumerate(chart.series):
        index = j % len(PALETTE)
        points = [
            (left + i * step, bottom - _clean(v) / end * (bottom - top)) for i, v in enumerate(series.values)
        ]
        path = " ".join(f"{_number(x)},{_number(y)}" for x, y in points)
        svg.add(
            f'<polyline class="line series-{index}" points="{path}" fill="none" '
            f'stroke="{PALETTE[index]}" stroke-width="2"/>'
        )
        for (x, y), name, value in zip(points, chart.categories, series.values, strict=True):
            svg.add(
                f'<circle class="dot series-{index}" cx="{_number(x)}" cy="{_number(y)}" r="3" '
                f'fill="{PALETTE[index]}"><title>{escape(f"{name} {series.name}: {chart.label(value)}")}'
                f"</title></circle>"
            )
    if not _has_values(chart):
        _empty(chart, svg, ALL_ZERO)
    return svg.render()


def _as_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
