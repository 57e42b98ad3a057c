"""公開内容: the texts the public pages show of a ward issue, written for residents and approved by
the ward (公開内容の確認) before anything is published.

The effects of ``write_public_text``, ``approve_public_text`` and ``set_public`` (the table rows in
``tracker.workflow`` say who, in which state). The public pages read only an approved
``IssuePublication``, never the internal texts staff keep writing (現状と課題, 対応案, the
decision's reason, progress notes): what was written for the inside may name a resident or a
colleague. The first time, the form starts from a draft made of the internal texts; the 現状と課題
is left out of it, since it is often copied from a request. An edit after approval clears the
approval, so the issue leaves the public pages until a manager looks again. With the city's
setting for two pairs of eyes on, the manager who wrote the text may not approve it.
Every write leaves the old and the new value of each changed text in the event's data
(``public_text``: ``[{"field", "old", "new"}]``). No Flask here.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..formatting import fiscal_year_label, thousand_yen
from ..models import WardIssue
from ..monitoring_models import IssuePublication
from ..wording import N_, language, say, translate
from . import city_settings
from .support import Context, WorkflowError, clean_text, is_flag_set

PUBLIC_FIELDS = ("title", "summary", "decision_text", "budget_text", "outcome", "progress_text")
PUBLIC_LABELS = {
    "title": N_("公開する件名"),
    "summary": N_("概要"),
    "decision_text": N_("協議結果"),
    "budget_text": N_("予算"),
    "outcome": N_("結果"),
    "progress_text": N_("進捗"),
}
PUBLIC_LIMITS = {"title": 200} | {key: 5000 for key in PUBLIC_FIELDS if key != "title"}
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # all but newline and tab

NOTHING_CHANGED = N_("変更された項目がありません。")
NOT_WRITTEN = N_("公開内容がまだ作成されていません。先に「公開内容を作成」を行ってください。")
ALREADY_APPROVED = N_("この公開内容はすでに確認済みです。")
OWN_TEXT = N_("公開内容を作成した管理職は自分で確認できません。別の管理職が確認してください。")
NOT_APPROVED = N_("公開内容が確認されていないため公開できません。先に「公開内容の確認」を行ってください。")


def publication_of(session: Session, issue: WardIssue) -> IssuePublication | None:
    """The issue's public text, approved or not, or None (one query)."""
    return session.scalar(select(IssuePublication).where(IssuePublication.ward_issue_id == issue.id))


def _budget_draft(issue: WardIssue) -> str:
    lines = issue.current_budget_lines
    if not lines:
        return N_("既存予算内で対応") if issue.within_existing_budget else ""
    rows = [
        f"{fiscal_year_label(line.fiscal_year)} {line.project_name} {thousand_yen(line.allocated_yen)}"
        for line in lines
    ]
    if len(rows) > 1:
        rows.append(
            say(N_("計 %(value)s"), value=thousand_yen(sum(line.allocated_yen for line in lines), language()))
        )
    return "\n".join(rows)


def draft_texts(issue: WardIssue) -> dict[str, str]:
    """A first draft of the public text, from the internal texts: to be read and edited."""
    decision = ""
    if issue.decision is not None:
        decision = "\n".join(part for part in (issue.decision.source_label, issue.decision_reason) if part)
    return {
        "title": issue.title,
        "summary": issue.proposal or "",
        "decision_text": decision,
        "budget_text": _budget_draft(issue),
        "outcome": issue.outcome or "",
        "progress_text": "",
    }


def form_texts(session: Session, issue: WardIssue) -> dict[str, str]:
    """What the form starts from: the current public text, or the first draft if none exists."""
    found = publication_of(session, issue)
    if found is None:
        return draft_texts(issue)
    return {key: getattr(found, key) for key in PUBLIC_FIELDS}


def _cleaned(payload: dict, key: str, current: str) -> str:
    if key not in payload:
        return current
    text = _CONTROL_CHARACTERS.sub("", str(payload.get(key) or "").replace("\r\n", "\n")).strip()
    if len(text) > PUBLIC_LIMITS[key]:
        raise WorkflowError(
            N_("%(value)sは%(value2)s文字以内で入力してください。"),
            value=translate(PUBLIC_LABELS[key]),
            value2=PUBLIC_LIMITS[key],
        )
    return text


def write(ctx: Context):
    """公開内容を作成: write or edit the public text; an edit of an approved one clears the approval."""
    issue: WardIssue = ctx.subject
    found = publication_of(ctx.session, issue)
    new = {key: _cleaned(ctx.payload, key, getattr(found, key) if found else "") for key in PUBLIC_FIELDS}
    if not new["title"]:
        raise WorkflowError(N_("%(value)sを入力してください。"), value=translate(PUBLIC_LABELS["title"]))
    changes = [
        {"field": key, "old": getattr(found, key) if found else None, "new": value}
        for key, value in new.items()
        if found is None or getattr(found, key) != value
    ]
    if found is not None and not changes:
        raise WorkflowError(NOTHING_CHANGED)
    was_approved = found is not None and found.approved_at is not None
    if found is None:
        found = IssuePublication(ward_issue_id=issue.id, written_by_id=ctx.actor.id, **new)
        ctx.session.add(found)
    else:
        for key, value in new.items():
            setattr(found, key, value)
        found.written_by_id = ctx.actor.id
        found.approved_at, found.approved_by_id = None, None
    ctx.data = {"public_text": changes, "approval_cleared": was_approved}
    return None


def approve(ctx: Context):
    """公開内容の確認: a ward manager has read the text and approves it for the public pages."""
    found = publication_of(ctx.session, ctx.subject)
    if found is None:
        raise WorkflowError(NOT_WRITTEN)
    if found.approved_at is not None:
        raise WorkflowError(ALREADY_APPROVED)
    if ctx.actor.id == found.written_by_id and city_settings.is_on(
        ctx.session, city_settings.TWO_EYES_APPROVAL
    ):
        raise WorkflowError(OWN_TEXT)
    found.approved_at, found.approved_by_id = dt.datetime.now(dt.UTC), ctx.actor.id
    ctx.comment = clean_text(ctx.payload, "comment")
    ctx.data = {"public_text_approved": found.title}
    return None


def is_approved(session: Session, issue: WardIssue) -> bool:
    found = publication_of(session, issue)
    return found is not None and found.approved_at is not None


def set_public(ctx: Context):
    """公開設定: on only with an approved public text; off at any time."""
    issue: WardIssue = ctx.subject
    public = is_flag_set(ctx.payload.get("is_public"))
    if public and not is_approved(ctx.session, issue):
        raise WorkflowError(NOT_APPROVED)
    issue.is_public = public
    ctx.data = {"is_public": issue.is_public}
    return None
