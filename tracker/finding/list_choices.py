"""The values a user may choose in a list's filter form (tracker.finding.listing): only their scope's.

A ward-scoped user is offered only their own ward, its centers and its staff, so a value from
another ward is not a choice, and ``listing.parse`` drops it with a notice.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..formatting import fiscal_year_label, fiscal_year_of, today_in_tokyo
from ..models import Bureau, Category, Center, ServiceRequest, User, Ward
from ..states import Decision, IssueState, Priority, RequestState, Role, Source

if TYPE_CHECKING:
    from .listing import ListSpec

FIRST_FISCAL_YEAR = 2013  # 平成25年度: the first year of the ward offices' local-needs budget


def _enum_choices(enum_cls) -> dict[str, str]:
    return {member.value: member.label for member in enum_cls}


def fiscal_years(today: dt.date | None = None) -> dict[int, str]:
    current = fiscal_year_of(today or today_in_tokyo())
    return {year: fiscal_year_label(year) for year in range(current + 1, FIRST_FISCAL_YEAR - 1, -1)}


def choices_for(session: Session, user: User, spec: ListSpec) -> dict[str, dict]:
    """For each filter of ``spec``: the values ``user`` may choose, with their labels.

    One small query per master table offered; a ward-scoped user gets only their own ward, its
    centers and its staff, so a value from another ward is not a choice and is dropped.
    """
    wanted = set(spec.filters)
    ward_scoped = user.role in (Role.LIAISON, Role.WARD_MANAGER)
    out: dict[str, dict] = {}
    if "ward" in wanted:
        statement = select(Ward.id, Ward.name).order_by(Ward.sort_order, Ward.id)
        if ward_scoped:
            statement = statement.where(Ward.id == user.ward_id)
        out["ward"] = dict(session.execute(statement).all())
    if "center" in wanted:
        statement = select(Center.id, Center.name).order_by(Center.ward_id, Center.sort_order, Center.id)
        if user.role != Role.ADMIN:
            statement = statement.where(Center.ward_id == user.ward_id)
        out["center"] = dict(session.execute(statement).all())
    if "category" in wanted:
        statement = select(Category.id, Category.name).order_by(Category.sort_order, Category.id)
        out["category"] = dict(session.execute(statement).all())
    if "bureau" in wanted:
        statement = select(Bureau.id, Bureau.name).order_by(Bureau.sort_order, Bureau.id)
        out["bureau"] = dict(session.execute(statement).all())
    if "logged_by" in wanted:
        statement = (
            select(User.id, User.display_name)
            .where(User.role.in_((Role.LIAISON, Role.WARD_MANAGER)))
            .order_by(User.display_name, User.id)
        )
        if user.role != Role.ADMIN:
            statement = statement.where(User.ward_id == user.ward_id)
        out["logged_by"] = dict(session.execute(statement).all())
    if "state" in wanted:
        out["state"] = _enum_choices(RequestState if spec.model is ServiceRequest else IssueState)
    if "source" in wanted:
        out["source"] = _enum_choices(Source)
    if "priority" in wanted:
        out["priority"] = _enum_choices(Priority)
    if "decision" in wanted:
        out["decision"] = _enum_choices(Decision)
    if "fiscal_year" in wanted:
        out["fiscal_year"] = fiscal_years()
    return out
