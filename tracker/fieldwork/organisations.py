"""The community organisations of a center (校区自治協議会, 町内自治会, ...): added, renamed,
reordered and deactivated by the ward manager of the center's ward, or the admin.

Each operation checks the actor's scope and its input before it changes anything and flushes;
a refusal is an ``ActivityError`` naming its field. Nothing is deleted: activities point at
these rows, so an organisation no longer met is deactivated, which takes it out of the choices
of new activities. The record of each change is the admin change log, which the caller opens
around the call (``tracker.safeguards.admin_log.recording``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..activity_models import CommunityOrganisation
from ..models import Center, User
from ..states import OrganisationKind, Role
from ..wording import N_, say
from .operations import ActivityError

NAME_LIMIT = 120
MAX_SORT_ORDER = 10**8


def may_keep(actor: User, center: Center) -> bool:
    """The admin, and a ward manager for the centers of their ward."""
    if not actor.active:
        return False
    if actor.role == Role.ADMIN:
        return True
    return actor.role == Role.WARD_MANAGER and actor.ward_id is not None and center.ward_id == actor.ward_id


def _checked(session: Session, actor: User, center: Center, fields: dict[str, Any], current=None) -> dict:
    if not may_keep(actor, center):
        raise ActivityError(N_("このセンターの地域団体は編集できません。"), "center_id")
    name = " ".join(str(fields.get("name") or "").split())
    if not name:
        raise ActivityError(N_("団体名を入力してください。"), "name")
    if len(name) > NAME_LIMIT:
        raise ActivityError(
            say(N_("団体名は%(NAME_LIMIT)s文字以内にしてください。"), NAME_LIMIT=NAME_LIMIT), "name"
        )
    try:
        kind = OrganisationKind(fields.get("kind"))
    except ValueError:
        raise ActivityError(N_("団体の種類を選んでください。"), "kind") from None
    order = fields.get("sort_order") or 0
    if (
        isinstance(order, bool)
        or not isinstance(order, int)
        or not -MAX_SORT_ORDER <= order <= MAX_SORT_ORDER
    ):
        raise ActivityError(N_("表示順は整数で入力してください。"), "sort_order")
    same = select(CommunityOrganisation.id).where(
        CommunityOrganisation.center_id == center.id, CommunityOrganisation.name == name
    )
    if current is not None:
        same = same.where(CommunityOrganisation.id != current.id)
    if session.execute(same).first():
        raise ActivityError(say(N_("「%(name)s」は既にこのセンターにあります。"), name=name), "name")
    return {"name": name, "kind": kind, "sort_order": order}


def add_organisation(
    session: Session, actor: User, center: Center, fields: dict[str, Any]
) -> CommunityOrganisation:
    values = _checked(session, actor, center, fields)
    organisation = CommunityOrganisation(center_id=center.id, active=True, **values)
    session.add(organisation)
    session.flush()
    return organisation


def update_organisation(
    session: Session, actor: User, organisation: CommunityOrganisation, fields: dict[str, Any]
) -> None:
    """Rename, retype or reorder it; ``active`` switches it on or off."""
    values = _checked(session, actor, organisation.center, fields, organisation)
    active = bool(fields.get("active", organisation.active))
    if values == {
        "name": organisation.name,
        "kind": organisation.kind,
        "sort_order": organisation.sort_order,
    } and (active == organisation.active):
        raise ActivityError(N_("変更された項目がありません。"), "name")
    for key, value in values.items():
        setattr(organisation, key, value)
    organisation.active = active
    session.flush()


def set_active(session: Session, actor: User, organisation: CommunityOrganisation, active: bool) -> None:
    if not may_keep(actor, organisation.center):
        raise ActivityError(N_("このセンターの地域団体は編集できません。"))
    if organisation.active == bool(active):
        raise ActivityError(N_("すでにその状態です。"))
    organisation.active = bool(active)
    session.flush()
