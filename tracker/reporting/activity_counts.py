"""Counts of the liaisons' field work (活動記録), and the figures the city publishes from them.

For a range of fiscal years, per ward, center or liaison, by fiscal year or by month: the number
of activities, the number of requests gathered in them (requests whose ``activity_id`` names one
of those activities, whatever their state) and requests per activity. An activity with two
liaisons counts once for each liaison, and once for its center, its ward and the city: the
totals are counted over distinct activities, never summed over the liaisons' rows. A request
belongs to the period of the activity it was heard in, not to its own date of receipt.

Every figure is a GROUP BY over ``activities`` (filtered on the indexed ``(ward_id,
fiscal_year)`` / ``(center_id, fiscal_year)``), so a table costs five queries whatever the number
of activities: the counts, the totals, the names of the groups, the liaison staff, and the
liaisons who took part.

The published figures (``published_figures``) are the city's own three: 地域担当職員 N人 (active
liaison accounts now, as the city gives the staff it has, not per year), 地域での活動件数 (the
activities of the range) and 収集した要望相談件数 (the requests linked to those activities). The
requests received in the range by any channel are counted apart, so that nobody takes them for
the requests gathered in field work.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import ColumnElement, and_, distinct, extract, func, or_, select, true
from sqlalchemy.orm import Session

from ..activity_models import Activity, activity_liaisons
from ..fieldwork.access import activity_filter
from ..formatting import fiscal_year_label, fiscal_year_of
from ..models import Center, ServiceRequest, User, Ward
from ..states import Role
from ..wording import N_, say, translate
from . import counters
from .dashboards import FISCAL_MONTHS

# In Japanese (marked): ``translate`` them to show them.
GROUPINGS = {"ward": N_("区"), "center": N_("まちづくりセンター"), "liaison": N_("地域担当職員")}
PERIODS = {"year": N_("年度別"), "month": N_("月別")}
NO_ACTIVITY = "—"
TOTAL = N_("合計")


def groupings_for(user: User) -> list[str]:
    """What ``user`` may group by: a liaison's scope is one center, so no per-ward table."""
    if user.role == Role.LIAISON:
        return ["center", "liaison"]
    if user.role in (Role.ADMIN, Role.WARD_MANAGER):
        return list(GROUPINGS)
    return []


def chosen(user: User, grouping: str, period: str) -> tuple[str, str]:
    """The grouping and period asked for, when offered to ``user``; else the defaults: the admin
    starts from the wards, everyone else from the centers of their scope, by fiscal year."""
    if grouping not in groupings_for(user):
        grouping = "ward" if user.role == Role.ADMIN else "center"
    return grouping, period if period in PERIODS else "year"


@dataclass(frozen=True)
class Figures:
    activities: int = 0
    requests: int = 0

    @property
    def per_activity(self) -> str:
        """Requests per activity to one decimal (rounded half up), ``—`` without activities."""
        if not self.activities:
            return NO_ACTIVITY
        ratio = Decimal(self.requests) / Decimal(self.activities)
        return str(ratio.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, order=True)
class Period:
    fiscal_year: int
    month_index: int | None = None  # 0 = April ... 11 = March; None: the whole fiscal year

    @property
    def label(self) -> str:
        if self.month_index is None:
            return fiscal_year_label(self.fiscal_year)
        month = FISCAL_MONTHS[self.month_index]
        year = self.fiscal_year if month >= 4 else self.fiscal_year + 1
        return say(N_("%(year)s年%(month)s月"), year=year, month=month)


@dataclass(frozen=True)
class CountRow:
    name: str  # the ward, center or liaison; ``合計`` on the total rows
    within: str  # the center's ward, the liaison's center; empty for a ward and the totals
    period: Period | None  # None: the whole range
    figures: Figures

    @property
    def period_label(self) -> str:
        return self.period.label if self.period else translate(N_("期間全体"))


