"""他区の類似課題: the ward issues of OTHER wards like this one, on a ward issue's page.

What the wards share is the issue itself, never what lies under it: each row carries the issue's
facts only (ward, reference, title, state, decision, lead bureau, current budget total, the
start of its outcome, whether it is in the 事例集), never a request of the other ward, a
resident's name or contact, or a comment or attachment.

Who sees the section (``may_see``): the ward managers of every ward and the admin; bureau staff
on the issues they can see, offered only other wards' issues that were sent to a bureau (what is
still inside a ward is the ward's). Liaisons see no other ward's issues. A row links to its issue
only for whoever may open it (``access.issue_filter``, computed in the same query).

Which issues: of another ward, at least 区重要課題決定 (neither a draft, nor awaiting approval,
nor withdrawn), and either in a category of a request bundled in this issue (an issue has no
category of its own) or with similar text (``similar.score`` on the title, and the start of
現状と課題 and 対応案). Ranked by text score, a shared category adding ``CATEGORY_WEIGHT``; the
best ``LIMIT``. Candidates come from bounded queries: the newest sharing a category (from the
partial index of bundled requests by category), the newest of all, and those sharing a trigram
of the title (the search index, as ``similar.similar_open_requests`` asks it); which of them
share a category is one lookup by their ids — so the page runs the same statements, each
reading a bounded number of rows, at ten thousand requests as at a million.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, exists, func, or_, select
from sqlalchemy.orm import Session

from ..models import BudgetLine, Bureau, ServiceRequest, User, Ward, WardIssue
from ..monitoring_models import GoodPractice
from ..safeguards import access
from ..states import Decision, IssueState, Role
from . import search, similar

SHARED_STATES = (
    IssueState.REGISTERED,
    IssueState.CONSULTING,
    IssueState.INQUIRING,
    IssueState.DECIDED,
    IssueState.NOT_ADOPTED,
    IssueState.BUDGETED,
    IssueState.IMPLEMENTING,
    IssueState.COMPLETED,
)
LIMIT = 5
CANDIDATES = 100  # compared in Python at most, per query
BUNDLING_IDS = 4 * CANDIDATES  # newest issues sharing a category, before the scope (other ward, state)
TEXT_CHARS = 400  # of 現状と課題 and 対応案 compared (their start says what the issue is)
OUTCOME_CHARS = 200  # of the outcome shown
CATEGORY_WEIGHT = 0.3
VIEWERS = (Role.WARD_MANAGER, Role.ADMIN, Role.BUREAU_STAFF)


@dataclass(frozen=True)
class SimilarIssue:
    id: int
    reference: str
    title: str
    ward: str
    state: IssueState
    decision: Decision | None
    lead_bureau: str | None
    budget_yen: int
    outcome: str  # its first OUTCOME_CHARS characters
    outcome_cut: bool
    same_category: bool
    text_score: float
    in_library: bool
    visible: bool  # the user may open the issue itself

    @property
    def similar_text(self) -> bool:
        return self.text_score >= similar.THRESHOLD

    @property
    def relevance(self) -> float:
        return self.text_score + (CATEGORY_WEIGHT if self.same_category else 0.0)


def may_see(user: User) -> bool:
    return user.role in VIEWERS


def _statement(user: User, issue: WardIssue):
    budget = (
        select(func.coalesce(func.sum(BudgetLine.allocated_yen), 0))
        .where(BudgetLine.ward_issue_id == WardIssue.id, BudgetLine.cancelled_at.is_(None))
        .correlate(WardIssue)
        .scalar_subquery()
    )
    scope = [WardIssue.ward_id != issue.ward_id, WardIssue.state.in_(SHARED_STATES)]
    if user.role == Role.BUREAU_STAFF:
        scope.append(WardIssue.sent_at.is_not(None))
    return (
        select(
            WardIssue.id,
            WardIssue.reference,
            WardIssue.title,
            func.substr(WardIssue.situation, 1, TEXT_CHARS).label("situation"),
            func.substr(WardIssue.proposal, 1, TEXT_CHARS).label("proposal"),
            WardIssue.state,
            WardIssue.decision,
            func.substr(WardIssue.outcome, 1, OUTCOME_CHARS + 1).label("outcome"),
            Ward.name.label("ward"),
            Bureau.name.label("lead_bureau"),
            budget.label("budget_yen"),
            case((exists().where(GoodPractice.ward_issue_id == WardIssue.id), True), else_=False).label(
                "in_library"
            ),
            case((access.issue_filter(user), True), else_=False).label("visible"),
        )
        .join(Ward, Ward.id == WardIssue.ward_id)
        .outerjoin(Bureau, Bureau.id == WardIssue.lead_bureau_id)
        .where(*scope)
    )


def _bundling(categories: list[int]):
    """The ids of issues that bundle a request of one of ``categories``: read from the partial
    index of bundled requests by category (``ix_requests_category_issue``); the categories are
    values, not a subquery, so the planner sees which index serves them."""
    return select(ServiceRequest.ward_issue_id).where(
        ServiceRequest.ward_issue_id.is_not(None), ServiceRequest.category_id.in_(categories)
    )


def _newest_bundling(categories: list[int]):
    """The newest ``BUNDLING_IDS`` of ``_bundling``: a bounded list the issues are read from by
    their key (without the bound the planner scans every issue to join them)."""
    newest = (
        _bundling(categories).distinct().order_by(ServiceRequest.ward_issue_id.desc()).limit(BUNDLING_IDS)
    )
    return select(newest.subquery().c.ward_issue_id)


def similar_issues(session: Session, user: User, issue: WardIssue, limit: int = LIMIT) -> list[SimilarIssue]:
    """The other wards' issues most like ``issue``, best first, in five bounded queries whatever
    the number of issues: this issue's categories; the newest issues sharing one; the newest of
    all; those sharing a trigram of the title; which of these candidates share a category."""
    categories = list(
        session.scalars(
            select(ServiceRequest.category_id).where(ServiceRequest.ward_issue_id == issue.id).distinct()
        )
    )
    statement = _statement(user, issue)
    newest = WardIssue.id.desc()
    sharing = (
        statement.where(WardIssue.id.in_(_newest_bundling(categories))).order_by(newest).limit(CANDIDATES)
    )
    rows = {row.id: row for row in session.execute(sharing)}
    rows.update((row.id, row) for row in session.execute(statement.order_by(newest).limit(CANDIDATES)))
    probes = similar.title_probes(issue.title)
    if probes:
        shared = or_(*(search.term_clause(WardIssue, probe) for probe in probes))
        rows.update(
            (row.id, row)
            for row in session.execute(statement.where(shared).order_by(newest).limit(CANDIDATES))
        )
    same_category = (
        set(
            session.scalars(
                _bundling(categories).where(ServiceRequest.ward_issue_id.in_(list(rows))).distinct()
            )
        )
        if rows and categories
        else set()
    )
    against = similar.Scorer(issue.title, f"{issue.situation[:TEXT_CHARS]} {issue.proposal[:TEXT_CHARS]}")
    found = []
    for row in rows.values():
        score = against(row.title, f"{row.situation or ''} {row.proposal or ''}")
        if row.id in same_category or score >= similar.THRESHOLD:
            outcome = row.outcome or ""
            found.append(
                SimilarIssue(
                    id=row.id,
                    reference=row.reference,
                    title=row.title,
                    ward=row.ward,
                    state=row.state,
                    decision=row.decision,
                    lead_bureau=row.lead_bureau,
                    budget_yen=int(row.budget_yen or 0),
                    outcome=outcome[:OUTCOME_CHARS],
                    outcome_cut=len(outcome) > OUTCOME_CHARS,
                    same_category=row.id in same_category,
                    text_score=round(score, 3),
                    in_library=bool(row.in_library),
                    visible=bool(row.visible),
                )
            )
    found.sort(key=lambda s: (-s.relevance, -s.id))
    return found[:limit]


def for_page(session: Session, user: User, issue: WardIssue) -> list[SimilarIssue] | None:
    """The section of the issue's page: None when the user does not see it at all."""
    return similar_issues(session, user, issue) if may_see(user) else None
