"""Global search (検索): the requests and ward issues the user may see that match every word."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from ..extensions import db
from ..finding import queries, search
from ..states import Role

bp = Blueprint("search", __name__)

LIMIT = 50  # rows of each kind; the full lists page through the rest
MAX_QUERY = 200  # characters of the query looked at

# Who has the full lists (with a q= filter): the link under each result table.
REQUEST_LIST_ROLES = (Role.LIAISON, Role.WARD_MANAGER, Role.ADMIN)
ISSUE_LIST_ROLES = (Role.LIAISON, Role.WARD_MANAGER, Role.ADMIN)


@bp.route("/search")
@login_required
def index():
    q = (request.args.get("q") or "")[:MAX_QUERY].strip()
    words = search.terms(q)
    requests = queries.found_requests(db.session, current_user, q, LIMIT) if words else []
    issues = queries.found_issues(db.session, current_user, q, LIMIT) if words else []
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
