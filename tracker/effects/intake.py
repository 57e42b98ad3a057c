"""Logging a resident's request: validation, the reference number, photos, the first event."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..formatting import fiscal_year_of
from ..models import Category, Center, Photo, ServiceRequest, User
from ..states import Priority, RequestState, Role, Source
from ..wording import N_, translate
from . import photos, references, stored_files
from .support import WorkflowError, record_event

LIMITS = {
    "title": 200,
    "location_text": 200,
    "organisation": 200,
    "requester_name": 100,
    "requester_contact": 200,
}


def _coordinate(value: Any, low: int, high: int, label: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value)).quantize(Decimal("0.000001"))
    except InvalidOperation:
        raise WorkflowError(N_("%(label)sが正しくありません。"), label=translate(label)) from None
    if not low <= number <= high:
        raise WorkflowError(N_("%(label)sが正しくありません。"), label=translate(label))
    return number


def clean_text(value: Any, key: str) -> str:
    """A text field of a request, stripped; refused when longer than its column."""
    text = (value or "").strip()
    limit = LIMITS.get(key)
    if limit is not None and len(text) > limit:
        raise WorkflowError(N_("入力が長すぎます (%(limit)s文字まで)。"), limit=limit)
    return text


def clean_title(value: Any) -> str:
    if not (value or "").strip():
        raise WorkflowError(N_("件名を入力してください。"))
    return clean_text(value, "title")


def check_received_on(received_on: dt.date, today: dt.date) -> dt.date:
    if received_on > today:
        raise WorkflowError(N_("受付日に未来の日付は指定できません。"))
    return received_on


def answer_due_on(received_on: dt.date, due_on: dt.date | None, answer_due_days: int) -> dt.date:
    """The due date given, or ``answer_due_days`` after receipt; never before receipt."""
    due_on = due_on or received_on + dt.timedelta(days=answer_due_days)
    if due_on < received_on:
        raise WorkflowError(N_("回答期限が受付日より前になっています。"))
    return due_on


def ward_id_of(actor: User) -> int | None:
    """The ward ``actor`` logs requests into: a liaison's center's, a manager's own."""
    if actor.role == Role.LIAISON and actor.center is not None:
        return actor.center.ward_id
    return actor.ward_id


def center_for(session: Session, actor: User, center_id: Any) -> Center:
    """The active center ``actor`` may log requests into (``center_id`` for a ward manager)."""
    if actor.role == Role.LIAISON:
        center = actor.center
        if center_id not in (None, "", center.id if center else None):
            raise WorkflowError(N_("地域担当職員は自分のまちづくりセンターの要望だけを登録できます。"))
    elif actor.role == Role.WARD_MANAGER:
        center = session.get(Center, center_id) if center_id else None
        if center is None:
            raise WorkflowError(N_("まちづくりセンターを選んでください。"))
        if center.ward_id != actor.ward_id:
            raise WorkflowError(N_("他の区のまちづくりセンターの要望は登録できません。"))
    else:
        raise WorkflowError(N_("要望の登録は地域担当職員と区役所 管理職だけが行えます。"))
    if center is None or not center.active:
        raise WorkflowError(N_("所属のまちづくりセンターが設定されていません。管理者に連絡してください。"))
    return center


def log_request(
    session: Session,
    actor: User,
    fields: dict[str, Any],
    uploads: list[tuple[Any, str]] = (),
    *,
    photo_dir: str,
    photo_max_bytes: int,
    photo_max_count: int,
    answer_due_days: int,
    today: dt.date,
    duplicate_of: ServiceRequest | None = None,
    client_uuid: str | None = None,
) -> ServiceRequest:
    """Create a request in 受付 with its photos and 'create' event; flush; return it.

    ``uploads`` are (binary stream, original file name) pairs. Every check runs before any
    row is added or any file is written. ``duplicate_of`` links it to a similar request of the
    same ward (関連する要望), recorded in the 'create' event.
    """
    if not actor.active:
        raise WorkflowError(N_("このアカウントは無効です。"))
    center = center_for(session, actor, fields.get("center_id"))
    title = clean_title(fields.get("title"))
    texts = {key: clean_text(fields.get(key), key) for key in LIMITS}
    category = session.get(Category, fields.get("category_id")) if fields.get("category_id") else None
    if category is None or not category.active:
        raise WorkflowError(N_("分野を選んでください。"))
    try:
        source = Source(fields.get("source"))
    except ValueError:
        raise WorkflowError(N_("受付の経路を選んでください。")) from None
    try:
        priority = Priority(fields.get("priority") or Priority.MEDIUM.value)
    except ValueError:
        raise WorkflowError(N_("緊急度を選んでください。")) from None
    received_on = check_received_on(fields.get("received_on") or today, today)
    due_on = answer_due_on(received_on, fields.get("answer_due_on"), answer_due_days)
    latitude = _coordinate(fields.get("latitude"), -90, 90, N_("緯度"))
    longitude = _coordinate(fields.get("longitude"), -180, 180, N_("経度"))
    uploads = [u for u in uploads if u[1]]
    if len(uploads) > photo_max_count:
        raise WorkflowError(N_("写真は%(photo_max_count)s枚までです。"), photo_max_count=photo_max_count)
    checked = [photos.check_photo(stream, name, photo_max_bytes) for stream, name in uploads]
    if duplicate_of is not None and duplicate_of.ward_id != center.ward_id:
        raise WorkflowError(N_("関連付けられるのは同じ区の要望だけです。"))

    values = {
        "title": title,
        "description": (fields.get("description") or "").strip(),
        "category": category,
        "source": source,
        "received_on": received_on,
        "answer_due_on": due_on,
        "latitude": latitude,
        "longitude": longitude,
        "priority": priority,
        **texts,
    }
    stored = [store_photo(session, photo, photo_dir) for photo in checked]
    event_data = {
        "photos": len(checked),
        "source": source.value,
        **({"linked_to": duplicate_of.reference} if duplicate_of is not None else {}),
    }
    return create_request(
        session, actor, center, values, stored, event_data, duplicate_of=duplicate_of, client_uuid=client_uuid
    )


