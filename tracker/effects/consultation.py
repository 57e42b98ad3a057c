"""The effects of working an issue in consultation (局協議中) together: the lead bureau's
question to the ward (照会) and the ward's answer, and a related bureau's opinion (意見).

The rows live in ``tracker.teamwork_models`` (``IssueInquiry``, ``IssueOpinion``); each action
also writes its text into the history event (its comment), so the history alone tells the
whole conversation. The loaders at the end are what the issue page shows.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..models import WardIssue
from ..teamwork_models import IssueInquiry, IssueOpinion
from ..wording import N_
from .support import Context, WorkflowError, clean_text


def _open_inquiry(session: Session, issue: WardIssue) -> IssueInquiry | None:
    return session.scalars(
        select(IssueInquiry)
        .where(IssueInquiry.ward_issue_id == issue.id, IssueInquiry.answered_at.is_(None))
        .order_by(IssueInquiry.id.desc())
        .limit(1)
    ).first()


def inquire(ctx: Context):
    """区へ照会: the lead bureau asks the ward a question; the issue waits for the answer."""
    question = clean_text(ctx.payload, "question")
    ctx.session.add(
        IssueInquiry(
            ward_issue_id=ctx.subject.id,
            asked_by_id=ctx.actor.id,
            question=question,
            asked_at=dt.datetime.now(dt.UTC),
        )
    )
    ctx.comment = question
    return None


def answer_inquiry(ctx: Context):
    """照会に回答: the ward answers the open question; the issue is back in consultation."""
    inquiry = _open_inquiry(ctx.session, ctx.subject)
    if inquiry is None:
        raise WorkflowError(N_("回答する照会がありません。"))
    answer = clean_text(ctx.payload, "answer")
    inquiry.answer, inquiry.answered_by_id = answer, ctx.actor.id
    inquiry.answered_at = dt.datetime.now(dt.UTC)
    ctx.comment = answer
    ctx.data = {"question": inquiry.question}
    return None


def opine(ctx: Context):
    """意見を登録: a related bureau says what it thinks; its newest opinion is its current one."""
    body = clean_text(ctx.payload, "body")
    bureau = ctx.actor.bureau
    ctx.session.add(
        IssueOpinion(
            ward_issue_id=ctx.subject.id,
            bureau_id=bureau.id,
            author_id=ctx.actor.id,
            body=body,
            created_at=dt.datetime.now(dt.UTC),
        )
    )
    ctx.comment = body
    ctx.data = {"opinion_of": bureau.name}
    return None


# --- what the issue page shows ----------------------------------------------------------------


def inquiries_of(session: Session, issue: WardIssue) -> list[IssueInquiry]:
    """Every question put to the ward about ``issue``, oldest first, with who asked and answered."""
    return list(
        session.scalars(
            select(IssueInquiry)
            .options(joinedload(IssueInquiry.asked_by), joinedload(IssueInquiry.answered_by))
            .where(IssueInquiry.ward_issue_id == issue.id)
            .order_by(IssueInquiry.asked_at, IssueInquiry.id)
        )
    )


def current_opinions(session: Session, issue: WardIssue) -> list[IssueOpinion]:
    """The newest opinion of each related bureau on ``issue``, in the bureaus' order.

    Earlier ones stay in the table and in the history; this is what the lead bureau reads
    before it decides."""
    rows = session.scalars(
        select(IssueOpinion)
        .options(joinedload(IssueOpinion.bureau), joinedload(IssueOpinion.author))
        .where(IssueOpinion.ward_issue_id == issue.id)
        .order_by(IssueOpinion.created_at.desc(), IssueOpinion.id.desc())
    )
    newest: dict[int, IssueOpinion] = {}
    for opinion in rows:
        newest.setdefault(opinion.bureau_id, opinion)
    return sorted(newest.values(), key=lambda o: (o.bureau.sort_order, o.bureau_id))
