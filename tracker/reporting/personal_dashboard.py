"""The personal dashboard: what each role should look at first, within the user's own scope.

- liaison: the center's unanswered requests (overdue first), those due within a week, the
  requests the user logged lately;
- ward manager: the triage count, overdue requests of the ward per center, the ward's issues by
  state, consultations past their next review date, the ward's fund, the issues that miss next
  year's budget unless they move by the budget calendar's next date, the ward's activities and the
  requests gathered in them this fiscal year (``activity_counts``);
- bureau staff: the inbox counts, the consultations awaiting the bureau's decision, the issues
  being carried out, the bureau's budget allocated vs executed, the lead issues at risk of
  missing next year's budget;
- admin: city-wide counts and the background jobs that failed.

Each part is one query (lists eager-load what they show and are capped at ``LIST_LIMIT``; the
counts of requests and issues are read from the summary tables through ``counters``), so a
dashboard costs the same whatever the amount of data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from ..effects import budget_calendar, funds
from ..finding import queries
from ..formatting import fiscal_year_of
from ..models import BudgetLine, ServiceRequest, User, WardIssue
from ..ops_models import OutboxJob
from ..states import OPEN_REQUEST_STATES, Funding, IssueState, JobState, RequestState, Role
from . import activity_counts, counters
from .dashboards import fiscal_year_bounds, overdue_by_center

LIST_LIMIT = 20
WEEK = dt.timedelta(days=7)


@dataclass
class Dashboard:
    role: Role
    today: dt.date
    fiscal_year: int
    counts: dict[str, int] = field(default_factory=dict)
    lists: dict[str, list[Any]] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)


def _count(session: Session, statement) -> int:
    return int(session.execute(select(func.count()).select_from(statement.subquery())).scalar_one())


def _request_list(session: Session, statement) -> list[ServiceRequest]:
    return session.execute(statement.limit(LIST_LIMIT)).unique().scalars().all()


def _by_due_date(statement):
    """The queue's order (overdue first, then by due date) is the due date's own order: so
    written, the partial index of open requests per center and due date reads it in order."""
    return statement.order_by(None).order_by(ServiceRequest.answer_due_on, ServiceRequest.id)


def liaison(session: Session, user: User, board: Dashboard) -> None:
    today = board.today
    states = counters.request_states(session, center_id=user.center_id or 0)
    board.counts["open"] = sum(states.get(state, 0) for state in OPEN_REQUEST_STATES)
    board.counts["overdue"] = counters.overdue_count(session, today, center_id=user.center_id or 0)
    board.lists["queue"] = _request_list(
        session, _by_due_date(queries.open_requests_of_center(user.center_id))
    )
    board.lists["due_this_week"] = _request_list(
        session,
        _by_due_date(queries.open_requests_of_center(user.center_id)).where(
            ServiceRequest.answer_due_on >= today, ServiceRequest.answer_due_on < today + WEEK
        ),
    )
    board.lists["logged"] = _request_list(
        session,
        select(ServiceRequest)
        .options(
            joinedload(ServiceRequest.center),
            joinedload(ServiceRequest.category),
            joinedload(ServiceRequest.ward_issue),  # the list shows an escalated request's issue
        )
        .where(ServiceRequest.logged_by_id == user.id)
        .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc()),
    )


def ward_manager(session: Session, user: User, board: Dashboard) -> None:
    today = board.today
    requests = counters.request_states(session, ward_id=user.ward_id or 0)
    board.counts["triage"] = requests.get(RequestState.RECEIVED, 0) + requests.get(RequestState.REFERRED, 0)
    centers = overdue_by_center(session, today, ward_id=user.ward_id or 0)
    board.tables["overdue_by_center"] = centers
    board.counts["overdue"] = sum(row.overdue for row in centers)
    states = counters.issue_states(session, ward_id=user.ward_id or 0)
    board.tables["issues_by_state"] = [(state, states.get(state, 0)) for state in IssueState]
    board.lists["past_review"] = (
        session.execute(
            select(WardIssue)
            .options(joinedload(WardIssue.lead_bureau))
            .where(
                WardIssue.ward_id == user.ward_id,
                WardIssue.state == IssueState.CONSULTING,
                WardIssue.next_review_on < today,
            )
            .order_by(WardIssue.next_review_on, WardIssue.id)
            .limit(LIST_LIMIT)
        )
        .scalars()
        .all()
    )
    board.lists["inquiries"] = (
        session.execute(
            select(WardIssue)
            .options(joinedload(WardIssue.lead_bureau))
            .where(WardIssue.ward_id == user.ward_id, WardIssue.state == IssueState.INQUIRING)
            .order_by(WardIssue.updated_at, WardIssue.id)
            .limit(LIST_LIMIT)
        )
        .scalars()
        .all()
    )
    years = {year.fiscal_year: year for year in funds.fund_years(session, user.ward_id)}
    board.tables["fund"] = years.get(board.fiscal_year) or funds.FundYear(board.fiscal_year, 0, 0)
    board.tables["budget_calendar"] = budget_calendar.at_risk(
        session, today, ward_id=user.ward_id or 0, limit=LIST_LIMIT
    )
    board.tables["field_work"] = activity_counts.current_fiscal_year_figures(session, user.ward_id, today)


def bureau_staff(session: Session, user: User, board: Dashboard) -> None:
    today = board.today
    states = counters.bureau_issue_states(session, user.bureau_id) if user.bureau_id else {}
    board.tables["inbox"] = [
        (tab, sum(states.get(state, 0) for state in tab_states))
        for tab, tab_states in queries.BUREAU_TABS.items()
    ]
    awaiting = (
        session.execute(
            queries.bureau_issues(user, "consulting", lead_only=True)
            .order_by(None)
            .order_by(
                WardIssue.next_review_on.is_(None), WardIssue.next_review_on, WardIssue.sent_at, WardIssue.id
            )
            .limit(LIST_LIMIT)
        )
        .unique()
        .scalars()
        .all()
    )
    board.lists["decisions_due"] = awaiting
    board.counts["decisions_overdue"] = sum(
        1 for i in awaiting if i.next_review_on and i.next_review_on < today
    )
    board.lists["implementing"] = (
        session.execute(queries.bureau_issues(user, "implementing", lead_only=True).limit(LIST_LIMIT))
        .unique()
        .scalars()
        .all()
    )
    board.tables["budget"] = [
        (year, int(allocated), int(executed))
        for year, allocated, executed in session.execute(
            select(
                BudgetLine.fiscal_year,
                func.coalesce(func.sum(BudgetLine.allocated_yen), 0),
                func.coalesce(func.sum(BudgetLine.executed_yen), 0),
            )
            .where(
                BudgetLine.funding == Funding.BUREAU,
                BudgetLine.bureau_id == (user.bureau_id or 0),
                BudgetLine.cancelled_at.is_(None),
            )
            .group_by(BudgetLine.fiscal_year)
            .order_by(BudgetLine.fiscal_year.desc())
            .limit(5)
        )
    ]
    board.tables["budget_calendar"] = budget_calendar.at_risk(
        session, today, bureau_id=user.bureau_id or 0, limit=LIST_LIMIT
    )


def admin(session: Session, user: User, board: Dashboard) -> None:
    today = board.today
    requests = counters.request_states(session)
    board.tables["requests_by_state"] = [(state, requests.get(state, 0)) for state in RequestState]
    board.counts["overdue"] = counters.overdue_count(session, today)
    board.counts["received_this_year"] = counters.received_between(
        session, *fiscal_year_bounds(board.fiscal_year)
    )
    issues = counters.issue_states(session)
    board.tables["issues_by_state"] = [(state, issues.get(state, 0)) for state in IssueState]
    board.counts["failed_jobs"] = _count(
        session, select(OutboxJob.id).where(OutboxJob.state == JobState.FAILED)
    )
    board.lists["failed_jobs"] = (
        session.execute(
            select(OutboxJob)
            .where(OutboxJob.state == JobState.FAILED)
            .order_by(OutboxJob.id.desc())
            .limit(LIST_LIMIT)
        )
        .scalars()
        .all()
    )


BUILDERS = {
    Role.LIAISON: liaison,
    Role.WARD_MANAGER: ward_manager,
    Role.BUREAU_STAFF: bureau_staff,
    Role.ADMIN: admin,
}


def dashboard_for(session: Session, user: User, today: dt.date) -> Dashboard:
    board = Dashboard(user.role, today, fiscal_year_of(today))
    BUILDERS[user.role](session, user, board)
    return board
