"""What a form may offer: the wards, active categories, a ward's active centers, active bureaus,
the open issues of a ward a request may be added to, and who may be put in charge of an issue
(the ward's liaisons and managers, the lead bureau's staff). Each in its display order.

A deactivated entry is not offered (``masterdata_admin``). The user form's own rule (a user
keeps a center or bureau deactivated since) is ``safeguards.accounts.assignable_places``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from ..models import Bureau, Category, Center, User, Ward, WardIssue
from ..states import OPEN_ISSUE_STATES, Role


def wards(session: Session) -> Sequence[Ward]:
    return session.scalars(select(Ward).order_by(Ward.sort_order)).all()


def active_categories(session: Session) -> Sequence[Category]:
    return session.scalars(select(Category).where(Category.active).order_by(Category.sort_order)).all()


def active_centers_of_ward(session: Session, ward_id: int | None) -> Sequence[Center]:
    return session.scalars(
        select(Center).where(Center.ward_id == ward_id, Center.active).order_by(Center.sort_order)
    ).all()


def active_centers(session: Session) -> Sequence[Center]:
    """Every active center of the city, ward by ward (an API key's or a town's center)."""
    return session.scalars(
        select(Center)
        .join(Center.ward)
        .where(Center.active)
        .options(contains_eager(Center.ward))
        .order_by(Ward.sort_order, Center.sort_order, Center.id)
    ).all()


def center_named(session: Session, name_or_id: str) -> Center | None:
    """A center by its id (digits) or its exact name (the command line's ``--center``)."""
    text = (name_or_id or "").strip()
    if text.isdecimal() and len(text) <= 10 and int(text) <= 2**31 - 1:
        return session.get(Center, int(text))
    found = session.scalars(select(Center).where(Center.name == text)).all()
    return found[0] if len(found) == 1 else None


def active_bureaus(session: Session) -> Sequence[Bureau]:
    return session.scalars(select(Bureau).where(Bureau.active).order_by(Bureau.sort_order)).all()


def open_issues_of_ward(session: Session, ward_id: int) -> Sequence[WardIssue]:
    """The ward's issues a request may still be added to, newest first."""
    return session.scalars(
        select(WardIssue)
        .where(WardIssue.ward_id == ward_id, WardIssue.state.in_(OPEN_ISSUE_STATES))
        .order_by(WardIssue.id.desc())
    ).all()


def ward_people(session: Session, ward_id: int | None) -> Sequence[User]:
    """The active liaisons and ward managers of a ward: who may be its issue's person in charge."""
    return session.scalars(
        select(User)
        .where(User.ward_id == ward_id, User.active, User.role.in_((Role.LIAISON, Role.WARD_MANAGER)))
        .order_by(User.display_name, User.id)
    ).all()


def bureau_people(session: Session, bureau_id: int | None) -> Sequence[User]:
    """The active staff of a bureau."""
    return session.scalars(
        select(User)
        .where(User.bureau_id == bureau_id, User.active, User.role == Role.BUREAU_STAFF)
        .order_by(User.display_name, User.id)
    ).all()
