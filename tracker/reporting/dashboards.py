"""The city dashboard's figures for one fiscal year: aggregates only, a fixed number of queries.

Every figure is one query (plus the names of the wards, centers and bureaus); the counts of
requests and issues are read from the summary tables (``counters``), so the page costs the same
with ten requests or a million. Nothing personal is read: no requester,
no request text, no user; only counts and sums per ward, center, bureau, state or month.

- 月別受付件数: requests received in each month of the fiscal year (April–March), per ward;
- 未回答の要望: requests open now (受付, 回付, 区重要課題化) per ward and state;
- 回答までの日数 (中央値): per ward, over the requests of the fiscal year already answered. The
  summary ``answer_days`` keeps (ward, fiscal year, days) with a count, so Python takes the
  weighted median over at most wards × distinct day counts rows, on SQLite and PostgreSQL alike;
- 期限超過: open requests whose answer due date is before today, per center (the open ones
  minus the not yet due, ``counters.overdue_per_center``);
- 区重要課題の協議結果: issues of the fiscal year (registered, not withdrawn) per ward and decision;
- 局予算: bureau budget lines of the fiscal year, allocated and executed, per bureau and per ward;
- まちづくり推進経費: each ward's fund of the fiscal year, allocated and used (``tracker.effects.funds``).

The fiscal years the dashboard offers (``fiscal_years``) run from the first year with a
request or an issue to the current one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from ..effects.funds import FundYear
from ..formatting import fiscal_year_of, fiscal_years_between
from ..models import BudgetLine, Bureau, Center, ServiceRequest, Ward, WardFund, WardIssue
from ..states import Decision, Funding, RequestState
from ..wording import N_, translate
from . import counters
from .reports import REGISTERED_STATES

FISCAL_MONTHS = (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)
# fmt: off
MONTH_NAMES = {
    1: N_("1月"), 2: N_("2月"), 3: N_("3月"), 4: N_("4月"), 5: N_("5月"), 6: N_("6月"),
    7: N_("7月"), 8: N_("8月"), 9: N_("9月"), 10: N_("10月"), 11: N_("11月"), 12: N_("12月"),
}
# fmt: on
UNDECIDED = N_("未決定")  # registered issues without a decision yet (before or in consultation)
DECISION_COLUMNS = (  # the labels in Japanese: ``translate`` them to show them
    (Decision.ADOPT.value, Decision.ADOPT.source_label),
    (Decision.PARTIAL.value, Decision.PARTIAL.source_label),
    (Decision.REJECT.value, Decision.REJECT.source_label),
    (Decision.CONTINUE.value, Decision.CONTINUE.source_label),
    (None, UNDECIDED),
)


@dataclass(frozen=True)
class Named:
    id: int
    name: str


@dataclass(frozen=True)
class CenterRow:
    id: int
    name: str
    ward: str
    overdue: int


@dataclass(frozen=True)
class Money:
    name: str
    allocated_yen: int
    executed_yen: int


@dataclass(frozen=True)
class WardFundRow:
    ward: str
    fund: FundYear


@dataclass(frozen=True)
class CityFigures:
    fiscal_year: int
    today: dt.date
    wards: list[Named]
    monthly: dict[int, list[int]]  # ward id -> 12 counts, April first
    open_by_state: dict[int, dict[RequestState, int]]  # ward id -> state -> count
    median_days: dict[int, float | None]  # ward id -> median days to answer (None: none answered)
    answered: dict[int, int]  # ward id -> requests of the year answered
    overdue_by_center: list[CenterRow]
    decisions: dict[int, dict[str | None, int]]  # ward id -> decision value (None: none yet) -> count
    budget_by_bureau: list[Money]
    budget_by_ward: list[Money]
    ward_funds: list[WardFundRow]

    @property
    def months(self) -> list[str]:
        return [translate(MONTH_NAMES[month]) for month in FISCAL_MONTHS]


def fiscal_year_bounds(fiscal_year: int) -> tuple[dt.date, dt.date]:
    """April 1 and March 31 of the fiscal year."""
    return dt.date(fiscal_year, 4, 1), dt.date(fiscal_year + 1, 3, 31)


def days_between(session: Session, start, end):
    """``end - start`` in whole days, as SQL that both SQLite and PostgreSQL run."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.julianday(end) - func.julianday(start), Integer)
    return end - start  # PostgreSQL: date - date is an integer number of days


