"""Corrections (訂正) and 取消: what was entered wrong is set right, never silently.

Every correction is a workflow action with a required reason (the event's comment); its one
history event holds, for every field that changed, the old and the new value
(``data["changes"]``: ``[{"field", "old", "new"}]``), and names the budget line it touched. A
correction that changes nothing is refused. A budget line or a fund draw is never deleted: 取消
keeps it, with who, when and why, and every total leaves it out.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from ..formatting import fiscal_year_label, thousand_yen
from ..models import BudgetLine, Category, Center, ServiceRequest, WardIssue
from ..states import AnswerKind, Decision, Funding, IssueState
from ..wording import N_, language
from . import funds
from .support import (
    Context,
    WorkflowError,
    clean_amount,
    clean_date,
    clean_enum,
    clean_fiscal_year,
    clean_text,
    is_blank,
)

NOTHING_CHANGED = N_("変更された項目がありません。")
_CHOOSE_LINE = {  # (取消, a fund draw): what to choose
    (False, True): N_("訂正する充当を選んでください。"),
    (False, False): N_("訂正する予算を選んでください。"),
    (True, True): N_("取り消す充当を選んでください。"),
    (True, False): N_("取り消す予算を選んでください。"),
}


def plain(value: Any) -> Any:
    """A value as the history stores it: enums by value, dates as ISO text, rows by name."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (Center, Category)):
        return value.name
    return value


