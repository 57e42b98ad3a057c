"""The good-practice library (事例集): a ward manager marks a completed ward issue of the ward as a
good practice with a short summary of what worked, edits the summary, or unmarks it.

The effects of ``mark_good_practice``, ``edit_good_practice`` and ``unmark_good_practice`` (the
table rows in ``tracker.workflow`` say who, in which state). Each checks the whole payload and the
issue's current entry before it changes anything, and leaves the old and the new summary in the
event's data (None where there is none), so the history says what the library said before.
No Flask here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import WardIssue
from ..monitoring_models import GoodPractice
from ..wording import N_
from .support import Context, WorkflowError, clean_text

SUMMARY_LIMIT = 2000  # characters: a short account of what worked


def practice_of(session: Session, issue: WardIssue) -> GoodPractice | None:
    """The issue's entry in the library, or None (one query)."""
    return session.scalar(select(GoodPractice).where(GoodPractice.ward_issue_id == issue.id))


def _summary(ctx: Context) -> str:
    summary = str(ctx.payload.get("summary") or "").strip()
    if not summary:
        raise WorkflowError(N_("うまくいった点の要約を入力してください。"))
    if len(summary) > SUMMARY_LIMIT:
        raise WorkflowError(
            N_("要約は%(SUMMARY_LIMIT)s文字以内で入力してください。"), SUMMARY_LIMIT=SUMMARY_LIMIT
        )
    return summary


def _current(ctx: Context) -> GoodPractice:
    practice = practice_of(ctx.session, ctx.subject)
    if practice is None:
        raise WorkflowError(N_("この区重要課題は事例集に登録されていません。"))
    return practice


def mark(ctx: Context):
    summary = _summary(ctx)
    if practice_of(ctx.session, ctx.subject) is not None:
        raise WorkflowError(N_("この区重要課題はすでに事例集に登録されています。"))
    ctx.session.add(GoodPractice(ward_issue_id=ctx.subject.id, summary=summary, marked_by_id=ctx.actor.id))
    ctx.data = {"old_summary": None, "new_summary": summary}
    return None


def edit(ctx: Context):
    summary = _summary(ctx)
    practice = _current(ctx)
    if summary == practice.summary:
        raise WorkflowError(N_("要約が変更されていません。"))
    ctx.data = {"old_summary": practice.summary, "new_summary": summary}
    practice.summary = summary
    return None


def unmark(ctx: Context):
    reason = clean_text(ctx.payload, "comment")
    practice = _current(ctx)
    ctx.data = {"old_summary": practice.summary, "new_summary": None}
    ctx.comment = reason
    ctx.session.delete(practice)
    return None
