"""A request POSTed through an API key: checked whole, stored as a submission, routed.

``submit`` checks every parameter before it writes anything (an ``Open311Error`` of 400 names
the parameter), stores the ``Open311Submission`` and, when the key or the address says which
center it is for, creates the request in 受付 at once (``tracker.effects.intake``), like one a
member of staff logs. Otherwise it waits in the intake queue (未振り分け) until a ward manager
of the ward the address names, or admin, gives it a center (``assign_center``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..effects import intake, photos
from ..effects.support import WorkflowError, record_event
from ..models import Category, Center, ServiceRequest, User
from ..open311_models import ApiKey, Open311Submission
from ..states import RequestState, Role, Source
from . import attributes, routing
from .errors import Open311Error

MAX_DESCRIPTION = 4000
LIMITS = {  # parameter -> characters (the columns they are stored in)
    "address_string": 200,
    "address_id": 100,
    "device_id": 200,
    "account_id": 200,
    "media_url": 500,
}
TITLE_LIMIT = 200


def _bad(parameter: str, why: str) -> Open311Error:
    return Open311Error(400, f"{parameter}: {why}")


def _text(fields: Mapping, name: str) -> str:
    value = fields.get(name)
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value or "").strip()


def _coordinate(text: str, name: str, bound: int) -> Decimal | None:
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or not -bound <= number <= bound:
        raise _bad(name, f"must be a number from -{bound} to {bound} (緯度・経度が正しくありません)")
    return number.quantize(Decimal("0.000001"))


@dataclass(frozen=True)
class Checked:
    """What a POST said, every part checked."""

    category: Category
    title: str
    description: str
    texts: dict[str, str]
    latitude: Decimal | None
    longitude: Decimal | None
    requester_name: str
    requester_contact: str
    answers: dict
    photo: photos.CheckedPhoto | None


def _category(session: Session, code: str) -> Category:
    category = session.get(Category, int(code)) if code.isdecimal() and len(code) <= 9 else None
    if category is None or not category.active:
        raise _bad("service_code", f"no such service: {code[:40]} (分野が見つかりません)")
    return category


def _title(category: Category, description: str) -> str:
    summary = " ".join(description.split())
    title = f"{category.name}: {summary}" if summary else category.name
    return title if len(title) <= TITLE_LIMIT else title[: TITLE_LIMIT - 1] + "…"


def check(
    session: Session, fields: Mapping, media: tuple[BinaryIO, str] | None, photo_max_bytes: int
) -> Checked:
    """Every parameter of a POSTed request, checked; Open311Error (400) for the first wrong one."""
    code = _text(fields, "service_code")
    if not code:
        raise _bad("service_code", "is required (分野の指定が必要です)")
    category = _category(session, code)
    texts = {name: _text(fields, name) for name in LIMITS}
    for name, limit in LIMITS.items():
        if len(texts[name]) > limit:
            raise _bad(name, f"at most {limit} characters ({limit}文字まで)")
    lat, long = _text(fields, "lat"), _text(fields, "long")
    if bool(lat) != bool(long):
        raise _bad("lat/long", "both are needed (緯度と経度の両方が必要です)")
    if not (lat or texts["address_string"] or texts["address_id"]):
        raise _bad(
            "location", "lat and long, address_string or address_id is required (場所の指定が必要です)"
        )
    latitude, longitude = _coordinate(lat, "lat", 90), _coordinate(long, "long", 180)
    description = _text(fields, "description")
    if len(description) > MAX_DESCRIPTION:
        raise _bad("description", f"at most {MAX_DESCRIPTION} characters ({MAX_DESCRIPTION}文字まで)")
    name = " ".join(part for part in (_text(fields, "last_name"), _text(fields, "first_name")) if part)
    if len(name) > intake.LIMITS["requester_name"]:
        raise _bad("first_name/last_name", f"at most {intake.LIMITS['requester_name']} characters together")
    contact = " / ".join(part for part in (_text(fields, "email"), _text(fields, "phone")) if part)
    if len(contact) > intake.LIMITS["requester_contact"]:
        raise _bad("email/phone", f"at most {intake.LIMITS['requester_contact']} characters together")
    if texts["media_url"]:
        parts = urlsplit(texts["media_url"])
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _bad("media_url", "must be an http or https URL (http・httpsのURLのみ)")
    answers = attributes.check_answers(session, category.id, fields)
    photo = None
    if media is not None and media[1]:
        try:
            photo = photos.check_photo(media[0], media[1], photo_max_bytes)
        except WorkflowError as refused:
            raise _bad("media", f"not accepted as a photo (JPEG, PNG, WebP): {refused.message}") from None
    return Checked(
        category,
        _title(category, description),
        description,
        texts,
        latitude,
        longitude,
        name,
        contact,
        answers,
        photo,
    )


def _request_values(submission: Open311Submission, received_on: dt.date, answer_due_days: int) -> dict:
    return {
        "title": submission.title,
        "description": submission.description,
        "category": submission.category,
        "source": Source.APP,
        "received_on": received_on,
        "answer_due_on": intake.answer_due_on(received_on, None, answer_due_days),
        "latitude": submission.latitude,
        "longitude": submission.longitude,
        "location_text": submission.address_string,
        "requester_name": submission.requester_name,
        "requester_contact": submission.requester_contact,
    }


def _become_request(
    session: Session, submission: Open311Submission, center: Center, answer_due_days: int
) -> ServiceRequest:
    """The submission's request in 受付 of ``center``, logged by no one, due by the usual rule
    counted from the day it arrived."""
    values = _request_values(submission, submission.received_on, answer_due_days)
    stored = [dict(submission.media)] if submission.media else []
    event_data = {
        "photos": len(stored),
        "source": Source.APP.value,
        "api_key": submission.api_key.name,
        "token": submission.token,
    }
    request = intake.create_request(session, None, center, values, stored, event_data)
    submission.service_request = request
    return request


def submit(
    session: Session,
    key: ApiKey,
    fields: Mapping[str, Any],
    media: tuple[BinaryIO, str] | None,
    *,
    photo_dir: str,
    photo_max_bytes: int,
    answer_due_days: int,
    today: dt.date,
    now: dt.datetime,
) -> Open311Submission:
    """Check, store and route one POSTed request; flush. Nothing is written when it is refused."""
    checked = check(session, fields, media, photo_max_bytes)
    route = routing.route_for(session, key, checked.texts["address_string"])
    submission = Open311Submission(
        token=str(uuid.uuid4()),
        api_key=key,
        category=checked.category,
        ward=route.ward if route.center is None else route.center.ward,
        title=checked.title,
        description=checked.description,
        address_string=checked.texts["address_string"],
        address_id=checked.texts["address_id"],
        latitude=checked.latitude,
        longitude=checked.longitude,
        requester_name=checked.requester_name,
        requester_contact=checked.requester_contact,
        device_id=checked.texts["device_id"],
        account_id=checked.texts["account_id"],
        media_url=checked.texts["media_url"],
        media=intake.store_photo(session, checked.photo, photo_dir) if checked.photo else {},
        attributes=checked.answers,
        received_on=today,
        received_at=now,
    )
    session.add(submission)
    if route.center is not None:
        _become_request(session, submission, route.center, answer_due_days)
    session.flush()
    return submission


def service_notice(submission: Open311Submission) -> str:
    """What the app may tell the resident: received, and who answers or that a center is chosen."""
    if submission.service_request is not None:
        center = submission.service_request.center.name
        return f"受け付けました。{center}が担当します。 (Received; {center} will answer.)"
    return (
        "受け付けました。担当のまちづくりセンターを決めています。"
        " (Received; awaiting assignment to a center.)"
    )


def token_status(session: Session, token: str) -> Open311Submission | None:
    if not token or len(token) > 36:
        return None
    return session.scalars(
        select(Open311Submission)
        .options(joinedload(Open311Submission.service_request))
        .where(Open311Submission.token == token)
    ).one_or_none()


# --- the intake queue (未振り分け) ----------------------------------------------------------------


def may_assign(actor: User, submission: Open311Submission) -> bool:
    """Admin, or a ward manager of the ward the address named (any ward manager when none)."""
    if not actor.active:
        return False
    if actor.role == Role.ADMIN:
        return True
    if actor.role != Role.WARD_MANAGER:
        return False
    return submission.ward_id is None or submission.ward_id == actor.ward_id


def assignable_centers(session: Session, actor: User) -> list[Center]:
    """The active centers ``actor`` may give a queued request to: admin any, a manager their ward's."""
    statement = select(Center).where(Center.active.is_(True)).order_by(Center.ward_id, Center.sort_order)
    if actor.role != Role.ADMIN:
        statement = statement.where(Center.ward_id == actor.ward_id)
    return list(session.scalars(statement).all())


