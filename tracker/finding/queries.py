"""The list queries, scoped by ``access`` and eager-loaded so a page runs a fixed number of queries.

Also the global search's results (``found_requests``, ``found_issues``): the same scope, every
word of the query matched.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, case, select
from sqlalchemy.orm import Session, joinedload, selectinload

from ..formatting import today_in_tokyo
from ..models import Center, ServiceRequest, User, WardIssue
from ..safeguards import access
from ..states import OPEN_REQUEST_STATES, IssueState, RequestState, Role
from . import search

_REQUEST_LIST_LOADS = (
    joinedload(ServiceRequest.category),
    joinedload(ServiceRequest.center),
    joinedload(ServiceRequest.ward),
    joinedload(ServiceRequest.logged_by),
    joinedload(ServiceRequest.ward_issue),
    joinedload(ServiceRequest.assignee),
)
_ISSUE_ROW_LOADS = (
    joinedload(WardIssue.ward),
    joinedload(WardIssue.lead_bureau),
    joinedload(WardIssue.ward_owner),
    joinedload(WardIssue.bureau_owner),
)
_ISSUE_LIST_LOADS = (
    *_ISSUE_ROW_LOADS,
    selectinload(WardIssue.related_bureaus),
    selectinload(WardIssue.budget_lines),
)
# The global search's issues: the same columns, the two collections joined into the one
# statement (the found issues are capped, so the join stays small), so that the page runs the
# same statements whether a word matches issues or none.
_ISSUE_FOUND_LOADS = (
    *_ISSUE_ROW_LOADS,
    joinedload(WardIssue.related_bureaus),
    joinedload(WardIssue.budget_lines),
)
RECENT_DAYS = 92  # the window the global search looks in first (``found_requests``)
_REQUEST_FOUND_LOADS = (
    joinedload(ServiceRequest.category),
    joinedload(ServiceRequest.center),
    joinedload(ServiceRequest.ward_issue),
)


def open_requests_of_center(center_id: int | None) -> Select:
    """A liaison's queue: unanswered requests of the center, overdue first, then by due date."""
    overdue_first = case((ServiceRequest.answer_due_on < today_in_tokyo(), 0), else_=1)
    return (
        select(ServiceRequest)
        .options(*_REQUEST_LIST_LOADS)
        .where(ServiceRequest.center_id == center_id, ServiceRequest.state.in_(OPEN_REQUEST_STATES))
        .order_by(overdue_first, ServiceRequest.answer_due_on, ServiceRequest.id)
    )


def requests_for(user: User, *, state: str | None = None, center_id: int | None = None) -> Select:
    statement = select(ServiceRequest).options(*_REQUEST_LIST_LOADS).where(access.request_filter(user))
    if state:
        statement = statement.where(ServiceRequest.state == RequestState(state))
    if center_id:
        statement = statement.where(ServiceRequest.center_id == center_id)
    return statement.order_by(ServiceRequest.received_on.desc(), ServiceRequest.id.desc())


def triage_requests(user: User) -> Select:
    """A ward manager's triage: requests of the ward still in 受付 or 回付, oldest first."""
    return (
        select(ServiceRequest)
        .options(*_REQUEST_LIST_LOADS)
        .where(
            ServiceRequest.ward_id == user.ward_id,
            ServiceRequest.state.in_((RequestState.RECEIVED, RequestState.REFERRED)),
        )
        .order_by(ServiceRequest.answer_due_on, ServiceRequest.id)
    )


def selected_requests(user: User, ids: list[int]) -> Select:
    """The requests of ``ids`` the user may see (a bulk selection shown again), in id order."""
    return (
        select(ServiceRequest)
        .options(*_REQUEST_LIST_LOADS)
        .where(access.request_filter(user), ServiceRequest.id.in_(ids or [0]))
        .order_by(ServiceRequest.id)
    )


