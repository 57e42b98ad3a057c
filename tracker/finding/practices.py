"""The city-wide 事例集 (good-practice library): what every staff member may search and filter.

An entry is a completed ward issue a ward manager marked (``tracker.effects.good_practice``),
shown with its facts only: ward, fiscal year, reference, title, lead bureau, decision, current
budget total, outcome and the summary of what worked; never a request, a resident's personal data,
a comment or an attachment. Every role sees every entry; the link to the issue itself is offered
only to whoever may open it (``access.issue_filter``, one query for the page).

Filters (from the URL, checked by ``tracker.finding.listing``): words (every one must be found in
the issue's search text, i.e. reference, title, 現状と課題, 対応案, or in the summary), ward, lead
bureau, fiscal year. They filter ward_issues' indexed columns (ward_id, lead_bureau_id,
fiscal_year, the search index); the summary is matched by LIKE on good_practices, one short row
per entry. Keyset pages (``tracker.finding.keyset``) in fiscal year order, newest first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from ..models import Bureau, User, Ward, WardIssue
from ..monitoring_models import GoodPractice
from ..safeguards import access
from . import keyset, list_choices, listing, search

LIBRARY = listing.ListSpec(
    "practices",
    WardIssue,
    ("q", "ward", "bureau", "fiscal_year"),
    {"fiscal_year": listing.ISSUE_SORTS["fiscal_year"], "reference": listing.ISSUE_SORTS["reference"]},
    "fiscal_year",
    listing.DESC,
)
PAGE_SIZE = 20


@dataclass(frozen=True)
class Entry:
    issue: WardIssue
    practice: GoodPractice
    visible: bool  # the user may open the issue

    @property
    def budget_yen(self) -> int:
        return sum(line.allocated_yen for line in self.issue.current_budget_lines)


def choices(session: Session) -> dict[str, dict]:
    """Every ward and bureau (a library is city-wide), and the fiscal years."""
    return {
        "ward": dict(session.execute(select(Ward.id, Ward.name).order_by(Ward.sort_order, Ward.id)).all()),
        "bureau": dict(
            session.execute(select(Bureau.id, Bureau.name).order_by(Bureau.sort_order, Bureau.id)).all()
        ),
        "fiscal_year": list_choices.fiscal_years(),
    }


def _words_clause(q: str):
    """Every word in the issue's search text or in the summary."""
    clauses = []
    for term in search.terms(q):
        in_summary = select(GoodPractice.ward_issue_id).where(
            func.lower(GoodPractice.summary).like(search.like_pattern(term), escape="\\")
        )
        clauses.append(or_(search.term_clause(WardIssue, term), WardIssue.id.in_(in_summary)))
    return and_(*clauses) if clauses else None


def base_statement(flt: listing.ListFilter):
    """The marked issues matching the filters the keyset does not know (words, lead bureau)."""
    statement = (
        select(WardIssue)
        .where(WardIssue.id.in_(select(GoodPractice.ward_issue_id)))
        .options(
            joinedload(WardIssue.ward),
            joinedload(WardIssue.lead_bureau),
            selectinload(WardIssue.budget_lines),
        )
    )
    words = _words_clause(flt.q)
    if words is not None:
        statement = statement.where(words)
    if flt.bureau is not None:
        statement = statement.where(WardIssue.lead_bureau_id == flt.bureau)
    return statement


def library_page(
    session: Session, user: User, flt: listing.ListFilter, size: int = PAGE_SIZE
) -> tuple[keyset.Page, list[Entry]]:
    """One page of the library: the count, the issues (with their ward, bureau and budget lines),
    their entries and which of them the user may open: five queries, however many rows."""
    page = keyset.page(session, base_statement(flt), replace(flt, q="", bureau=None), size=size)
    ids = [issue.id for issue in page.items]
    practices = {
        p.ward_issue_id: p
        for p in session.scalars(select(GoodPractice).where(GoodPractice.ward_issue_id.in_(ids)))
    }
    visible = set(
        session.scalars(select(WardIssue.id).where(WardIssue.id.in_(ids), access.issue_filter(user)))
    )
    entries = [Entry(issue, practices[issue.id], issue.id in visible) for issue in page.items]
    return page, entries
