"""Global search (検索): the requests and ward issues the user may see that match every word."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..finding import search
from ..models import ServiceRequest, WardIssue
from ..safeguards import access
from ..states import Role

bp = Blueprint("search", __name__)

LIMIT = 50  # rows of each kind; the full lists page through the rest
MAX_QUERY = 200  # characters of the query looked at

# Who has the full lists (with a q= filter): the link under each result table.
REQUEST_LIST_ROLES = (Role.LIAISON, Role.WARD_MANAGER, Role.ADMIN)
ISSUE_LIST_ROLES = (Role.LIAISON, Role.WARD_MANAGER, Role.ADMIN)


def found_requests(user, q: str, limit: int = LIMIT) -> list[ServiceRequest]:
    clause = search.matching(ServiceRequest, q)
    if clause is None:
        return []
    statement = (
        select(ServiceRequest)
        .options(
            joinedload(ServiceRequest.category),
            joinedload(ServiceRequest.center),
            joinedload(ServiceRequest.ward_issue),
        )
        .where(access.request_filter(user), clause)
        .order_by(ServiceRequest.received_on.desc(), ServiceRequest.id.desc())
        .limit(limit)
    )
    return list(db.session.execute(statement).scalars().unique())


def found_issues(user, q: str, limit: int = LIMIT) -> list[WardIssue]:
    clause = search.matching(WardIssue, q)
    if clause is None:
        return []
    statement = (
        select(WardIssue)
        .options(
            joinedload(WardIssue.ward),
            joinedload(WardIssue.lead_bureau),
            selectinload(WardIssue.related_bureaus),
            selectinload(WardIssue.budget_lines),
        )
        .where(access.issue_filter(user), clause)
        .order_by(WardIssue.created_at.desc(), WardIssue.id.desc())
        .limit(limit)
    )
    return list(db.session.execute(statement).scalars().unique())


@bp.route("/search")
@login_required
def index():
    q = (request.args.get("q") or "")[:MAX_QUERY].strip()
    words = search.terms(q)
    requests = found_requests(current_user, q) if words else []
    issues = found_issues(current_user, q) if words else []
    return render_template(
        "search/index.html",
        q=q,
        words=words,
        requests=requests,
        issues=issues,
        limit=LIMIT,
        request_list=current_user.role in REQUEST_LIST_ROLES,
        issue_list=current_user.role in ISSUE_LIST_ROLES,
    )