def incoming_handovers(user: User) -> Select:
    """Requests other wards are handing over to the user's ward (他区へ引継ぎ中), oldest first."""
    return (
        select(ServiceRequest)
        .options(*_REQUEST_LIST_LOADS)
        .where(
            ServiceRequest.handover_ward_id == user.ward_id,
            ServiceRequest.state == RequestState.HANDING_OVER,
        )
        .order_by(ServiceRequest.answer_due_on, ServiceRequest.id)
    )


def centers_for(user: User) -> Select:
    statement = select(Center).order_by(Center.sort_order)
    if user.role != Role.ADMIN:
        statement = statement.where(Center.ward_id == user.ward_id)
    return statement


def issues_for(user: User, *, state: str | None = None) -> Select:
    statement = select(WardIssue).options(*_ISSUE_LIST_LOADS).where(access.issue_filter(user))
    if state:
        statement = statement.where(WardIssue.state == IssueState(state))
    return statement.order_by(WardIssue.updated_at.desc(), WardIssue.id.desc())


BUREAU_TABS = {
    "consulting": (IssueState.CONSULTING, IssueState.INQUIRING),  # 照会中 is still in consultation
    "decided": (IssueState.DECIDED,),
    "budgeted": (IssueState.BUDGETED,),
    "implementing": (IssueState.IMPLEMENTING,),
    "closed": (IssueState.COMPLETED, IssueState.NOT_ADOPTED),
}


def bureau_issues(user: User, tab: str, *, lead_only: bool = False) -> Select:
    statement = select(WardIssue).options(*_ISSUE_LIST_LOADS).where(access.issue_filter(user))
    if lead_only:
        statement = statement.where(WardIssue.lead_bureau_id == user.bureau_id)
    if tab in BUREAU_TABS:
        statement = statement.where(WardIssue.state.in_(BUREAU_TABS[tab]))
    return statement.order_by(WardIssue.sent_at, WardIssue.id)


def found_requests(
    session: Session, user: User, q: str, limit: int, today: dt.date | None = None
) -> list[ServiceRequest]:
    """The newest ``limit`` requests ``user`` may see that match every word of ``q``.

    With a one- or two-character word, found in two steps, newest first: the requests received
    in the last ``RECENT_DAYS`` (to ``today``), then, for as many rows as are still missing, the
    older ones (``LIMIT 0`` when the window sufficed, so the page runs the same statements
    whatever the data). Such a word may be rare as a share but not as a number (鉄塔: 0.4 %, 4,000
    requests of a million): its matches are then sorted within the window, the grams index and
    the date index ANDed, instead of all fetched to be sorted, or the dates walked past thousands
    of rows that do not match. Both steps together are exactly the newest ``limit`` (the order
    is by date first). Longer words keep one query: the trigram index's estimate is coarse, and
    with a window the planner traded the date walk a frequent word wants for a bitmap.
    """
    clause = search.matching(ServiceRequest, q)
    if clause is None:
        return []
    statement = (
        select(ServiceRequest)
        .options(*_REQUEST_FOUND_LOADS)
        .where(access.request_filter(user), clause)
        .order_by(ServiceRequest.received_on.desc(), ServiceRequest.id.desc())
    )
    if not search.has_short_term(q):
        return list(session.execute(statement.limit(limit)).scalars().unique())
    cutoff = (today or today_in_tokyo()) - dt.timedelta(days=RECENT_DAYS)
    recent = list(
        session.execute(statement.where(ServiceRequest.received_on >= cutoff).limit(limit)).scalars().unique()
    )
    older = session.execute(statement.where(ServiceRequest.received_on < cutoff).limit(limit - len(recent)))
    return recent + list(older.scalars().unique())


def found_issues(session: Session, user: User, q: str, limit: int) -> list[WardIssue]:
    """The newest ``limit`` ward issues ``user`` may see that match every word of ``q``."""
    clause = search.matching(WardIssue, q)
    if clause is None:
        return []
    statement = (
        select(WardIssue)
        .options(*_ISSUE_FOUND_LOADS)
        .where(access.issue_filter(user), clause)
        .order_by(WardIssue.created_at.desc(), WardIssue.id.desc())
        .limit(limit)
    )
    return list(session.execute(statement).scalars().unique())
