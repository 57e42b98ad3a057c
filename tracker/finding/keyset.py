"""The SQL of a list: the filters' WHERE clauses, the keyset order, the capped COUNT, one page.

The filter itself, its cursor and what each list offers are ``tracker.finding.listing``; this
module turns a parsed ``ListFilter`` into statements on top of a scoped base statement
(``tracker.finding.queries``). Pages are cut by keyset, never OFFSET: the rows after (or before)
the sort values and id of a row, so page 2,000 costs what page 1 costs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select, true, tuple_
from sqlalchemy.orm import Session

from ..formatting import today_in_tokyo
from ..models import ServiceRequest, WardIssue, issue_related_bureaus
from ..states import OPEN_REQUEST_STATES, Decision, IssueState, Priority, RequestState, Source
from . import search
from .listing import ASC, ListFilter, encode_cursor

PAGE_SIZE = 50
# A page counts its matches up to here (「1,000件以上」, "1,000+"): the count reads at most
# COUNT_CAP + 1 rows, so at a million rows it costs about what it costs at ten thousand (a word's
# GIN posting list is still read whole, compressed: milliseconds). 10,000 cost ~170 ms with a
# keyword at 1M rows; a list of more than a thousand is narrowed by its filters, not counted.
COUNT_CAP = 1_000


def _text_match(model, q: str) -> ColumnElement[bool]:
    clause = search.matching(model, q)  # NFKC, every word, trigram-indexed
    return true() if clause is None else clause


def conditions(flt: ListFilter, today: dt.date | None = None) -> list[ColumnElement[bool]]:
    """The WHERE clauses of the filters (the scope is the base statement's)."""
    model = flt.spec.model
    out: list[ColumnElement[bool]] = []
    if flt.ward is not None:
        out.append(model.ward_id == flt.ward)
    if flt.fiscal_year is not None:
        out.append(model.fiscal_year == flt.fiscal_year)
    if flt.q:
        out.append(_text_match(model, flt.q))
    if model is ServiceRequest:
        if flt.center is not None:
            out.append(ServiceRequest.center_id == flt.center)
        if flt.category is not None:
            out.append(ServiceRequest.category_id == flt.category)
        if flt.state:
            out.append(ServiceRequest.state.in_([RequestState(s) for s in flt.state]))
        if flt.source:
            out.append(ServiceRequest.source == Source(flt.source))
        if flt.priority:
            out.append(ServiceRequest.priority == Priority(flt.priority))
        if flt.logged_by is not None:
            out.append(ServiceRequest.logged_by_id == flt.logged_by)
        if flt.overdue:
            out.append(ServiceRequest.state.in_(OPEN_REQUEST_STATES))
            out.append(ServiceRequest.answer_due_on < (today or today_in_tokyo()))
    else:
        if flt.state:
            out.append(WardIssue.state.in_([IssueState(s) for s in flt.state]))
        if flt.decision:
            out.append(WardIssue.decision == Decision(flt.decision))
        if flt.mine:
            out.append(or_(WardIssue.ward_owner_id == flt.me, WardIssue.bureau_owner_id == flt.me))
        if flt.bureau is not None:
            related = exists().where(
                issue_related_bureaus.c.ward_issue_id == WardIssue.id,
                issue_related_bureaus.c.bureau_id == flt.bureau,
            )
            out.append(or_(WardIssue.lead_bureau_id == flt.bureau, related))
    return out


def _beyond(flt: ListFilter, value: Any, ident: int, forward: bool) -> ColumnElement[bool]:
    """The rows after (``forward``) or before the row with sort value ``value`` and id ``ident``."""
    key, model = flt.key, flt.spec.model
    column, id_column = key.column, model.id
    greater = (flt.direction == ASC) == forward

    def cmp(left, right):
        return left > right if greater else left < right

    if value is None:
        id_beyond = cmp(id_column, literal(ident, id_column.type))
        # NULLs come after every dated row.
        if forward:
            return and_(column.is_(None), id_beyond)
        return or_(column.is_not(None), and_(column.is_(None), id_beyond))
    pair = cmp(
        tuple_(column, id_column),
        tuple_(literal(value, column.type), literal(ident, id_column.type)),
    )
    if not key.nullable:
        return pair
    if forward:
        return or_(and_(column.is_not(None), pair), column.is_(None))
    return and_(column.is_not(None), pair)


def _ordering(flt: ListFilter, forward: bool) -> list:
    key, model = flt.key, flt.spec.model
    ascending = (flt.direction == ASC) == forward
    order = []
    if key.nullable:
        nulls = key.column.is_(None)
        order.append(nulls if forward else nulls.desc())
    for column in (key.column, model.id):
        order.append(column.asc() if ascending else column.desc())
    return order


def ordered(base: Select, flt: ListFilter, today: dt.date | None = None) -> Select:
    """Every matching row in the list's order (for exports): scope, filters, sort, id."""
    return base.order_by(None).where(*conditions(flt, today)).order_by(*_ordering(flt, True))


def count_statement(
    base: Select, flt: ListFilter, today: dt.date | None = None, cap: int | None = None
) -> Select:
    """The COUNT of the matching rows (the base statement's scope and the filters); with ``cap``,
    of at most ``cap + 1`` of them, so a page of a list of a million rows counts no more."""
    scope = base.whereclause if base.whereclause is not None else true()
    model = flt.spec.model
    if cap is None:
        return select(func.count(model.id)).where(scope, *conditions(flt, today))
    matching = select(model.id).where(scope, *conditions(flt, today)).limit(cap + 1).subquery()
    return select(func.count()).select_from(matching)


@dataclass
class Page:
    items: list
    total: int  # at most COUNT_CAP + 1: see ``total_capped``
    has_next: bool
    has_prev: bool
    next_cursor: str | None
    prev_cursor: str | None
    size: int

    @property
    def is_first(self) -> bool:
        return not self.has_prev

    @property
    def total_capped(self) -> bool:
        """More rows match than were counted: show ``COUNT_CAP`` 件以上."""
        return self.total > COUNT_CAP


def page(
    session: Session, base: Select, flt: ListFilter, size: int = PAGE_SIZE, today: dt.date | None = None
) -> Page:
    """One page of the list: two queries (the COUNT, then the rows) plus the eager loads."""
    today = today or today_in_tokyo()
    total = session.execute(count_statement(base, flt, today, cap=COUNT_CAP)).scalar_one()
    statement = base.order_by(None).where(*conditions(flt, today))
    forward = flt.before is None
    cursor = flt.after if forward else flt.before
    if cursor is not None:
        statement = statement.where(_beyond(flt, cursor[0], cursor[1], forward))
    statement = statement.order_by(*_ordering(flt, forward)).limit(size + 1)
    rows = list(session.execute(statement).unique().scalars())
    more = len(rows) > size
    rows = rows[:size]
    if forward:
        has_next, has_prev = more, flt.after is not None
    else:
        rows.reverse()
        has_next, has_prev = True, more

    def cursor_of(row) -> str:
        return encode_cursor(flt.sort, flt.direction, flt.key.value_of(row), row.id)

    return Page(
        items=rows,
        total=total,
        has_next=has_next and bool(rows),
        has_prev=has_prev and bool(rows),
        next_cursor=cursor_of(rows[-1]) if rows else None,
        prev_cursor=cursor_of(rows[0]) if rows else None,
        size=size,
    )
