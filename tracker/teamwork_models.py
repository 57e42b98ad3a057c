"""Models of ward and bureau working one subject together: comments, attachments, a related
bureau's opinion (意見) and the lead bureau's questions to the ward (照会).

Each row belongs to a request or to a ward issue (one of the two ids is set). They refer to the
city's models; those never refer back, so this module imports ``tracker.models`` and not the
other way round, and the pages load these rows by query (``tracker.effects.teamwork``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .model_types import UTCDateTime, utcnow
from .models import Bureau, ServiceRequest, User, Ward, WardIssue

_ONE_SUBJECT = "(service_request_id IS NULL) <> (ward_issue_id IS NULL)"


class Comment(db.Model):
    """A staff comment on a request or an issue: internal, seen by whoever may see the subject."""

    __tablename__ = "comments"
    __table_args__ = (CheckConstraint(_ONE_SUBJECT, name="ck_comments_one_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)
    ward_issue_id: Mapped[int | None] = mapped_column(ForeignKey("ward_issues.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship()
    service_request: Mapped[ServiceRequest | None] = relationship()
    ward_issue: Mapped[WardIssue | None] = relationship()


class Attachment(db.Model):
    """A file (陳情書 PDF, minutes, a drawing) on a request or an issue.

    Stored like photos, under the instance folder by a random name, never in a public path;
    served only to people who may see the subject.
    """

    __tablename__ = "attachments"
    __table_args__ = (CheckConstraint(_ONE_SUBJECT, name="ck_attachments_one_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)
    ward_issue_id: Mapped[int | None] = mapped_column(ForeignKey("ward_issues.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    uploaded_by: Mapped[User] = relationship()
    service_request: Mapped[ServiceRequest | None] = relationship()
    ward_issue: Mapped[WardIssue | None] = relationship()


class IssueOpinion(db.Model):
    """意見: what a related bureau says of an issue in consultation, for the lead bureau to read."""

    __tablename__ = "issue_opinions"

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_issue_id: Mapped[int] = mapped_column(ForeignKey("ward_issues.id"), index=True)
    bureau_id: Mapped[int] = mapped_column(ForeignKey("bureaus.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    bureau: Mapped[Bureau] = relationship()
    author: Mapped[User] = relationship()


class IssueInquiry(db.Model):
    """照会: a question the lead bureau puts to the ward during consultation, and the ward's answer."""

    __tablename__ = "issue_inquiries"

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_issue_id: Mapped[int] = mapped_column(ForeignKey("ward_issues.id"), index=True)
    asked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    question: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answer: Mapped[str] = mapped_column(Text, default="", server_default="")
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    asked_by: Mapped[User] = relationship(foreign_keys=[asked_by_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])


class AnswerTemplate(db.Model):
    """A ward's standard answer (定型文): inserted into an answer with one click, still editable.

    Ward managers keep their ward's list; ``position`` orders it, an inactive one is kept for the
    history but no longer offered."""

    __tablename__ = "answer_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"), index=True)
    title: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    ward: Mapped[Ward] = relationship()
