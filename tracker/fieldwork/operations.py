"""Every write to an activity: log it, edit it, link a request heard in it, unlink it.

Each operation checks the actor's scope and the whole input before it changes anything, flushes,
and writes its history event (subject ``activity_id``) in the caller's transaction: 'create' with
the values logged, 'edit' with the old and new value of every changed field, 'link_request' /
'unlink_request' on both the activity and the request. The caller commits once. Inputs are
already-typed values (dates, times, ints, ids), as a form or the importer reads them; a refusal
is an ``ActivityError`` naming the field it is about.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..activity_models import Activity, ActivityKind, CommunityOrganisation
from ..effects.support import WorkflowConflict, WorkflowError
from ..formatting import fiscal_year_of
from ..models import Center, HistoryEvent, ServiceRequest, User
from ..parsing import check_date
from ..states import Role
from ..wording import N_, say
from .access import can_edit_activity, can_log_at, can_view_activity

TEXT_LIMITS = {"organisation_text": 200, "place": 200, "summary": 4000}
MAX_ATTENDEES = 100_000
EDITABLE = (
    "held_on",
    "starts_at",
    "ends_at",
    "kind_id",
    "organisation_id",
    "organisation_text",
    "place",
    "attendees",
    "summary",
    "center_id",
)


class ActivityError(WorkflowError):
    """A refused activity input; ``field`` names the form field it is about (or None)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _center(session: Session, actor: User, value: Any) -> Center:
    center = session.get(Center, value) if value else None
    if center is None and actor.role == Role.LIAISON:
        center = actor.center
    if center is None or not center.active:
        raise ActivityError(N_("まちづくりセンターを選んでください。"), "center_id")
    if not can_log_at(actor, center):
        raise ActivityError(N_("このまちづくりセンターの活動は記録できません。"), "center_id")
    return center


def _text(fields: dict, key: str) -> str:
    value = str(fields.get(key) or "").strip()
    if len(value) > TEXT_LIMITS[key]:
        raise ActivityError(say(N_("%(value)s文字以内で入力してください。"), value=TEXT_LIMITS[key]), key)
    return value


def _liaisons(session: Session, actor: User, center: Center, ids: Sequence[Any] | None) -> list[User]:
    """The liaison staff who went: active liaisons of the center's ward; the actor if a liaison."""
    wanted = {int(i) for i in ids or () if str(i).isdigit()}
    if not wanted and actor.role == Role.LIAISON:
        wanted = {actor.id}
    if not wanted:
        raise ActivityError(N_("活動した地域担当職員を選んでください。"), "liaison_ids")
    found = list(session.scalars(select(User).where(User.id.in_(wanted)).order_by(User.id)))
    if len(found) != len(wanted) or any(
        user.role != Role.LIAISON or not user.active or user.ward_id != center.ward_id for user in found
    ):
        raise ActivityError(N_("この区の地域担当職員を選んでください。"), "liaison_ids")
    return found


def clean(session: Session, actor: User, fields: dict[str, Any], *, today: dt.date) -> dict[str, Any]:
    """The checked values of an activity, with its liaisons; raises ``ActivityError``."""
    if not actor.active:
        raise ActivityError(N_("このアカウントは無効です。"))
    held_on = fields.get("held_on")
    if not isinstance(held_on, dt.date):
        raise ActivityError(N_("活動日を入力してください。"), "held_on")
    try:
        held_on = check_date(held_on, N_("活動日"), latest=today)
    except ValueError as error:
        raise ActivityError(str(error), "held_on") from None
    starts_at, ends_at = fields.get("starts_at"), fields.get("ends_at")
    if starts_at and ends_at and ends_at < starts_at:
        raise ActivityError(N_("終了時刻は開始時刻より後にしてください。"), "ends_at")
    kind = session.get(ActivityKind, fields.get("kind_id")) if fields.get("kind_id") else None
    if kind is None or not kind.active:
        raise ActivityError(N_("活動区分を選んでください。"), "kind_id")
    center = _center(session, actor, fields.get("center_id"))
    organisation = None
    if fields.get("organisation_id"):
        organisation = session.get(CommunityOrganisation, fields["organisation_id"])
        if organisation is None or not organisation.active or organisation.center_id != center.id:
            raise ActivityError(N_("このセンターの地域団体から選んでください。"), "organisation_id")
    attendees = fields.get("attendees")
    if attendees is not None and not (0 <= int(attendees) <= MAX_ATTENDEES):
        raise ActivityError(
            say(
                N_("参加者数は0から%(MAX_ATTENDEES)sまでの数で入力してください。"),
                MAX_ATTENDEES=format(MAX_ATTENDEES, ","),
            ),
            "attendees",
        )
    values = {
        "held_on": held_on,
        "starts_at": starts_at or None,
        "ends_at": ends_at or None,
        "kind_id": kind.id,
        "organisation_id": organisation.id if organisation else None,
        "organisation_text": "" if organisation else _text(fields, "organisation_text"),
        "place": _text(fields, "place"),
        "attendees": None if attendees is None else int(attendees),
        "summary": _text(fields, "summary"),
        "center_id": center.id,
    }
    values["liaisons"] = _liaisons(session, actor, center, fields.get("liaison_ids"))
    return values