def queue_for(session: Session, actor: User) -> list[Open311Submission]:
    """The unassigned submissions ``actor`` may assign, oldest first."""
    if not actor.active or actor.role not in (Role.ADMIN, Role.WARD_MANAGER):
        return []
    statement = (
        select(Open311Submission)
        .options(
            joinedload(Open311Submission.api_key),
            joinedload(Open311Submission.category),
            joinedload(Open311Submission.ward),
        )
        .where(Open311Submission.service_request_id.is_(None))
        .order_by(Open311Submission.received_at, Open311Submission.id)
    )
    if actor.role == Role.WARD_MANAGER:
        statement = statement.where(
            (Open311Submission.ward_id == actor.ward_id) | Open311Submission.ward_id.is_(None)
        )
    return list(session.scalars(statement).all())


def assign_center(
    session: Session,
    actor: User,
    submission: Open311Submission,
    center_id: Any,
    *,
    answer_due_days: int,
) -> ServiceRequest:
    """Give a queued submission to a center: its request in 受付, due counted from its arrival,
    and the 'assign_intake' event; flush. WorkflowError (Japanese) when ``actor`` may not."""
    if not may_assign(actor, submission):
        raise WorkflowError("この未振り分けの要望を振り分ける権限がありません (区役所 管理職・管理者のみ)。")
    if submission.service_request_id is not None:
        raise WorkflowError("この要望はすでに振り分けられています。")
    center = session.get(Center, center_id) if isinstance(center_id, int) else None
    if center is None or not center.active:
        raise WorkflowError("振り分け先のまちづくりセンターを選んでください。")
    if actor.role != Role.ADMIN and center.ward_id != actor.ward_id:
        raise WorkflowError("他の区のまちづくりセンターには振り分けられません。")
    request = _become_request(session, submission, center, answer_due_days)
    submission.assigned_at = dt.datetime.now(dt.UTC)
    submission.assigned_by = actor
    if submission.ward_id is None:
        submission.ward_id = center.ward_id
    record_event(
        session,
        actor,
        request,
        "assign_intake",
        None,
        RequestState.RECEIVED,
        data={"center": center.name, "center_id": center.id, "token": submission.token},
    )
    session.flush()
    return request
