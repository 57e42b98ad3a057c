"""The triage of a request: its priority (緊急度) and its person in charge (担当者).

Who may be chosen as the person in charge: an active liaison or ward manager of the request's
ward (the same rule as ``owners`` for an issue's ward side). Each change keeps the old and the
new value in its history event. No Flask here.
"""

from __future__ import annotations

from typing import Any

from ..models import ServiceRequest, User
from ..states import Priority
from ..wording import N_
from .owners import WARD_OWNER_ROLES
from .support import Context, WorkflowError, is_blank


def _priority(value: Any) -> Priority:
    if isinstance(value, Priority):
        return value
    try:
        return Priority(str(value or "").strip())
    except ValueError:
        raise WorkflowError(N_("緊急度を選んでください。")) from None


def set_priority(ctx: Context):
    request: ServiceRequest = ctx.subject
    new = _priority(ctx.payload.get("priority"))
    old = request.priority
    if old == new:
        raise WorkflowError(N_("この要望の緊急度はすでに「%(label)s」です。"), label=new.label)
    request.priority = new
    ctx.comment = str(ctx.payload.get("comment") or "").strip()[:2000]
    ctx.data = {"old_priority": old.value if old else None, "new_priority": new.value}
    return None


def _chosen(ctx: Context) -> User:
    value: Any = ctx.payload.get("assignee")
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


def assign(ctx: Context):
    request: ServiceRequest = ctx.subject
    user = _chosen(ctx)
    if user.role not in WARD_OWNER_ROLES or user.ward_id != request.ward_id:
        raise WorkflowError(N_("担当者には、この区の地域担当職員か管理職を選んでください。"))
    old: User | None = request.assignee
    if old is not None and old.id == user.id:
        raise WorkflowError(N_("選んだ職員はすでにこの要望の担当者です。"))
    request.assignee = user
    ctx.data = {
        "old_assignee": old.display_name if old else None,
        "new_assignee": user.display_name,
        "new_assignee_id": user.id,
    }
    return None
