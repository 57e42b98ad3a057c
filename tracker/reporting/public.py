"""What the public pages show: the ward issues each ward has chosen to publish, in the words the
ward approved for them.

Shown of an issue: its approved public text (``IssuePublication``: title, summary, decision,
budget, outcome, progress, written for residents and approved by a ward manager, 公開内容の確認),
and the facts around it: ward, fiscal year, reference, state, lead and related bureaus (by the
bureau's name), and how many requests it bundles. Never shown: any internal text (現状と課題,
対応案, the decision's reason, progress notes, the outcome as staff wrote it), any request's text
or requester (no personal data at all), any staff member's name.

Public is an issue with ``is_public`` set by its ward, neither a draft nor withdrawn, whose public
text is approved; an edit of the text takes it off until it is approved again. Every look-up here
is limited to those and yields the publication, its issue loaded, so an unpublished issue is as
absent as one that does not exist, and no page can reach for an internal text by mistake.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session, contains_eager

from ..finding import geo
from ..formatting import fiscal_year_label
from ..models import ServiceRequest, Ward, WardIssue
from ..monitoring_models import IssuePublication
from ..states import REGISTERED_ISSUE_STATES

PUBLIC_STATES = REGISTERED_ISSUE_STATES
FEED_ENTRIES = 50


def is_published():
    return (
        WardIssue.is_public.is_(True)
        & WardIssue.state.in_(PUBLIC_STATES)
        & IssuePublication.approved_at.is_not(None)
    )


def _publications() -> Select:
    """The approved publications of published issues, each with its issue, ward and bureaus."""
    issue = contains_eager(IssuePublication.ward_issue)
    return (
        select(IssuePublication)
        .join(IssuePublication.ward_issue)
        .options(
            issue.joinedload(WardIssue.ward),
            issue.joinedload(WardIssue.lead_bureau),
            issue.selectinload(WardIssue.related_bureaus),
        )
        .where(is_published())
    )


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
    """The publications of published issues, of one ward and/or fiscal year if given, newest year first."""
    statement = _publications()
    if ward_id:
        statement = statement.where(WardIssue.ward_id == ward_id)
    if year:
        statement = statement.where(WardIssue.fiscal_year == year)
    return statement.order_by(
        WardIssue.fiscal_year.desc(), IssuePublication.approved_at.desc(), WardIssue.id.desc()
    )


def wards(session: Session) -> Sequence[Row]:
    """(id, name) of every ward, for the ward filter."""
    return session.execute(select(Ward.id, Ward.name).order_by(Ward.sort_order, Ward.id)).all()


def published_years(session: Session) -> Sequence[int]:
    """The fiscal years with a published issue, newest first, for the year filter."""
    return session.scalars(
        select(WardIssue.fiscal_year)
        .join(IssuePublication, IssuePublication.ward_issue_id == WardIssue.id)
        .where(is_published())
        .distinct()
        .order_by(WardIssue.fiscal_year.desc())
    ).all()


def published_issue(session: Session, issue_id: int) -> IssuePublication | None:
    """The publication of the issue if it is published; None if it is not, or does not exist."""
    return session.execute(_publications().where(WardIssue.id == issue_id)).unique().scalar_one_or_none()


def latest_published(session: Session, limit: int = FEED_ENTRIES) -> Sequence[IssuePublication]:
    """The publications approved last, newest first: the feed's entries."""
    statement = (
        _publications().order_by(IssuePublication.approved_at.desc(), WardIssue.id.desc()).limit(limit)
    )
    return session.execute(statement).unique().scalars().all()


def published_places(session: Session, url_of, *, limit: int = geo.MAX_FEATURES) -> dict:
    """The public map's GeoJSON: one point per published issue whose requests have coordinates,
    at the mean of its requests' places (never a request's own place or anything of a request
    but the count), named by the issue's approved public title; newest approval first."""
    located = (ServiceRequest.latitude.is_not(None), ServiceRequest.longitude.is_not(None))
    statement = (
        select(
            WardIssue.id,
            WardIssue.reference,
            WardIssue.fiscal_year,
            WardIssue.state,
            IssuePublication.title,
            Ward.name.label("ward"),
            func.avg(ServiceRequest.latitude).label("latitude"),
            func.avg(ServiceRequest.longitude).label("longitude"),
            func.count(ServiceRequest.id).label("requests"),
        )
        .join(IssuePublication, IssuePublication.ward_issue_id == WardIssue.id)
        .join(Ward, Ward.id == WardIssue.ward_id)
        .join(ServiceRequest, ServiceRequest.ward_issue_id == WardIssue.id)
        .where(is_published(), *located)
        .group_by(WardIssue.id, IssuePublication.id, Ward.id)
        .order_by(func.max(IssuePublication.approved_at).desc(), WardIssue.id.desc())
        .limit(limit + 1)
    )
    rows = session.execute(statement).all()
    features = [
        geo.point(
            round(float(row.latitude), 6),
            round(float(row.longitude), 6),
            {
                "id": row.id,
                "reference": row.reference,
                "title": row.title,
                "ward": row.ward,
                "fiscal_year": fiscal_year_label(row.fiscal_year),
                "state": row.state.value,
                "state_label": str(row.state.label),
                "requests": int(row.requests),
                "url": url_of(row.id),
            },
        )
        for row in rows[:limit]
    ]
    return geo.collection(features, truncated=len(rows) > limit, limit=limit)
