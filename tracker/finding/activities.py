"""The activity list (活動記録の一覧): what it offers, its filters from the URL, one keyset page
with each activity's count of requests heard in it, and its export.

Like the request lists (``tracker.finding.list_pages``): the filters come from the URL and are
checked against the user's choices (anything else is dropped with a notice); they are added on
top of the scope (``tracker.fieldwork.access.activity_filter``); pages are cut by keyset
(``tracker.finding.keyset``). The filters the shared ``ListFilter`` knows (fiscal year, center,
words, sort, cursor) are parsed by ``listing.parse``; the activity's own (month, date range,
kind, liaison, organisation) here. Words are matched by LIKE over the summary, the place and
the organisation's name (typed or from the list): activities are short rows, kept per center.

A page runs a fixed number of queries: the choices, the COUNT, the rows (kind, center,
organisation joined), their liaisons (one SELECT ... IN) and one GROUP BY for the counts of
requests, however many activities it shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from ..activity_models import Activity, ActivityKind, CommunityOrganisation, activity_liaisons
from ..fieldwork.access import activity_filter
from ..models import Center, ServiceRequest, User
from ..parsing import parse_date
from ..states import Role
from ..wording import N_, say, translate
from . import keyset, list_choices, listing, search

ACTIVITY_SORTS = {
    "held": listing.SortKey(N_("活動日"), Activity.held_on, "date"),
    "updated": listing.SortKey(N_("更新日時"), Activity.updated_at, "datetime"),
}
ACTIVITIES = listing.ListSpec(
    "activities", Activity, ("fiscal_year", "center", "q"), ACTIVITY_SORTS, "held", listing.DESC
)
OWN_FILTERS = ("month", "date_from", "date_to", "kind", "liaison", "organisation")
OWN_LABELS = {
    "month": N_("月"),
    "date_from": N_("活動日 (から)"),
    "date_to": N_("活動日 (まで)"),
    "kind": N_("活動区分"),
    "liaison": N_("地域担当職員"),
    "organisation": N_("団体"),
}
PAGE_SIZE = 50


@dataclass
class ActivityFilter:
    """The shared filter (``listing.ListFilter``) and the activity list's own filters."""

    base: listing.ListFilter
    month: str = ""  # YYYY-MM
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    kind: int | None = None
    liaison: int | None = None
    organisation: int | None = None
    notices: list[str] = field(default_factory=list)

    def own_params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in OWN_FILTERS:
            value = getattr(self, name)
            if value not in (None, ""):
                out[name] = value.isoformat() if isinstance(value, dt.date) else value
        return out

    def params(self) -> dict[str, Any]:
        return {**self.base.params(), **self.own_params()}

    def as_record(self) -> dict[str, Any]:
        return {**self.base.as_record(), **self.own_params()}

    @property
    def active(self) -> bool:
        return self.base.active or bool(self.own_params())

    def chips(self, choices: Mapping[str, Mapping]) -> list[tuple[str, dict[str, Any]]]:
        """One ``(label, params without it)`` per filter in force."""
        own = self.own_params()
        out = [(label, {**rest, **own}) for label, rest in self.base.chips(choices)]
        for name, value in own.items():
            rest = {key: v for key, v in self.params().items() if key != name}
            shown = choices.get(name, {}).get(getattr(self, name), value)
            out.append((f"{translate(OWN_LABELS[name])}: {shown}", rest))
        return out


def choices_for(session: Session, user: User) -> dict[str, dict]:
    """What ``user`` may choose: the centers, organisations and liaisons of their scope, every kind."""
    centers = select(Center.id, Center.name).order_by(Center.ward_id, Center.sort_order, Center.id)
    organisations = (
        select(CommunityOrganisation.id, CommunityOrganisation.name)
        .join(Center, Center.id == CommunityOrganisation.center_id)
        .order_by(Center.sort_order, CommunityOrganisation.sort_order, CommunityOrganisation.id)
    )
    liaisons = select(User.id, User.display_name).where(User.role == Role.LIAISON)
    if user.role == Role.LIAISON:
        centers = centers.where(Center.id == user.center_id)
        organisations = organisations.where(Center.id == user.center_id)
        liaisons = liaisons.where(User.ward_id == user.ward_id)
    elif user.role != Role.ADMIN:
        centers = centers.where(Center.ward_id == user.ward_id)
        organisations = organisations.where(Center.ward_id == user.ward_id)
        liaisons = liaisons.where(User.ward_id == user.ward_id)
    kinds = select(ActivityKind.id, ActivityKind.name).order_by(ActivityKind.sort_order, ActivityKind.id)
    return {
        "fiscal_year": list_choices.fiscal_years(),
        "center": dict(session.execute(centers).all()),
        "organisation": dict(session.execute(organisations).all()),
        "liaison": dict(session.execute(liaisons.order_by(User.display_name, User.id)).all()),
        "kind": dict(session.execute(kinds).all()),
    }


def _month(raw: str) -> str | None:
    """``YYYY-MM`` (also ``YYYY/MM``) as ``YYYY-MM``, or None."""
    raw = raw.replace("/", "-")
    parts = raw.split("-")
    if len(parts) != 2 or not all(p.isascii() and p.isdecimal() for p in parts) or len(parts[0]) != 4:
        return None
    year, month = int(parts[0]), int(parts[1])
    return f"{year:04d}-{month:02d}" if 1 <= month <= 12 and year >= 1989 else None


