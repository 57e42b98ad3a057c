"""Who may see and log which activities.

A liaison sees and logs the activities of their own center; a ward manager sees every
activity of the ward (and may correct them); bureau staff see none; the admin sees all.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from ..activity_models import Activity
from ..models import Center, User
from ..states import Role


def activity_filter(user: User) -> ColumnElement[bool]:
    """The activities ``user`` may see, as a WHERE clause."""
    if user.role == Role.ADMIN:
        return true()
    if user.role == Role.LIAISON:
        return Activity.center_id == user.center_id if user.center_id else false()
    if user.role == Role.WARD_MANAGER:
        return Activity.ward_id == user.ward_id if user.ward_id else false()
    return false()


def _in_scope(user: User, center_id: int, ward_id: int) -> bool:
    """The one rule of seeing and logging: the admin everywhere, a liaison at their own center,
    a ward manager in their own ward, bureau staff nowhere."""
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.LIAISON:
        return user.center_id is not None and center_id == user.center_id
    if user.role == Role.WARD_MANAGER:
        return user.ward_id is not None and ward_id == user.ward_id
    return False


def can_view_activity(user: User, activity: Activity) -> bool:
    return _in_scope(user, activity.center_id, activity.ward_id)


def can_log_at(user: User, center: Center) -> bool:
    """Whether ``user`` may log (or edit) an activity of ``center``."""
    return _in_scope(user, center.id, center.ward_id)


def can_edit_activity(user: User, activity: Activity) -> bool:
    return can_log_at(user, activity.center)