def weighted_median(counts: dict[int, int]) -> float | None:
    """The median of values given as {value: how many times}; the mean of the middle two if even."""
    total = sum(counts.values())
    if total == 0:
        return None
    ordered = sorted(counts.items())

    def nth(position: int) -> int:  # the value at 0-based ``position`` of the expanded list
        seen = 0
        for value, count in ordered:
            seen += count
            if position < seen:
                return value
        raise IndexError(position)  # pragma: no cover

    if total % 2:
        return float(nth(total // 2))
    return (nth(total // 2 - 1) + nth(total // 2)) / 2


def wards(session: Session) -> list[Named]:
    rows = session.execute(select(Ward.id, Ward.name).order_by(Ward.sort_order, Ward.id)).all()
    return [Named(*row) for row in rows]


def monthly_requests(session: Session, fiscal_year: int) -> dict[int, list[int]]:
    counts: dict[int, list[int]] = defaultdict(lambda: [0] * 12)
    for ward_id, month, count in counters.monthly(session, *fiscal_year_bounds(fiscal_year)):
        counts[ward_id][FISCAL_MONTHS.index(month.month)] += count
    return dict(counts)


def open_requests_by_state(session: Session) -> dict[int, dict[RequestState, int]]:
    return counters.open_by_ward_and_state(session)


def days_to_answer(session: Session, fiscal_year: int) -> dict[int, dict[int, int]]:
    """ward id -> {days from receipt to answer: how many requests}, for the year's answered ones."""
    return counters.answer_days(session, fiscal_year)


def overdue_by_center(session: Session, today: dt.date, ward_id: int | None = None) -> list[CenterRow]:
    """Every active center (or one that has overdue requests) with its count of overdue requests;
    for one ward, only that ward's centers are counted."""
    in_ward = None if ward_id is None else Center.ward_id == ward_id
    overdue = counters.overdue_per_center(today, in_ward)
    count = func.coalesce(overdue.c.overdue, 0)
    statement = (
        select(Center.id, Center.name, Ward.name, count)
        .join(Ward, Center.ward_id == Ward.id)
        .outerjoin(overdue, overdue.c.center_id == Center.id)
        .where(Center.active | (count > 0))
        .order_by(Ward.sort_order, Ward.id, Center.sort_order, Center.id)
    )
    if in_ward is not None:
        statement = statement.where(in_ward)
    return [CenterRow(id_, name, ward, int(n)) for id_, name, ward, n in session.execute(statement)]


def decisions_by_ward(session: Session, fiscal_year: int) -> dict[int, dict[str | None, int]]:
    return counters.issue_decisions(session, fiscal_year, REGISTERED_STATES)


def _budget_sums(session: Session, key, fiscal_year: int, **filters) -> dict[int | None, tuple[int, int]]:
    statement = (
        select(
            key,
            func.coalesce(func.sum(BudgetLine.allocated_yen), 0),
            func.coalesce(func.sum(BudgetLine.executed_yen), 0),
        )
        .where(
            BudgetLine.funding == Funding.BUREAU,
            BudgetLine.fiscal_year == fiscal_year,
            BudgetLine.cancelled_at.is_(None),
        )
        .group_by(key)
    )
    for column, value in filters.items():
        statement = statement.where(getattr(BudgetLine, column) == value)
    return {group: (int(a), int(e)) for group, a, e in session.execute(statement)}


def budget_by_bureau(session: Session, fiscal_year: int) -> list[Money]:
    """Bureau budget lines of the year per bureau: every active bureau, and any other with money."""
    sums = _budget_sums(session, BudgetLine.bureau_id, fiscal_year)
    rows = [
        Money(name, *sums.get(id_, (0, 0)))
        for id_, name, active in session.execute(
            select(Bureau.id, Bureau.name, Bureau.active).order_by(Bureau.sort_order, Bureau.id)
        )
        if active or id_ in sums
    ]
    if None in sums:
        rows.append(Money(translate(N_("主管局未定")), *sums[None]))
    return rows


def budget_by_ward(session: Session, fiscal_year: int, ward_rows: list[Named]) -> list[Money]:
    sums = _budget_sums(session, BudgetLine.ward_id, fiscal_year)
    return [Money(ward.name, *sums.get(ward.id, (0, 0))) for ward in ward_rows]


def ward_funds(session: Session, fiscal_year: int, ward_rows: list[Named]) -> list[WardFundRow]:
    """Each ward's まちづくり推進経費 of the year: the allocation and what was drawn (two queries;
    the same figures ``funds.fund_years`` gives for one ward)."""
    allocated = dict(
        session.execute(
            select(WardFund.ward_id, WardFund.allocated_yen).where(WardFund.fiscal_year == fiscal_year)
        ).all()
    )
    used = dict(
        session.execute(
            select(BudgetLine.ward_id, func.sum(BudgetLine.allocated_yen))
            .where(
                BudgetLine.funding == Funding.WARD_FUND,
                BudgetLine.fiscal_year == fiscal_year,
                BudgetLine.cancelled_at.is_(None),
            )
            .group_by(BudgetLine.ward_id)
        ).all()
    )
    return [
        WardFundRow(
            ward.name, FundYear(fiscal_year, int(allocated.get(ward.id, 0)), int(used.get(ward.id) or 0))
        )
        for ward in ward_rows
    ]


def fiscal_years(session: Session, today: dt.date) -> list[int]:
    """From the first fiscal year with a request or an issue to the current one, newest first."""
    current = fiscal_year_of(today)
    firsts = session.execute(
        select(func.min(ServiceRequest.fiscal_year)).union_all(select(func.min(WardIssue.fiscal_year)))
    ).scalars()
    first = min([year for year in firsts if year is not None], default=current)
    return fiscal_years_between(first, current)


def city_figures(session: Session, fiscal_year: int, today: dt.date) -> CityFigures:
    """Everything the city dashboard shows, in 11 queries whatever the amount of data."""
    ward_rows = wards(session)
    days = days_to_answer(session, fiscal_year)
    return CityFigures(
        fiscal_year=fiscal_year,
        today=today,
        wards=ward_rows,
        monthly=monthly_requests(session, fiscal_year),
        open_by_state=open_requests_by_state(session),
        median_days={ward.id: weighted_median(days.get(ward.id, {})) for ward in ward_rows},
        answered={ward.id: sum(days.get(ward.id, {}).values()) for ward in ward_rows},
        overdue_by_center=overdue_by_center(session, today),
        decisions=decisions_by_ward(session, fiscal_year),
        budget_by_bureau=budget_by_bureau(session, fiscal_year),
        budget_by_ward=budget_by_ward(session, fiscal_year, ward_rows),
        ward_funds=ward_funds(session, fiscal_year, ward_rows),
    )
