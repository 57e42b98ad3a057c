"""The security event log: who logged in, failed, was throttled, was refused, saw or took out data.

One ``record(session, kind, ...)`` writes every event, in the caller's transaction. An event
holds the login ID as typed (a failed login names no user), the client address and the path
without its query string (a query can carry what was searched for); ``detail`` holds only
what the kind needs (the request of a reveal, the history event of an export or an admin
change), never a password or a resident's data. The admin reads and filters the log at
/admin/audit/security; the daily job ``purge_security_events`` deletes events older than
``SECURITY_LOG_RETENTION_DAYS`` (default 400: a full fiscal year and its audit).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app, has_request_context, request
from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.orm import Session, joinedload

from ..background import jobs, worker
from ..formatting import TOKYO
from ..models import User, utcnow
from ..ops_models import SecurityEvent
from ..wording import N_

LOGIN_OK = "login_ok"
LOGIN_FAILED = "login_failed"
LOGIN_THROTTLED = "login_throttled"
LOGOUT = "logout"
PASSWORD_CHANGED = "password_changed"
FORBIDDEN = "forbidden"
CSRF_FAILED = "csrf_failed"
PERSONAL_DATA_REVEALED = "personal_data_revealed"
EXPORT = "export"
ADMIN_CHANGE = "admin_change"

KIND_LABELS = {
    LOGIN_OK: N_("ログイン"),
    LOGIN_FAILED: N_("ログイン失敗"),
    LOGIN_THROTTLED: N_("ログイン制限"),
    LOGOUT: N_("ログアウト"),
    PASSWORD_CHANGED: N_("パスワード変更"),
    FORBIDDEN: N_("権限なし (403)"),
    CSRF_FAILED: N_("不正な送信 (CSRF)"),
    PERSONAL_DATA_REVEALED: N_("個人情報の表示"),
    EXPORT: N_("ファイル出力"),
    ADMIN_CHANGE: N_("管理操作"),
}
LOGIN_LENGTH = 64
PATH_LENGTH = 200
IP_LENGTH = 45
EXPORT_LIMIT = 100_000  # rows of one CSV of the log: a year of a city's events, not the database


def record(
    session: Session,
    kind: str,
    *,
    user: User | None = None,
    login: str | None = None,
    ip: str | None = None,
    path: str | None = None,
    detail: dict | None = None,
) -> SecurityEvent:
    """Add one event of ``kind``; address and path default to the current request's."""
    if kind not in KIND_LABELS:
        raise ValueError(f"unknown security event kind {kind!r}")
    in_request = has_request_context()
    if ip is None and in_request:
        ip = request.remote_addr
    if path is None and in_request:
        path = request.path  # never the query string
    if user is not None and not getattr(user, "is_authenticated", True):
        user = None  # Flask-Login's anonymous user
    if login is None and user is not None:
        login = user.login
    event = SecurityEvent(
        kind=kind,
        user_id=user.id if user is not None else None,
        login=(login or "").strip()[:LOGIN_LENGTH],
        ip=(ip or "")[:IP_LENGTH],
        path=(path or "")[:PATH_LENGTH],
        detail=detail or {},
        created_at=utcnow(),
    )
    session.add(event)
    session.flush()
    return event


# --- reading the log ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    """What the admin filters the log by; every field optional. ``until`` is inclusive (a day)."""

    kind: str = ""
    who: str = ""  # a login ID (of the user, or as typed at a failed login)
    ip: str = ""
    since: dt.date | None = None
    until: dt.date | None = None
    before_id: int | None = None  # keyset: the page holds events older than this one

    def as_filters(self) -> dict:
        """The filters set, for the record of an export of the log."""
        chosen = {"kind": self.kind, "who": self.who, "ip": self.ip, "since": self.since, "until": self.until}
        return {key: str(value) for key, value in chosen.items() if value}


def events(wanted: EventFilter) -> Select:
    """The events that match, newest first (by id: ids grow with time), users loaded."""
    statement = (
        select(SecurityEvent).options(joinedload(SecurityEvent.user)).order_by(SecurityEvent.id.desc())
    )
    if wanted.kind:
        statement = statement.where(SecurityEvent.kind == wanted.kind)
    if wanted.who:
        who = wanted.who.strip().lower()
        named = select(User.id).where(func.lower(User.login) == who).scalar_subquery()
        typed = func.lower(SecurityEvent.login) == who
        statement = statement.where(or_(typed, SecurityEvent.user_id == named))
    if wanted.ip:
        statement = statement.where(SecurityEvent.ip == wanted.ip.strip())
    if wanted.since:
        start = dt.datetime.combine(wanted.since, dt.time(0), tzinfo=TOKYO)
        statement = statement.where(SecurityEvent.created_at >= start.astimezone(dt.UTC))
    if wanted.until:
        end = dt.datetime.combine(wanted.until + dt.timedelta(days=1), dt.time(0), tzinfo=TOKYO)
        statement = statement.where(SecurityEvent.created_at < end.astimezone(dt.UTC))
    if wanted.before_id:
        statement = statement.where(SecurityEvent.id < wanted.before_id)
    return statement


def page(session: Session, wanted: EventFilter, size: int) -> tuple[list[SecurityEvent], int | None]:
    """One page of events and the ``before_id`` of the next page (None on the last page)."""
    rows = list(session.scalars(events(wanted).limit(size + 1)))
    if len(rows) > size:
        return rows[:size], rows[size - 1].id
    return rows, None


def matching(session: Session, wanted: EventFilter, limit: int = EXPORT_LIMIT) -> list[SecurityEvent]:
    """Every event that matches (for the CSV), newest first, at most ``limit``."""
    return list(session.scalars(events(wanted).limit(limit)))


def describe(event: SecurityEvent) -> str:
    """The event's detail as one line for the page and the CSV (``key=value``, in order)."""
    return "、".join(f"{key}={value}" for key, value in (event.detail or {}).items())


# --- retention ---------------------------------------------------------------------------------


def purge_older_than(session: Session, days: int, now: dt.datetime | None = None) -> int:
    """Delete the events older than ``days``, in the caller's transaction; how many."""
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    result = session.execute(delete(SecurityEvent).where(SecurityEvent.created_at < cutoff))
    return result.rowcount or 0


@jobs.job(
    "purge_security_events", "保存期間を過ぎたセキュリティ記録の削除", timeout=600, retry_intervals=(600,)
)
def purge_security_events(ctx: jobs.JobContext) -> None:
    """Daily: delete the events past ``SECURITY_LOG_RETENTION_DAYS``."""
    days = current_app.config["SECURITY_LOG_RETENTION_DAYS"]
    with ctx.session() as session, session.begin():
        purged = purge_older_than(session, days)
    ctx.set_result({"retention_days": days, "purged": purged})


worker.daily("purge_security_events", dt.time(2, 30))
