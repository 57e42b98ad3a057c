"""The computed indicators (指標): each metric worked out from the data, per ward and fiscal year.

A metric is keyed by a stable string (``Indicator.metric`` names it) and computed for every
ward and every fiscal year of a range, and for the city as a whole, by ONE aggregate query
(GROUP BY ward and year) whatever the number of rows: never a query per ward or per year, never
the rows themselves in Python. A ratio of the city is the ratio of the city's sums (not the mean
of the wards' ratios). Values are ``Decimal`` rounded to two places, like the targets; ``None``
means the value cannot be worked out (nothing to divide by, nothing answered).

What each metric counts:
- ``activities_per_liaison``: activities of the ward with the year as their fiscal year, divided
  by the ward's liaison staff active now (the product keeps no staff numbers of past years, so
  every year of the range divides by today's number);
- ``answered_on_time_rate``: of the requests answered in the fiscal year (``answered_on`` within
  it, state 回答済み), the share answered on or before their due date (``answered_on <=
  answer_due_on``). The denominator is what was answered in the year, so a year's figure is
  final when the year ends; requests still open are not in it (an open overdue request shows on
  the dashboards, and counts here as late when it is answered);
- ``median_days_to_answer``: over the same requests, the median of the days from receipt to
  answer. SQLite has no median: the days are counted in SQL and grouped (ward, year, days) with a
  count, so Python takes the median over at most wards × years × distinct day counts rows (a few
  hundred, however many requests), on SQLite and PostgreSQL alike (``weighted_median``);
- ``issues_sent``, ``issues_adopted``, ``issues_budgeted``: ward issues of the fiscal year (the
  issue's own year) sent to their bureau (``sent_at`` set), with the decision 対応する or 一部対応,
  and with at least one current (not cancelled) bureau budget line;
- ``budget_execution_rate``: executed ÷ allocated of the current bureau budget lines of the
  ward's issues, in the budget line's fiscal year (a line not yet executed counts as 0 executed);
- ``ward_fund_use_rate``: the ward fund's use ÷ its allocation (``WardFund.allocated_yen``); use
  is the sum of the current ward-fund budget lines of that ward and year, as
  ``tracker.effects.funds`` defines it.

Unlike the city dashboard, which counts the answers of the requests *received* in a year, the
two answer metrics count the answers *given* in the year.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import (
    Integer,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from ..activity_models import Activity
from ..models import BudgetLine, ServiceRequest, User, WardFund, WardIssue
from ..states import REGISTERED_ISSUE_STATES, Decision, Funding, RequestState, Role
from ..wording import N_
from .dashboards import days_between, weighted_median

Key = tuple[int | None, int]  # (ward id, or None for the whole city; fiscal year)
Values = dict[Key, Decimal | None]
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Metric:
    key: str
    name: str  # in Japanese, marked: ``translate`` it to show it
    unit: str
    higher_is_better: bool
    description: str  # as ``name``
    compute: Callable[[Session, int, int, list[int]], Values]


def rounded(value: Decimal | float | int | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _ratio(numerator: int, denominator: int, scale: int = 1) -> Decimal | None:
    if not denominator:
        return None
    return rounded(Decimal(numerator) * scale / Decimal(denominator))


def _keys(ward_ids: Iterable[int], first: int, last: int) -> list[Key]:
    return [(ward, year) for ward in [*ward_ids, None] for year in range(first, last + 1)]


def _fractions(
    parts: dict[Key, tuple[int, int]], ward_ids: list[int], first: int, last: int, scale: int = 1
) -> Values:
    """numerator ÷ denominator per ward and year; the city's from the sums of its wards."""
    for year in range(first, last + 1):
        numerator = sum(parts.get((ward, year), (0, 0))[0] for ward in ward_ids)
        denominator = sum(parts.get((ward, year), (0, 0))[1] for ward in ward_ids)
        parts[(None, year)] = (numerator, denominator)
    return {key: _ratio(*parts.get(key, (0, 0)), scale=scale) for key in _keys(ward_ids, first, last)}


def _counts(counts: dict[Key, int], ward_ids: list[int], first: int, last: int) -> Values:
    for year in range(first, last + 1):
        counts[(None, year)] = sum(counts.get((ward, year), 0) for ward in ward_ids)
    return {key: Decimal(counts.get(key, 0)) for key in _keys(ward_ids, first, last)}


def fiscal_year_of_column(column):
    """The fiscal year (April–March) of a date column, as SQL both SQLite and PostgreSQL run."""
    return cast(extract("year", column) - case((extract("month", column) < 4, 1), else_=0), Integer)


# --- the metrics -------------------------------------------------------------------------------


