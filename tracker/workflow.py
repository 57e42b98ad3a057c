"""The two state machines of the tracker, as data, and the one entry point that applies them.

``REQUEST_ACTIONS`` and ``ISSUE_ACTIONS`` say, for every action: from which states, to which
state, which roles, in which scope (own ward, lead bureau, any party to the issue), which
fields are required and which guard must hold (``tracker.effects.rules`` says what an action
is and makes the checks of role, scope, state and version). ``apply`` checks all of that *before* it
changes anything, then runs the action's effect and writes the history event in the same
transaction (it flushes; the caller commits). Anything illegal raises ``WorkflowError`` with a
Japanese message, and nothing has changed. ``apply`` then announces the event
(``tracker.effects.events``): side effects subscribe there, never called from the rules.
No Flask here: the rules run the same from a view, a job, a CLI command or a test.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .effects import (
    approval,
    consultation,
    corrections,
    events,
    good_practice,
    handover,
    issue_effects,
    owners,
    publication,
    request_effects,
    teamwork,
    triage,
)
from .effects.issue_effects import create_issue
from .effects.rules import Action, Scope, check_version, permission_error, scope_error
from .effects.support import (
    FIELD_LABELS,
    Context,
    WorkflowConflict,
    WorkflowError,
    is_blank,
    record_event,
    touch,
)
from .formatting import today_in_tokyo
from .models import HistoryEvent, ServiceRequest, User, WardIssue
from .states import DECIDED_ISSUE_STATES, REGISTERED_ISSUE_STATES, IssueState, RequestState, Role
from .wording import N_, translate

__all__ = [
    "ISSUE_ACTIONS",
    "REQUEST_ACTIONS",
    "Action",
    "Scope",
    "WorkflowConflict",
    "WorkflowError",
    "apply",
    "available_actions",
    "check_version",
    "create_issue",
    "permission_error",
    "record_event",
    "scope_error",
]


_FIELD_STAFF = (Role.LIAISON, Role.WARD_MANAGER)
_MANAGER = (Role.WARD_MANAGER,)
_BUREAU = (Role.BUREAU_STAFF,)
_TEAM = (Role.LIAISON, Role.WARD_MANAGER, Role.BUREAU_STAFF, Role.ADMIN)  # comments, attachments
_ADMIN = (Role.ADMIN,)
RS, IS = RequestState, IssueState
_IN_WARD = (RS.RECEIVED, RS.REFERRED, RS.ESCALATED, RS.ANSWERED)  # neither withdrawn nor handed over
_TRIAGED = (RS.RECEIVED, RS.REFERRED, RS.ESCALATED)  # open in the ward: priority, person in charge
req, iss, fix, gp = request_effects, issue_effects, corrections, good_practice


def _table(*actions: Action) -> dict[str, Action]:
    return {action.name: action for action in actions}


# One row an action: name, label, from which states, which roles, which scope, the effect; then
# the target state (None: stays, or the effect says), required fields, guard. Kept as a table.
# fmt: off
REQUEST_ACTIONS: dict[str, Action] = _table(
    Action("answer", N_("住民へ回答"), (RS.RECEIVED, RS.REFERRED, RS.ESCALATED), _FIELD_STAFF, Scope.WARD,
           req.answer, RS.ANSWERED, ("answer_text", "answer_kind", "answered_on"), req.answer_guard),
    Action("refer", N_("担当課へ回付"), (RS.RECEIVED,), _MANAGER, Scope.WARD,
           req.refer, RS.REFERRED, ("referred_to",)),
    Action("hand_over", N_("他区へ引継ぎ"), (RS.RECEIVED,), _MANAGER, Scope.WARD,
           handover.hand_over, RS.HANDING_OVER, ("handover_ward", "comment"), handover.hand_over_guard),
    Action("accept_handover", N_("引継ぎを受ける"), (RS.HANDING_OVER,), _MANAGER, Scope.HANDOVER_WARD,
           handover.accept, RS.RECEIVED, ("center",)),
    Action("decline_handover", N_("引継ぎを断る"), (RS.HANDING_OVER,), _MANAGER, Scope.HANDOVER_WARD,
           handover.decline, RS.RECEIVED, ("comment",)),
    Action("cancel_handover", N_("引継ぎを取り消す"), (RS.HANDING_OVER,), _MANAGER, Scope.WARD,
           handover.cancel, RS.RECEIVED, ("comment",)),
    Action("escalate", N_("区重要課題にする"), (RS.RECEIVED,), _MANAGER, Scope.WARD,
           req.escalate, RS.ESCALATED, guard=req.escalate_guard),
    Action("withdraw", N_("取下げ"), (RS.RECEIVED,), _FIELD_STAFF, Scope.WARD,
           req.withdraw, RS.WITHDRAWN, ("comment",)),
    Action("fund_from_ward", N_("まちづくり推進経費を充当"), (RS.RECEIVED, RS.REFERRED, RS.ANSWERED),
           _MANAGER, Scope.WARD,
           req.fund_from_ward, None, ("fiscal_year", "project_name", "allocated_yen"),
           labels={"allocated_yen": N_("充当額")}),
    Action("correct_request", N_("要望の内容を訂正"), _IN_WARD, _FIELD_STAFF + _ADMIN, Scope.WARD,
           fix.correct_request, None, ("comment",)),
    Action("correct_answer", N_("回答を訂正"), (RS.ANSWERED,), _FIELD_STAFF + _ADMIN, Scope.WARD,
           fix.correct_answer, None, ("answer_text", "answer_kind", "answered_on", "comment")),
    Action("correct_fund_draw", N_("充当を訂正"), (*_IN_WARD, RS.WITHDRAWN), _MANAGER + _ADMIN, Scope.WARD,
           fix.correct_fund_draw, None, ("budget_line", "comment"),
           labels={"budget_line": N_("訂正する充当")}),
    Action("cancel_fund_draw", N_("充当を取消"), (*_IN_WARD, RS.WITHDRAWN), _MANAGER + _ADMIN, Scope.WARD,
           fix.cancel_fund_draw, None, ("budget_line", "comment"),
           labels={"budget_line": N_("取り消す充当")}),
    Action("reopen", N_("再開"), (RS.ANSWERED, RS.WITHDRAWN), _MANAGER, Scope.WARD,
           req.reopen, RS.RECEIVED, ("comment",)),
    Action("set_priority", N_("緊急度を変更"), _TRIAGED, _FIELD_STAFF, Scope.CENTER,
           triage.set_priority, None, ("priority",)),
    Action("assign", N_("担当者を設定"), _TRIAGED, _MANAGER, Scope.WARD,
           triage.assign, None, ("assignee",)),
    Action("comment", N_("コメント"), tuple(RS), _TEAM, Scope.VIEWER, teamwork.comment, None, ("body",),
           labels={"body": N_("コメント")}, versioned=False),
    Action("attach", N_("添付"), tuple(RS), _TEAM, Scope.VIEWER, teamwork.attach, versioned=False),
)

_WORKING_STATES = (IS.CONSULTING, IS.INQUIRING, IS.DECIDED, IS.BUDGETED, IS.IMPLEMENTING)
_SENT_STATES = (IS.CONSULTING, *DECIDED_ISSUE_STATES)
_MONEY_STATES = (IS.BUDGETED, IS.IMPLEMENTING, IS.COMPLETED)
_LIBRARY = ((IS.COMPLETED,), _MANAGER, Scope.WARD)  # the 事例集: completed issues, by their ward's managers
_OWNED_BY_BUREAU = (IS.CONSULTING, IS.INQUIRING, IS.DECIDED, IS.NOT_ADOPTED, IS.BUDGETED, IS.IMPLEMENTING)

ISSUE_ACTIONS: dict[str, Action] = _table(
    Action("edit", N_("内容を編集"), (IS.DRAFT, IS.REGISTERED), _MANAGER, Scope.WARD, iss.edit),
    Action("approve", N_("区重要課題に決定"), (IS.DRAFT, IS.AWAITING_APPROVAL), _MANAGER, Scope.WARD,
           approval.approve, IS.REGISTERED, guard=iss.approve_guard),
    Action("submit", N_("決裁に回す"), (IS.DRAFT,), _MANAGER, Scope.WARD,
           approval.submit, IS.AWAITING_APPROVAL, guard=iss.approve_guard),
    Action("return_draft", N_("差し戻し"), (IS.AWAITING_APPROVAL,), _MANAGER, Scope.WARD,
           approval.return_draft, IS.DRAFT, ("comment",)),
    Action("send", N_("局へ送付"), (IS.REGISTERED,), _MANAGER, Scope.WARD,
           iss.send, IS.CONSULTING, guard=iss.send_guard),
    Action("assign_ward_owner", N_("区の担当者を設定"), tuple(s for s in IS if s != IS.WITHDRAWN), _MANAGER,
           Scope.WARD, owners.assign_ward_owner, None, ("owner",)),
    Action("assign_bureau_owner", N_("局の担当者を設定"), _OWNED_BY_BUREAU, _BUREAU, Scope.LEAD_BUREAU,
           owners.assign_bureau_owner, None, ("owner",)),
    Action("decide", N_("協議結果を登録"), (IS.CONSULTING,), _BUREAU, Scope.LEAD_BUREAU,
           iss.decide, None, ("decision",)),
    Action("inquire", N_("区へ照会"), (IS.CONSULTING,), _BUREAU, Scope.LEAD_BUREAU,
           consultation.inquire, IS.INQUIRING, ("question",)),
    Action("answer_inquiry", N_("照会に回答"), (IS.INQUIRING,), _MANAGER, Scope.WARD,
           consultation.answer_inquiry, IS.CONSULTING, ("answer",)),
    Action("opine", N_("意見を登録"), (IS.CONSULTING, IS.INQUIRING), _BUREAU, Scope.RELATED_BUREAU,
           consultation.opine, None, ("body",), versioned=False),
    Action("budget", N_("予算化"), (IS.DECIDED,), _BUREAU, Scope.LEAD_BUREAU, iss.budget, IS.BUDGETED),
    Action("add_budget_line", N_("予算を追加"), (IS.BUDGETED, IS.IMPLEMENTING), _BUREAU, Scope.LEAD_BUREAU,
           iss.add_budget_line, None, ("fiscal_year", "project_name", "allocated_yen")),
    Action("start", N_("事業に着手"), (IS.BUDGETED,), _BUREAU, Scope.LEAD_BUREAU, iss.start, IS.IMPLEMENTING),
    Action("note", N_("進捗を記録"), _WORKING_STATES, (Role.WARD_MANAGER, Role.BUREAU_STAFF),
           Scope.ISSUE_PARTY,
           iss.note, None, ("body",), versioned=False),
    Action("complete", N_("完了"), (IS.IMPLEMENTING,), _BUREAU, Scope.LEAD_BUREAU,
           iss.complete, IS.COMPLETED, ("outcome",)),
    Action("correct_texts", N_("内容を訂正"), _SENT_STATES, _MANAGER + _ADMIN, Scope.WARD,
           fix.correct_texts, None, ("comment",)),
    Action("correct_decision", N_("協議結果を訂正"), _SENT_STATES, _BUREAU + _ADMIN, Scope.LEAD_BUREAU,
           fix.correct_decision, None, ("comment",), fix.decision_guard),
    Action("correct_budget_line", N_("予算を訂正"), _MONEY_STATES, _BUREAU + _ADMIN, Scope.LEAD_BUREAU,
           fix.correct_budget_line, None, ("budget_line", "comment"),
           labels={"budget_line": N_("訂正する予算")}),
    Action("cancel_budget_line", N_("予算を取消"), _MONEY_STATES, _BUREAU + _ADMIN, Scope.LEAD_BUREAU,
           fix.cancel_budget_line, None, ("budget_line", "comment"),
           labels={"budget_line": N_("取り消す予算")}),
    Action("withdraw", N_("取下げ"), (IS.DRAFT, IS.AWAITING_APPROVAL, IS.REGISTERED), _MANAGER, Scope.WARD,
           iss.withdraw, IS.WITHDRAWN, ("comment",)),
    Action("mark_good_practice", N_("事例集に登録"), *_LIBRARY, gp.mark, None, ("summary",)),
    Action("edit_good_practice", N_("事例の要約を編集"), *_LIBRARY, gp.edit, None, ("summary",)),
    Action("unmark_good_practice", N_("事例集から外す"), *_LIBRARY, gp.unmark, None, ("comment",)),
    Action("write_public_text", N_("公開内容を作成"), REGISTERED_ISSUE_STATES, _MANAGER, Scope.WARD,
           publication.write, None, ("title",), labels={"title": N_("公開する件名")}),
    Action("approve_public_text", N_("公開内容の確認"), REGISTERED_ISSUE_STATES, _MANAGER, Scope.WARD,
           publication.approve),
    Action("set_public", N_("公開設定"), tuple(s for s in IS if s != IS.WITHDRAWN), _MANAGER, Scope.WARD,
           publication.set_public),
    Action("comment", N_("コメント"), tuple(IS), _TEAM, Scope.VIEWER, teamwork.comment, None, ("body",),
           labels={"body": N_("コメント")}, versioned=False),
    Action("attach", N_("添付"), tuple(IS), _TEAM, Scope.VIEWER, teamwork.attach, versioned=False),
)
# fmt: on


# --- permission ----------------------------------------------------------------------------


def actions_for(subject: ServiceRequest | WardIssue) -> dict[str, Action]:
    return REQUEST_ACTIONS if isinstance(subject, ServiceRequest) else ISSUE_ACTIONS


def available_actions(actor: User, subject) -> list[Action]:
    """The actions ``actor`` may take on ``subject`` in its current state, in table order."""
    return [a for a in actions_for(subject).values() if permission_error(actor, subject, a) is None]


# --- the entry point -----------------------------------------------------------------------


def apply(
    session: Session,
    actor: User,
    subject: ServiceRequest | WardIssue,
    action_name: str,
    payload: dict[str, Any] | None = None,
    *,
    today: dt.date | None = None,
    expected_version: int | None = None,
) -> HistoryEvent:
    """Apply one action for ``actor``; write its history event; flush. Raise WorkflowError.

    Every check that can be made from the payload alone runs before anything changes; an effect
    that still finds a problem raises before it touches the subject, and the caller's rollback
    discards anything a failed effect may have staged. ``expected_version`` is the version of
    the subject the user saw: another version, or another writer first on the same row, raises
    ``WorkflowConflict`` (see ``check_version``); the caller rolls back.
    """
    payload = dict(payload or {})
    today = today or today_in_tokyo()
    action = actions_for(subject).get(action_name)
    if action is None:
        raise WorkflowError(N_("この操作はできません。"))
    check_version(subject, action, expected_version)
    error = permission_error(actor, subject, action)
    if error:
        raise WorkflowError(error)
    for key in action.required:
        if is_blank(payload.get(key)):
            label = translate(action.labels.get(key) or FIELD_LABELS.get(key, key))
            raise WorkflowError(N_("%(label)sを入力してください。"), label=label)
    if action.guard:
        error = action.guard(subject, payload)
        if error:
            raise WorkflowError(error)
    context = Context(session, actor, subject, payload, today)
    from_state = subject.state
    try:
        with session.no_autoflush:
            to_state = action.effect(context) or action.target or from_state
        subject.state = to_state
        if action.versioned:
            touch(subject)
        event = record_event(
            session,
            actor,
            subject,
            action.name,
            from_state,
            to_state,
            comment=context.comment,
            data=context.data,
        )
        session.flush()
    except StaleDataError as error:  # another transaction updated the row since it was read
        raise WorkflowConflict() from error
    events.announce(session, event)
    return event