@dataclass(frozen=True)
class PublishedFigures:
    first: int
    last: int
    liaison_staff: int
    activities: int
    requests_gathered: int  # requests linked to the range's activities
    requests_received: int  # every request of the range's fiscal years, by any channel


@dataclass(frozen=True)
class ActivityCounts:
    first: int
    last: int
    grouping: str
    period: str
    rows: list[CountRow]  # each group (in scope) × each period of the range
    totals: list[CountRow]  # the scope's distinct activities per period, then the whole range
    liaison_staff: int  # active liaison accounts in scope
    active_liaisons: int  # distinct people named on the range's activities in scope
    city: PublishedFigures | None = None  # a ward manager's view of the city's totals

    @property
    def table(self) -> list[CountRow]:
        """The rows as shown and downloaded: the groups, then the totals."""
        return [*self.rows, *self.totals]

    @property
    def total(self) -> Figures:
        return self.totals[-1].figures


def _periods(first: int, last: int, period: str) -> list[Period]:
    if period == "month":
        return [Period(year, index) for year in range(first, last + 1) for index in range(12)]
    return [Period(year) for year in range(first, last + 1)]


def _period_columns(period: str) -> list:
    if period == "month":
        return [Activity.fiscal_year, extract("month", Activity.held_on)]
    return [Activity.fiscal_year]


def _period_of(period: str, values) -> Period:
    if period == "month":
        return Period(int(values[0]), FISCAL_MONTHS.index(int(values[1])))
    return Period(int(values[0]))


def _figures_statement(*columns):
    """activities (distinct: the request join repeats them) and requests gathered, per ``columns``."""
    return select(*columns, func.count(distinct(Activity.id)), func.count(ServiceRequest.id))


def _with_requests(statement):
    return statement.outerjoin(ServiceRequest, ServiceRequest.activity_id == Activity.id)


def _staff_filter(user: User) -> ColumnElement[bool]:
    """The liaison accounts in ``user``'s scope (the same scope as ``activity_filter``)."""
    if user.role == Role.ADMIN:
        return true()
    if user.role == Role.WARD_MANAGER:
        return User.ward_id == user.ward_id
    if user.role == Role.LIAISON:
        return User.center_id == user.center_id
    return User.id.is_(None)


def liaison_staff_count(session: Session, where: ColumnElement[bool]) -> int:
    statement = select(func.count(User.id)).where(User.role == Role.LIAISON, User.active, where)
    return int(session.execute(statement).scalar_one())


def _group_names(session: Session, user: User, grouping: str, with_data: set[int]) -> list[tuple]:
    """(id, name, within) of every group in scope, in the city's order; one query."""
    if grouping == "ward":
        statement = select(Ward.id, Ward.name).order_by(Ward.sort_order, Ward.id)
        if user.role != Role.ADMIN:
            statement = statement.where(Ward.id == user.ward_id)
        return [(id_, name, "") for id_, name in session.execute(statement)]
    if grouping == "center":
        statement = (
            select(Center.id, Center.name, Ward.name)
            .join(Ward, Center.ward_id == Ward.id)
            .where(or_(Center.active, Center.id.in_(with_data)))
            .order_by(Ward.sort_order, Ward.id, Center.sort_order, Center.id)
        )
        if user.role == Role.WARD_MANAGER:
            statement = statement.where(Center.ward_id == user.ward_id)
        elif user.role == Role.LIAISON:
            statement = statement.where(Center.id == user.center_id)
        return list(session.execute(statement))
    if user.role == Role.LIAISON:
        people = User.id == user.id
    else:
        people = or_(
            and_(User.role == Role.LIAISON, User.active, _staff_filter(user)), User.id.in_(with_data)
        )
    statement = (
        select(User.id, User.display_name, func.coalesce(Center.name, ""))
        .outerjoin(Center, User.center_id == Center.id)
        .where(people)
        .order_by(Center.sort_order, Center.id, User.display_name, User.id)
    )
    return list(session.execute(statement))


