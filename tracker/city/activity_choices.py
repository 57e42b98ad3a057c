"""What the activity form may offer a user: the centers they may log at, the active kinds
(grouped: 会議出席 ...), the active organisations of those centers, and the active liaisons of
the ward. One query each, in display order."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..activity_models import ActivityKind, CommunityOrganisation
from ..models import Center, User
from ..states import Role


def loggable_centers(session: Session, user: User) -> Sequence[Center]:
    """A liaison's own center; a ward manager's ward's active centers; every active one (admin)."""
    statement = select(Center).where(Center.active).order_by(Center.ward_id, Center.sort_order, Center.id)
    if user.role == Role.LIAISON:
        statement = statement.where(Center.id == user.center_id)
    elif user.role == Role.WARD_MANAGER:
        statement = statement.where(Center.ward_id == user.ward_id)
    elif user.role != Role.ADMIN:
        return []
    return session.scalars(statement).all()


def kind_groups(session: Session) -> dict[str, list[tuple[int, str]]]:
    """Active kinds, grouped by their heading (an optgroup); kinds without one under ""."""
    kinds = session.scalars(
        select(ActivityKind).where(ActivityKind.active).order_by(ActivityKind.sort_order, ActivityKind.id)
    )
    groups: dict[str, list[tuple[int, str]]] = {}
    for kind in kinds:
        groups.setdefault(kind.group or "", []).append((kind.id, kind.name))
    return groups


def organisations_by_center(session: Session, centers: Sequence[Center]) -> dict[str, list[tuple[int, str]]]:
    """The active organisations of ``centers``, under each center's name."""
    names = {center.id: center.name for center in centers}
    rows = session.scalars(
        select(CommunityOrganisation)
        .where(CommunityOrganisation.center_id.in_(list(names)), CommunityOrganisation.active)
        .order_by(CommunityOrganisation.center_id, CommunityOrganisation.sort_order, CommunityOrganisation.id)
    )
    out: dict[str, list[tuple[int, str]]] = {}
    for organisation in rows:
        out.setdefault(names[organisation.center_id], []).append((organisation.id, organisation.name))
    return out


def liaisons_of_wards(session: Session, ward_ids: set[int]) -> Sequence[User]:
    """The active liaisons of the wards, by name."""
    return session.scalars(
        select(User)
        .where(User.role == Role.LIAISON, User.active, User.ward_id.in_(ward_ids))
        .order_by(User.ward_id, User.display_name, User.id)
    ).all()
