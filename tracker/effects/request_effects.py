"""The effects and guards of the request (要望・相談) actions; the table is in ``workflow``.

An effect validates the whole payload before it changes anything, then returns the new state
(or None when the state stays) and leaves the event's comment and data on the context.
"""

from __future__ import annotations

from ..formatting import fiscal_year_label, thousand_yen
from ..models import BudgetLine, ServiceRequest
from ..states import DECIDED_ISSUE_STATES, OPEN_ISSUE_STATES, AnswerKind, Funding, RequestState
from ..wording import N_, language, say
from . import funds
from .issue_effects import create_issue
from .support import (
    Context,
    WorkflowError,
    clean_amount,
    clean_date,
    clean_enum,
    clean_fiscal_year,
    clean_text,
    is_blank,
    record_event,
    touch,
)


def answer_guard(request: ServiceRequest, payload: dict) -> str | None:
    if request.state == RequestState.ESCALATED and (
        request.ward_issue is None or request.ward_issue.state not in DECIDED_ISSUE_STATES
    ):
        return N_("区重要課題の協議結果が出るまで、この要望には回答できません。")
    return None


def answer(ctx: Context):
    request: ServiceRequest = ctx.subject
    kind = clean_enum(AnswerKind, ctx.payload, "answer_kind")
    answered_on = clean_date(ctx.payload, "answered_on")
    if answered_on > ctx.today:
        raise WorkflowError(N_("回答日に未来の日付は指定できません。"))
    if answered_on < request.received_on:
        raise WorkflowError(N_("回答日が受付日より前になっています。"))
    request.answer_kind, request.answered_on = kind, answered_on
    request.answer_text = clean_text(ctx.payload, "answer_text")
    ctx.comment = request.answer_text
    ctx.data = {"answer_kind": request.answer_kind.value, "answered_on": str(request.answered_on)}
    return None


def refer(ctx: Context):
    ctx.subject.referred_to = clean_text(ctx.payload, "referred_to")
    ctx.comment = clean_text(ctx.payload, "comment")
    ctx.data = {"referred_to": ctx.subject.referred_to}
    return None


def escalate_guard(request: ServiceRequest, payload: dict) -> str | None:
    issue = payload.get("ward_issue")
    if issue is None:
        if is_blank(payload.get("title")):
            return N_("新しい区重要課題の件名を入力してください。")
        return None
    if issue.ward_id != request.ward_id:
        return N_("他の区の区重要課題にはまとめられません。")
    if issue.state not in OPEN_ISSUE_STATES:
        return say(N_("「%(label)s」の区重要課題には要望を追加できません。"), label=issue.state.label)
    return None


def escalate(ctx: Context):
    request: ServiceRequest = ctx.subject
    issue = ctx.payload.get("ward_issue")
    if issue is None:
        issue = create_issue(
            ctx.session,
            ctx.actor,
            {
                "title": ctx.payload.get("title"),
                "situation": ctx.payload.get("situation") or request.description,
                "proposal": ctx.payload.get("proposal"),
                "lead_bureau": ctx.payload.get("lead_bureau"),
            },
            today=ctx.today,
            ward_id=request.ward_id,
        )
    else:
        touch(issue)  # bundling changes what the issue covers: its version goes up
    request.ward_issue = issue
    record_event(
        ctx.session,
        ctx.actor,
        issue,
        "bundle",
        issue.state,
        issue.state,
        comment=f"{request.reference} {request.title}",
        data={"request_id": request.id, "request_reference": request.reference},
    )
    ctx.comment = clean_text(ctx.payload, "comment")
    ctx.data = {"ward_issue_id": issue.id, "ward_issue_reference": issue.reference}
    return None


def withdraw(ctx: Context):
    ctx.comment = clean_text(ctx.payload, "comment")
    return None


def reopen(ctx: Context):
    request: ServiceRequest = ctx.subject
    ctx.data = {
        "previous_answer_kind": request.answer_kind.value if request.answer_kind else None,
        "previous_answer_text": request.answer_text,
    }
    request.answer_text, request.answer_kind, request.answered_on = "", None, None
    ctx.comment = clean_text(ctx.payload, "comment")
    return None


def fund_from_ward(ctx: Context):
    """Draw on the ward's own fund (まちづくり推進経費) for a request solved in the ward."""
    request: ServiceRequest = ctx.subject
    year = clean_fiscal_year(ctx.payload)
    amount = clean_amount(ctx.payload["allocated_yen"], N_("充当額"))
    allocated = funds.allocated_yen(ctx.session, request.ward_id, year, lock=True)
    if allocated is None:
        raise WorkflowError(
            N_("%(value)sのまちづくり推進経費が設定されていません。"),
            value=fiscal_year_label(year, language()),
        )
    remaining = allocated - funds.used_yen(ctx.session, request.ward_id, year)
    if amount > remaining:
        raise WorkflowError(
            N_("まちづくり推進経費の残額 (%(value)s) を超えています。"),
            value=thousand_yen(remaining, language()),
        )
    line = BudgetLine(
        funding=Funding.WARD_FUND,
        fiscal_year=year,
        project_name=clean_text(ctx.payload, "project_name"),
        allocated_yen=amount,
        ward_id=request.ward_id,
        created_by_id=ctx.actor.id,
    )
    request.budget_lines.append(line)
    ctx.comment = clean_text(ctx.payload, "comment")
    ctx.data = {
        "fiscal_year": year,
        "project_name": line.project_name,
        "allocated_yen": amount,
        "funding": Funding.WARD_FUND.value,
    }
    return None