def activity_counts(
    session: Session, user: User, first: int, last: int, grouping: str, period: str
) -> ActivityCounts:
    """The table of ``user``'s scope for fiscal years ``first``..``last``, in five queries (and
    the three of ``published_figures`` for a ward manager, who sees the city's totals as numbers)."""
    first, last = min(first, last), max(first, last)
    if grouping not in groupings_for(user):
        raise ValueError(f"grouping {grouping!r} is not offered to {user.role}")
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}")
    scope = [activity_filter(user), Activity.fiscal_year.between(first, last)]
    own_only = grouping == "liaison" and user.role == Role.LIAISON
    if own_only:  # a liaison's per-person figures are their own
        scope.append(Activity.liaisons.any(User.id == user.id))
    period_columns = _period_columns(period)

    if grouping == "liaison":
        key = activity_liaisons.c.user_id
        statement = _figures_statement(key, *period_columns).select_from(Activity)
        statement = statement.join(activity_liaisons, activity_liaisons.c.activity_id == Activity.id)
        if own_only:
            statement = statement.where(key == user.id)
    else:
        key = Activity.ward_id if grouping == "ward" else Activity.center_id
        statement = _figures_statement(key, *period_columns).select_from(Activity)
    statement = _with_requests(statement).where(*scope).group_by(key, *period_columns)
    counts = {
        (group, _period_of(period, values)): Figures(int(activities), int(requests))
        for group, *values, activities, requests in session.execute(statement)
    }
    totals_statement = _with_requests(_figures_statement(*period_columns).select_from(Activity))
    totals = {
        _period_of(period, values): Figures(int(activities), int(requests))
        for *values, activities, requests in session.execute(
            totals_statement.where(*scope).group_by(*period_columns)
        )
    }
    periods = _periods(first, last, period)
    groups = _group_names(session, user, grouping, {group for group, _ in counts})
    rows = [
        CountRow(name, within, each, counts.get((id_, each), Figures()))
        for id_, name, within in groups
        for each in periods
    ]
    total_rows = [CountRow(translate(TOTAL), "", each, totals.get(each, Figures())) for each in periods]
    whole = Figures(sum(f.activities for f in totals.values()), sum(f.requests for f in totals.values()))
    total_rows.append(CountRow(translate(TOTAL), "", None, whole))
    took_part = select(func.count(distinct(activity_liaisons.c.user_id))).join(
        Activity, activity_liaisons.c.activity_id == Activity.id
    )
    if own_only:
        took_part = took_part.where(activity_liaisons.c.user_id == user.id)
    return ActivityCounts(
        first=first,
        last=last,
        grouping=grouping,
        period=period,
        rows=rows,
        totals=total_rows,
        liaison_staff=liaison_staff_count(session, _staff_filter(user)),
        active_liaisons=int(session.execute(took_part.where(*scope)).scalar_one()),
        city=published_figures(session, first, last) if user.role == Role.WARD_MANAGER else None,
    )


def published_figures(session: Session, first: int, last: int) -> PublishedFigures:
    """The city-wide figures as the city publishes them, for fiscal years ``first``..``last``."""
    first, last = min(first, last), max(first, last)
    gathered = Figures(*counters.field_work(session, first, last))
    received = counters.requests_of_fiscal_years(session, first, last)
    return PublishedFigures(
        first=first,
        last=last,
        liaison_staff=liaison_staff_count(session, true()),
        activities=gathered.activities,
        requests_gathered=gathered.requests,
        requests_received=int(received),
    )


def data_years(session: Session) -> tuple[int, int] | None:
    """The first and last fiscal year with an activity, city-wide."""
    first, last = session.execute(
        select(func.min(Activity.fiscal_year), func.max(Activity.fiscal_year))
    ).one()
    return None if first is None else (int(first), int(last))


def current_fiscal_year_figures(session: Session, ward_id: int | None, today: dt.date) -> Figures:
    """The ward's activities and requests gathered in them in the fiscal year of ``today``."""
    year = fiscal_year_of(today)
    return Figures(*counters.field_work(session, year, year, ward_id=ward_id or 0))
