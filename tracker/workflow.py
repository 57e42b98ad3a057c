"""The two state machines of the tracker, as data, and the one entry point that applies them.

``REQUEST_ACTIONS`` and ``ISSUE_ACTIONS`` say, for every action: from which states, to which
state, which roles, in which scope (own ward, lead bureau, any party to the issue), which
fields are required and which guard must hold. ``apply`` checks all of that *before* it
changes anything, then runs the action's effect and writes the history event in the same
transaction (it flushes; the caller commits). Anything illegal raises ``WorkflowError`` with a
Japanese message, and nothing has changed. ``apply`` then announces the event
(``tracker.effects.events``): side effects subscribe there, never called from the rules.
No Flask here: the rules run the same from a view, a job, a CLI command or a test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .effects import events, issue_effects, request_effects
from .effects.issue_effects import create_issue
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
from .states import IssueState, RequestState, Role

__all__ = [
    "ISSUE_ACTIONS",
    "REQUEST_ACTIONS",
    "WorkflowConflict",
    "WorkflowError",
    "apply",
    "check_version",
    "create_issue",
    "record_event",
]


class Scope:
    WARD = "ward"  # the actor's ward is the subject's ward
    LEAD_BUREAU = "lead_bureau"  # the actor belongs to the issue's lead bureau
    ISSUE_PARTY = "issue_party"  # the issue's ward managers, or its lead or related bureaus


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    sources: tuple
    roles: tuple[Role, ...]
    scope: str
    effect: Callable[[Context], Any]
    target: Any = None  # None: the state stays, unless the effect returns one (decide)
    required: tuple[str, ...] = ()
    guard: Callable[[Any, dict], str | None] | None = None
    labels: dict[str, str] = field(default_factory=dict)  # field names as this action calls them
    versioned: bool = True  # checks and raises the subject's version (see ``check_version``)


_FIELD_STAFF = (Role.LIAISON, Role.WARD_MANAGER)
_MANAGER = (Role.WARD_MANAGER,)
_BUREAU = (Role.BUREAU_STAFF,)

REQUEST_ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action(
            "answer",
            "住民へ回答",
            (RequestState.RECEIVED, RequestState.REFERRED, RequestState.ESCALATED),
            _FIELD_STAFF,
            Scope.WARD,
            request_effects.answer,
            target=RequestState.ANSWERED,
            required=("answer_text", "answer_kind", "answered_on"),
            guard=request_effects.answer_guard,
        ),
        Action(
            "refer",
            "担当課へ回付",
            (RequestState.RECEIVED,),
            _MANAGER,
            Scope.WARD,
            request_effects.refer,
            target=RequestState.REFERRED,
            required=("referred_to",),
        ),
        Action(
            "escalate",
            "区重要課題にする",
            (RequestState.RECEIVED,),
            _MANAGER,
            Scope.WARD,
            request_effects.escalate,
            target=RequestState.ESCALATED,
            guard=request_effects.escalate_guard,
        ),
        Action(
            "withdraw",
            "取下げ",
            (RequestState.RECEIVED,),
            _FIELD_STAFF,
            Scope.WARD,
            request_effects.withdraw,
            target=RequestState.WITHDRAWN,
            required=("comment",),
        ),
        Action(
            "fund_from_ward",
            "まちづくり推進経費を充当",
            (RequestState.RECEIVED, RequestState.REFERRED, RequestState.ANSWERED),
            _MANAGER,
            Scope.WARD,
            request_effects.fund_from_ward,
            required=("fiscal_year", "project_name", "allocated_yen"),
            labels={"allocated_yen": "充当額"},
        ),
        Action(
            "reopen",
            "再開",
            (RequestState.ANSWERED, RequestState.WITHDRAWN),
            _MANAGER,
            Scope.WARD,
            request_effects.reopen,
            target=RequestState.RECEIVED,
            required=("comment",),
        ),
    )
}


_WORKING_STATES = (
    IssueState.CONSULTING,
    IssueState.DECIDED,
    IssueState.BUDGETED,
    IssueState.IMPLEMENTING,
)

ISSUE_ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action(
            "edit",
            "内容を編集",
            (IssueState.DRAFT, IssueState.REGISTERED),
            _MANAGER,
            Scope.WARD,
            issue_effects.edit,
        ),
        Action(
            "approve",
            "区重要課題に決定",
            (IssueState.DRAFT,),
            _MANAGER,
            Scope.WARD,
            issue_effects.approve,
            target=IssueState.REGISTERED,
            guard=issue_effects.approve_guard,
        ),
        Action(
            "send",
            "局へ送付",
            (IssueState.REGISTERED,),
            _MANAGER,
            Scope.WARD,
            issue_effects.send,
            target=IssueState.CONSULTING,
            guard=issue_effects.send_guard,
        ),
        Action(
            "decide",
            "協議結果を登録",
            (IssueState.CONSULTING,),
            _BUREAU,
            Scope.LEAD_BUREAU,
            issue_effects.decide,
            required=("decision",),
        ),
        Action(
            "budget",
            "予算化",
            (IssueState.DECIDED,),
            _BUREAU,
            Scope.LEAD_BUREAU,
            issue_effects.budget,
            target=IssueState.BUDGETED,
        ),
        Action(
            "add_budget_line",
            "予算を追加",
            (IssueState.BUDGETED, IssueState.IMPLEMENTING),
            _BUREAU,
            Scope.LEAD_BUREAU,
            issue_effects.add_budget_line,
            required=("fiscal_year", "project_name", "allocated_yen"),
        ),
        Action(
            "start",
            "事業に着手",
            (IssueState.BUDGETED,),
            _BUREAU,
            Scope.LEAD_BUREAU,
            issue_effects.start,
            target=IssueState.IMPLEMENTING,
        ),
        Action(
            "note",
            "進捗を記録",
            _WORKING_STATES,
            (Role.WARD_MANAGER, Role.BUREAU_STAFF),
            Scope.ISSUE_PARTY,
            issue_effects.note,
            required=("body",),
            versioned=False,
        ),
        Action(
            "complete",
            "完了",
            (IssueState.IMPLEMENTING,),
            _BUREAU,
            Scope.LEAD_BUREAU,
            issue_effects.complete,
            target=IssueState.COMPLETED,
            required=("outcome",),
        ),
        Action(
            "withdraw",
            "取下げ",
            (IssueState.DRAFT, IssueState.REGISTERED),
            _MANAGER,
            Scope.WARD,
            issue_effects.withdraw,
            target=IssueState.WITHDRAWN,
            required=("comment",),
        ),
        Action(
            "set_public",
            "公開設定",
            tuple(s for s in IssueState if s != IssueState.WITHDRAWN),
            _MANAGER,
            Scope.WARD,
            issue_effects.set_public,
        ),
    )
}


# --- permission ----------------------------------------------------------------------------


def actions_for(subject: ServiceRequest | WardIssue) -> dict[str, Action]:
    return REQUEST_ACTIONS if isinstance(subject, ServiceRequest) else ISSUE_ACTIONS


def _subject_noun(subject) -> str:
    return "要望" if isinstance(subject, ServiceRequest) else "区重要課題"


def scope_error(actor: User, subject, scope: str) -> str | None:
    """Why ``actor`` is outside the subject's scope, or None."""
    if scope == Scope.WARD:
        if actor.ward_id != subject.ward_id:
            return f"他の区の{_subject_noun(subject)}は操作できません。"
        return None
    issue: WardIssue = subject
    if scope == Scope.LEAD_BUREAU:
        if actor.bureau_id is None or actor.bureau_id != issue.lead_bureau_id:
            return "この区重要課題の主管局の担当者だけが操作できます。"
        return None
    if actor.role == Role.WARD_MANAGER:
        return None if actor.ward_id == issue.ward_id else "他の区の区重要課題は操作できません。"
    parties = {issue.lead_bureau_id, *(b.id for b in issue.related_bureaus)}
    if actor.bureau_id is None or actor.bureau_id not in parties:
        return "この区重要課題の主管局・関係局の担当者だけが操作できます。"
    return None


