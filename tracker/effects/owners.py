"""The persons in charge of a ward issue (担当者): one on the ward's side, one on the lead
bureau's side. Who may be chosen: an active liaison or ward manager of the issue's ward; an
active staff member of the issue's lead bureau. The history keeps the old and the new name.
"""

from __future__ import annotations

from typing import Any

from ..models import User, WardIssue
from ..states import Role
from ..wording import N_
from .support import Context, WorkflowError, is_blank

WARD_OWNER_ROLES = (Role.LIAISON, Role.WARD_MANAGER)


def _chosen(ctx: Context) -> User:
    value: Any = ctx.payload.get("owner")
    if isinstance(value, User):
        return value
    try:
        user_id = None if is_blank(value) else int(value)
    except (TypeError, ValueError):
        user_id = None
    user = ctx.session.get(User, user_id) if user_id else None
    if user is None or not user.active:
        raise WorkflowError(N_("担当者を選んでください。"))
    return user


def _assign(ctx: Context, side: str, user: User) -> None:
    issue: WardIssue = ctx.subject
    old: User | None = getattr(issue, side)
    if old is not None and old.id == user.id:
        raise WorkflowError(N_("選んだ職員はすでにこの区重要課題の担当者です。"))
    setattr(issue, side, user)
    ctx.data = {
        "owner": side,
        "old_owner": old.display_name if old else None,
        "new_owner": user.display_name,
        "new_owner_id": user.id,
    }


def assign_ward_owner(ctx: Context):
    issue: WardIssue = ctx.subject
    user = _chosen(ctx)
    if user.role not in WARD_OWNER_ROLES or user.ward_id != issue.ward_id:
        raise WorkflowError(N_("区の担当者には、この区の地域担当職員か管理職を選んでください。"))
    _assign(ctx, "ward_owner", user)
    return None


def assign_bureau_owner(ctx: Context):
    issue: WardIssue = ctx.subject
    user = _chosen(ctx)
    if user.role != Role.BUREAU_STAFF or user.bureau_id is None or user.bureau_id != issue.lead_bureau_id:
        raise WorkflowError(N_("局の担当者には、主管局の担当者を選んでください。"))
    _assign(ctx, "bureau_owner", user)
    return None
