"""Comments and attachments on a request or a ward issue: the effects of ``comment`` and
``attach``, and the reads the detail pages make (each in one query, authors loaded with it).

Both actions are open to anyone who may see the subject (``Scope.VIEWER``), in every state, and
do not raise the subject's version (``check_version``). The history event says that a comment
was written (its text in the event's comment) or which file was attached (name and size).
No Flask here: the view passes where files go and the limits (``AttachmentStore``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from ..model_types import utcnow
from ..models import ServiceRequest, User, WardIssue
from ..teamwork_models import Attachment, Comment
from ..wording import N_
from . import attachments, stored_files
from .support import Context, WorkflowError, clean_text


@dataclass(frozen=True)
class AttachmentStore:
    """Where attachments are written and how large and how many they may be (from the config)."""

    directory: str
    max_bytes: int
    max_count: int


@dataclass(frozen=True)
class Upload:
    """One uploaded file as the view received it."""

    stream: BinaryIO
    filename: str


def _subject_of(model, subject: ServiceRequest | WardIssue):
    if isinstance(subject, ServiceRequest):
        return model.service_request_id == subject.id
    return model.ward_issue_id == subject.id


def _subject_key(subject: ServiceRequest | WardIssue) -> dict[str, int]:
    key = "service_request_id" if isinstance(subject, ServiceRequest) else "ward_issue_id"
    return {key: subject.id}


# --- the effects ---------------------------------------------------------------------------


def comment(ctx: Context) -> None:
    body = clean_text(ctx.payload, "body")
    if not body:
        raise WorkflowError(N_("コメントを入力してください。"))
    ctx.session.add(Comment(author=ctx.actor, body=body, created_at=utcnow(), **_subject_key(ctx.subject)))
    ctx.comment = body


def attach(ctx: Context) -> None:
    upload, store = ctx.payload.get("upload"), ctx.payload.get("store")
    if not isinstance(upload, Upload) or not isinstance(store, AttachmentStore):
        raise WorkflowError(N_("添付するファイルを選んでください。"))
    count = ctx.session.scalar(select(func.count(Attachment.id)).where(_subject_of(Attachment, ctx.subject)))
    if count >= store.max_count:
        raise WorkflowError(
            N_("添付ファイルは1件の記録につき%(max_count)s個までです。"), max_count=store.max_count
        )
    checked = attachments.check_file(upload.stream, upload.filename, store.max_bytes)
    ctx.session.add(
        Attachment(
            stored_name=stored_files.store_bytes(
                ctx.session, checked.data, checked.kind.extension, store.directory
            ),
            original_name=checked.original_name,
            content_type=checked.kind.content_type,
            size_bytes=len(checked.data),
            sha256=checked.sha256,
            uploaded_by=ctx.actor,
            created_at=utcnow(),
            **_subject_key(ctx.subject),
        )
    )
    ctx.data = {"attachment": checked.original_name, "size_bytes": len(checked.data)}


# --- what the pages read -------------------------------------------------------------------


def _people(relationship):
    return (
        joinedload(relationship).joinedload(User.ward),
        joinedload(relationship).joinedload(User.center),
        joinedload(relationship).joinedload(User.bureau),
    )


def comments_of(session: Session, subject: ServiceRequest | WardIssue) -> list[Comment]:
    """The subject's comments, oldest first (the newest last, above the form)."""
    statement = (
        select(Comment)
        .where(_subject_of(Comment, subject))
        .options(*_people(Comment.author))
        .order_by(Comment.created_at, Comment.id)
    )
    return list(session.scalars(statement).unique())


def attachments_of(session: Session, subject: ServiceRequest | WardIssue) -> list[Attachment]:
    """The subject's attachments, in the order they were added."""
    statement = (
        select(Attachment)
        .where(_subject_of(Attachment, subject))
        .options(*_people(Attachment.uploaded_by))
        .order_by(Attachment.created_at, Attachment.id)
    )
    return list(session.scalars(statement).unique())
