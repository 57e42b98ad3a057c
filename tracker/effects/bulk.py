"""Bulk triage: one action on several requests at once, all or nothing.

``apply_bulk`` applies ``workflow.apply`` to each selected request one by one in the caller's
transaction; the first request that is refused (state, scope, version, a payload the action
rejects) raises ``BulkRefused``, which names it, and the caller rolls the whole transaction back,
so either every selected request changed (each with its own history event) or none did. An
escalation into a new ward issue drafts that issue once and bundles every request into it.
No Flask here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from .. import workflow
from ..formatting import date_label
from ..models import ServiceRequest, User, WardIssue
from ..states import Priority, Role
from ..wording import N_, say, translate
from .support import WorkflowConflict, WorkflowError, is_blank

BULK_ACTIONS = ("refer", "escalate", "assign", "set_priority", "answer")
MAX_SELECTED = 200

SUMMARIES = {
    "refer": N_("%(count)d件を「%(to)s」へ回付しました。"),
    "escalate": N_("%(count)d件を区重要課題「%(title)s」にまとめました。"),
    "assign": N_("%(count)d件の担当者を%(name)sに設定しました。"),
    "set_priority": N_("%(count)d件の緊急度を「%(label)s」にしました。"),
    "answer": N_("%(count)d件に回答しました。"),
}


class BulkRefused(WorkflowError):
    """One selected request was refused: nothing was changed. ``request_id`` names it."""

    def __init__(self, request_id: int, name: str, reason: str):
        super().__init__(
            N_("%(name)s: %(reason)s (選んだ要望はどれも変更していません。)"), name=name, reason=reason
        )
        self.request_id = request_id


@dataclass
class BulkResult:
    action: str
    requests: list[ServiceRequest]
    params: dict[str, Any]

    @property
    def count(self) -> int:
        return len(self.requests)

    @property
    def summary(self) -> str:
        return say(SUMMARIES[self.action], count=self.count, **self.params)


def clean_ids(raw: list[Any]) -> list[int]:
    """The selected ids, in order, each once; anything that is not an id is dropped."""
    out: list[int] = []
    for value in raw:
        text = str(value).strip()
        if text.isascii() and text.isdecimal() and len(text) <= 9 and int(text) not in out:
            out.append(int(text))
    return out


def _name(actor: User, request: ServiceRequest | None, request_id: int) -> str:
    if request is not None and (actor.role == Role.ADMIN or actor.ward_id == request.ward_id):
        return request.reference
    return say(N_("要望 #%(id)s"), id=request_id)


def _load(session: Session, ids: list[int]) -> dict[int, ServiceRequest]:
    rows = session.scalars(
        select(ServiceRequest)
        .where(ServiceRequest.id.in_(ids))
        .options(
            joinedload(ServiceRequest.ward_issue),
            joinedload(ServiceRequest.assignee),
            selectinload(ServiceRequest.events),
        )
    ).unique()
    return {row.id: row for row in rows}


def _issue_for(
    session: Session, actor: User, fields: dict, requests: list[ServiceRequest], today
) -> WardIssue:
    chosen = fields.get("ward_issue")
    if chosen:
        issue = session.get(WardIssue, chosen)
        if issue is None or issue.ward_id != actor.ward_id:
            raise WorkflowError(N_("まとめる区重要課題を選んでください。"))
        return issue
    if is_blank(fields.get("title")):
        raise WorkflowError(N_("新しい区重要課題の件名を入力してください。"))
    situation = "\n".join(f"{r.reference} {r.title}" for r in requests)
    return workflow.create_issue(
        session,
        actor,
        {"title": fields["title"], "situation": fields.get("situation") or situation},
        today=today,
        ward_id=actor.ward_id,
    )


def _payload(action: str, fields: dict, today: dt.date) -> dict[str, Any]:
    if action == "refer":
        return {"referred_to": fields.get("referred_to"), "comment": ""}
    if action == "assign":
        return {"assignee": fields.get("assignee") or None}
    if action == "set_priority":
        return {"priority": fields.get("priority")}
    if action == "answer":
        return {
            "answer_text": fields.get("answer_text"),
            "answer_kind": fields.get("answer_kind"),
            "answered_on": today,
        }
    return {"comment": ""}


ANSWER_TOKENS = {"{受付日}": "received", "{received}": "received", "{件名}": "title", "{title}": "title"}


def fill_tokens(text: str, request: ServiceRequest) -> str:
    """An answer template's tokens made this request's: {受付日} / {received} its received date,
    {件名} / {title} its title (what the answer form's picker does in the browser for one request)."""
    values = {"received": date_label(request.received_on), "title": request.title}
    for token, name in ANSWER_TOKENS.items():
        text = text.replace(token, values[name])
    return text


def _for_request(action: str, payload: dict[str, Any], request: ServiceRequest) -> dict[str, Any]:
    """One text answers many requests, each with its own date and title in place of the tokens."""
    if action != "answer" or not payload.get("answer_text"):
        return payload
    return dict(payload, answer_text=fill_tokens(payload["answer_text"], request))


def _params(action: str, fields: dict, requests: list[ServiceRequest], issue: WardIssue | None) -> dict:
    if action == "refer":
        return {"to": str(fields.get("referred_to") or "").strip()}
    if action == "escalate":
        return {"title": issue.title if issue else ""}
    if action == "assign":
        return {"name": requests[0].assignee.display_name if requests[0].assignee else ""}
    if action == "set_priority":
        return {"label": Priority(fields["priority"]).label}
    return {}


def apply_bulk(
    session: Session,
    actor: User,
    action: str,
    ids: list[int],
    fields: dict[str, Any],
    *,
    today: dt.date,
    versions: dict[int, int] | None = None,
) -> BulkResult:
    """Apply ``action`` to every request of ``ids``; raise (nothing changed) at the first refusal.

    ``fields`` holds what the bulk form typed (referred_to, ward_issue / title, assignee,
    priority, answer_kind / answer_text); ``versions`` the version of each request the user saw.
    The caller commits on success and rolls back on ``WorkflowError``.
    """
    if action not in BULK_ACTIONS:
        raise WorkflowError(N_("操作を選んでください。"))
    if not ids:
        raise WorkflowError(N_("要望を1件以上選んでください。"))
    if len(ids) > MAX_SELECTED:
        raise WorkflowError(N_("一度に操作できるのは%(max)d件までです。"), max=MAX_SELECTED)
    versions = versions or {}
    found = _load(session, ids)
    rule = workflow.REQUEST_ACTIONS[action]
    requests = []
    for request_id in ids:  # every check that needs no change, first: the reason names the request
        request = found.get(request_id)
        if request is None:
            raise BulkRefused(request_id, _name(actor, None, request_id), translate(N_("見つかりません。")))
        error = workflow.permission_error(actor, request, rule)
        if error:
            raise BulkRefused(request_id, _name(actor, request, request_id), translate(error))
        if request_id in versions and versions[request_id] != request.version:
            raise BulkRefused(request_id, request.reference, WorkflowConflict().message)
        requests.append(request)
    issue = _issue_for(session, actor, fields, requests, today) if action == "escalate" else None
    payload = _payload(action, fields, today)
    if issue is not None:
        payload["ward_issue"] = issue
    for request in requests:
        try:
            workflow.apply(
                session,
                actor,
                request,
                action,
                _for_request(action, payload, request),
                today=today,
                expected_version=versions.get(request.id),
            )
        except WorkflowError as error:
            raise BulkRefused(request.id, request.reference, error.message) from error
    return BulkResult(action, requests, _params(action, fields, requests, issue))