def _shown(value: Any) -> Any:
    """A value as the history event's JSON keeps it."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value


def _event(session: Session, actor: User | None, action: str, data: dict, **subject: int) -> HistoryEvent:
    event = HistoryEvent(
        actor_id=actor.id if actor else None,
        actor_role=actor.role.value if actor else "system",
        action=action,
        data=data,
        created_at=dt.datetime.now(dt.UTC),
        **subject,
    )
    session.add(event)
    return event


def log_activity(
    session: Session,
    actor: User,
    fields: dict[str, Any],
    *,
    today: dt.date,
    client_uuid: str | None = None,
    import_batch_id: int | None = None,
) -> Activity:
    """Log a new activity with its 'create' event; flush; return it.

    An activity sent again with the same ``client_uuid`` (a retried offline send, a re-read row)
    is returned as it is, and nothing is written.
    """
    if client_uuid:
        earlier = session.scalar(select(Activity).where(Activity.client_uuid == client_uuid))
        if earlier is not None:
            return earlier
    values = clean(session, actor, fields, today=today)
    liaisons = values.pop("liaisons")
    center = session.get(Center, values["center_id"])
    activity = Activity(
        **values,
        fiscal_year=fiscal_year_of(values["held_on"]),
        ward_id=center.ward_id,
        logged_by_id=actor.id,
        client_uuid=client_uuid or None,
        import_batch_id=import_batch_id,
    )
    activity.liaisons = liaisons
    session.add(activity)
    session.flush()
    logged = {key: _shown(value) for key, value in values.items()}
    logged["liaison_ids"] = [user.id for user in liaisons]
    _event(session, actor, "create", {"values": logged}, activity_id=activity.id)
    return activity


def edit_activity(
    session: Session,
    actor: User,
    activity: Activity,
    fields: dict[str, Any],
    *,
    today: dt.date,
    expected_version: int | None = None,
) -> Activity:
    """Change an activity; one 'edit' event holds each changed field's old and new value."""
    if not can_edit_activity(actor, activity):
        raise ActivityError(N_("この活動記録は編集できません。"))
    if expected_version is not None and expected_version != activity.version:
        raise WorkflowConflict()
    values = clean(session, actor, fields, today=today)
    liaisons = values.pop("liaisons")
    if values["center_id"] != activity.center_id:
        linked = session.scalar(select(ServiceRequest.id).where(ServiceRequest.activity_id == activity.id))
        if linked is not None and session.get(Center, values["center_id"]).ward_id != activity.ward_id:
            raise ActivityError(N_("要望が結び付いた活動は他区のセンターへ移せません。"), "center_id")
    changes = [
        {"field": key, "old": _shown(getattr(activity, key)), "new": _shown(value)}
        for key, value in values.items()
        if getattr(activity, key) != value
    ]
    old_ids, new_ids = [user.id for user in activity.liaisons], [user.id for user in liaisons]
    if sorted(old_ids) != sorted(new_ids):
        changes.append({"field": "liaison_ids", "old": old_ids, "new": new_ids})
    if not changes:
        raise ActivityError(N_("変更された項目がありません。"))
    for key, value in values.items():
        setattr(activity, key, value)
    activity.fiscal_year = fiscal_year_of(activity.held_on)
    activity.ward_id = session.get(Center, activity.center_id).ward_id
    activity.liaisons = liaisons
    activity.updated_at = dt.datetime.now(dt.UTC)
    session.flush()
    _event(session, actor, "edit", {"changes": changes}, activity_id=activity.id)
    return activity


def _check_link(actor: User, activity: Activity, request: ServiceRequest) -> None:
    if not can_edit_activity(actor, activity) or not can_view_activity(actor, activity):
        raise ActivityError(N_("この活動記録は編集できません。"))
    if request.ward_id != activity.ward_id:
        raise ActivityError(N_("結び付けられるのは同じ区の要望だけです。"), "request_id")


def link_request(session: Session, actor: User, activity: Activity, request: ServiceRequest) -> None:
    """Say that ``request`` was heard in ``activity``; an event on each of the two."""
    _check_link(actor, activity, request)
    if request.activity_id == activity.id:
        raise ActivityError(N_("この要望はすでにこの活動に結び付いています。"), "request_id")
    old = request.activity_id
    request.activity_id = activity.id
    request.updated_at = dt.datetime.now(dt.UTC)
    session.flush()
    data = {"request_id": request.id, "old_activity_id": old, "new_activity_id": activity.id}
    _event(session, actor, "link_request", data, activity_id=activity.id)
    _event(session, actor, "link_activity", data, service_request_id=request.id)


def unlink_request(session: Session, actor: User, activity: Activity, request: ServiceRequest) -> None:
    """Undo ``link_request``: the request no longer names the activity."""
    _check_link(actor, activity, request)
    if request.activity_id != activity.id:
        raise ActivityError(N_("この要望はこの活動に結び付いていません。"), "request_id")
    request.activity_id = None
    request.updated_at = dt.datetime.now(dt.UTC)
    session.flush()
    data = {"request_id": request.id, "old_activity_id": activity.id, "new_activity_id": None}
    _event(session, actor, "unlink_request", data, activity_id=activity.id)
    _event(session, actor, "unlink_activity", data, service_request_id=request.id)
