"""The dashboards' counts, read from the summary tables (``tracker.summary_models``).

Each function is one small indexed read: the filters (ward, center, fiscal year, dates) are in
the WHERE of the summary table, before any grouping, and the rows read are bounded by the
number of centers, states, months or distinct day counts, never by the number of requests.

Overdue requests (open, answer due before today) are the open requests minus those not yet due:
the open ones come from ``request_state_counts``, the not-yet-due ones from the rows of
``open_request_due`` dated today or later, a short range of dates whatever the table's size.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from ..models import Center
from ..states import OPEN_REQUEST_STATES, IssueState, RequestState
from ..summary_models import (
    ActivityCount,
    AnswerDays,
    BureauIssueCount,
    GatheredCount,
    IssueBudgetLines,
    IssueBudgetYen,
    IssueCount,
    IssueYearFigure,
    OpenRequestDue,
    RequestMonthCount,
    RequestStateCount,
)

OPEN_VALUES = [state.value for state in OPEN_REQUEST_STATES]


def _scope(model, ward_id: int | None, center_id: int | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if ward_id is not None:
        where.append(model.ward_id == ward_id)
    if center_id is not None:
        where.append(model.center_id == center_id)
    return where


def request_states(
    session: Session, *, ward_id: int | None = None, center_id: int | None = None
) -> dict[RequestState, int]:
    """Requests per state, city-wide or of one ward or center."""
    rows = session.execute(
        select(RequestStateCount.state, func.sum(RequestStateCount.count))
        .where(*_scope(RequestStateCount, ward_id, center_id))
        .group_by(RequestStateCount.state)
    )
    return {RequestState(state): int(count) for state, count in rows if count}


def open_by_ward_and_state(session: Session) -> dict[int, dict[RequestState, int]]:
    rows = session.execute(
        select(RequestStateCount.ward_id, RequestStateCount.state, func.sum(RequestStateCount.count))
        .where(RequestStateCount.state.in_(OPEN_VALUES))
        .group_by(RequestStateCount.ward_id, RequestStateCount.state)
    )
    result: dict[int, dict[RequestState, int]] = defaultdict(dict)
    for ward_id, state, count in rows:
        if count:
            result[ward_id][RequestState(state)] = int(count)
    return dict(result)


def overdue_count(session: Session, today: dt.date, *, center_id: int | None = None) -> int:
    """Open requests due before ``today``, city-wide or of one center; one query."""
    open_ = select(func.coalesce(func.sum(RequestStateCount.count), 0)).where(
        RequestStateCount.state.in_(OPEN_VALUES), *_scope(RequestStateCount, None, center_id)
    )
    not_due = select(func.coalesce(func.sum(OpenRequestDue.count), 0)).where(
        OpenRequestDue.answer_due_on >= today, *_scope(OpenRequestDue, None, center_id)
    )
    return int(session.execute(select(open_.scalar_subquery() - not_due.scalar_subquery())).scalar_one())


def overdue_per_center(today: dt.date, centers: ColumnElement[bool] | None = None):
    """A subquery (center_id, overdue) of the centers with open requests, ``centers`` a filter
    on ``Center`` (e.g. one ward's), applied before the grouping."""
    chosen = true() if centers is None else RequestStateCount.center_id.in_(select(Center.id).where(centers))
    chosen_due = true() if centers is None else OpenRequestDue.center_id.in_(select(Center.id).where(centers))
    open_ = (
        select(RequestStateCount.center_id, func.sum(RequestStateCount.count).label("n"))
        .where(RequestStateCount.state.in_(OPEN_VALUES), chosen)
        .group_by(RequestStateCount.center_id)
        .subquery()
    )
    not_due = (
        select(OpenRequestDue.center_id, func.sum(OpenRequestDue.count).label("n"))
        .where(OpenRequestDue.answer_due_on >= today, chosen_due)
        .group_by(OpenRequestDue.center_id)
        .subquery()
    )
    return (
        select(open_.c.center_id, (open_.c.n - func.coalesce(not_due.c.n, 0)).label("overdue"))
        .outerjoin(not_due, not_due.c.center_id == open_.c.center_id)
        .subquery()
    )


def monthly(session: Session, first: dt.date, last: dt.date) -> list[tuple[int, dt.date, int]]:
    """(ward id, first day of the month, requests received) for the months from ``first`` to ``last``."""
    rows = session.execute(
        select(RequestMonthCount.ward_id, RequestMonthCount.received_month, func.sum(RequestMonthCount.count))
        .where(RequestMonthCount.received_month.between(first.replace(day=1), last))
        .group_by(RequestMonthCount.ward_id, RequestMonthCount.received_month)
    )
    return [(ward_id, month, int(count)) for ward_id, month, count in rows]


def received_between(session: Session, first: dt.date, last: dt.date) -> int:
    statement = select(func.coalesce(func.sum(RequestMonthCount.count), 0)).where(
        RequestMonthCount.received_month.between(first.replace(day=1), last)
    )
    return int(session.execute(statement).scalar_one())


def requests_of_fiscal_years(session: Session, first: int, last: int) -> int:
    """Requests whose fiscal year is ``first``..``last``."""
    statement = select(func.coalesce(func.sum(RequestMonthCount.count), 0)).where(
        RequestMonthCount.fiscal_year.between(first, last)
    )
    return int(session.execute(statement).scalar_one())


def answer_days(session: Session, fiscal_year: int) -> dict[int, dict[int, int]]:
    """ward id -> {days from receipt to answer: requests}, for the year's answered requests."""
    rows = session.execute(
        select(AnswerDays.ward_id, AnswerDays.days, AnswerDays.count).where(
            AnswerDays.fiscal_year == fiscal_year, AnswerDays.count > 0
        )
    )
    result: dict[int, dict[int, int]] = defaultdict(dict)
    for ward_id, days, count in rows:
        result[ward_id][int(days)] = int(count)
    return dict(result)


def issue_states(session: Session, *, ward_id: int | None = None) -> dict[IssueState, int]:
    """Ward issues per state, city-wide or of one ward."""
    statement = select(IssueCount.state, func.sum(IssueCount.count)).group_by(IssueCount.state)
    if ward_id is not None:
        statement = statement.where(IssueCount.ward_id == ward_id)
    return {IssueState(state): int(count) for state, count in session.execute(statement) if count}


def bureau_issue_states(session: Session, bureau_id: int) -> dict[IssueState, int]:
    """The issues a bureau's staff see (sent to the bureaus, the bureau lead or related) per state."""
    rows = session.execute(
        select(BureauIssueCount.state, BureauIssueCount.count).where(
            BureauIssueCount.bureau_id == bureau_id, BureauIssueCount.count > 0
        )
    )
    return {IssueState(state): int(count) for state, count in rows}


def _decisions_by(group, states, *where):
    """The issues in ``states`` per ``group`` (a column of ``issue_counts``) and decision."""
    return (
        select(group, IssueCount.decision, func.sum(IssueCount.count))
        .where(IssueCount.state.in_([state.value for state in states]), *where)
        .group_by(group, IssueCount.decision)
    )


def _nested(rows) -> dict[int, dict[str | None, int]]:
    result: dict[int, dict[str | None, int]] = defaultdict(dict)
    for group, decision, count in rows:
        if count:
            result[group][decision or None] = int(count)
    return dict(result)


def issue_decisions(session: Session, fiscal_year: int, states) -> dict[int, dict[str | None, int]]:
    """ward id -> decision value (None: none yet) -> issues of the year in ``states``."""
    statement = _decisions_by(IssueCount.ward_id, states, IssueCount.fiscal_year == fiscal_year)
    return _nested(session.execute(statement))


def issue_figures(
    session: Session, fiscal_year: int, states
) -> list[tuple[int, int | None, str | None, bool, int]]:
    """(ward id, lead bureau id or None, decision value or None, budgeted, issues) of the ward
    issues of ``fiscal_year`` in ``states``: at most wards × bureaus × decisions × 2 rows."""
    rows = session.execute(
        select(
            IssueYearFigure.ward_id,
            IssueYearFigure.lead_bureau_id,
            IssueYearFigure.decision,
            IssueYearFigure.budgeted,
            func.sum(IssueYearFigure.count),
        )
        .where(
            IssueYearFigure.fiscal_year == fiscal_year,
            IssueYearFigure.state.in_([state.value for state in states]),
        )
        .group_by(
            IssueYearFigure.ward_id,
            IssueYearFigure.lead_bureau_id,
            IssueYearFigure.decision,
            IssueYearFigure.budgeted,
        )
    )
    return [
        (ward_id, lead or None, decision or None, bool(budgeted), int(count))
        for ward_id, lead, decision, budgeted, count in rows
        if count
    ]


def decisions_by_year(session: Session, first: int, last: int, states) -> dict[int, dict[str | None, int]]:
    """fiscal year -> decision value (None: none yet) -> issues of that year in ``states``."""
    statement = _decisions_by(IssueCount.fiscal_year, states, IssueCount.fiscal_year.between(first, last))
    return _nested(session.execute(statement))


def budget_yen(session: Session, first: int, last: int) -> list[tuple[int, int, int | None, int]]:
    """(fiscal year of the lines, issue's ward id, issue's lead bureau id or None, allocated yen)
    of the current bureau budget lines of issues, years ``first``..``last``."""
    rows = session.execute(
        select(
            IssueBudgetYen.fiscal_year,
            IssueBudgetYen.ward_id,
            IssueBudgetYen.lead_bureau_id,
            IssueBudgetYen.allocated_yen,
        ).where(IssueBudgetYen.fiscal_year.between(first, last))
    )
    return [(year, ward_id, lead or None, int(yen)) for year, ward_id, lead, yen in rows]


def issue_and_budget_years(session: Session, states) -> tuple[int, int] | None:
    """The first and last fiscal year with an issue in ``states`` or a current bureau budget line."""
    rows = session.execute(
        select(func.min(IssueYearFigure.fiscal_year), func.max(IssueYearFigure.fiscal_year))
        .where(IssueYearFigure.state.in_([state.value for state in states]), IssueYearFigure.count > 0)
        .union_all(
            select(func.min(IssueBudgetLines.fiscal_year), func.max(IssueBudgetLines.fiscal_year)).where(
                IssueBudgetLines.count > 0
            )
        )
    ).all()
    firsts = [first for first, _ in rows if first is not None]
    lasts = [last for _, last in rows if last is not None]
    return (min(firsts), max(lasts)) if firsts else None


def budget_line_count(session: Session, fiscal_year: int) -> int:
    """How many current bureau budget lines of issues are for ``fiscal_year``."""
    statement = select(func.coalesce(func.sum(IssueBudgetLines.count), 0)).where(
        IssueBudgetLines.fiscal_year == fiscal_year
    )
    return int(session.execute(statement).scalar_one())


def field_work(session: Session, first: int, last: int, *, ward_id: int | None = None) -> tuple[int, int]:
    """(activities, requests gathered in them) over fiscal years ``first``..``last``, city-wide
    or of one ward: two reads of at most wards × years rows."""
    counts = []
    for model in (ActivityCount, GatheredCount):
        where = [model.fiscal_year.between(min(first, last), max(first, last))]
        if ward_id is not None:
            where.append(model.ward_id == ward_id)
        counts.append(
            int(session.execute(select(func.coalesce(func.sum(model.count), 0)).where(*where)).scalar_one())
        )
    return counts[0], counts[1]