def diff(record: Any, new: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields of ``new`` whose value differs from ``record``'s: field, old and new value."""
    return [
        {"field": key, "old": plain(getattr(record, key)), "new": plain(value)}
        for key, value in new.items()
        if getattr(record, key) != value
    ]


def correct(ctx: Context, record: Any, new: dict[str, Any], **data: Any) -> None:
    """Set ``new`` on ``record`` (already checked), with the reason and the changes on the event.

    Refused, with nothing changed, when no field differs."""
    changes = diff(record, new)
    if not changes:
        raise WorkflowError(NOTHING_CHANGED)
    ctx.comment = clean_text(ctx.payload, "comment")
    for key, value in new.items():
        setattr(record, key, value)
    ctx.data = {"changes": changes, **data}


def _given(payload: dict, key: str) -> bool:
    return key in payload and not is_blank(payload[key])


# --- requests ------------------------------------------------------------------------------


def correct_request(ctx: Context):
    """訂正: the request's center (one of its ward's), category and place."""
    request: ServiceRequest = ctx.subject
    new: dict[str, Any] = {}
    if _given(ctx.payload, "center"):
        center = ctx.session.get(Center, ctx.payload["center"])
        if center is None or center.ward_id != request.ward_id or not center.active:
            raise WorkflowError(N_("まちづくりセンターはこの要望の区のセンターから選んでください。"))
        new["center"] = center
    if _given(ctx.payload, "category"):
        category = ctx.session.get(Category, ctx.payload["category"])
        if category is None or not category.active:
            raise WorkflowError(N_("分野を選んでください。"))
        new["category"] = category
    if "location_text" in ctx.payload:
        new["location_text"] = clean_text(ctx.payload, "location_text")
    correct(ctx, request, new)
    return None


def correct_answer(ctx: Context):
    """回答を訂正: the answer's text, kind and date, checked as when it was given."""
    request: ServiceRequest = ctx.subject
    answered_on = clean_date(ctx.payload, "answered_on")
    if answered_on > ctx.today:
        raise WorkflowError(N_("回答日に未来の日付は指定できません。"))
    if answered_on < request.received_on:
        raise WorkflowError(N_("回答日が受付日より前になっています。"))
    new = {
        "answer_kind": clean_enum(AnswerKind, ctx.payload, "answer_kind"),
        "answer_text": clean_text(ctx.payload, "answer_text"),
        "answered_on": answered_on,
    }
    correct(ctx, request, new)
    return None


def _line(
    subject: ServiceRequest | WardIssue, payload: dict, funding: Funding, verb: str = N_("訂正する")
) -> BudgetLine:
    """The subject's current (not cancelled) line of ``funding`` the payload names."""
    wanted = str(payload.get("budget_line") or "")
    for line in subject.budget_lines:
        if str(line.id) == wanted and line.funding == funding and line.cancelled_at is None:
            return line
    cancel, draw = verb == N_("取り消す"), funding == Funding.WARD_FUND
    raise WorkflowError(_CHOOSE_LINE[(cancel, draw)])


def _names(line: BudgetLine) -> dict[str, Any]:
    """What the event says of the line it touched (as it was before)."""
    amount = thousand_yen(line.allocated_yen)
    return {
        "budget_line_id": line.id,
        "line": f"{fiscal_year_label(line.fiscal_year)} {line.project_name} {amount}",
        "funding": line.funding.value,
    }


def _line_values(ctx: Context, amount_label: str) -> dict[str, Any]:
    """The new values the payload gives for ``line``; a blank field leaves its value unchanged."""
    new: dict[str, Any] = {}
    if _given(ctx.payload, "fiscal_year"):
        new["fiscal_year"] = clean_fiscal_year(ctx.payload)
    if _given(ctx.payload, "project_name"):
        new["project_name"] = clean_text(ctx.payload, "project_name")
    if _given(ctx.payload, "allocated_yen"):
        new["allocated_yen"] = clean_amount(ctx.payload["allocated_yen"], amount_label)
    return new


def _check_fund(ctx: Context, line: BudgetLine, year: int, amount: int) -> None:
    """The ward fund of ``year`` must cover ``amount`` besides its other draws."""
    ward_id = ctx.subject.ward_id
    allocated = funds.allocated_yen(ctx.session, ward_id, year, lock=True)
    if allocated is None:
        raise WorkflowError(
            N_("%(value)sのまちづくり推進経費が設定されていません。"),
            value=fiscal_year_label(year, language()),
        )
    others = funds.used_yen(ctx.session, ward_id, year) - (
        line.allocated_yen if line.fiscal_year == year else 0
    )
    if amount > allocated - others:
        raise WorkflowError(
            N_("まちづくり推進経費の残額 (%(value)s) を超えています。"),
            value=thousand_yen(allocated - others, language()),
        )


def correct_fund_draw(ctx: Context):
    """充当を訂正: year, project and amount of a draw; the fund's remainder may not go negative."""
    line = _line(ctx.subject, ctx.payload, Funding.WARD_FUND)
    new = _line_values(ctx, N_("充当額"))
    if diff(line, new):
        _check_fund(
            ctx, line, new.get("fiscal_year", line.fiscal_year), new.get("allocated_yen", line.allocated_yen)
        )
    correct(ctx, line, new, **_names(line))
    return None


def _cancel(ctx: Context, funding: Funding):
    line = _line(ctx.subject, ctx.payload, funding, N_("取り消す"))
    reason = clean_text(ctx.payload, "comment")
    line.cancelled_at = dt.datetime.now(dt.UTC)
    line.cancelled_by_id = ctx.actor.id
    line.cancel_reason = reason
    ctx.comment = reason
    ctx.data = {"changes": [{"field": "cancelled", "old": False, "new": True}], **_names(line)}
    return None


def cancel_fund_draw(ctx: Context):
    return _cancel(ctx, Funding.WARD_FUND)


# --- ward issues ---------------------------------------------------------------------------


def correct_texts(ctx: Context):
    """訂正: the issue's title, situation and proposal after it was sent."""
    issue: WardIssue = ctx.subject
    new = {
        key: clean_text(ctx.payload, key) for key in ("title", "situation", "proposal") if key in ctx.payload
    }
    if "title" in new and not new["title"]:
        raise WorkflowError(N_("件名を入力してください。"))
    correct(ctx, issue, new)
    return None


def decision_guard(issue: WardIssue, payload: dict) -> str | None:
    if issue.decision is None:
        return N_("協議結果がまだ登録されていません。")
    return None


def correct_decision(ctx: Context):
    """協議結果を訂正: the reason, and the next review date of a continued consultation."""
    issue: WardIssue = ctx.subject
    new: dict[str, Any] = {"decision_reason": clean_text(ctx.payload, "decision_reason")}
    if issue.decision == Decision.REJECT and not new["decision_reason"]:
        raise WorkflowError(N_("「対応しない」とする理由を入力してください。"))
    if issue.decision == Decision.CONTINUE:
        if is_blank(ctx.payload.get("next_review_on")):
            raise WorkflowError(N_("継続協議には次回協議予定日を入力してください。"))
        review_on = clean_date(ctx.payload, "next_review_on")
        if review_on <= ctx.today:
            raise WorkflowError(N_("次回協議予定日には明日以降の日付を入力してください。"))
        new["next_review_on"] = review_on
    elif not is_blank(ctx.payload.get("next_review_on")):
        raise WorkflowError(N_("次回協議予定日は継続協議のときだけ入力できます。"))
    correct(ctx, issue, new)
    return None


def correct_budget_line(ctx: Context):
    """予算を訂正: year, project, budget and (once completed) executed amount of a bureau line."""
    issue: WardIssue = ctx.subject
    line = _line(issue, ctx.payload, Funding.BUREAU)
    new = _line_values(ctx, N_("予算額"))
    if _given(ctx.payload, "executed_yen"):
        if issue.state != IssueState.COMPLETED:
            raise WorkflowError(N_("決算額は完了した区重要課題でだけ訂正できます。"))
        new["executed_yen"] = clean_amount(ctx.payload["executed_yen"], N_("決算額"), allow_zero=True)
    correct(ctx, line, new, **_names(line))
    return None


def cancel_budget_line(ctx: Context):
    return _cancel(ctx, Funding.BUREAU)
