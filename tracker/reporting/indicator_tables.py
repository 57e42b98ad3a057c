"""The indicator pages' tables: for each indicator, actual against target per area and fiscal year.

An area is a ward or the whole city. A computed indicator's actual values come from its metric
(``tracker.reporting.indicators``), an entered one's from ``IndicatorValue`` (the city's value is
entered as such: a city-wide survey is not the mean of the wards'). Each cell says in words
whether the target was met (``MET``), not met (``NOT_MET``), that there is no target
(``NO_TARGET``) or no actual value yet (``NO_ACTUAL``): never by colour alone.

A page costs a fixed number of queries whatever the amount of data: the wards, the indicators,
their targets and entered values over the range (one query each), and one per metric in use.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..formatting import fiscal_year_label, fiscal_year_of, unit_suffix
from ..models import Ward
from ..monitoring_models import Indicator, IndicatorTarget, IndicatorValue
from ..states import IndicatorKind
from ..wording import N_, translate
from . import indicators as metrics

# In Japanese (marked): the pages and exports show them translated.
MET, NOT_MET, NO_TARGET, NO_ACTUAL = N_("達成"), N_("未達成"), N_("目標なし"), N_("実績なし")
CITY = N_("市全体")
DEFAULT_YEARS = 3  # the last three fiscal years, the current one included
MAX_YEARS = 20


@dataclass(frozen=True)
class Area:
    ward_id: int | None  # None: the whole city
    name: str


@dataclass(frozen=True)
class Cell:
    fiscal_year: int
    actual: Decimal | None
    target: Decimal | None
    higher_is_better: bool

    @property
    def status(self) -> str:
        if self.target is None:
            return NO_TARGET
        if self.actual is None:
            return NO_ACTUAL
        met = self.actual >= self.target if self.higher_is_better else self.actual <= self.target
        return MET if met else NOT_MET


@dataclass(frozen=True)
class Row:
    area: Area
    cells: list[Cell]  # one per fiscal year, oldest first


@dataclass(frozen=True)
class Table:
    indicator: Indicator
    rows: list[Row]

    @property
    def direction(self) -> str:
        return translate(N_("高いほど良い") if self.indicator.higher_is_better else N_("低いほど良い"))


@dataclass(frozen=True)
class Page:
    first: int
    last: int
    areas: list[Area]
    tables: list[Table]

    @property
    def years(self) -> list[int]:
        return list(range(self.first, self.last + 1))

    @property
    def period(self) -> str:
        first, last = (fiscal_year_label(year).split(" ")[0] for year in (self.first, self.last))
        return first if self.first == self.last else f"{first}〜{last}"


def number_label(value: Decimal | None, unit: str = "") -> str:
    """``75.5%``, ``12件``; ``—`` for no value. Trailing zeros of the decimals are dropped."""
    if value is None:
        return "—"
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{text}{unit_suffix(unit)}"


def default_range(today: dt.date) -> tuple[int, int]:
    current = fiscal_year_of(today)
    return current - DEFAULT_YEARS + 1, current


def parse_range(args, today: dt.date) -> tuple[int, int]:
    """``?from=&to=`` (either order, at most ``MAX_YEARS`` years); the default range otherwise."""
    first, last = default_range(today)

    def year(name: str, default: int) -> int:
        raw = str(args.get(name, "") or "")
        return int(raw) if raw.isdecimal() and len(raw) == 4 and 1989 <= int(raw) <= 2200 else default

    first, last = sorted((year("from", first), year("to", last)))
    return max(first, last - MAX_YEARS + 1), last


def offered_years(today: dt.date, first: int, last: int) -> list[int]:
    """The years the range form offers, newest first: ten back from now, and the range shown."""
    current = fiscal_year_of(today)
    return sorted({*range(current - 9, current + 2), *range(first, last + 1)}, reverse=True)


def all_wards(session: Session) -> list[Ward]:
    return session.scalars(select(Ward).order_by(Ward.sort_order, Ward.id)).all()


def active_indicators(session: Session) -> list[Indicator]:
    return session.scalars(
        select(Indicator).where(Indicator.active.is_(True)).order_by(Indicator.sort_order, Indicator.id)
    ).all()


def all_indicators(session: Session) -> list[Indicator]:
    """Every indicator, inactive ones too (the admin's list)."""
    return session.scalars(select(Indicator).order_by(Indicator.sort_order, Indicator.id)).all()


def _by_key(session: Session, model, indicator_ids: list[int], first: int, last: int, column: str) -> dict:
    rows = session.execute(
        select(model.indicator_id, model.ward_id, model.fiscal_year, getattr(model, column)).where(
            model.indicator_id.in_(indicator_ids), model.fiscal_year.between(first, last)
        )
    ).all()
    return {(indicator, ward, year): Decimal(value) for indicator, ward, year, value in rows}


def build_tables(
    session: Session,
    indicators: list[Indicator],
    areas: list[Area],
    ward_ids: list[int],
    first: int,
    last: int,
) -> list[Table]:
    """The tables of ``indicators`` for ``areas``, each metric computed for ``ward_ids`` once."""
    ids = [indicator.id for indicator in indicators]
    targets = _by_key(session, IndicatorTarget, ids, first, last, "target") if ids else {}
    entered = _by_key(session, IndicatorValue, ids, first, last, "value") if ids else {}
    computed: dict[str, metrics.Values] = {}
    for indicator in indicators:
        key = indicator.metric
        if indicator.kind == IndicatorKind.COMPUTED and key in metrics.METRICS and key not in computed:
            computed[key] = metrics.compute(session, key, first, last, ward_ids)
    tables = []
    for indicator in indicators:
        rows = []
        for area in areas:
            cells = []
            for year in range(first, last + 1):
                if indicator.kind == IndicatorKind.COMPUTED:
                    actual = computed.get(indicator.metric, {}).get((area.ward_id, year))
                else:
                    actual = entered.get((indicator.id, area.ward_id, year))
                target = targets.get((indicator.id, area.ward_id, year))
                cells.append(Cell(year, actual, target, indicator.higher_is_better))
            rows.append(Row(area, cells))
        tables.append(Table(indicator, rows))
    return tables


def city_page(session: Session, first: int, last: int) -> Page:
    """Every active indicator for the five wards and the city, ``first``–``last``."""
    wards = all_wards(session)
    areas = [*(Area(ward.id, ward.name) for ward in wards), Area(None, translate(CITY))]
    ward_ids = [ward.id for ward in wards]
    return Page(
        first, last, areas, build_tables(session, active_indicators(session), areas, ward_ids, first, last)
    )


def ward_page(session: Session, ward: Ward, first: int, last: int) -> Page:
    """Every active indicator of one ward, ``first``–``last``."""
    areas = [Area(ward.id, ward.name)]
    return Page(
        first, last, areas, build_tables(session, active_indicators(session), areas, [ward.id], first, last)
    )


def indicator_page(session: Session, indicator: Indicator, first: int, last: int) -> Page:
    """One indicator (active or not) for the five wards and the city."""
    wards = all_wards(session)
    areas = [*(Area(ward.id, ward.name) for ward in wards), Area(None, translate(CITY))]
    ward_ids = [ward.id for ward in wards]
    return Page(first, last, areas, build_tables(session, [indicator], areas, ward_ids, first, last))


def _spreadsheet_number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def export_rows(page: Page) -> list[tuple]:
    """One flat row per indicator, area and fiscal year: what the CSV/XLSX holds."""
    return [
        (
            table.indicator.name,
            table.indicator.unit,
            table.direction,
            row.area.name,
            fiscal_year_label(cell.fiscal_year),
            _spreadsheet_number(cell.actual),
            _spreadsheet_number(cell.target),
            translate(cell.status),
        )
        for table in page.tables
        for row in table.rows
        for cell in row.cells
    ]


EXPORT_HEADERS = (
    N_("指標"),
    N_("単位"),
    N_("方向"),
    N_("区"),
    N_("年度"),
    N_("実績"),
    N_("目標"),
    N_("達成状況"),
)
