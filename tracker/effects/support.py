"""What the workflow's effects share: the error, the context, payload cleaning, the history writer.

No Flask here either.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ..models import Bureau, HistoryEvent, ServiceRequest, User, WardIssue
from ..parsing import MAX_YEN
from ..wording import N_, say, translate


class WorkflowError(Exception):
    """An action that is not allowed, with a message meant for the user.

    ``template`` is the Japanese source text (marked for the catalog, placeholders such as
    ``%(name)s`` for ``params``); ``message`` reads it in the current user's language
    (``wording.say``), so a rule raises Japanese and an English user reads English.
    """

    def __init__(self, template: str, **params: object):
        super().__init__(template % params if params else template)
        self.template = template
        self.params = params

    @property
    def message(self) -> str:
        return say(self.template, **self.params)


CONFLICT_MESSAGE = N_(
    "他の職員がこの記録を更新しました。最新の内容を確認してから、もう一度操作してください。"
)


class WorkflowConflict(WorkflowError):
    """The record changed since the user loaded it (optimistic locking); nothing was changed.

    Raised when the version the user saw is not the current one, or when another transaction
    updated the row first (SQLAlchemy's ``StaleDataError`` at flush). The user reloads and retries.
    """

    def __init__(self, message: str = CONFLICT_MESSAGE):
        super().__init__(message)


def touch(record: ServiceRequest | WardIssue) -> None:
    """Mark ``record`` as changed, so its UPDATE checks and raises its ``version``.

    A change that touches only rows beside the record (a budget line, a bundled request) would
    otherwise leave the record's row, and so its version, alone. See ``workflow.check_version``.
    """
    record.updated_at = dt.datetime.now(dt.UTC)


FIELD_LABELS = {
    "answer_text": N_("回答内容"),
    "answer_kind": N_("回答区分"),
    "answered_on": N_("回答日"),
    "referred_to": N_("回付先"),
    "comment": N_("理由"),
    "title": N_("件名"),
    "situation": N_("現状と課題"),
    "proposal": N_("対応案"),
    "lead_bureau": N_("主管局"),
    "decision": N_("協議結果"),
    "decision_reason": N_("理由"),
    "next_review_on": N_("次回協議予定日"),
    "fiscal_year": N_("年度"),
    "project_name": N_("事業名"),
    "allocated_yen": N_("予算額"),
    "body": N_("内容"),
    "outcome": N_("成果"),
    "executed": N_("決算額"),
    "ward_issue": N_("区重要課題"),
    "question": N_("照会内容"),
    "answer": N_("回答"),
    "handover_ward": N_("引継ぎ先の区"),
    "center": N_("まちづくりセンター"),
    "owner": N_("担当者"),
    "summary": N_("うまくいった点の要約"),
    "priority": N_("緊急度"),
    "assignee": N_("担当者"),
}


@dataclass
class Context:
    """What an effect may use: the session, the actor, the subject, the cleaned payload."""

    session: Session
    actor: User
    subject: ServiceRequest | WardIssue
    payload: dict[str, Any]
    today: dt.date
    data: dict[str, Any] = field(default_factory=dict)
    comment: str = ""


# --- payload helpers -----------------------------------------------------------------------


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == {}


# The longest text each field takes (the columns' sizes, or a sane bound for free text).
TEXT_LIMITS = {
    "title": 200,
    "project_name": 200,
    "referred_to": 120,
    "comment": 2000,
    "body": 5000,
    "outcome": 5000,
    "answer_text": 5000,
    "decision_reason": 5000,
    "situation": 10000,
    "proposal": 10000,
    "question": 5000,
    "answer": 5000,
}


def clean_text(payload: dict, key: str) -> str:
    text = str(payload.get(key) or "").strip()
    limit = TEXT_LIMITS.get(key)
    if limit and len(text) > limit:
        raise WorkflowError(
            N_("%(value)sは%(limit)s文字以内で入力してください。"),
            value=translate(FIELD_LABELS.get(key, key)),
            limit=limit,
        )
    return text


def is_flag_set(value: Any) -> bool:
    """A yes/no input: True, or the strings a form or an API sends for yes; never "false" or "0"."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "on", "yes", "y")
    return value is True


def clean_date(payload: dict, key: str) -> dt.date:
    value = payload.get(key)
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise WorkflowError(
            N_("%(value)sの日付が正しくありません。"), value=translate(FIELD_LABELS[key])
        ) from None


def clean_amount(value: Any, label: str, *, allow_zero: bool = False) -> int:
    try:
        amount = int(str(value).replace(",", "").strip())
    except ValueError:
        raise WorkflowError(
            N_("%(label)sは円単位の整数で入力してください。"), label=translate(label)
        ) from None
    if amount < 0 or (amount == 0 and not allow_zero) or amount > MAX_YEN:
        raise WorkflowError(N_("%(label)sが正しくありません。"), label=translate(label))
    return amount


def clean_enum(enum_cls, payload: dict, key: str):
    try:
        return enum_cls(payload.get(key))
    except ValueError:
        raise WorkflowError(N_("%(value)sが正しくありません。"), value=translate(FIELD_LABELS[key])) from None


def clean_fiscal_year(payload: dict) -> int:
    try:
        year = int(payload.get("fiscal_year"))
    except (TypeError, ValueError):
        raise WorkflowError(N_("年度が正しくありません。")) from None
    if not 1989 <= year <= 2200:
        raise WorkflowError(N_("年度が正しくありません。"))
    return year


def active_bureau(session: Session, value: Any, label: str = N_("主管局")) -> Bureau:
    bureau = value if isinstance(value, Bureau) else session.get(Bureau, value) if value else None
    if bureau is None or not bureau.active:
        raise WorkflowError(N_("%(label)sを選んでください。"), label=translate(label))
    return bureau


def record_event(
    session: Session,
    actor: User | None,
    subject: ServiceRequest | WardIssue,
    action: str,
    from_state,
    to_state,
    *,
    comment: str = "",
    data: dict | None = None,
) -> HistoryEvent:
    """Append one history event to ``subject``; the caller's transaction commits it.

    Its id, ``prev_hash`` and ``hash`` are set when the flush inserts it (``tracker.safeguards.audit``),
    which also locks the chain's head until that transaction ends.
    """
    event = HistoryEvent(
        actor=actor,
        actor_role=actor.role.value if actor else "system",
        action=action,
        from_state=from_state.value if from_state is not None else None,
        to_state=to_state.value if to_state is not None else None,
        comment=comment or "",
        data=data or {},
        created_at=dt.datetime.now(dt.UTC),
    )
    subject.events.append(event)
    session.add(event)
    return event
