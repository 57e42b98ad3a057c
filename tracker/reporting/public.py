"""What the public pages show: the ward issues each ward has chosen to publish.

Shown: what the city itself publishes of an issue: ward, fiscal year, title, proposed response,
lead and related bureaus, state, decision and its reason, budget lines (事業名 and amounts),
progress notes (text and date), outcome, and how many requests it bundles. Never shown: any
request's text or requester (no personal data at all), the 現状と課題 (often copied from a
request), any staff member's name (the author of a note is not named; a bureau is named by
the bureau's name).

Public is an issue with ``is_public`` set by its ward that is neither a draft nor withdrawn;
every look-up here is limited to those, so an unpublished issue is as absent as one that does
not exist.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from ..models import ServiceRequest, Ward, WardIssue
from ..states import REGISTERED_ISSUE_STATES

PUBLIC_STATES = REGISTERED_ISSUE_STATES
FEED_ENTRIES = 50
_LOADS = (
    joinedload(WardIssue.ward),
    joinedload(WardIssue.lead_bureau),
    selectinload(WardIssue.related_bureaus),
    selectinload(WardIssue.budget_lines),
    selectinload(WardIssue.progress_notes),
)


def is_published():
    return WardIssue.is_public.is_(True) & WardIssue.state.in_(PUBLIC_STATES)


def request_counts(session: Session, issue_ids: list[int]) -> dict[int, int]:
    """How many requests each issue bundles: one query for the whole page."""
    if not issue_ids:
        return {}
    rows = session.execute(
        select(ServiceRequest.ward_issue_id, func.count())
        .where(ServiceRequest.ward_issue_id.in_(issue_ids))
        .group_by(ServiceRequest.ward_issue_id)
    ).all()
    return {issue_id: int(count) for issue_id, count in rows}


def published_issues(ward_id: int | None, year: int | None) -> Select:
    """The published issues, of one ward and/or fiscal year if given, newest year first."""
    statement = select(WardIssue).options(*_LOADS).where(is_published())
    if ward_id:
        statement = statement.where(WardIssue.ward_id == ward_id)
    if year:
        statement = statement.where(WardIssue.fiscal_year == year)
    return statement.order_by(WardIssue.fiscal_year.desc(), WardIssue.updated_at.desc(), WardIssue.id.desc())


def wards(session: Session) -> Sequence[Row]:
    """(id, name) of every ward, for the ward filter."""
    return session.execute(select(Ward.id, Ward.name).order_by(Ward.sort_order, Ward.id)).all()


def published_years(session: Session) -> Sequence[int]:
    """The fiscal years with a published issue, newest first, for the year filter."""
    return session.scalars(
        select(WardIssue.fiscal_year).where(is_published()).distinct().order_by(WardIssue.fiscal_year.desc())
    ).all()


def published_issue(session: Session, issue_id: int) -> WardIssue | None:
    """The issue if it is published; None if it is not, or does not exist."""
    return session.execute(
        select(WardIssue).options(*_LOADS).where(WardIssue.id == issue_id, is_published())
    ).scalar_one_or_none()


def latest_published(session: Session, limit: int = FEED_ENTRIES) -> Sequence[WardIssue]:
    """The published issues changed last, newest change first: the feed's entries."""
    return (
        session.execute(
            select(WardIssue)
            .options(*_LOADS)
            .where(is_published())
            .order_by(WardIssue.updated_at.desc(), WardIssue.id.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )


def budget_yen(issue: WardIssue) -> int:
    """The issue's budget: the sum of its current (not cancelled) budget lines' allocations."""
    return sum(line.allocated_yen for line in issue.current_budget_lines)
