"""Two pairs of eyes on a ward issue: the drafter submits it for approval (決裁に回す), another
ward manager approves it (区重要課題に決定) or returns it for rework (差し戻し, with a reason).

Whether the drafter may approve their own draft is the city's setting ``TWO_EYES_APPROVAL``
(``city_settings``). An action's guard sees no session, so the approval effect reads the
setting and refuses before it changes anything.
"""

from __future__ import annotations

from ..models import WardIssue
from ..wording import N_
from . import city_settings
from .support import Context, WorkflowError, clean_text

OWN_DRAFT = N_("起案した管理職は自分の起案を決定できません。別の管理職が決定してください。")


def submit(ctx: Context):
    ctx.comment = clean_text(ctx.payload, "comment")
    return None


def approve(ctx: Context):
    issue: WardIssue = ctx.subject
    if ctx.actor.id == issue.created_by_id and city_settings.is_on(
        ctx.session, city_settings.TWO_EYES_APPROVAL
    ):
        raise WorkflowError(OWN_DRAFT)
    ctx.comment = clean_text(ctx.payload, "comment")
    return None


def return_draft(ctx: Context):
    ctx.comment = clean_text(ctx.payload, "comment")
    return None
