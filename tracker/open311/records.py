"""The request records the API reads out (``GET requests``, ``GET requests/{id}``), and what they say.

A record carries the spec's fields only: the reference number, open/closed, the notes meant for
the resident, the category, the description, the place, the dates, the agency and the
submission's ``media_url``. Never the requester's name, contact or organisation, an e-mail, a
phone number, a device or account id, a staff name, an internal comment or a link to our photos.

Every request is readable through the API, whatever its source: none of these fields is personal.
Dates filter on the day the request was received (``received_on``, indexed with the id), in Tokyo.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..models import HistoryEvent, ServiceRequest, WardIssue
from ..open311_models import Open311Submission
from ..states import DECIDED_ISSUE_STATES, OPEN_REQUEST_STATES, RequestState
from .errors import Open311Error
from .render import TOKYO, timestamp

MAX_DAYS = 90  # the spec: a date range may not span more than 90 days
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_IDS = 100  # service_request_id: at most this many in one comma list
STATUSES = ("open", "closed")
FIRST_YEAR, LAST_YEAR = 1900, 2999  # dates the API reads: 90 days either side stay representable

WITHDRAWN_NOTE = "この要望は取り下げられました。"
HANDING_OVER_NOTE = "担当する区へ引き継いでいます。"
REFERRED_NOTE = "担当課へ回付し、対応を確認しています。"
REOPENED_NOTE = "対応を再開しました。"
BACK_TO_RECEIVED_NOTE = "区重要課題としての検討を終え、引き続き対応しています。"


def escalated_note(issue: WardIssue | None) -> str:
    """What an escalated request says, from the ward issue's public-safe facts only (its state,
    whether it was sent and to which bureau): never its title or texts, which are internal."""
    bureau = issue.lead_bureau.name if issue and issue.sent_at and issue.lead_bureau else None
    if issue is not None and issue.state in DECIDED_ISSUE_STATES:
        return "区重要課題として協議を終えました。回答をお待ちください。"
    if bureau:
        return f"区重要課題として{bureau}と協議しています。"
    return "区重要課題として検討中です。"


def withdrawn_note(reason: str | None) -> str:
    return f"{WITHDRAWN_NOTE} 理由: {reason}" if reason else WITHDRAWN_NOTE


def status_of(state: RequestState) -> str:
    return "open" if state in OPEN_REQUEST_STATES else "closed"


def status_notes(request: ServiceRequest, withdraw_reason: str | None = None) -> str | None:
    """The notes meant for the resident: the answer, the withdrawal, the escalation; else None."""
    state = request.state
    if state == RequestState.ANSWERED:
        return request.answer_text or None
    if state == RequestState.WITHDRAWN:
        return withdrawn_note(withdraw_reason)
    if state == RequestState.ESCALATED:
        return escalated_note(request.ward_issue)
    if state == RequestState.HANDING_OVER:
        return HANDING_OVER_NOTE
    if state == RequestState.REFERRED:
        return REFERRED_NOTE
    return None


def agency_responsible(request: ServiceRequest) -> str:
    """The center, or the lead bureau once the request's ward issue was sent to it."""
    issue = request.ward_issue
    if issue is not None and issue.sent_at is not None and issue.lead_bureau is not None:
        return issue.lead_bureau.name
    return request.center.name


def service_notice(request: ServiceRequest) -> str:
    """What the city says it will do: the reference number and the date the answer is due."""
    return f"受付番号 {request.reference} で受け付けました。回答予定日: {request.answer_due_on.isoformat()}"


def requested_datetime(request: ServiceRequest) -> str | None:
    """When it was logged, if that was on the day it was received; else that day (typed in later)."""
    created = request.created_at
    if created is not None:
        if created.tzinfo is None:
            created = created.replace(tzinfo=dt.UTC)
        if created.astimezone(TOKYO).date() == request.received_on:
            return timestamp(created)
    return timestamp(request.received_on)


def _coordinate(value) -> float | None:
    return None if value is None else float(value)


def request_record(
    request: ServiceRequest, submission: Open311Submission | None, withdraw_reason: str | None = None
) -> dict:
    """The spec's record of ``request`` (``submission``: the Open311 arrival it came from, if any)."""
    return {
        "service_request_id": request.reference,
        "status": status_of(request.state),
        "status_notes": status_notes(request, withdraw_reason),
        "service_name": request.category.name,
        "service_code": str(request.category_id),
        "description": request.description or None,
        "agency_responsible": agency_responsible(request),
        "service_notice": service_notice(request),
        "requested_datetime": requested_datetime(request),
        "updated_datetime": timestamp(request.updated_at),
        "expected_datetime": timestamp(request.answer_due_on),
        "address": request.location_text or None,
        "address_id": (submission.address_id or None) if submission else None,
        "zipcode": None,
        "lat": _coordinate(request.latitude),
        "long": _coordinate(request.longitude),
        "media_url": (submission.media_url or None) if submission else None,
    }


# --- reading them --------------------------------------------------------------------------