def activities_per_liaison(session: Session, first: int, last: int, ward_ids: list[int]) -> Values:
    # One statement: the activities per ward and year, then (year NULL) the liaisons per ward.
    activities = (
        select(Activity.ward_id, Activity.fiscal_year, func.count(Activity.id), literal_column("0"))
        .where(Activity.fiscal_year.between(first, last))
        .group_by(Activity.ward_id, Activity.fiscal_year)
    )
    liaisons = (
        select(User.ward_id, cast(null(), Integer), literal_column("0"), func.count(User.id))
        .where(User.role == Role.LIAISON, User.active.is_(True), User.ward_id.is_not(None))
        .group_by(User.ward_id)
    )
    rows = session.execute(union_all(activities, liaisons)).all()
    staff = {ward: int(count) for ward, year, _, count in rows if year is None}
    logged = {(ward, int(year)): int(count) for ward, year, count, _ in rows if year is not None}
    parts = {
        (ward, year): (logged.get((ward, year), 0), staff.get(ward, 0))
        for ward in ward_ids
        for year in range(first, last + 1)
    }
    return _fractions(parts, ward_ids, first, last)


def _answers(session: Session, first: int, last: int):
    """The requests answered in ``first``–``last``: ward, fiscal year of the answer, days from
    receipt to answer, and 1 when answered by the due date. A subquery, so that the outer query
    groups by its plain columns (PostgreSQL will not match two copies of a parameterised
    expression between SELECT and GROUP BY)."""
    on_time = case((ServiceRequest.answered_on <= ServiceRequest.answer_due_on, 1), else_=0)
    return (
        select(
            ServiceRequest.ward_id.label("ward_id"),
            fiscal_year_of_column(ServiceRequest.answered_on).label("fiscal_year"),
            days_between(session, ServiceRequest.received_on, ServiceRequest.answered_on).label("days"),
            on_time.label("on_time"),
        )
        .where(
            ServiceRequest.state == RequestState.ANSWERED,
            ServiceRequest.answered_on.is_not(None),
            ServiceRequest.answered_on.between(dt.date(first, 4, 1), dt.date(last + 1, 3, 31)),
        )
        .subquery()
    )


def answered_on_time_rate(session: Session, first: int, last: int, ward_ids: list[int]) -> Values:
    answers = _answers(session, first, last)
    rows = session.execute(
        select(answers.c.ward_id, answers.c.fiscal_year, func.sum(answers.c.on_time), func.count())
        .select_from(answers)
        .group_by(answers.c.ward_id, answers.c.fiscal_year)
    ).all()
    parts = {(ward, int(fy)): (int(good or 0), int(total)) for ward, fy, good, total in rows}
    return _fractions(parts, ward_ids, first, last, scale=100)


