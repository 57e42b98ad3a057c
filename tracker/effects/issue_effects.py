"""The effects and guards of the ward issue (区重要課題) actions, and drafting a new issue.

An effect validates the whole payload before it changes anything, then returns the new state
(or None when the state stays) and leaves the event's comment and data on the context.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from ..formatting import fiscal_year_of
from ..models import BudgetLine, Bureau, ProgressNote, User, WardIssue
from ..states import Decision, Funding, IssueState, RequestState, Role
from ..wording import N_, say, translate
from . import references
from .support import (
    FIELD_LABELS,
    Context,
    WorkflowError,
    active_bureau,
    clean_amount,
    clean_date,
    clean_enum,
    clean_fiscal_year,
    clean_text,
    is_blank,
    is_flag_set,
    record_event,
)


def _bureaus(ctx: Context, issue: WardIssue) -> tuple[Bureau | None, list[Bureau]]:
    """The lead and related bureaus the payload asks for (the issue's own where it is silent),
    checked, with the lead left out of the related ones. Changes nothing."""
    lead = issue.lead_bureau
    if not is_blank(ctx.payload.get("lead_bureau")):
        lead = active_bureau(ctx.session, ctx.payload["lead_bureau"])
    related = issue.related_bureaus
    if "related_bureaus" in ctx.payload:
        related = [active_bureau(ctx.session, b, N_("関係局")) for b in ctx.payload["related_bureaus"]]
    return lead, [b for b in related if lead is None or b.id != lead.id]


def edit(ctx: Context):
    issue: WardIssue = ctx.subject
    if "title" in ctx.payload and not clean_text(ctx.payload, "title"):
        raise WorkflowError(N_("件名を入力してください。"))
    texts = {
        key: clean_text(ctx.payload, key)
        for key in ("title", "situation", "proposal")
        if key in ctx.payload and clean_text(ctx.payload, key) != getattr(issue, key)
    }
    lead, related = _bureaus(ctx, issue)
    changes: dict[str, Any] = dict(texts)
    if lead is not issue.lead_bureau:
        changes["lead_bureau"] = lead.name
    if {b.id for b in related} != {b.id for b in issue.related_bureaus}:
        changes["related_bureaus"] = [b.name for b in related]
    if not changes:
        raise WorkflowError(N_("変更された項目がありません。"))
    for key, value in texts.items():
        setattr(issue, key, value)
    issue.lead_bureau, issue.related_bureaus = lead, related
    ctx.data = {"changes": changes}
    return None


def approve_guard(issue: WardIssue, payload: dict) -> str | None:
    missing = [FIELD_LABELS[k] for k in ("title", "situation", "proposal") if not getattr(issue, k)]
    if missing:
        return translate(N_("決定の前に入力してください: ")) + translate(N_("、")).join(
            map(translate, missing)
        )
    return None


def send_guard(issue: WardIssue, payload: dict) -> str | None:
    if issue.lead_bureau_id is None and is_blank(payload.get("lead_bureau")):
        return N_("主管局が決まっていないため局へ送付できません。")
    return None


def send(ctx: Context):
    issue: WardIssue = ctx.subject
    issue.lead_bureau, issue.related_bureaus = _bureaus(ctx, issue)
    issue.sent_at = dt.datetime.now(dt.UTC)
    ctx.comment = clean_text(ctx.payload, "comment")
    ctx.data = {
        "lead_bureau": issue.lead_bureau.name,
        "related_bureaus": [b.name for b in issue.related_bureaus],
    }
    return None


def decide(ctx: Context):
    issue: WardIssue = ctx.subject
    decision = clean_enum(Decision, ctx.payload, "decision")
    reason = clean_text(ctx.payload, "decision_reason")
    if decision == Decision.CONTINUE:
        if is_blank(ctx.payload.get("next_review_on")):
            raise WorkflowError(N_("継続協議には次回協議予定日を入力してください。"))
        review_on = clean_date(ctx.payload, "next_review_on")
        if review_on <= ctx.today:
            raise WorkflowError(N_("次回協議予定日には明日以降の日付を入力してください。"))
        issue.decision, issue.next_review_on = decision, review_on
        ctx.data = {"decision": decision.value, "next_review_on": str(review_on)}
        ctx.comment = reason
        return IssueState.CONSULTING
    if decision == Decision.REJECT and not reason:
        raise WorkflowError(N_("「対応しない」とする理由を入力してください。"))
    issue.decision, issue.decision_reason = decision, reason
    issue.decided_on, issue.next_review_on = ctx.today, None
    ctx.data = {"decision": decision.value}
    ctx.comment = reason
    return IssueState.NOT_ADOPTED if decision == Decision.REJECT else IssueState.DECIDED


def _new_budget_line(ctx: Context) -> BudgetLine:
    issue: WardIssue = ctx.subject
    for key in ("fiscal_year", "project_name", "allocated_yen"):
        if is_blank(ctx.payload.get(key)):
            raise WorkflowError(N_("%(value)sを入力してください。"), value=translate(FIELD_LABELS[key]))
    line = BudgetLine(
        funding=Funding.BUREAU,
        fiscal_year=clean_fiscal_year(ctx.payload),
        project_name=clean_text(ctx.payload, "project_name"),
        allocated_yen=clean_amount(ctx.payload["allocated_yen"], N_("予算額")),
        bureau_id=issue.lead_bureau_id,
        ward_id=issue.ward_id,
        created_by_id=ctx.actor.id,
    )
    issue.budget_lines.append(line)
    ctx.data = {
        "fiscal_year": line.fiscal_year,
        "project_name": line.project_name,
        "allocated_yen": line.allocated_yen,
    }
    return line


def budget(ctx: Context):
    issue: WardIssue = ctx.subject
    if is_flag_set(ctx.payload.get("within_existing_budget")):
        issue.within_existing_budget = True
        ctx.data = {"within_existing_budget": True}
    elif is_blank(ctx.payload.get("allocated_yen")):
        raise WorkflowError(N_("予算額を入力するか、「既存予算内で対応」を選んでください。"))
    else:
        _new_budget_line(ctx)
    ctx.comment = clean_text(ctx.payload, "comment")
    return None


def add_budget_line(ctx: Context):
    _new_budget_line(ctx)
    ctx.comment = clean_text(ctx.payload, "comment")
    return None


def start(ctx: Context):
    ctx.comment = clean_text(ctx.payload, "comment")
    return None


def note(ctx: Context):
    body = clean_text(ctx.payload, "body")
    ctx.subject.progress_notes.append(
        ProgressNote(body=body, author_id=ctx.actor.id, created_at=dt.datetime.now(dt.UTC))
    )
    ctx.comment = body
    return None


def complete(ctx: Context):
    issue: WardIssue = ctx.subject
    executed = ctx.payload.get("executed") or {}
    amounts = {}
    for line in issue.current_budget_lines:
        value = executed.get(line.id, executed.get(str(line.id)))
        if is_blank(value):
            raise WorkflowError(
                N_("「%(project_name)s」の決算額を入力してください。"), project_name=line.project_name
            )
        amounts[line.id] = clean_amount(
            value, say(N_("「%(project_name)s」の決算額"), project_name=line.project_name), allow_zero=True
        )
    for line in issue.current_budget_lines:
        line.executed_yen = amounts[line.id]
    issue.outcome = clean_text(ctx.payload, "outcome")
    ctx.comment = issue.outcome
    ctx.data = {"executed_yen": {str(k): v for k, v in amounts.items()}}
    return None


def withdraw(ctx: Context):
    """Withdrawing an issue hands its escalated requests back to triage."""
    issue: WardIssue = ctx.subject
    for request in list(issue.requests):
        if request.state == RequestState.ESCALATED:
            request.ward_issue = None
            record_event(
                ctx.session,
                ctx.actor,
                request,
                "issue_withdrawn",
                RequestState.ESCALATED,
                RequestState.RECEIVED,
                comment=say(
                    N_("%(reference)s が取り下げられたため受付に戻しました。"), reference=issue.reference
                ),
                data={"ward_issue_id": issue.id},
            )
            request.state = RequestState.RECEIVED
    ctx.comment = clean_text(ctx.payload, "comment")
    return None


def create_issue(
    session: Session,
    actor: User,
    fields: dict[str, Any],
    *,
    today: dt.date,
    ward_id: int | None = None,
) -> WardIssue:
    """Draft a new ward issue in the actor's ward (a ward manager only)."""
    if not actor.active or actor.role != Role.WARD_MANAGER:
        raise WorkflowError(N_("区重要課題の起案は区役所 管理職だけが行えます。"))
    ward_id = ward_id or actor.ward_id
    if ward_id != actor.ward_id:
        raise WorkflowError(N_("他の区の区重要課題は起案できません。"))
    title = clean_text(fields, "title")
    if not title:
        raise WorkflowError(N_("件名を入力してください。"))
    lead = None if is_blank(fields.get("lead_bureau")) else active_bureau(session, fields["lead_bureau"])
    fiscal_year = fiscal_year_of(today)
    issue = WardIssue(
        reference=references.issue_reference(session, ward_id, fiscal_year),
        fiscal_year=fiscal_year,
        ward_id=ward_id,
        title=title,
        situation=clean_text(fields, "situation"),
        proposal=clean_text(fields, "proposal"),
        lead_bureau=lead,
        state=IssueState.DRAFT,
        created_by_id=actor.id,
    )
    session.add(issue)
    record_event(session, actor, issue, "create", None, IssueState.DRAFT, data={"title": title})
    session.flush()
    return issue
