"""The indicator pages' charts: columns of the actual values per fiscal year, with each target
drawn as a mark across its column (``bars_with_targets``), built on ``tracker.reporting.charts``.

The mark is a dark line with its own ``<title>`` (目標: …) and the legend names it, so actual and
target are told apart by shape, not by colour; the table beside the chart says 達成 / 未達成 in
words.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup, escape

from ..formatting import unit_name
from ..wording import N_, say, translate
from .charts import NO_DATA, WIDTH, Chart, Series, _clean, _number, _Svg, nice_max
from .indicator_tables import Page, Table, number_label

TARGET_NAME = N_("目標")


def bars_with_targets(chart: Chart, targets: Sequence[Sequence[float | None]]) -> Markup:
    """Grouped columns (one group per category, one column per series) with a target mark on
    each column that has one: ``targets[series][category]``."""
    if chart.is_empty:
        svg = _Svg(chart, 60)
        svg.text(WIDTH / 2, 30, translate(NO_DATA), anchor="middle", css="no-data")
        return svg.render()
    svg = _Svg(chart, 0)
    legend = svg.legend(8)
    legend_y = 8 + legend
    svg.add(
        f'<line class="target-mark" x1="10" y1="{_number(legend_y + 6)}" x2="28" '
        f'y2="{_number(legend_y + 6)}" stroke="#1f2933" stroke-width="3"/>'
    )
    svg.text(32, legend_y + 10, translate(N_("目標 (線)")), css="legend")
    top = legend_y + 30
    bottom = top + 180
    svg.height = bottom + 26
    values = [_clean(v) for s in chart.series for v in s.values]
    values += [_clean(t) for row in targets for t in row if t is not None]
    end = nice_max(max(values, default=0))
    left, right = 56, 10
    plot = WIDTH - left - right
    slot = plot / len(chart.categories)
    bar = max(2.0, (slot - 8) / len(chart.series))
    for tick in (0, end / 2, end):
        y = bottom - tick / end * (bottom - top)
        svg.line(left, y, WIDTH - right, y, css="grid")
        svg.text(left - 4, y + 4, chart.label(tick), anchor="end", css="tick")
    for i, name in enumerate(chart.categories):
        x = left + i * slot + 4
        for j, series in enumerate(chart.series):
            value = series.values[i]
            length = _clean(value) / end * (bottom - top)
            column_x = x + j * bar
            svg.rect(
                column_x,
                bottom - length,
                max(bar - 1, 1),
                length,
                j,
                f"{name} {series.name}: {chart.label(value)}",
            )
            target = targets[j][i] if j < len(targets) else None
            if target is not None:
                y = bottom - _clean(target) / end * (bottom - top)
                tip = f"{name} {series.name} {translate(TARGET_NAME)}: {chart.label(target)}"
                svg.add(
                    f'<line class="target-mark" x1="{_number(column_x - 2)}" y1="{_number(y)}" '
                    f'x2="{_number(column_x + max(bar - 1, 1) + 2)}" y2="{_number(y)}" stroke="#1f2933" '
                    f'stroke-width="3"><title>{escape(tip)}</title></line>'
                )
        svg.text(left + i * slot + slot / 2, bottom + 16, name, anchor="middle", css="tick")
    svg.line(left, bottom, WIDTH - right, bottom)
    return svg.render()


def _float(value) -> float | None:
    return None if value is None else float(value)


def table_chart(page: Page, table: Table, key: str) -> Markup:
    """The chart of one indicator's table: the fiscal years as groups, one column per area."""
    unit = table.indicator.unit
    chart = Chart(
        key,
        say(N_("%(name)s (%(unit)s) の実績と目標"), name=table.indicator.name, unit=unit_name(unit)),
        [say(N_("%(year)s年度"), year=year) for year in page.years],
        [Series(row.area.name, [_float(cell.actual) for cell in row.cells]) for row in table.rows],
        say(
            N_(
                "%(name)sの年度ごとの実績を縦棒、目標を横線で示すグラフ。%(direction)s。"
                " 同じ数値と達成状況は横の表にあります。"
            ),
            name=table.indicator.name,
            direction=table.direction,
        ),
        formatter=lambda value: number_label(_as_decimal(value), unit),
    )
    targets = [[_float(cell.target) for cell in row.cells] for row in table.rows]
    return bars_with_targets(chart, targets)


def _as_decimal(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))