def median_days_to_answer(session: Session, first: int, last: int, ward_ids: list[int]) -> Values:
    answers = _answers(session, first, last)
    rows = session.execute(
        select(answers.c.ward_id, answers.c.fiscal_year, answers.c.days, func.count())
        .select_from(answers)
        .group_by(answers.c.ward_id, answers.c.fiscal_year, answers.c.days)
    ).all()
    spread: dict[Key, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for ward, fy, day_count, count in rows:
        for key in ((ward, int(fy)), (None, int(fy))):
            spread[key][max(int(day_count), 0)] += int(count)
    return {key: rounded(weighted_median(spread.get(key, {}))) for key in _keys(ward_ids, first, last)}


def _issue_counts(session: Session, first: int, last: int, ward_ids: list[int], *where) -> Values:
    rows = session.execute(
        select(WardIssue.ward_id, WardIssue.fiscal_year, func.count(WardIssue.id))
        .where(WardIssue.fiscal_year.between(first, last), *where)
        .group_by(WardIssue.ward_id, WardIssue.fiscal_year)
    ).all()
    return _counts({(ward, year): int(count) for ward, year, count in rows}, ward_ids, first, last)


def _current_bureau_line():
    return and_(BudgetLine.funding == Funding.BUREAU, BudgetLine.cancelled_at.is_(None))


def issues_sent(session: Session, first: int, last: int, ward_ids: list[int]) -> Values:
    return _issue_counts(session, first, last, ward_ids, WardIssue.sent_at.is_not(None))


def issues_adopted(session: Session, first: int, last: int, ward_ids: list[int]) -> Values:
    return _issue_counts(
        session,
        first,
        last,
        ward_ids,
        WardIssue.state.in_(REGISTERED_ISSUE_STATES),
        WardIssue.decision.in_((Decision.ADOPT, Decision.PARTIAL)),
    )


def issues_budgeted(session: Session, first: int, last: int, ward_ids: list[int]) -> Values:
    has_budget = exists().where(BudgetLine.ward_issue_id == WardIssue.id, _current_bureau_line())
    return _issue_counts(session, first, last, ward_ids, has_budget)


def budget_execution_rate(session: Session, first: int, last: int, ward_ids: list[int]) -> Values:
    rows = session.execute(
        select(
            WardIssue.ward_id,
            BudgetLine.fiscal_year,
            func.coalesce(func.sum(func.coalesce(BudgetLine.executed_yen, 0)), 0),
            func.coalesce(func.sum(BudgetLine.allocated_yen), 0),
        )
        .join(WardIssue, BudgetLine.ward_issue_id == WardIssue.id)
        .where(_current_bureau_line(), BudgetLine.fiscal_year.between(first, last))
        .group_by(WardIssue.ward_id, BudgetLine.fiscal_year)
    ).all()
    parts = {(ward, year): (int(executed), int(allocated)) for ward, year, executed, allocated in rows}
    return _fractions(parts, ward_ids, first, last, scale=100)


def ward_fund_use_rate(session: Session, first: int, last: int, ward_ids: list[int]) -> Values:
    used = (
        select(
            BudgetLine.ward_id.label("ward_id"),
            BudgetLine.fiscal_year.label("fiscal_year"),
            func.sum(BudgetLine.allocated_yen).label("used"),
        )
        .where(
            BudgetLine.funding == Funding.WARD_FUND,
            BudgetLine.cancelled_at.is_(None),
            BudgetLine.fiscal_year.between(first, last),
        )
        .group_by(BudgetLine.ward_id, BudgetLine.fiscal_year)
        .subquery()
    )
    rows = session.execute(
        select(WardFund.ward_id, WardFund.fiscal_year, func.coalesce(used.c.used, 0), WardFund.allocated_yen)
        .outerjoin(used, and_(used.c.ward_id == WardFund.ward_id, used.c.fiscal_year == WardFund.fiscal_year))
        .where(WardFund.fiscal_year.between(first, last))
    ).all()
    parts = {(ward, year): (int(spent), int(allocated)) for ward, year, spent, allocated in rows}
    return _fractions(parts, ward_ids, first, last, scale=100)


METRICS: dict[str, Metric] = {
    metric.key: metric
    for metric in (
        Metric(
            "activities_per_liaison",
            N_("地域担当職員1人あたりの活動件数"),
            "件/人",
            True,
            N_("年度の活動記録の件数を、区の現在の地域担当職員の人数で割った値"),
            activities_per_liaison,
        ),
        Metric(
            "answered_on_time_rate",
            N_("回答期限内に回答した要望の割合"),
            "%",
            True,
            N_("年度中に回答した要望のうち、回答期限までに回答したものの割合"),
            answered_on_time_rate,
        ),
        Metric(
            "median_days_to_answer",
            N_("受付から回答までの日数 (中央値)"),
            "日",
            False,
            N_("年度中に回答した要望の、受付日から回答日までの日数の中央値"),
            median_days_to_answer,
        ),
        Metric(
            "issues_sent",
            N_("局へ送付した区重要課題の件数"),
            "件",
            True,
            N_("年度の区重要課題のうち、局へ送付したものの件数"),
            issues_sent,
        ),
        Metric(
            "issues_adopted",
            N_("「対応する」「一部対応」となった区重要課題の件数"),
            "件",
            True,
            N_("年度の区重要課題のうち、協議結果が「対応する」または「一部対応」のものの件数"),
            issues_adopted,
        ),
        Metric(
            "issues_budgeted",
            N_("予算化された区重要課題の件数"),
            "件",
            True,
            N_("年度の区重要課題のうち、取消されていない局予算があるものの件数"),
            issues_budgeted,
        ),
        Metric(
            "budget_execution_rate",
            N_("局予算の執行率"),
            "%",
            True,
            N_("区の区重要課題に付いた局予算 (取消を除く) の決算額 ÷ 予算額、予算の年度ごと"),
            budget_execution_rate,
        ),
        Metric(
            "ward_fund_use_rate",
            N_("まちづくり推進経費の執行率"),
            "%",
            True,
            N_("まちづくり推進経費の配分額に対する、取消されていない支出の合計の割合"),
            ward_fund_use_rate,
        ),
    )
}


def compute(session: Session, metric: str, first: int, last: int, ward_ids: list[int]) -> Values:
    """The values of ``metric`` for every ward of ``ward_ids`` and the city, ``first``–``last``."""
    return METRICS[metric].compute(session, min(first, last), max(first, last), list(ward_ids))