def permission_error(actor: User, subject, action: Action) -> str | None:
    """Why ``actor`` may not take ``action`` on ``subject`` now, or None (payload not checked)."""
    if not actor.active:
        return "このアカウントは無効です。"
    if actor.role not in action.roles:
        roles = "、".join(role.label for role in action.roles)
        return f"「{action.label}」は{roles}だけが行えます。"
    error = scope_error(actor, subject, action.scope)
    if error:
        return error
    if subject.state not in action.sources:
        return f"「{subject.state.label}」の{_subject_noun(subject)}には「{action.label}」はできません。"
    return None


def available_actions(actor: User, subject) -> list[Action]:
    """The actions ``actor`` may take on ``subject`` in its current state, in table order."""
    return [a for a in actions_for(subject).values() if permission_error(actor, subject, a) is None]


# --- optimistic locking --------------------------------------------------------------------


def check_version(subject: ServiceRequest | WardIssue, action: Action, expected_version: int | None) -> None:
    """Raise ``WorkflowConflict`` when the user acted on a version of ``subject`` that is gone.

    Requests and ward issues carry ``version`` (SQLAlchemy's ``version_id_col``): every UPDATE
    of the row checks the version it read and raises it by one, so of two transactions racing
    on one row the second one's flush fails (``StaleDataError``, which ``apply`` turns into
    ``WorkflowConflict``). Every action form carries the version the user saw; comparing it
    here, before anything changes, also refuses an action taken on a page that was outdated
    long before (the other change committed minutes ago). ``None``: no version was sent (a
    script, a job), nothing to compare.

    What raises the version: every action but ``note``: state changes, field edits (edit,
    decide, also 継続協議, set_public), money (budget, add_budget_line, fund_from_ward,
    complete), and bundling a request into an existing issue (``escalate`` touches the issue;
    withdrawing an issue changes its requests). ``apply`` touches the subject of every such
    action, so even one that only adds a row beside it (a budget line) raises the version.

    What does not: progress notes, and the history events every action appends. A note is a
    comment that loses nothing when another change came first, so a note is neither checked
    nor counted: a note written at the same time never makes a bureau's decision fail, and a
    decision never makes a note fail (the state rules still refuse a note where notes end).
    """
    if expected_version is None or not action.versioned:
        return
    if expected_version != subject.version:
        raise WorkflowConflict()


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
        raise WorkflowError("この操作はできません。")
    check_version(subject, action, expected_version)
    error = permission_error(actor, subject, action)
    if error:
        raise WorkflowError(error)
    for key in action.required:
        if is_blank(payload.get(key)):
            label = action.labels.get(key) or FIELD_LABELS.get(key, key)
            raise WorkflowError(f"{label}を入力してください。")
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
