"""What the workflow tables' rows for ``comment`` and ``attach`` share: payloads, setups, checks.

Both actions are open in every state. A state that no action of this branch leads to yet (an
issue 決裁待ち or 区へ照会中, a request 他区へ引継ぎ中) is reached by ``placed_in``, which sets
the state directly; a state the factories can walk to is walked to through the real services.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from tracker.effects.teamwork import AttachmentStore, Upload
from tracker.models import ServiceRequest
from tracker.states import IssueState, RequestState
from tracker.teamwork_models import Attachment, Comment

from .factories import PATH_TO_STATE

COMMENT = {"body": "現地を確認しました。来週、地元と打合せます。"}
PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def store(max_bytes: int = 10 * 1024 * 1024, max_count: int = 20) -> AttachmentStore:
    return AttachmentStore(current_app.config["ATTACHMENT_DIR"], max_bytes, max_count)


def attach_payload(data: bytes = PDF_BYTES, name: str = "陳情書.pdf", **limits) -> dict:
    return {"upload": Upload(io.BytesIO(data), name), "store": store(**limits)}


def a_pdf(w, subject) -> dict:
    return attach_payload()


def placed_in(state) -> Callable:
    """A request or an issue set straight into ``state`` (see the module's docstring)."""

    def setup(w):
        subject = w.request() if isinstance(state, RequestState) else w.issue(IssueState.DRAFT)
        subject.state = state
        w.session.flush()
        return subject

    setup.__name__ = f"placed-in-{state}"
    return setup


def issue_in(state: IssueState, related: bool = False) -> Callable:
    if state not in PATH_TO_STATE:
        return placed_in(state)

    def setup(w):
        return w.issue(state, related=related)

    setup.__name__ = f"{state}"
    return setup


def _subject_filter(model, subject):
    column = model.service_request_id if isinstance(subject, ServiceRequest) else model.ward_issue_id
    return column == subject.id


def check_comment(w, subject, payload, event) -> None:
    comment = w.session.scalars(select(Comment).where(_subject_filter(Comment, subject))).one()
    assert (comment.body, comment.author_id) == (COMMENT["body"], event.actor_id)
    assert event.comment == COMMENT["body"]
    assert event.data == {}


def check_attachment(w, subject, payload, event) -> None:
    row = w.session.scalars(select(Attachment).where(_subject_filter(Attachment, subject))).one()
    assert (row.original_name, row.content_type, row.size_bytes) == (
        "陳情書.pdf",
        "application/pdf",
        len(PDF_BYTES),
    )
    assert row.sha256 == hashlib.sha256(PDF_BYTES).hexdigest() and row.uploaded_by_id == event.actor_id
    assert Path(current_app.config["ATTACHMENT_DIR"], row.stored_name).read_bytes() == PDF_BYTES
    assert row.stored_name.endswith(".pdf") and "陳情書" not in row.stored_name
    assert event.data == {"attachment": "陳情書.pdf", "size_bytes": len(PDF_BYTES)}
