"""The whole story of one synthetic request, and of the ward issue it may become.

An escalated request becomes a ward issue of its own, drafted by the ward's first manager and
approved by the second (two pairs of eyes), sent to the category's bureau, decided there (対応する,
一部対応, 対応しない) or withdrawn by the ward, and when adopted budgeted (a bureau budget line, or
"within the existing budget"), started and completed with its outcome and executed amount. The
request is answered after the decision, or handed back to triage when the issue is withdrawn.
Each step happens only when its day has come (``world.today``).
"""

from __future__ import annotations

import datetime as dt
import random

from ..finding import search
from ..formatting import fiscal_year_of
from ..states import AnswerKind, Decision, Funding
from .synthetic_plan import (
    IS,
    MEETING_SOURCES,
    OUTCOME_CHOICES,
    RS,
    Draft,
    Story,
    World,
    after,
    answer_request,
    handled,
    heard_at_meeting,
    logged,
    moment,
    move_request,
    move_row,
    pick,
)
from .synthetic_text import OUTCOMES

REASONS = {
    "adopt": "地域の安全に必要と認め、事業化して対応する。",
    "partial": "優先度の高い箇所から一部対応する。",
    "reject": "他の事業との優先順位から、現時点での対応は困難である。",
}


def story(rng: random.Random, world: World, draft: Draft) -> Story:
    """The request of ``draft`` with everything that happened to it until ``world.today``."""
    told, text, source = logged(rng, world, draft)
    if source in MEETING_SOURCES and rng.random() < 0.5:
        liaison = world.staff.liaison[draft.center_id]
        heard_at_meeting(rng, world, told, text, liaison, told.request["created_at"])
    if draft.escalate_on is not None:
        _escalated(rng, world, told, draft, text)
    else:
        handled(rng, world, told, text)
    told.request["version"] = sum(1 for _, _, event in told.events if event["service_request_id"])
    return told


def _issue_event(told: Story, when: dt.datetime, actor: int, role: str, action: str, to, **values) -> None:
    issue = told.issue
    move_row(told, issue, {"ward_issue_id": issue["id"]}, when, actor, role, action, to, **values)
    issue["version"] += 1


def _new_issue(rng, world: World, told: Story, draft: Draft, text: dict, when: dt.datetime) -> dict:
    request = told.request
    bureau_id, bureau_name = world.lead_bureau[draft.category]
    texts = world.vocabulary.issue_texts(rng, text["town"], text["thing"], text["ask"], bureau_name)
    issue = {
        "id": world.pools["ward_issues"].next(),
        "reference": draft.issue_reference,
        "fiscal_year": fiscal_year_of(draft.escalate_on),
        "ward_id": request["ward_id"],
        "title": texts["title"],
        "situation": request["description"],
        "proposal": texts["proposal"],
        "lead_bureau_id": bureau_id,
        "state": IS.DRAFT.value,
        "decision": None,
        "decision_reason": "",
        "decided_on": None,
        "next_review_on": None,
        "within_existing_budget": False,
        "outcome": "",
        "is_public": False,
        "sent_at": None,
        "created_by_id": world.staff.managers[request["ward_id"]][0],
        "ward_owner_id": None,
        "bureau_owner_id": None,
        "created_at": when,
        "updated_at": when,
        "version": 1,
        "search_text": "",
    }
    issue["search_text"] = " ".join(
        part for part in (search.normalize(issue[name]) for name in search.ISSUE_FIELDS) if part
    )
    told.issue = issue
    return {"project_name": texts["project_name"], "bureau_name": bureau_name}


