"""The mySociety ``servicerequestupdates`` extension: what changed for residents, from the history.

An update is one history event a resident would care about: the answer (and a correction of its
text), a withdrawal, a reopening, the escalation to a ward issue, the issue's return to triage,
and the issue being sent to its lead bureau (one update for each request bundled in it). Its
``description`` is what the record's ``status_notes`` said just after it — never a staff name,
an internal comment or personal data; the one free text taken from the history besides the
answer is the reason of a withdrawal, as the record itself shows it.

``update_id`` is the history event's id; an issue's event names several requests, so theirs is
``<event id>-<request id>``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from ..models import HistoryEvent, ServiceRequest, WardIssue
from ..states import RequestState
from . import records
from .render import TOKYO, timestamp

REQUEST_ACTIONS = ("answer", "correct_answer", "withdraw", "reopen", "escalate", "issue_withdrawn")
ISSUE_ACTIONS = ("send",)
MAX_UPDATES = 1000


def _description(event: HistoryEvent, request: ServiceRequest) -> str | None:
    action = event.action
    if action == "answer":
        return event.comment or None
    if action == "correct_answer":
        changed = {change["field"]: change["new"] for change in (event.data or {}).get("changes", [])}
        return changed.get("answer_text")
    if action == "withdraw":
        return records.withdrawn_note(event.comment)
    if action == "reopen":
        return records.REOPENED_NOTE
    if action == "escalate":
        return records.escalated_note(None)
    if action == "issue_withdrawn":
        return records.BACK_TO_RECEIVED_NOTE
    bureau = (event.data or {}).get("lead_bureau")
    return f"区重要課題として{bureau}と協議しています。" if bureau else records.escalated_note(None)


def _update(update_id: str, event: HistoryEvent, request: ServiceRequest, status: str) -> dict:
    return {
        "update_id": update_id,
        "service_request_id": request.reference,
        "status": status,
        "updated_datetime": timestamp(event.created_at),
        "description": _description(event, request),
        "media_url": None,
    }


def request_updates(session: Session, *, start: str = "", end: str = "", today: dt.date) -> list[dict]:
    """The updates of the days ``start`` .. ``end`` (the 90-day rule of ``GET requests``), oldest first."""
    first, last = records.date_range(start, end, today)
    since = dt.datetime.combine(first, dt.time(), tzinfo=TOKYO).astimezone(dt.UTC)
    until = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=TOKYO).astimezone(dt.UTC)
    statement = (
        select(HistoryEvent)
        .where(
            HistoryEvent.created_at >= since,
            HistoryEvent.created_at < until,
            or_(
                HistoryEvent.service_request_id.is_not(None) & HistoryEvent.action.in_(REQUEST_ACTIONS),
                HistoryEvent.ward_issue_id.is_not(None) & HistoryEvent.action.in_(ISSUE_ACTIONS),
            ),
        )
        .options(
            joinedload(HistoryEvent.service_request),
            joinedload(HistoryEvent.ward_issue).selectinload(WardIssue.requests),
        )
        .order_by(HistoryEvent.id)
        .limit(MAX_UPDATES)
    )
    updates = []
    for event in session.scalars(statement).unique():
        if event.service_request is not None:
            if event.action == "correct_answer" and _description(event, event.service_request) is None:
                continue  # only the kind or the date of the answer changed: nothing new to read
            state = RequestState(event.to_state) if event.to_state else event.service_request.state
            updates.append(_update(str(event.id), event, event.service_request, records.status_of(state)))
        else:
            for request in event.ward_issue.requests:
                updates.append(_update(f"{event.id}-{request.id}", event, request, "open"))
    return updates