def parse_moment(text: str, name: str) -> dt.date:
    """An ISO 8601 date or datetime (``2024-06-03``, ``2024-06-03T09:00:00+09:00``, ``...Z``) as its
    Tokyo day; a datetime without an offset is Tokyo time. 400 when it cannot be read."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise Open311Error(
            400, f"{name} is not an ISO 8601 date or datetime ({name} が日付として読めません)"
        ) from None
    try:
        day = moment.date() if moment.tzinfo is None else moment.astimezone(TOKYO).date()
    except OverflowError:  # an offset past the first or the last day a datetime can hold
        day = dt.date.min
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise Open311Error(
            400, f"{name} must be between {FIRST_YEAR} and {LAST_YEAR} ({name} の年が範囲外です)"
        )
    return day


def date_range(start: str, end: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The days ``start_date`` .. ``end_date`` cover (inclusive): at most 90 days, by default the last 90."""
    first = parse_moment(start, "start_date") if start else None
    last = parse_moment(end, "end_date") if end else None
    if first is None and last is None:
        last = today
    if first is None:
        first = last - dt.timedelta(days=MAX_DAYS)
    if last is None:
        last = first + dt.timedelta(days=MAX_DAYS)
    if last < first:
        raise Open311Error(400, "end_date is before start_date (end_date が start_date より前です)")
    if (last - first).days > MAX_DAYS:
        raise Open311Error(
            400, "the date range may not span more than 90 days (期間は90日以内で指定してください)"
        )
    return first, last


def _listed(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _number(text: str, name: str, default: int, low: int, high: int) -> int:
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise Open311Error(
            400, f"{name} must be a whole number from {low} to {high} ({name} は{low}〜{high}の整数です)"
        )
    return int(text)


def _statement_for(ids_text, service_code, start, end, status, page_text, size_text, today):
    statement = select(ServiceRequest)
    ids = _listed(ids_text)
    if ids:  # the spec: service_request_id overrides every other parameter
        if len(ids) > MAX_IDS:
            raise Open311Error(400, f"at most {MAX_IDS} service_request_id (一度に{MAX_IDS}件までです)")
        return statement.where(ServiceRequest.reference.in_(ids)), 1, MAX_IDS
    codes = _listed(service_code)
    if codes:
        if not all(code.isascii() and code.isdigit() and len(code) < 10 for code in codes):
            raise Open311Error(400, "service_code is not known (service_code が正しくありません)")
        statement = statement.where(ServiceRequest.category_id.in_([int(code) for code in codes]))
    statuses = set(_listed(status.lower()))
    if statuses - set(STATUSES):
        raise Open311Error(400, "status must be open or closed (status は open か closed です)")
    if statuses == {"open"}:
        statement = statement.where(ServiceRequest.state.in_(OPEN_REQUEST_STATES))
    elif statuses == {"closed"}:
        statement = statement.where(ServiceRequest.state.not_in(OPEN_REQUEST_STATES))
    first, last = date_range(start, end, today)
    statement = statement.where(ServiceRequest.received_on.between(first, last))
    page = _number(page_text, "page", 1, 1, 10_000)
    size = _number(size_text, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    return statement, page, size


def find_requests(
    session: Session,
    *,
    ids: str = "",
    service_code: str = "",
    start: str = "",
    end: str = "",
    status: str = "",
    page: str = "",
    page_size: str = "",
    today: dt.date,
) -> list[dict]:
    """The records ``GET requests`` answers (its parameters as given, strings, "" when absent):
    newest received first, one page; at most three queries. Refusals raise ``Open311Error`` (400)."""
    statement, page_number, size = _statement_for(
        ids, service_code, start, end, status, page, page_size, today
    )
    statement = (
        statement.options(
            joinedload(ServiceRequest.category),
            joinedload(ServiceRequest.center),
            joinedload(ServiceRequest.ward_issue).joinedload(WardIssue.lead_bureau),
        )
        .order_by(ServiceRequest.received_on.desc(), ServiceRequest.id.desc())
        .limit(size)
        .offset((page_number - 1) * size)
    )
    return records_of(session, list(session.scalars(statement).unique()))


def find_request(session: Session, reference: str) -> dict:
    """The record of the request with that reference number; 404 when there is none."""
    found = []
    if reference and len(reference) <= 32 and "," not in reference:
        found = find_requests(session, ids=reference, today=dt.date.today())
    if not found:
        raise Open311Error(404, "service_request_id not found (該当する要望はありません)")
    return found[0]


def records_of(session: Session, requests: list[ServiceRequest]) -> list[dict]:
    """The records of ``requests``, with their submissions and withdrawal reasons in two queries."""
    ids = [request.id for request in requests]
    submissions: dict[int, Open311Submission] = {}
    reasons: dict[int, str] = {}
    if ids:
        rows = session.scalars(select(Open311Submission).where(Open311Submission.service_request_id.in_(ids)))
        submissions = {row.service_request_id: row for row in rows}
        withdrawn = [request.id for request in requests if request.state == RequestState.WITHDRAWN]
        if withdrawn:
            events = session.execute(
                select(HistoryEvent.service_request_id, HistoryEvent.comment)
                .where(HistoryEvent.service_request_id.in_(withdrawn), HistoryEvent.action == "withdraw")
                .order_by(HistoryEvent.id)
            )
            reasons = {request_id: comment for request_id, comment in events}  # the latest wins
    return [
        request_record(request, submissions.get(request.id), reasons.get(request.id)) for request in requests
    ]
