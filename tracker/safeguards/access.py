"""Who may see what: the scope rules of DESIGN.md as query filters and object checks.

Liaisons and ward managers see their own ward, and the requests another ward is handing over
to it (他区へ引継ぎ中: to decide whether to take them); bureau staff see the issues sent to their
bureau (as lead or related) and the requests bundled in them, with residents' personal data
masked; the admin sees everything.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, or_, select, true

from ..models import ServiceRequest, User, WardIssue, issue_related_bureaus
from ..states import Role

MASK = "＊＊＊"


def issue_filter(user: User) -> ColumnElement[bool]:
    if user.role == Role.ADMIN:
        return true()
    if user.role in (Role.LIAISON, Role.WARD_MANAGER):
        return WardIssue.ward_id == user.ward_id if user.ward_id else false()
    if user.role == Role.BUREAU_STAFF and user.bureau_id:
        related = exists().where(
            issue_related_bureaus.c.ward_issue_id == WardIssue.id,
            issue_related_bureaus.c.bureau_id == user.bureau_id,
        )
        return WardIssue.sent_at.is_not(None) & or_(WardIssue.lead_bureau_id == user.bureau_id, related)
    return false()


def request_filter(user: User) -> ColumnElement[bool]:
    if user.role == Role.ADMIN:
        return true()
    if user.role in (Role.LIAISON, Role.WARD_MANAGER):
        if not user.ward_id:
            return false()
        return or_(ServiceRequest.ward_id == user.ward_id, ServiceRequest.handover_ward_id == user.ward_id)
    if user.role == Role.BUREAU_STAFF:
        return ServiceRequest.ward_issue_id.in_(select(WardIssue.id).where(issue_filter(user)))
    return false()


def can_view_issue(user: User, issue: WardIssue) -> bool:
    if user.role == Role.ADMIN:
        return True
    if user.role in (Role.LIAISON, Role.WARD_MANAGER):
        return user.ward_id is not None and issue.ward_id == user.ward_id
    if user.role == Role.BUREAU_STAFF and user.bureau_id and issue.sent_at is not None:
        parties = {issue.lead_bureau_id, *(b.id for b in issue.related_bureaus)}
        return user.bureau_id in parties
    return False


def can_view_request(user: User, request: ServiceRequest) -> bool:
    if user.role == Role.ADMIN:
        return True
    if user.role in (Role.LIAISON, Role.WARD_MANAGER):
        return user.ward_id is not None and user.ward_id in (request.ward_id, request.handover_ward_id)
    if user.role == Role.BUREAU_STAFF:
        return request.ward_issue is not None and can_view_issue(user, request.ward_issue)
    return False


def sees_personal_data(user: User) -> bool:
    """Bureau staff have no need for a requester's name and contact."""
    return user.role != Role.BUREAU_STAFF


def personal(user: User, value: str) -> str:
    """The value as ``user`` may see it: itself, or a mask when there is something to hide."""
    if not value or sees_personal_data(user):
        return value
    return MASK
