"""Database models: data and relationships only. The rules live in ``workflow`` and services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .model_types import HasBudgetLines, UTCDateTime, enum_column, utcnow
from .states import AnswerKind, Decision, Funding, IssueState, Priority, RequestState, Role, Source


class Ward(db.Model):
    __tablename__ = "wards"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    population: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int | None] = mapped_column(Integer)
    area_km2: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    sort_order: Mapped[int] = mapped_column(default=0)

    centers: Mapped[list[Center]] = relationship(back_populates="ward", order_by="Center.sort_order")

    def __str__(self) -> str:
        return self.name


class Center(db.Model):
    """まちづくりセンター: where the liaison staff work."""

    __tablename__ = "centers"
    __table_args__ = (UniqueConstraint("ward_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    ward: Mapped[Ward] = relationship(back_populates="centers")

    def __str__(self) -> str:
        return self.name


class Bureau(db.Model):
    __tablename__ = "bureaus"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    def __str__(self) -> str:
        return self.name


class Category(db.Model):
    """分野: the subject area of a request."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    def __str__(self) -> str:
        return self.name


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(254), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = enum_column(Role, index=True)
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("wards.id"), index=True)
    center_id: Mapped[int | None] = mapped_column(ForeignKey("centers.id"), index=True)
    bureau_id: Mapped[int | None] = mapped_column(ForeignKey("bureaus.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    locale: Mapped[str] = mapped_column(String(8), default="ja")
    email_notifications: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Part of the login session's user id: raising it ends every open session of the user.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    ward: Mapped[Ward | None] = relationship()
    center: Mapped[Center | None] = relationship()
    bureau: Mapped[Bureau | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated users cannot log in
        return self.active

    def get_id(self) -> str:  # Flask-Login: the session holds "id:session_version"
        return f"{self.id}:{self.session_version}"

    def __str__(self) -> str:
        return self.display_name


issue_related_bureaus = Table(
    "ward_issue_related_bureaus",
    db.metadata,
    Column("ward_issue_id", ForeignKey("ward_issues.id"), primary_key=True),
    Column("bureau_id", ForeignKey("bureaus.id"), primary_key=True, index=True),
)


class ReferenceCounter(db.Model):
    """The last sequence number handed out per key (e.g. ``R-CHUO-2024``)."""

    __tablename__ = "reference_counters"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class ServiceRequest(HasBudgetLines, db.Model):
    """要望・相談: one resident or community request logged in the field."""

    __tablename__ = "requests"
    __table_args__ = (
        Index("ix_requests_center_state_due", "center_id", "state", "answer_due_on"),
        Index("ix_requests_ward_state_received", "ward_id", "state", "received_on"),
        # Lists (``tracker.finding.listing``): the filters, and each keyset order (sort column, id).
        Index("ix_requests_ward_state_due", "ward_id", "state", "answer_due_on"),
        Index("ix_requests_ward_received_id", "ward_id", "received_on", "id"),
        Index("ix_requests_ward_due_id", "ward_id", "answer_due_on", "id"),
        Index("ix_requests_ward_updated_id", "ward_id", "updated_at", "id"),
        Index("ix_requests_center_received_id", "center_id", "received_on", "id"),
        Index("ix_requests_received_id", "received_on", "id"),
        Index("ix_requests_due_id", "answer_due_on", "id"),
        Index("ix_requests_updated_id", "updated_at", "id"),
        Index("ix_requests_ward_priority_id", "ward_id", "priority", "id"),
        Index("ix_requests_center_priority_id", "center_id", "priority", "id"),
        # Search (``tracker.finding.search``): a trigram index on PostgreSQL; SQLite uses an FTS5 table.
        Index(
            "ix_requests_search_text_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    fiscal_year: Mapped[int] = mapped_column(index=True)
    client_uuid: Mapped[str | None] = mapped_column(String(36), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("centers.id"), index=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"), index=True)
    location_text: Mapped[str] = mapped_column(String(200), default="")
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    source: Mapped[Source] = enum_column(Source, index=True)
    organisation: Mapped[str] = mapped_column(String(200), default="")
    requester_name: Mapped[str] = mapped_column(String(100), default="")
    requester_contact: Mapped[str] = mapped_column(String(200), default="")
    received_on: Mapped[dt.date] = mapped_column(Date)
    answer_due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    state: Mapped[RequestState] = enum_column(RequestState, default=RequestState.RECEIVED, index=True)
    referred_to: Mapped[str] = mapped_column(String(120), default="")
    ward_issue_id: Mapped[int | None] = mapped_column(ForeignKey("ward_issues.id"), index=True)
    answer_text: Mapped[str] = mapped_column(Text, default="")
    answer_kind: Mapped[AnswerKind | None] = enum_column(AnswerKind)
    answered_on: Mapped[dt.date | None] = mapped_column(Date)
    priority: Mapped[Priority] = enum_column(Priority, default=Priority.MEDIUM, server_default="medium")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)  # 担当者
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)  # NULL: Open311
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")  # optimistic locking (check_version)
    # Normalised searchable text, kept by ``tracker.finding.search`` (never personal data).
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)  # 関連する要望
    # The ward this request is being handed to (他区へ引継ぎ中), until that ward's manager accepts it.
    handover_ward_id: Mapped[int | None] = mapped_column(ForeignKey("wards.id"), index=True)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"), index=True)

    __mapper_args__ = {"version_id_col": version}

    category: Mapped[Category] = relationship()
    center: Mapped[Center] = relationship()
    ward: Mapped[Ward] = relationship(foreign_keys=[ward_id])
    handover_ward: Mapped[Ward | None] = relationship(foreign_keys=[handover_ward_id])
    logged_by: Mapped[User | None] = relationship(foreign_keys=[logged_by_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    ward_issue: Mapped[WardIssue | None] = relationship(back_populates="requests")
    photos: Mapped[list[Photo]] = relationship(back_populates="service_request", order_by="Photo.id")
    budget_lines: Mapped[list[BudgetLine]] = relationship(
        primaryjoin="ServiceRequest.id == BudgetLine.service_request_id", order_by="BudgetLine.id"
    )
    events: Mapped[list[HistoryEvent]] = relationship(
        back_populates="service_request", order_by="HistoryEvent.id"
    )
    duplicate_of: Mapped[ServiceRequest | None] = relationship(remote_side=[id], back_populates="duplicates")
    duplicates: Mapped[list[ServiceRequest]] = relationship(
        back_populates="duplicate_of", order_by="ServiceRequest.id"
    )


class WardIssue(HasBudgetLines, db.Model):
    """区重要課題: a ward problem consulted with a bureau."""

    __tablename__ = "ward_issues"
    __table_args__ = (
        Index("ix_ward_issues_ward_state", "ward_id", "state"),
        # Lists (``tracker.finding.listing``): each keyset order (sort column, id), and the bureau inbox.
        Index("ix_ward_issues_ward_fiscal_year_id", "ward_id", "fiscal_year", "id"),
        Index("ix_ward_issues_ward_updated_id", "ward_id", "updated_at", "id"),
        Index("ix_ward_issues_fiscal_year_id", "fiscal_year", "id"),
        Index("ix_ward_issues_updated_id", "updated_at", "id"),
        Index("ix_ward_issues_decided_id", "decided_on", "id"),
        Index("ix_ward_issues_lead_sent_id", "lead_bureau_id", "sent_at", "id"),
        Index(
            "ix_ward_issues_search_text_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    fiscal_year: Mapped[int] = mapped_column(index=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    situation: Mapped[str] = mapped_column(Text, default="")
    proposal: Mapped[str] = mapped_column(Text, default="")
    lead_bureau_id: Mapped[int | None] = mapped_column(ForeignKey("bureaus.id"), index=True)
    state: Mapped[IssueState] = enum_column(IssueState, default=IssueState.DRAFT, index=True)
    decision: Mapped[Decision | None] = enum_column(Decision, index=True)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    next_review_on: Mapped[dt.date | None] = mapped_column(Date)
    within_existing_budget: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[str] = mapped_column(Text, default="")
    is_public: Mapped[bool] = mapped_column(default=False, index=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The persons in charge (担当): one on the ward's side, one on the lead bureau's side.
    ward_owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    bureau_owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")  # optimistic locking (check_version)
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")  # see finding.search

    __mapper_args__ = {"version_id_col": version}

    ward: Mapped[Ward] = relationship()
    lead_bureau: Mapped[Bureau | None] = relationship()
    related_bureaus: Mapped[list[Bureau]] = relationship(
        secondary=issue_related_bureaus, order_by="Bureau.sort_order"
    )
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    ward_owner: Mapped[User | None] = relationship(foreign_keys=[ward_owner_id])
    bureau_owner: Mapped[User | None] = relationship(foreign_keys=[bureau_owner_id])
    requests: Mapped[list[ServiceRequest]] = relationship(
        back_populates="ward_issue", order_by="ServiceRequest.id"
    )
    budget_lines: Mapped[list[BudgetLine]] = relationship(
        back_populates="ward_issue", order_by="(BudgetLine.fiscal_year, BudgetLine.id)"
    )
    progress_notes: Mapped[list[ProgressNote]] = relationship(
        back_populates="ward_issue", order_by="ProgressNote.id"
    )
    events: Mapped[list[HistoryEvent]] = relationship(back_populates="ward_issue", order_by="HistoryEvent.id")


class BudgetLine(db.Model):
    """One fiscal year's money for a project: a bureau budget of an issue, or ward-fund spending."""

    __tablename__ = "budget_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    funding: Mapped[Funding] = enum_column(Funding, index=True)
    fiscal_year: Mapped[int] = mapped_column(index=True)
    project_name: Mapped[str] = mapped_column(String(200))
    allocated_yen: Mapped[int] = mapped_column(BigInteger)
    executed_yen: Mapped[int | None] = mapped_column(BigInteger)
    ward_issue_id: Mapped[int | None] = mapped_column(ForeignKey("ward_issues.id"), index=True)
    service_request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)
    bureau_id: Mapped[int | None] = mapped_column(ForeignKey("bureaus.id"), index=True)
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("wards.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # 取消: a cancelled line stays, with why, and counts in no total.
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    ward_issue: Mapped[WardIssue | None] = relationship(back_populates="budget_lines")
    bureau: Mapped[Bureau | None] = relationship()
    ward: Mapped[Ward | None] = relationship()


class WardFund(db.Model):
    """まちづくり推進経費: a ward's own money for local work in one fiscal year."""

    __tablename__ = "ward_funds"
    __table_args__ = (UniqueConstraint("ward_id", "fiscal_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"), index=True)
    fiscal_year: Mapped[int] = mapped_column(index=True)
    allocated_yen: Mapped[int] = mapped_column(BigInteger)

    ward: Mapped[Ward] = relationship()


class ProgressNote(db.Model):
    __tablename__ = "progress_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_issue_id: Mapped[int] = mapped_column(ForeignKey("ward_issues.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    ward_issue: Mapped[WardIssue] = relationship(back_populates="progress_notes")
    author: Mapped[User] = relationship()


class Photo(db.Model):
    """A photo of a request; the file lives under the instance folder, never in a public path."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # NULL: Open311
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    service_request: Mapped[ServiceRequest] = relationship(back_populates="photos")


class HistoryEvent(db.Model):
    """Append-only history of a request, issue, activity or indicator (or, with none, the admin's
    changes): a row per change that matters, written in its transaction; never updated or deleted.
    """

    __tablename__ = "history_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)
    ward_issue_id: Mapped[int | None] = mapped_column(ForeignKey("ward_issues.id"), index=True)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"), index=True)
    indicator_id: Mapped[int | None] = mapped_column(ForeignKey("indicators.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(40), index=True)
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The hash chain (``tracker.safeguards.audit``): set on insert; NULL only on events older than the chain.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash_key_id: Mapped[str | None] = mapped_column(String(16))  # the HMAC key's id; NULL: unkeyed
    hash: Mapped[str | None] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship()
    service_request: Mapped[ServiceRequest | None] = relationship(back_populates="events")
    ward_issue: Mapped[WardIssue | None] = relationship(back_populates="events")
