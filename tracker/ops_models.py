"""Models of the system's own operation, beside the city's work in ``tracker.models``.

The background-job outbox, notifications and reminder digests, import batches, the head of the
history's hash chain, the personal-data access log and its one-view grants, the city's settings,
and the accounts' security: second factors, recovery codes, login throttles, the security log.
They refer to the city's models (users, centers, requests); those never refer back, so this
module imports ``tracker.models`` and not the other way round.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .model_types import UTCDateTime, enum_column, utcnow
from .models import Center, ServiceRequest, User
from .states import ImportState, JobState


class OutboxJob(db.Model):
    """A background job, recorded in the transaction that asked for it (see ``tracker.background.jobs``).

    The row is also the job's record for people: its state, attempts, progress, last error
    and result, shown on the admin page and on the page that started it.
    """

    __tablename__ = "job_outbox"
    __table_args__ = (Index("ix_job_outbox_state_created", "state", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    kwargs: Mapped[dict] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    state: Mapped[JobState] = enum_column(JobState, default=JobState.PENDING)
    rq_job_id: Mapped[str | None] = mapped_column(String(80))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    requested_by: Mapped[User | None] = relationship()


class Notification(db.Model):
    """One message to one user (of a history event, or a reminder): shown in the app, maybe e-mailed.

    ``dedupe_key`` (e.g. ``event:42``) is unique per user, so a job that runs again adds nothing.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "dedupe_key"),
        Index("ix_notifications_user_read", "user_id", "read_at"),
        Index("ix_notifications_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(300))
    service_request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"))
    ward_issue_id: Mapped[int | None] = mapped_column(ForeignKey("ward_issues.id"))
    history_event_id: Mapped[int | None] = mapped_column(ForeignKey("history_events.id"))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class ReminderDigest(db.Model):
    """One person's daily digest of overdue work (``tracker.background.reminders``): at most one per day."""

    __tablename__ = "reminder_digests"
    __table_args__ = (UniqueConstraint("user_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    overdue_requests: Mapped[int] = mapped_column(default=0)
    overdue_consultations: Mapped[int] = mapped_column(default=0)
    emailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class ImportBatch(db.Model):
    """一括取込: one uploaded spreadsheet of a center's field log, imported by a background job.

    ``imported_key`` (center and file digest) is set in the transaction that imports the rows;
    being unique, it lets a file be imported into a center once only.
    """

    __tablename__ = "import_batches"
    __table_args__ = (Index("ix_import_batches_center_created", "center_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("centers.id"))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    original_name: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    imported_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    outbox_job_id: Mapped[int | None] = mapped_column(ForeignKey("job_outbox.id"), index=True)
    state: Mapped[ImportState] = enum_column(ImportState, default=ImportState.PENDING)
    row_count: Mapped[int] = mapped_column(default=0)
    imported_count: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    center: Mapped[Center] = relationship()
    uploaded_by: Mapped[User] = relationship()
    outbox_job: Mapped[OutboxJob | None] = relationship()


class AuditChainHead(db.Model):
    """The one row (id 1) that ends the history's hash chain (``tracker.safeguards.audit``).

    Locked (SELECT ... FOR UPDATE) by every transaction that appends events, so appends are
    serialised and event ids follow the chain's order.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_event_id: Mapped[int | None] = mapped_column(Integer)
    last_hash: Mapped[str | None] = mapped_column(String(64))


class PersonalDataAccess(db.Model):
    """One showing of a resident's unmasked personal data (or its leaving the app in an export).

    Holds who, in which role, which request, when and from where: never the data itself.
    """

    __tablename__ = "personal_data_accesses"
    __table_args__ = (
        Index("ix_personal_data_accesses_user_created", "user_id", "created_at"),
        Index("ix_personal_data_accesses_request_created", "request_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"))
    action: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    ip: Mapped[str] = mapped_column(String(45), default="")

    user: Mapped[User] = relationship()
    service_request: Mapped[ServiceRequest] = relationship()


class CitySetting(db.Model):
    """One of the city's own rules of work, set by the admin (e.g. two pairs of eyes on approval).

    A key that has no row takes its default (``tracker.effects.city_settings``).
    """

    __tablename__ = "city_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class UserMfa(db.Model):
    """A user's second factor: the TOTP secret (RFC 6238) once set up, and when it was confirmed.

    One row per user who has begun setting it up; ``confirmed_at`` NULL until a first code was
    right. The secret is the shared key of the authenticator app, so it is as sensitive as a
    password: never shown again after setup, never logged.
    """

    __tablename__ = "user_mfa"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The last time step a code was accepted for: a code is good once (no replay within its 30 s).
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)

    user: Mapped[User] = relationship()


class RecoveryCode(db.Model):
    """One single-use recovery code of a user's second factor, stored as a hash only."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(256))
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SecurityEvent(db.Model):
    """The security event log: logins, failures, throttling, 403s, reveals, exports, admin changes.

    ``login`` is the login ID as typed (a failed login names no user); ``detail`` holds what the
    kind needs (the path of a 403, the request of a reveal), never a password or personal data.
    """

    __tablename__ = "security_events"
    __table_args__ = (
        Index("ix_security_events_kind_created", "kind", "created_at"),
        Index("ix_security_events_user_created", "user_id", "created_at"),
        Index("ix_security_events_ip_created", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    login: Mapped[str] = mapped_column(String(64), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    path: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    user: Mapped[User | None] = relationship()


class LoginThrottle(db.Model):
    """Failed logins of one (login ID, client address) pair, where there is no Redis.

    Shared by every web process through the database; the delay before the next attempt grows
    with each failure and a success clears the row.
    """

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)


class PersonalDataGrant(db.Model):
    """One reveal of a request's personal data: granted by a POST, good for one view, server-side.

    The session holds only the grant's random token; the view that uses it marks it used (and
    logs the access), so replaying a cookie that carried the token shows nothing.
    """

    __tablename__ = "personal_data_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