def parse(args: Mapping, choices: Mapping[str, Mapping], *, me: int | None = None) -> ActivityFilter:
    """The filter that ``args`` ask for; invalid values dropped with a notice."""
    base = listing.parse(args, ACTIVITIES, choices, me=me)
    flt = ActivityFilter(base=base, notices=base.notices)

    def drop(name: str, raw: str) -> None:
        flt.notices.append(
            say(
                N_("%(label)s「%(value)s」は選べないため、条件から外しました。"),
                label=translate(OWN_LABELS[name]),
                value=raw[:20],
            )
        )

    for name in OWN_FILTERS:
        raw = str(args.get(name, "") or "").strip()
        if not raw:
            continue
        if name == "month":
            month = _month(raw)
            if month is None:
                drop(name, raw)
            else:
                flt.month = month
        elif name in ("date_from", "date_to"):
            try:
                day = parse_date(raw[:40])
            except ValueError:
                day = None
            if day is None:
                drop(name, raw)
            else:
                setattr(flt, name, day)
        else:
            number = int(raw) if raw.isascii() and raw.isdecimal() and len(raw) <= 10 else None
            if number is None or number not in choices[name]:
                drop(name, raw)
            else:
                setattr(flt, name, number)
    return flt


def _words(q: str) -> ColumnElement[bool] | None:
    """Every word in the summary, the place or the organisation's name (LIKE, case-folded)."""
    clauses = []
    listed = select(CommunityOrganisation.id)
    for term in search.terms(q):
        pattern = search.like_pattern(term)
        named = listed.where(func.lower(CommunityOrganisation.name).like(pattern, escape="\\"))
        clauses.append(
            or_(
                func.lower(Activity.summary).like(pattern, escape="\\"),
                func.lower(Activity.place).like(pattern, escape="\\"),
                func.lower(Activity.organisation_text).like(pattern, escape="\\"),
                Activity.organisation_id.in_(named),
            )
        )
    return and_(*clauses) if clauses else None


def own_conditions(flt: ActivityFilter) -> list[ColumnElement[bool]]:
    """The WHERE clauses the keyset does not know (the fiscal year and sort are its)."""
    out: list[ColumnElement[bool]] = []
    if flt.base.center is not None:
        out.append(Activity.center_id == flt.base.center)
    words = _words(flt.base.q)
    if words is not None:
        out.append(words)
    if flt.month:
        year, month = (int(part) for part in flt.month.split("-"))
        first = dt.date(year, month, 1)
        after = dt.date(year + month // 12, month % 12 + 1, 1)
        out.append(and_(Activity.held_on >= first, Activity.held_on < after))
    if flt.date_from:
        out.append(Activity.held_on >= flt.date_from)
    if flt.date_to:
        out.append(Activity.held_on <= flt.date_to)
    if flt.kind is not None:
        out.append(Activity.kind_id == flt.kind)
    if flt.organisation is not None:
        out.append(Activity.organisation_id == flt.organisation)
    if flt.liaison is not None:
        went = exists().where(
            activity_liaisons.c.activity_id == Activity.id, activity_liaisons.c.user_id == flt.liaison
        )
        out.append(went)
    return out


LIST_LOADS = (
    joinedload(Activity.kind),
    joinedload(Activity.center),
    joinedload(Activity.organisation),
    selectinload(Activity.liaisons),
)


def base_statement(user: User, flt: ActivityFilter) -> Select:
    """The activities ``user`` may see that match the list's own filters, eager-loaded."""
    return select(Activity).options(*LIST_LOADS).where(activity_filter(user), *own_conditions(flt))


def keyset_filter(flt: ActivityFilter) -> listing.ListFilter:
    """The shared filter with what ``own_conditions`` already applies taken out."""
    return replace(flt.base, q="", center=None)


def request_counts(session: Session, activity_ids: list[int]) -> dict[int, int]:
    """How many requests were heard in each activity: one GROUP BY."""
    if not activity_ids:
        return {}
    statement = (
        select(ServiceRequest.activity_id, func.count(ServiceRequest.id))
        .where(ServiceRequest.activity_id.in_(activity_ids))
        .group_by(ServiceRequest.activity_id)
    )
    return dict(session.execute(statement).all())


def activity_page(
    session: Session, user: User, flt: ActivityFilter, size: int = PAGE_SIZE
) -> tuple[keyset.Page, dict[int, int]]:
    """One page of the list and the count of requests of each of its activities."""
    page = keyset.page(session, base_statement(user, flt), keyset_filter(flt), size=size)
    return page, request_counts(session, [activity.id for activity in page.items])


def requests_heard(session: Session, activity: Activity) -> list[ServiceRequest]:
    """The requests heard in ``activity`` (the detail page), oldest first."""
    statement = (
        select(ServiceRequest)
        .where(ServiceRequest.activity_id == activity.id)
        .order_by(ServiceRequest.received_on, ServiceRequest.id)
    )
    return list(session.scalars(statement))


def organisations_of(session: Session, center_ids: list[int]) -> list[CommunityOrganisation]:
    """Every organisation (active or not) of the centers, center by center, in display order."""
    statement = (
        select(CommunityOrganisation)
        .options(joinedload(CommunityOrganisation.center))
        .join(Center, Center.id == CommunityOrganisation.center_id)
        .where(CommunityOrganisation.center_id.in_(center_ids))
        .order_by(
            Center.ward_id, Center.sort_order, CommunityOrganisation.sort_order, CommunityOrganisation.id
        )
    )
    return list(session.scalars(statement))
