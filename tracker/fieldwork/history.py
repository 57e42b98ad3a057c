"""How an activity's history events read on its timeline: 登録, 編集 (each changed field with its
old and new value), 要望を結び付け, 結び付けを解除.

The values are those the operations recorded (``operations._shown``: ids, ISO dates and times);
``describe`` turns ids into names with the lookups the page passes in (one query each, made
before the timeline is drawn), so reading a long history costs no more queries than a short one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..activity_models import Activity, ActivityKind, CommunityOrganisation
from ..models import Center, HistoryEvent, ServiceRequest, User
from ..wording import N_, say, translate

ACTION_LABELS = {
    "create": N_("登録"),
    "edit": N_("編集"),
    "link_request": N_("要望を結び付け"),
    "unlink_request": N_("結び付けを解除"),
}
FIELD_LABELS = {
    "held_on": N_("活動日"),
    "starts_at": N_("開始時刻"),
    "ends_at": N_("終了時刻"),
    "kind_id": N_("活動区分"),
    "organisation_id": N_("団体"),
    "organisation_text": N_("団体名 (その他)"),
    "place": N_("場所"),
    "attendees": N_("参加者数"),
    "summary": N_("内容"),
    "center_id": N_("センター"),
    "liaison_ids": N_("地域担当職員"),
}
# Which lookup names an id field's values.
ID_FIELDS = {
    "kind_id": "kinds",
    "organisation_id": "organisations",
    "center_id": "centers",
    "liaison_ids": "users",
}


@dataclass(frozen=True)
class Line:
    label: str
    details: list[str]


def action_label(action: str) -> str:
    return translate(ACTION_LABELS.get(action, action))


def _value(name: str, value, names: Mapping[str, Mapping[int, str]]) -> str:
    if value is None or value == "" or value == []:
        return translate(N_("(なし)"))
    lookup = names.get(ID_FIELDS.get(name, ""), {})
    if isinstance(value, list):
        return translate(N_("、")).join(lookup.get(item, str(item)) for item in value)
    if name in ID_FIELDS:
        return lookup.get(value, str(value))
    text = str(value)
    return text if len(text) <= 60 else text[:60] + "…"


def ids_named(events: list[HistoryEvent]) -> dict[str, set[int]]:
    """The ids the events mention, per lookup: what the page must name before ``describe``."""
    wanted: dict[str, set[int]] = {lookup: set() for lookup in ID_FIELDS.values()}
    wanted["requests"] = set()
    for event in events:
        data = event.data or {}
        if "request_id" in data:
            wanted["requests"].add(data["request_id"])
        pairs = [(c["field"], c.get("old")) for c in data.get("changes", [])]
        pairs += [(c["field"], c.get("new")) for c in data.get("changes", [])]
        pairs += list((data.get("values") or {}).items())
        for name, value in pairs:
            if name in ID_FIELDS and value is not None:
                wanted[ID_FIELDS[name]].update(value if isinstance(value, list) else [value])
    return wanted


def describe(event: HistoryEvent, names: Mapping[str, Mapping[int, str]]) -> Line:
    """The event's label and its details, each one readable line."""
    data = event.data or {}
    details: list[str] = []
    if event.action == "edit":
        for change in data.get("changes", []):
            name = change["field"]
            old, new = _value(name, change.get("old"), names), _value(name, change.get("new"), names)
            label = translate(FIELD_LABELS.get(name, name))
            details.append(say(N_("%(label)s: %(old)s → %(new)s"), label=label, old=old, new=new))
    elif event.action in ("link_request", "unlink_request"):
        reference = names.get("requests", {}).get(data.get("request_id"), str(data.get("request_id")))
        details.append(say(N_("要望: %(reference)s"), reference=reference))
    elif event.action == "create":
        values = data.get("values") or {}
        for name in ("held_on", "kind_id", "center_id", "liaison_ids"):
            if name in values:
                label, value = translate(FIELD_LABELS[name]), _value(name, values[name], names)
                details.append(say(N_("%(label)s: %(value)s"), label=label, value=value))
    return Line(action_label(event.action), details)


LOOKUPS = {
    "kinds": (ActivityKind, ActivityKind.name),
    "organisations": (CommunityOrganisation, CommunityOrganisation.name),
    "centers": (Center, Center.name),
    "users": (User, User.display_name),
    "requests": (ServiceRequest, ServiceRequest.reference),
}


def timeline(session: Session, activity: Activity) -> list[tuple[HistoryEvent, Line]]:
    """The activity's events, oldest first, each with its readable line: one query for the
    events and one per kind of id they mention."""
    events = list(
        session.scalars(
            select(HistoryEvent)
            .options(joinedload(HistoryEvent.actor))
            .where(HistoryEvent.activity_id == activity.id)
            .order_by(HistoryEvent.id)
        )
    )
    names: dict[str, dict[int, str]] = {}
    for lookup, ids in ids_named(events).items():
        model, column = LOOKUPS[lookup]
        wanted = [i for i in ids if isinstance(i, int)]
        names[lookup] = (
            dict(session.execute(select(model.id, column).where(model.id.in_(wanted))).all())
            if wanted
            else {}
        )
    return [(event, describe(event, names)) for event in events]