def _escalated(rng: random.Random, world: World, told: Story, draft: Draft, text: dict) -> None:
    request, today = told.request, world.today
    drafter, approver = world.staff.managers[request["ward_id"]]
    day = draft.escalate_on
    when = moment(rng, day)
    extra = _new_issue(rng, world, told, draft, text, when)
    issue = told.issue
    bureau_staff = world.staff.bureau_staff[issue["lead_bureau_id"]]
    subject = {"ward_issue_id": issue["id"]}
    told.add(
        when,
        drafter,
        "ward_manager",
        subject,
        "create",
        to_state=IS.DRAFT.value,
        data={"title": issue["title"]},
    )
    told.add(
        when,
        drafter,
        "ward_manager",
        subject,
        "bundle",
        from_state=IS.DRAFT.value,
        to_state=IS.DRAFT.value,
        comment=f"{request['reference']} {request['title']}",
        data={"request_id": request["id"], "request_reference": request["reference"]},
    )
    request["ward_issue_id"] = issue["id"]
    data = {"ward_issue_id": issue["id"], "ward_issue_reference": issue["reference"]}
    move_request(told, when, drafter, "ward_manager", "escalate", RS.ESCALATED, data=data)
    outcome = pick(rng, OUTCOME_CHOICES)
    steps = [("submit", drafter, IS.AWAITING_APPROVAL, 1, 5), ("approve", approver, IS.REGISTERED, 1, 7)]
    for action, actor, to, low, high in steps:
        day = after(rng, day, low, high)
        if day > today:
            return
        _issue_event(told, moment(rng, day), actor, "ward_manager", action, to)
    if outcome == "withdraw":
        _withdrawn(rng, world, told, text, after(rng, day, 5, 30), drafter)
        return
    day = after(rng, day, 3, 20)
    if day > today:
        return
    issue["sent_at"] = sent = moment(rng, day)
    data = {"lead_bureau": extra["bureau_name"], "related_bureaus": []}
    _issue_event(told, sent, drafter, "ward_manager", "send", IS.CONSULTING, data=data)
    day = after(rng, day, 20, 120)
    if day > today:
        return
    decision = {"adopt": Decision.ADOPT, "partial": Decision.PARTIAL, "reject": Decision.REJECT}[outcome]
    issue.update(decision=decision.value, decision_reason=REASONS[outcome], decided_on=day)
    target = IS.NOT_ADOPTED if decision == Decision.REJECT else IS.DECIDED
    _issue_event(
        told,
        moment(rng, day),
        bureau_staff,
        "bureau_staff",
        "decide",
        target,
        comment=REASONS[outcome],
        data={"decision": decision.value},
    )
    answered_on = after(rng, day, 3, 30)
    if answered_on <= today:
        kind = AnswerKind.DIFFICULT if decision == Decision.REJECT else AnswerKind.RESOLVED
        answer_request(rng, world, told, text, answered_on, kind)
    if decision != Decision.REJECT:
        _carried_out(rng, world, told, day, extra["project_name"], bureau_staff, outcome == "partial")


def _withdrawn(rng, world: World, told: Story, text: dict, day: dt.date, drafter: int) -> None:
    """The ward withdraws the issue: the request goes back to triage and is answered later."""
    if day > world.today:
        return
    when = moment(rng, day)
    _issue_event(
        told, when, drafter, "ward_manager", "withdraw", IS.WITHDRAWN, comment="他事業で対応するため"
    )
    told.request["ward_issue_id"] = None
    comment = f"{told.issue['reference']} が取り下げられたため受付に戻しました。"
    data = {"ward_issue_id": told.issue["id"]}
    move_request(
        told, when, drafter, "ward_manager", "issue_withdrawn", RS.RECEIVED, comment=comment, data=data
    )
    answered_on = after(rng, day, 5, 30)
    if answered_on <= world.today:
        answer_request(rng, world, told, text, answered_on, AnswerKind.INFORMATION)


def _carried_out(rng, world: World, told: Story, day, project_name: str, staff: int, partial: bool) -> None:
    """Budget (a line, or within the existing budget), start and completion, as far as today."""
    issue, today = told.issue, world.today
    day = after(rng, day, 10, 60)
    if day > today:
        return
    when = moment(rng, day)
    if partial and rng.random() < 0.4:
        issue["within_existing_budget"] = True
        _issue_event(
            told, when, staff, "bureau_staff", "budget", IS.BUDGETED, data={"within_existing_budget": True}
        )
    else:
        year = min(fiscal_year_of(day) + 1, fiscal_year_of(today) + 1)
        allocated = int(10 ** rng.uniform(6, 7.7)) // 1000 * 1000
        told.line = {
            "id": world.pools["budget_lines"].next(),
            "funding": Funding.BUREAU.value,
            "fiscal_year": year,
            "project_name": project_name,
            "allocated_yen": allocated,
            "executed_yen": None,
            "ward_issue_id": issue["id"],
            "service_request_id": None,
            "bureau_id": issue["lead_bureau_id"],
            "ward_id": issue["ward_id"],
            "created_by_id": staff,
            "created_at": when,
            "cancelled_at": None,
            "cancelled_by_id": None,
            "cancel_reason": "",
        }
        data = {"fiscal_year": year, "project_name": project_name, "allocated_yen": allocated}
        _issue_event(told, when, staff, "bureau_staff", "budget", IS.BUDGETED, data=data)
    day = after(rng, day, 20, 120)
    if day > today:
        return
    _issue_event(told, moment(rng, day), staff, "bureau_staff", "start", IS.IMPLEMENTING)
    day = after(rng, day, 60, 300)
    if day > today:
        return
    executed = {}
    if told.line is not None:
        told.line["executed_yen"] = told.line["allocated_yen"] * rng.randint(80, 100) // 100 // 1000 * 1000
        executed = {str(told.line["id"]): told.line["executed_yen"]}
    issue["outcome"] = outcome = rng.choice(OUTCOMES)
    _issue_event(
        told,
        moment(rng, day),
        staff,
        "bureau_staff",
        "complete",
        IS.COMPLETED,
        comment=outcome,
        data={"executed_yen": executed},
    )
