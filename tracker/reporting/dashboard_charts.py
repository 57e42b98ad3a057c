"""The charts of the city dashboard, drawn from ``dashboards.CityFigures`` (``tracker.reporting.charts``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from markupsafe import Markup

from ..formatting import thousand_yen
from ..states import OPEN_REQUEST_STATES
from ..wording import N_, say, translate
from .charts import Chart, Series, horizontal_bars, vertical_bars
from .dashboards import DECISION_COLUMNS, CityFigures, Money

# The charts' titles by key, in Japanese: the page shows them translated, an export's record
# names the chart in Japanese like every other record.
TITLES = {
    "monthly": N_("月別の要望受付件数 (区別)"),
    "open-requests": N_("未回答の要望 (区別・状態別、現在)"),
    "median-days": N_("受付から回答までの日数 (中央値、区別)"),
    "overdue-centers": N_("回答期限を過ぎた要望 (まちづくりセンター別、現在)"),
    "decisions": N_("区重要課題の協議結果 (区別)"),
    "budget-bureaus": N_("局予算の予算額と決算額 (局別)"),
    "budget-wards": N_("局予算の予算額と決算額 (区別)"),
    "ward-funds": N_("まちづくり推進経費の配分額と充当額 (区別)"),
}


def _title(key: str) -> str:
    return translate(TITLES[key])


def _count(value: int | float) -> str:
    """``12件`` in Japanese, ``12`` in English."""
    return say(N_("%(count)s件"), count=f"{value:,}" if isinstance(value, int) else f"{value:,.1f}")


@dataclass(frozen=True)
class Panel:
    """One chart of the dashboard, drawn, with the data its table shows."""

    chart: Chart
    svg: Markup


def _yen_chart(key: str, title: str, description: str, rows: list[Money], names: tuple[str, str]) -> Chart:
    return Chart(
        key,
        title,
        [row.name for row in rows],
        [Series(names[0], [r.allocated_yen for r in rows]), Series(names[1], [r.executed_yen for r in rows])],
        description,
        formatter=thousand_yen,
    )


def city_panels(figures: CityFigures) -> list[Panel]:
    """The charts of ``figures``, in the order the page shows them."""
    names = [ward.name for ward in figures.wards]
    ids = [ward.id for ward in figures.wards]
    monthly = Chart(
        "monthly",
        _title("monthly"),
        figures.months,
        [Series(ward.name, figures.monthly.get(ward.id, [0] * 12)) for ward in figures.wards],
        translate(N_("年度の4月から3月まで、月ごとに受け付けた要望の件数を区別に積み上げた縦棒グラフ")),
        formatter=_count,
    )
    open_states = Chart(
        "open-requests",
        _title("open-requests"),
        names,
        [
            Series(state.label, [figures.open_by_state.get(i, {}).get(state, 0) for i in ids])
            for state in OPEN_REQUEST_STATES
        ],
        translate(N_("現在まだ回答していない要望の件数を、区ごとに状態別に積み上げた横棒グラフ")),
        formatter=_count,
    )
    median = Chart(
        "median-days",
        _title("median-days"),
        names,
        [
            Series(translate(N_("中央値 (日)")), [figures.median_days[i] for i in ids]),
            Series(translate(N_("回答件数 (件)")), [figures.answered[i] for i in ids]),
        ],
        translate(
            N_(
                "年度に受け付けて回答した要望について、受付日から回答日までの日数の中央値を区ごとに示す横棒グラフ"
            )
        ),
        formatter=_days_or_count,
    )
    centers = figures.overdue_by_center
    overdue = Chart(
        "overdue-centers",
        _title("overdue-centers"),
        [f"{row.ward} {row.name}" for row in centers],
        [Series(translate(N_("期限超過")), [row.overdue for row in centers])],
        translate(N_("回答期限を過ぎてまだ回答していない要望の件数をセンターごとに示す横棒グラフ")),
        formatter=_count,
    )
    decisions = Chart(
        "decisions",
        _title("decisions"),
        names,
        [
            Series(translate(label), [figures.decisions.get(i, {}).get(value, 0) for i in ids])
            for value, label in DECISION_COLUMNS
        ],
        translate(
            N_("年度の区重要課題 (起案・取下げを除く) の件数を、区ごとに協議結果別に積み上げた横棒グラフ")
        ),
        formatter=_count,
    )
    by_bureau = _yen_chart(
        "budget-bureaus",
        _title("budget-bureaus"),
        translate(N_("年度の局予算 (区重要課題の予算化) の予算額と決算額を局ごとに並べた横棒グラフ")),
        figures.budget_by_bureau,
        (translate(N_("予算額")), translate(N_("決算額"))),
    )
    by_ward = _yen_chart(
        "budget-wards",
        _title("budget-wards"),
        translate(N_("年度の局予算 (区重要課題の予算化) の予算額と決算額を区ごとに並べた横棒グラフ")),
        figures.budget_by_ward,
        (translate(N_("予算額")), translate(N_("決算額"))),
    )
    funds = [Money(row.ward, row.fund.allocated_yen, row.fund.used_yen) for row in figures.ward_funds]
    ward_fund = _yen_chart(
        "ward-funds",
        _title("ward-funds"),
        translate(N_("年度のまちづくり推進経費について、区ごとの配分額と充当額を並べた横棒グラフ")),
        funds,
        (translate(N_("配分額")), translate(N_("充当額"))),
    )
    # The median and the count have different units: the chart draws the median only.
    median_drawn = dataclasses.replace(median, series=median.series[:1])
    return [
        Panel(monthly, vertical_bars(monthly, stacked=True)),
        Panel(open_states, horizontal_bars(open_states, stacked=True)),
        Panel(median, horizontal_bars(median_drawn)),
        Panel(overdue, horizontal_bars(overdue)),
        Panel(decisions, horizontal_bars(decisions, stacked=True)),
        Panel(by_bureau, horizontal_bars(by_bureau)),
        Panel(by_ward, horizontal_bars(by_ward)),
        Panel(ward_fund, horizontal_bars(ward_fund)),
    ]


def _days_or_count(value: int | float) -> str:
    return f"{value:,g}"
