"""What one list export is, rebuilt from the list's endpoint and its URL: the same scope,
filters and order as the page the user clicked on, in a view or in a background job.

A view hands the list's base statement to ``list_pages.show``; a background job has no view,
so ``SOURCES`` names, for each list page that exports, the scoped query the view uses
(``tracker.finding.queries``), and ``plan_for`` parses the URL's arguments exactly as the page
does (``listing.parse``, ``keyset.ordered``). The job runs ``plan_for`` with the user who
asked, so a list rebuilt later still holds only what that user may see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from ..activity_models import Activity
from ..models import ServiceRequest, User
from . import activities, keyset, list_choices, listing, queries


@dataclass
class Plan:
    """One export: the model, every matching row in the list's order, the WHERE alone (for the
    count and the personal-data log), and what the history event records."""

    model: Any
    statement: Select
    where: Sequence[ColumnElement[bool]]
    filters: dict = field(default_factory=dict)

    def count(self, session: Session, cap: int | None = None) -> int:
        """How many rows match; with ``cap``, at most ``cap + 1`` are counted (a LIMIT inside)."""
        if cap is None:
            return session.execute(select(func.count(self.model.id)).where(*self.where)).scalar_one()
        capped = select(self.model.id).where(*self.where).limit(cap + 1).subquery()
        return session.execute(select(func.count()).select_from(capped)).scalar_one()


@dataclass(frozen=True)
class Source:
    """A list page that exports: its spec (None: a fixed work queue, no filters) and its base
    statement for a user and the URL's arguments."""

    spec: listing.ListSpec | None
    base: Callable[[User, Mapping], Select]
    extra: Callable[[Mapping], dict] = lambda args: {}


def _tab(args: Mapping) -> str:
    tab = args.get("tab", "consulting")
    return tab if tab in {*queries.BUREAU_TABS, "all"} else "consulting"


SOURCES: dict[str, Source] = {
    "field.ward_requests": Source(listing.REQUESTS, lambda user, args: queries.requests_for(user)),
    "ward.issues": Source(listing.ISSUES, lambda user, args: queries.issues_for(user)),
    "bureau.inbox": Source(
        listing.INBOX,
        lambda user, args: queries.bureau_issues(user, _tab(args)),
        lambda args: {"tab": _tab(args)},
    ),
    "field.queue": Source(None, lambda user, args: queries.open_requests_of_center(user.center_id)),
    "ward.triage": Source(None, lambda user, args: queries.triage_requests(user)),
}
ACTIVITIES = "activities.index"


def fixed_plan(base: Select, model) -> Plan:
    """A work queue's export: its own scope and order, no filters."""
    scope = base.whereclause if base.whereclause is not None else true()
    return Plan(model, base, [scope], {})


def list_plan(base: Select, flt: listing.ListFilter, today: dt.date, extra: dict | None = None) -> Plan:
    """A filtered list's export: the base statement's scope, the filters, the list's order."""
    scope = base.whereclause if base.whereclause is not None else true()
    return Plan(
        flt.spec.model,
        keyset.ordered(base, flt, today),
        [scope, *keyset.conditions(flt, today)],
        dict(extra or {}, **flt.as_record()),
    )


def activity_plan(user: User, flt: activities.ActivityFilter, today: dt.date) -> Plan:
    base = activities.base_statement(user, flt)
    scope = base.whereclause if base.whereclause is not None else true()
    shared = activities.keyset_filter(flt)
    return Plan(
        Activity,
        keyset.ordered(base, shared, today),
        [scope, *keyset.conditions(shared)],
        flt.as_record(),
    )


def exports_in_background(endpoint: str | None) -> bool:
    """Whether a job can rebuild this list's export (every list that exports can)."""
    return endpoint in SOURCES or endpoint == ACTIVITIES


def plan_for(
    session: Session, user: User, endpoint: str, pairs: Sequence[Sequence[str]], today: dt.date
) -> Plan:
    """The export of the list at ``endpoint`` with these URL arguments (``[name, value]`` pairs),
    for ``user``: what ``list_pages.show`` (or the activity list) would export."""
    args = MultiDict([(name, value) for name, value in pairs])
    if endpoint == ACTIVITIES:
        choices = activities.choices_for(session, user)
        return activity_plan(user, activities.parse(args, choices, me=user.id), today)
    source = SOURCES[endpoint]
    base = source.base(user, args)
    if source.spec is None:
        return fixed_plan(base, ServiceRequest)
    choices = list_choices.choices_for(session, user, source.spec)
    flt = listing.parse(args, source.spec, choices, me=user.id)
    return list_plan(base, flt, today, source.extra(args))
