"""What an action of the state machines is, and the checks ``workflow.apply`` makes before it
changes anything: role, scope, state (``permission_error``) and the version the user saw
(``check_version``). The tables themselves are in ``tracker.workflow``.

No Flask here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..models import ServiceRequest, User, WardIssue
from ..states import Role
from ..wording import N_, say, translate
from .support import WorkflowConflict


class Scope:
    WARD = "ward"  # the actor's ward is the subject's ward
    HANDOVER_WARD = "handover_ward"  # the actor's ward is the ward a request is being handed to
    LEAD_BUREAU = "lead_bureau"  # the actor belongs to the issue's lead bureau
    RELATED_BUREAU = "related_bureau"  # the actor belongs to one of the issue's related bureaus
    ISSUE_PARTY = "issue_party"  # the issue's ward managers, or its lead or related bureaus
    VIEWER = "viewer"  # anyone who may see the subject (its ward; the bureaus it was sent to)
    CENTER = "center"  # the request's ward managers, and the liaisons of its center


@dataclass(frozen=True)
class Action:
    name: str
    source_label: str  # a marked Japanese source text (``N_``); ``label`` reads it translated
    sources: tuple
    roles: tuple[Role, ...]
    scope: str
    effect: Callable[[Any], Any]
    target: Any = None  # None: the state stays, unless the effect returns one (decide)
    required: tuple[str, ...] = ()
    guard: Callable[[Any, dict], str | None] | None = None
    labels: dict[str, str] = field(default_factory=dict)  # field names as this action calls them
    versioned: bool = True  # checks and raises the subject's version (see ``check_version``)

    @property
    def label(self) -> str:
        """The action's name in the current user's language."""
        return translate(self.source_label)


def subject_noun(subject) -> str:
    """What the subject is called, in the user's language."""
    return translate(N_("要望") if isinstance(subject, ServiceRequest) else N_("区重要課題"))


def _issue_parties(issue: WardIssue) -> set[int | None]:
    return {issue.lead_bureau_id, *(b.id for b in issue.related_bureaus)}


def _bureau_sees(actor: User, issue: WardIssue | None) -> bool:
    return (
        issue is not None
        and issue.sent_at is not None
        and actor.bureau_id is not None
        and actor.bureau_id in _issue_parties(issue)
    )


def _viewer_error(actor: User, subject) -> str | None:
    """The same rule as ``tracker.safeguards.access.can_view_*``, for the actions anyone who sees
    the subject may take (a comment, an attachment)."""
    if actor.role in (Role.LIAISON, Role.WARD_MANAGER):
        handed_to = subject.handover_ward_id if isinstance(subject, ServiceRequest) else None
        if actor.ward_id is not None and actor.ward_id in (subject.ward_id, handed_to):
            return None
        return say(N_("他の区の%(noun)sは操作できません。"), noun=subject_noun(subject))
    issue = subject.ward_issue if isinstance(subject, ServiceRequest) else subject
    if actor.role == Role.BUREAU_STAFF and _bureau_sees(actor, issue):
        return None
    return say(N_("この%(noun)sを見る権限がありません。"), noun=subject_noun(subject))


def scope_error(actor: User, subject, scope: str) -> str | None:
    """Why ``actor`` is outside the subject's scope, or None. The admin is in every scope (an
    action open to the admin names the role in its table row)."""
    if actor.role == Role.ADMIN:
        return None
    if scope == Scope.WARD:
        if actor.ward_id != subject.ward_id:
            return say(N_("他の区の%(noun)sは操作できません。"), noun=subject_noun(subject))
        return None
    if scope == Scope.HANDOVER_WARD:
        if actor.ward_id is None or actor.ward_id != subject.handover_ward_id:
            return translate(N_("引継ぎ先の区の管理職だけが操作できます。"))
        return None
    if scope == Scope.VIEWER:
        return _viewer_error(actor, subject)
    if scope == Scope.CENTER:
        if actor.ward_id != subject.ward_id:
            return f"他の区の{subject_noun(subject)}は操作できません。"
        if actor.role == Role.LIAISON and actor.center_id != subject.center_id:
            return "担当するまちづくりセンターの要望だけが操作できます。"
        return None
    issue: WardIssue = subject
    if scope == Scope.LEAD_BUREAU:
        if actor.bureau_id is None or actor.bureau_id != issue.lead_bureau_id:
            return translate(N_("この区重要課題の主管局の担当者だけが操作できます。"))
        return None
    if scope == Scope.RELATED_BUREAU:
        related = {b.id for b in issue.related_bureaus}
        if actor.bureau_id is None or actor.bureau_id not in related:
            return translate(N_("この区重要課題の関係局の担当者だけが操作できます。"))
        return None
    if actor.role == Role.WARD_MANAGER:
        return (
            None if actor.ward_id == issue.ward_id else translate(N_("他の区の区重要課題は操作できません。"))
        )
    if actor.bureau_id is None or actor.bureau_id not in _issue_parties(issue):
        return translate(N_("この区重要課題の主管局・関係局の担当者だけが操作できます。"))
    return None


def permission_error(actor: User, subject, action: Action) -> str | None:
    """Why ``actor`` may not take ``action`` on ``subject`` now, or None (payload not checked)."""
    if not actor.active:
        return translate(N_("このアカウントは無効です。"))
    if actor.role not in action.roles:
        roles = translate(N_("、")).join(role.label for role in action.roles)
        return say(N_("「%(action)s」は%(roles)sだけが行えます。"), action=action.label, roles=roles)
    error = scope_error(actor, subject, action.scope)
    if error:
        return error
    if subject.state not in action.sources:
        return say(
            N_("「%(state)s」の%(noun)sには「%(action)s」はできません。"),
            state=subject.state.label,
            noun=subject_noun(subject),
            action=action.label,
        )
    return None


def check_version(subject: ServiceRequest | WardIssue, action: Action, expected_version: int | None) -> None:
    """Raise ``WorkflowConflict`` when the user acted on a version of ``subject`` that is gone.

    Requests and ward issues carry ``version`` (SQLAlchemy's ``version_id_col``): every UPDATE
    of the row checks the version it read and raises it by one, so of two transactions racing
    on one row the second one's flush fails (``StaleDataError``, which ``apply`` turns into
    ``WorkflowConflict``). Every action form carries the version the user saw; comparing it
    here, before anything changes, also refuses an action taken on a page that was outdated
    long before (the other change committed minutes ago). ``None``: no version was sent (a
    script, a job), nothing to compare.

    What raises the version: every versioned action: state changes, field edits and
    corrections, money (budget lines, fund draws, their corrections and 取消), persons in
    charge, and bundling a request into an existing issue (``escalate`` touches the issue;
    withdrawing an issue changes its requests). ``apply`` touches the subject of every such
    action, so even one that only adds a row beside it (a budget line) raises the version.

    What does not: progress notes, comments, attachments, a related bureau's opinion, and the
    history events every action appends. They add to the conversation and lose nothing when
    another change came first, so they are neither checked nor counted: a comment written at
    the same time never makes a bureau's decision fail, and a decision never makes a comment
    fail (the state rules still refuse them where they end).
    """
    if expected_version is None or not action.versioned:
        return
    if expected_version != subject.version:
        raise WorkflowConflict()