class AlreadyStored(Exception):
    """A request with this ``client_uuid`` is already stored (a replayed send): ``existing``."""

    def __init__(self, existing: ServiceRequest):
        super().__init__(existing.reference)
        self.existing = existing


def clean_client_uuid(value: Any) -> str | None:
    """The device's id of a request (a UUID, written lower-case), None when none was sent."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        parsed = uuid.UUID(text) if len(text) == 36 else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise WorkflowError(N_("送信の識別番号が正しくありません。画面を開き直してから登録してください。"))
    return str(parsed)


def stored_with(session: Session, actor: User | None, client_uuid: str | None) -> ServiceRequest | None:
    """The request already stored under ``client_uuid`` (None if none); refused when somebody
    else logged it: a device's id answers only its own user's requests."""
    if not client_uuid:
        return None
    existing = session.scalar(select(ServiceRequest).where(ServiceRequest.client_uuid == client_uuid))
    if existing is not None and (actor is None or existing.logged_by_id != actor.id):
        raise WorkflowError(N_("この送信は別の職員が登録した要望と同じ識別番号です。登録できません。"))
    return existing


def replayed(session: Session, actor: User, client_uuid: Any) -> ServiceRequest | None:
    """The request of ``actor`` a send with this (raw) ``client_uuid`` already stored, or None;
    refused when the id is not a UUID or somebody else's request has it."""
    return stored_with(session, actor, clean_client_uuid(client_uuid))


def log_request_once(
    session: Session, actor: User, fields: dict[str, Any], uploads: list[tuple[Any, str]] = (), **options: Any
) -> tuple[ServiceRequest, bool]:
    """``log_request`` for a send that may be a replay (an offline queue sends again when it
    did not hear the answer): ``(request, True)`` when it was created now, ``(existing, False)``
    when a request of ``actor`` already has the send's ``client_uuid`` (nothing is written)."""
    client_uuid = clean_client_uuid(options.pop("client_uuid", None))
    existing = stored_with(session, actor, client_uuid)
    if existing is not None:
        return existing, False
    try:
        return log_request(session, actor, fields, uploads, client_uuid=client_uuid, **options), True
    except AlreadyStored as stored:
        return stored.existing, False


def store_photo(session: Session, photo: photos.CheckedPhoto, photo_dir: str) -> dict[str, Any]:
    """Write a checked photo under ``photo_dir``; what a ``Photo`` row needs of it, as plain values
    (an Open311 submission keeps them until it becomes a request)."""
    return {
        "stored_name": stored_files.store_bytes(session, photo.data, photo.extension, photo_dir),
        "original_name": photo.original_name,
        "content_type": photo.content_type,
        "size_bytes": len(photo.data),
        "width": photo.width,
        "height": photo.height,
    }


def create_request(
    session: Session,
    actor: User | None,
    center: Center,
    values: dict[str, Any],
    stored_photos: list[dict[str, Any]],
    event_data: dict[str, Any],
    *,
    duplicate_of: ServiceRequest | None = None,
    client_uuid: str | None = None,
) -> ServiceRequest:
    """Add a checked request in 受付 of ``center`` with its stored photos and 'create' event; flush.

    With a ``client_uuid`` the request is added in a savepoint: when a concurrent send of the same
    id stored it first (a unique violation at flush), the savepoint is rolled back and
    ``AlreadyStored`` raised with that request (refused if somebody else logged it).

    ``actor`` None: it arrived through Open311 (no member of staff logged it; the event's role
    reads "system"). ``values`` are already checked: title, description, category, source,
    received_on, answer_due_on, latitude, longitude and the texts of ``LIMITS``.
    """
    if client_uuid is None:
        return _add_request(session, actor, center, values, stored_photos, event_data, duplicate_of, None)
    try:
        with session.begin_nested():
            return _add_request(
                session, actor, center, values, stored_photos, event_data, duplicate_of, client_uuid
            )
    except IntegrityError:
        existing = stored_with(session, actor, client_uuid)
        if existing is None:
            raise
        raise AlreadyStored(existing) from None


def _add_request(session, actor, center, values, stored_photos, event_data, duplicate_of, client_uuid):
    fiscal_year = fiscal_year_of(values["received_on"])
    request = ServiceRequest(
        client_uuid=client_uuid,
        reference=references.request_reference(session, center.ward_id, fiscal_year),
        fiscal_year=fiscal_year,
        title=values["title"],
        description=values.get("description", ""),
        category=values["category"],
        center=center,
        ward_id=center.ward_id,
        location_text=values.get("location_text", ""),
        latitude=values.get("latitude"),
        longitude=values.get("longitude"),
        source=values["source"],
        organisation=values.get("organisation", ""),
        requester_name=values.get("requester_name", ""),
        requester_contact=values.get("requester_contact", ""),
        received_on=values["received_on"],
        answer_due_on=values["answer_due_on"],
        state=RequestState.RECEIVED,
        logged_by=actor,
        duplicate_of=duplicate_of,
        priority=values.get("priority") or Priority.MEDIUM,
    )
    session.add(request)
    for photo in stored_photos:
        request.photos.append(Photo(**photo, uploaded_by_id=actor.id if actor else None))
    record_event(session, actor, request, "create", None, RequestState.RECEIVED, data=event_data)
    session.flush()
    return request
