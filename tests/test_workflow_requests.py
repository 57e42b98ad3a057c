"""The request (要望・相談) state machine: every allowed transition and a table of refused ones.

Also home of the helpers the issue tests share: ``World`` (actors and subjects made on demand
through the real services), ``Allowed``/``Refused`` table rows, and the two checkers. An
allowed row proves the new state, exactly one new history event for the subject (action,
from/to state, actor, role) plus its documented side events, and the row-count growth. A
refused row proves the exact Japanese message and that nothing changed: every loaded object's
column values (in memory, then after a flush) and the row counts of the tables that matter.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from tracker import workflow
from tracker.models import (
    BudgetLine,
    HistoryEvent,
    ProgressNote,
    ReferenceCounter,
    ServiceRequest,
    WardIssue,
    issue_related_bureaus,
)
from tracker.monitoring_models import GoodPractice
from tracker.states import AnswerKind, Decision, Funding, IssueState, Priority, RequestState, Role
from tracker.teamwork_models import Attachment, Comment, IssueInquiry, IssueOpinion
from tracker.workflow import REQUEST_ACTIONS, WorkflowError

from .factories import PATH_TO_STATE, TODAY
from .teamwork_cases import COMMENT, a_pdf, check_attachment, check_comment

TOMORROW = TODAY + dt.timedelta(days=1)
YESTERDAY = TODAY - dt.timedelta(days=1)

ANSWER = {"answer_text": "街灯を交換しました。", "answer_kind": "resolved", "answered_on": TODAY}
# 中央区's まちづくり推進経費 for FY2020 is 30,000千円 (150,000千円 for the five wards, master data).
FUND = {"fiscal_year": 2020, "project_name": "カーブミラー修繕", "allocated_yen": 500_000}
NEW_ISSUE = {
    "title": "公園の街灯の老朽化",
    "situation": "校区内の街灯の多くが老朽化している",
    "proposal": "LED街灯に更新する",
}


# --- the world a workflow test runs in -------------------------------------------------------

# Who acts, made on demand: 中央区 people, the lead bureau (環境局), a related bureau (文化市民局,
# related only when an issue is built with ``related=True``), a bureau with no part (消防局).
ACTORS: dict[str, tuple[Role, Callable]] = {
    "liaison": (Role.LIAISON, lambda make: make.liaison()),
    "manager": (Role.WARD_MANAGER, lambda make: make.manager()),
    "approver": (Role.WARD_MANAGER, lambda make: make.second_manager()),
    "lead": (Role.BUREAU_STAFF, lambda make: make.staff("環境局")),
    "related": (Role.BUREAU_STAFF, lambda make: make.staff("文化市民局")),
    "other_bureau": (Role.BUREAU_STAFF, lambda make: make.staff("消防局")),
    "admin": (Role.ADMIN, lambda make: make.admin()),
    "east_liaison": (Role.LIAISON, lambda make: make.liaison("東区")),
    "east_manager": (Role.WARD_MANAGER, lambda make: make.manager("東区")),
    "east_approver": (Role.WARD_MANAGER, lambda make: make.second_manager("東区")),
    "inactive_liaison": (Role.LIAISON, lambda make: make.liaison(active=False)),
    "inactive_manager": (Role.WARD_MANAGER, lambda make: make.user(Role.WARD_MANAGER, active=False)),
    "inactive_lead": (
        Role.BUREAU_STAFF,
        lambda make: make.user(Role.BUREAU_STAFF, bureau="環境局", active=False),
    ),
}


class World:
    """Actors and subjects for one test, all made through the real services."""

    def __init__(self, make):
        self.make = make
        self.session = make.session
        self.saved: dict[str, Any] = {}
        self._actors: dict[str, Any] = {}

    def actor(self, key: str):
        if key not in self._actors:
            self._actors[key] = ACTORS[key][1](self.make)
        return self._actors[key]

    def apply(self, who: str, subject, action: str, payload: dict | None = None):
        return workflow.apply(self.session, self.actor(who), subject, action, payload or {}, today=TODAY)

    def request(self, ward: str = "中央区") -> ServiceRequest:
        return self.make.request(self.actor("liaison" if ward == "中央区" else "east_liaison"))

    def issue(
        self, state: IssueState, *, ward: str = "中央区", related: bool = False, lead: bool = True
    ) -> WardIssue:
        """An issue (bundling one request when it has a lead) walked to ``state``."""
        manager_key = "manager" if ward == "中央区" else "east_manager"
        if lead:
            issue = self.make.issue(
                IssueState.DRAFT, ward=ward, manager=self.actor(manager_key), staff=self.actor("lead")
            )
        else:
            issue = workflow.create_issue(self.session, self.actor(manager_key), NEW_ISSUE, today=TODAY)
        if related:
            self.apply(manager_key, issue, "edit", {"related_bureaus": [self.make.bureau("文化市民局").id]})
        actors = {
            "manager": manager_key,
            "approver": manager_key.replace("manager", "approver"),
            "staff": "lead",
        }
        for who, action, payload in PATH_TO_STATE[state]:
            payload = dict(payload)
            if payload.get("executed") == "all":
                payload["executed"] = {line.id: line.allocated_yen for line in issue.budget_lines}
            self.apply(actors[who], issue, action, payload)
        assert issue.state == state
        return issue


@pytest.fixture
def world(make) -> World:
    return World(make)


# --- snapshots -----------------------------------------------------------------------------

COUNTED_TABLES = {
    "requests": ServiceRequest.__table__,
    "ward_issues": WardIssue.__table__,
    "budget_lines": BudgetLine.__table__,
    "progress_notes": ProgressNote.__table__,
    "history_events": HistoryEvent.__table__,
    "ward_issue_related_bureaus": issue_related_bureaus,
    "comments": Comment.__table__,
    "attachments": Attachment.__table__,
    "issue_inquiries": IssueInquiry.__table__,
    "issue_opinions": IssueOpinion.__table__,
    "good_practices": GoodPractice.__table__,
}


def row_counts(session) -> dict[str, int]:
    """Fresh ``SELECT COUNT(*)`` of each table that matters (after a flush), and numbers taken."""
    session.flush()
    counts = {
        name: session.scalar(select(func.count()).select_from(table))
        for name, table in COUNTED_TABLES.items()
    }
    counts["reference_numbers_taken"] = session.scalar(
        select(func.coalesce(func.sum(ReferenceCounter.value), 0))
    )
    return counts


def column_values(objects: list) -> dict[tuple, dict[str, Any]]:
    """The column values of ``objects``, by (class, identity)."""
    values = {}
    for obj in objects:
        state = sa.inspect(obj)
        values[(type(obj).__name__, state.identity)] = {
            attr.key: copy.deepcopy(getattr(obj, attr.key)) for attr in state.mapper.column_attrs
        }
    return values


def changed_objects(before: dict, after: dict) -> dict:
    return {key: (old, after.get(key)) for key, old in before.items() if after.get(key) != old}


def new_events(session, after_id: int) -> list[HistoryEvent]:
    return list(
        session.scalars(select(HistoryEvent).where(HistoryEvent.id > after_id).order_by(HistoryEvent.id))
    )


def last_event_id(session) -> int:
    return session.scalar(select(func.coalesce(func.max(HistoryEvent.id), 0)))


def subject_of(event: HistoryEvent):
    return event.service_request or event.ward_issue


# --- table rows and their checkers ---------------------------------------------------------

Payload = dict | Callable[["World", Any], dict]


def _payload(payload: Payload, w: World, subject) -> dict:
    return payload(w, subject) if callable(payload) else dict(payload)


@dataclass(frozen=True)
class Allowed:
    id: str
    setup: Callable[[World], Any]
    actor: str
    action: str
    payload: Payload
    from_state: Any
    to_state: Any
    grows: dict[str, int] = field(default_factory=dict)  # besides history_events
    # The side events, as (subject, action, from_state, to_state), known after the action.
    side: Callable[[World, Any, dict], list[tuple]] | None = None
    check: Callable[[World, Any, dict, HistoryEvent], None] | None = None


@dataclass(frozen=True)
class Refused:
    id: str
    setup: Callable[[World], Any]
    actor: str
    action: str
    payload: Payload
    message: str


def assert_allowed(w: World, case: Allowed) -> None:
    subject = case.setup(w)
    assert subject.state == case.from_state
    payload = _payload(case.payload, w, subject)
    actor = w.actor(case.actor)
    before, after_id = row_counts(w.session), last_event_id(w.session)

    event = workflow.apply(w.session, actor, subject, case.action, payload, today=TODAY)

    after = row_counts(w.session)
    assert subject.state == case.to_state
    events = new_events(w.session, after_id)
    assert [e for e in events if subject_of(e) is subject] == [event]
    assert (event.action, event.from_state, event.to_state, event.actor_id, event.actor_role) == (
        case.action,
        case.from_state.value,
        case.to_state.value,
        actor.id,
        actor.role.value,
    )
    side = [(subject_of(e), e.action, e.from_state, e.to_state, e.actor_id) for e in events if e is not event]
    expected_side = [(*row, actor.id) for row in (case.side(w, subject, payload) if case.side else [])]
    assert side == expected_side
    growth = {name: after[name] - before[name] for name in before}
    assert growth == {name: 0 for name in before} | {"history_events": 1 + len(expected_side)} | case.grows
    if case.check:
        case.check(w, subject, payload, event)


def assert_refused(w: World, case: Refused) -> None:
    subject = case.setup(w)
    payload = _payload(case.payload, w, subject)
    actor = w.actor(case.actor)
    state = subject.state
    counts_before = row_counts(w.session)
    loaded = list(w.session.identity_map.values())  # held, so none is garbage-collected meanwhile
    values_before = column_values(loaded)

    with pytest.raises(WorkflowError) as raised:
        workflow.apply(w.session, actor, subject, case.action, payload, today=TODAY)

    assert raised.value.message == case.message
    assert str(raised.value) == case.message
    assert subject.state == state
    assert not w.session.new, f"apply staged new objects before refusing: {w.session.new}"
    assert changed_objects(values_before, column_values(loaded)) == {}, "changed in memory"
    assert row_counts(w.session) == counts_before  # flushes whatever apply may have staged
    assert changed_objects(values_before, column_values(loaded)) == {}, "changed after flush"


def assert_table_covers(cases: list[Allowed], actions: dict) -> None:
    """Every (action, source state) and every (action, role) of a machine has an allowed row."""
    covered = {(case.action, case.from_state) for case in cases}
    assert {(name, source) for name, action in actions.items() for source in action.sources} <= covered
    roles = {(case.action, ACTORS[case.actor][0]) for case in cases}
    assert {(name, role) for name, action in actions.items() for role in action.roles} <= roles


# --- request setups ------------------------------------------------------------------------


def received(w: World) -> ServiceRequest:
    return w.request()


def handing_over(w: World) -> ServiceRequest:
    """A received request of 中央区, offered to 東区."""
    request = received(w)
    w.apply("manager", request, "hand_over", {"handover_ward": w.make.ward("東区").id, "comment": "所管違い"})
    return request


def east_center(w: World, request=None) -> dict:
    return {"center": w.make.ward("東区").centers[0].id}


def referred(w: World) -> ServiceRequest:
    request = received(w)
    w.apply("manager", request, "refer", {"referred_to": "中央区 土木センター"})
    return request


def answered(w: World) -> ServiceRequest:
    request = received(w)
    w.apply("liaison", request, "answer", ANSWER)
    return request


def withdrawn(w: World) -> ServiceRequest:
    request = received(w)
    w.apply("liaison", request, "withdraw", {"comment": "自治会で解決した"})
    return request


def after_fund_drawn(w: World) -> ServiceRequest:
    """A received request, after another request of the ward drew 29,600千円 of FY2020's fund."""
    w.apply("manager", received(w), "fund_from_ward", FUND | {"allocated_yen": 29_600_000})
    return received(w)


def received_with_fund(w: World) -> ServiceRequest:
    request = received(w)
    w.apply("manager", request, "fund_from_ward", FUND)
    return request


def inactive_east_center(w: World, request) -> dict:
    center = w.make.ward("東区").centers[0]
    center.active = False
    w.session.flush()
    return {"center": center.id}


def escalated_into(state: IssueState, continued: bool = False) -> Callable[[World], ServiceRequest]:
    """The request bundled in a ward issue in ``state`` (consulting after 継続協議 if ``continued``)."""

    def setup(w: World) -> ServiceRequest:
        issue = w.issue(state)
        if continued:
            w.apply("lead", issue, "decide", {"decision": "continue", "next_review_on": TOMORROW})
        request = issue.requests[0]
        assert request.state == RequestState.ESCALATED
        return request

    return setup


def into_issue(state: IssueState, ward: str = "中央区") -> Callable[[World, Any], dict]:
    def payload(w: World, request) -> dict:
        return {"ward_issue": w.issue(state, ward=ward), "comment": "同じ課題のためまとめる"}

    return payload


def with_inactive_bureau(w: World, request) -> dict:
    bureau = w.make.bureau("交通局")
    bureau.active = False
    w.session.flush()
    return NEW_ISSUE | {"lead_bureau": bureau.id}


# --- checks of allowed transitions ---------------------------------------------------------


def check_answer(w, request, payload, event):
    assert (request.answer_text, request.answer_kind, request.answered_on) == (
        "街灯を交換しました。",
        AnswerKind.RESOLVED,
        TODAY,
    )
    assert event.comment == "街灯を交換しました。"
    assert event.data == {"answer_kind": "resolved", "answered_on": "2024-06-03"}


def check_answer_keeps_issue(w, request, payload, event):
    check_answer(w, request, payload, event)
    assert request.ward_issue is not None and request in request.ward_issue.requests


def check_refer(w, request, payload, event):
    assert request.referred_to == "中央区 土木センター"
    assert event.data == {"referred_to": "中央区 土木センター"}


def liaison_in_charge(w, request):
    return {"assignee": w.actor("liaison").id}


def check_priority(w, request, payload, event):
    assert request.priority == Priority.HIGH
    assert event.data == {"old_priority": "medium", "new_priority": "high"}


def check_assign(w, request, payload, event):
    liaison = w.actor("liaison")
    assert request.assignee_id == liaison.id
    assert event.data == {
        "old_assignee": None,
        "new_assignee": liaison.display_name,
        "new_assignee_id": liaison.id,
    }


def check_escalate_new(w, request, payload, event):
    issue = request.ward_issue
    assert issue is not None and issue.state == IssueState.DRAFT
    assert (issue.title, issue.ward_id, issue.lead_bureau.name) == (
        "公園の街灯の老朽化",
        request.ward_id,
        "環境局",
    )
    assert re.fullmatch(r"CHUO-2024-K\d{3}", issue.reference)
    assert issue.requests == [request]
    assert event.data == {"ward_issue_id": issue.id, "ward_issue_reference": issue.reference}
    check_bundle_event(issue, request)


def check_escalate_existing(w, request, payload, event):
    issue = payload["ward_issue"]
    assert request.ward_issue is issue
    assert request in issue.requests and len(issue.requests) == 2
    assert event.comment == "同じ課題のためまとめる"
    assert event.data == {"ward_issue_id": issue.id, "ward_issue_reference": issue.reference}
    check_bundle_event(issue, request)


def check_bundle_event(issue, request):
    bundle = issue.events[-1]
    assert bundle.action == "bundle"
    assert bundle.data == {"request_id": request.id, "request_reference": request.reference}
    assert bundle.comment == f"{request.reference} {request.title}"


def check_withdraw(w, request, payload, event):
    assert event.comment == "重複して登録したため"


def check_reopen(w, request, payload, event):
    assert (request.answer_text, request.answer_kind, request.answered_on) == ("", None, None)
    assert event.comment == "住民から再度の相談"


def check_reopen_answered(w, request, payload, event):
    check_reopen(w, request, payload, event)
    assert event.data == {"previous_answer_kind": "resolved", "previous_answer_text": "街灯を交換しました。"}


def check_fund(w, request, payload, event):
    line = request.budget_lines[-1]
    assert (line.funding, line.fiscal_year, line.project_name, line.allocated_yen) == (
        Funding.WARD_FUND,
        2020,
        "カーブミラー修繕",
        500_000,
    )
    assert (line.ward_id, line.service_request_id, line.ward_issue_id, line.bureau_id) == (
        request.ward_id,
        request.id,
        None,
        None,
    )
    assert event.data == {
        "fiscal_year": 2020,
        "project_name": "カーブミラー修繕",
        "allocated_yen": 500_000,
        "funding": "ward_fund",
    }


def check_hand_over(w, request, payload, event):
    assert request.handover_ward.name == "東区" and request.ward.name == "中央区"
    assert event.comment == "所管違い"
    assert event.data == {"from_ward": "中央区", "to_ward": "東区"}


def check_accepted(w, request, payload, event):
    center = w.make.ward("東区").centers[0]
    assert (request.ward.name, request.center, request.handover_ward_id) == ("東区", center, None)
    assert re.fullmatch(r"CHUO-.*", request.reference)  # the reference number stays
    assert request.answer_due_on == TODAY + dt.timedelta(days=14)
    assert event.data == {
        "from_ward": "中央区",
        "to_ward": "東区",
        "from_center": "中央区まちづくりセンター",
        "to_center": center.name,
    }


def check_back_to_sender(key: str) -> Callable:
    def check(w, request, payload, event):
        assert (request.ward.name, request.center.name) == ("中央区", "中央区まちづくりセンター")
        assert request.handover_ward_id is None
        assert event.data == {"from_ward": "中央区", key: "東区"}
        assert event.comment == payload["comment"]

    return check


def side_new_issue(w, request, payload):
    issue = request.ward_issue
    return [
        (issue, "create", None, IssueState.DRAFT),
        (issue, "bundle", IssueState.DRAFT, IssueState.DRAFT),
    ]


def side_bundle(w, request, payload):
    issue = payload["ward_issue"]
    return [(issue, "bundle", issue.state, issue.state)]


def drawn_then(move: str | None = None) -> Callable[[World], ServiceRequest]:
    """A received request that drew on the ward's fund, then taken to another state by ``move``."""
    moves = {
        "refer": {"referred_to": "中央区 土木センター"},
        "escalate": NEW_ISSUE,
        "answer": ANSWER,
        "withdraw": {"comment": "重複して登録したため"},
    }

    def setup(w: World) -> ServiceRequest:
        request = received(w)
        w.apply("manager", request, "fund_from_ward", FUND)
        if move:
            w.apply("manager", request, move, moves[move])
        return request

    setup.__name__ = f"drawn-then-{move or 'received'}"
    return setup


def first_draw(extra: dict) -> Callable[[World, Any], dict]:
    def payload(w: World, request) -> dict:
        return {"budget_line": request.budget_lines[0].id, **extra}

    return payload


def check_changes(*changes: tuple, reason: str) -> Callable:
    """The event holds exactly ``changes`` (field, old, new) and the reason."""

    def check(w, subject, payload, event):
        assert [(c["field"], c["old"], c["new"]) for c in event.data["changes"]] == list(changes)
        assert event.comment == reason

    return check


def check_draw_cancelled(w, request, payload, event):
    line = request.budget_lines[0]
    assert (line.cancel_reason, line.cancelled_by_id) == ("重複", event.actor_id) and line.cancelled_at
    assert event.data["budget_line_id"] == line.id and event.comment == "重複"


# --- the allowed table ---------------------------------------------------------------------

R = RequestState
DECIDED = [
    IssueState.DECIDED,
    IssueState.NOT_ADOPTED,
    IssueState.BUDGETED,
    IssueState.IMPLEMENTING,
    IssueState.COMPLETED,
]
OPEN = [
    IssueState.DRAFT,
    IssueState.REGISTERED,
    IssueState.CONSULTING,
    IssueState.DECIDED,
    IssueState.BUDGETED,
    IssueState.IMPLEMENTING,
]
WITHDRAW = {"comment": "重複して登録したため"}
REOPEN = {"comment": "住民から再度の相談"}

ALLOWED = [
    Allowed("answer-received-liaison", received, "liaison", "answer", ANSWER, R.RECEIVED, R.ANSWERED,
            check=check_answer),
    Allowed("answer-received-manager-iso-date", received, "manager", "answer",
            ANSWER | {"answered_on": "2024-06-03"}, R.RECEIVED, R.ANSWERED, check=check_answer),
    Allowed("answer-referred", referred, "liaison", "answer", ANSWER, R.REFERRED, R.ANSWERED,
            check=check_answer),
    *[
        Allowed(f"answer-escalated-issue-{state}", escalated_into(state), "manager", "answer", ANSWER,
                R.ESCALATED, R.ANSWERED, check=check_answer_keeps_issue)
        for state in DECIDED
    ],
    Allowed("refer", received, "manager", "refer", {"referred_to": " 中央区 土木センター "}, R.RECEIVED,
            R.REFERRED, check=check_refer),
    Allowed("escalate-new-issue", received, "manager", "escalate",
            lambda w, r: NEW_ISSUE | {"lead_bureau": w.make.bureau("環境局").id}, R.RECEIVED, R.ESCALATED,
            grows={"ward_issues": 1, "reference_numbers_taken": 1}, side=side_new_issue,
            check=check_escalate_new),
    *[
        Allowed(f"escalate-into-{state}-issue", received, "manager", "escalate", into_issue(state),
                R.RECEIVED, R.ESCALATED, side=side_bundle, check=check_escalate_existing)
        for state in OPEN
    ],
    Allowed("withdraw-liaison", received, "liaison", "withdraw", WITHDRAW, R.RECEIVED, R.WITHDRAWN,
            check=check_withdraw),
    Allowed("withdraw-manager", received, "manager", "withdraw", WITHDRAW, R.RECEIVED, R.WITHDRAWN,
            check=check_withdraw),
    *[
        Allowed(f"fund-from-ward-{state}", setup, "manager", "fund_from_ward", FUND, state, state,
                grows={"budget_lines": 1}, check=check_fund)
        for setup, state in ((received, R.RECEIVED), (referred, R.REFERRED), (answered, R.ANSWERED))
    ],
    Allowed("reopen-answered", answered, "manager", "reopen", REOPEN, R.ANSWERED, R.RECEIVED,
            check=check_reopen_answered),
    Allowed("hand-over", received, "manager", "hand_over",
            lambda w, r: {"handover_ward": w.make.ward("東区").id, "comment": "所管違い"}, R.RECEIVED,
            R.HANDING_OVER, check=check_hand_over),
    Allowed("accept-handover", handing_over, "east_manager", "accept_handover", east_center, R.HANDING_OVER,
            R.RECEIVED, check=check_accepted),
    Allowed("decline-handover", handing_over, "east_manager", "decline_handover", {"comment": "中央区の所管"},
            R.HANDING_OVER, R.RECEIVED, check=check_back_to_sender("declined_by")),
    Allowed("cancel-handover", handing_over, "manager", "cancel_handover", {"comment": "誤りでした"},
            R.HANDING_OVER, R.RECEIVED, check=check_back_to_sender("to_ward")),
    Allowed("reopen-withdrawn", withdrawn, "manager", "reopen", REOPEN, R.WITHDRAWN, R.RECEIVED,
            check=check_reopen),
    *[
        row
        for setup, state in ((received, R.RECEIVED), (referred, R.REFERRED), (answered, R.ANSWERED),
                             (withdrawn, R.WITHDRAWN), (escalated_into(IssueState.CONSULTING), R.ESCALATED),
                             (handing_over, R.HANDING_OVER))
        for row in (
            Allowed(f"comment-{state}", setup, "liaison", "comment", COMMENT, state, state,
                    grows={"comments": 1}, check=check_comment),
            Allowed(f"attach-{state}", setup, "liaison", "attach", a_pdf, state, state,
                    grows={"attachments": 1}, check=check_attachment),
        )
    ],
    *[
        row
        for who, setup, state in (("manager", received, R.RECEIVED), ("admin", received, R.RECEIVED),
                                  ("lead", escalated_into(IssueState.CONSULTING), R.ESCALATED))
        for row in (
            Allowed(f"comment-{state}-by-{who}", setup, who, "comment", COMMENT, state, state,
                    grows={"comments": 1}, check=check_comment),
            Allowed(f"attach-{state}-by-{who}", setup, who, "attach", a_pdf, state, state,
                    grows={"attachments": 1}, check=check_attachment),
        )
    ],
    # corrections (訂正) and 取消
    *[
        Allowed(f"correct-request-{state}-by-{who}", setup, who, "correct_request",
                {"location_text": "大江2丁目", "comment": "誤記"}, state, state,
                check=check_changes(("location_text", "", "大江2丁目"), reason="誤記"))
        for setup, state in ((received, R.RECEIVED), (referred, R.REFERRED), (answered, R.ANSWERED),
                             (escalated_into(IssueState.DRAFT), R.ESCALATED))
        for who in ("liaison", "manager", "admin")
    ],
    *[
        Allowed(f"correct-answer-by-{who}", answered, who, "correct_answer",
                ANSWER | {"answer_kind": "information", "comment": "区分の誤り"}, R.ANSWERED, R.ANSWERED,
                check=check_changes(("answer_kind", "resolved", "information"), reason="区分の誤り"))
        for who in ("liaison", "manager", "admin")
    ],
    *[
        Allowed(f"correct-fund-draw-{state}-by-{who}", drawn_then(move), who, "correct_fund_draw",
                first_draw({"allocated_yen": "400,000", "comment": "金額の誤り"}), state, state,
                check=check_changes(("allocated_yen", 500_000, 400_000), reason="金額の誤り"))
        for move, state in ((None, R.RECEIVED), ("refer", R.REFERRED), ("escalate", R.ESCALATED),
                            ("answer", R.ANSWERED), ("withdraw", R.WITHDRAWN))
        for who in ("manager", "admin")
    ],
    *[
        Allowed(f"cancel-fund-draw-{state}-by-{who}", drawn_then(move), who, "cancel_fund_draw",
                first_draw({"comment": "重複"}), state, state, check=check_draw_cancelled)
        for move, state in ((None, R.RECEIVED), ("refer", R.REFERRED), ("escalate", R.ESCALATED),
                            ("answer", R.ANSWERED), ("withdraw", R.WITHDRAWN))
        for who in ("manager", "admin")
    ],
    *[
        Allowed(f"set-priority-{state}-by-{who}", setup, who, "set_priority", {"priority": "high"},
                state, state, check=check_priority)
        for setup, state in ((received, R.RECEIVED), (referred, R.REFERRED),
                             (escalated_into(IssueState.DRAFT), R.ESCALATED))
        for who in ("liaison", "manager")
    ],
    *[
        Allowed(f"assign-{state}", setup, "manager", "assign", liaison_in_charge, state, state,
                check=check_assign)
        for setup, state in ((received, R.RECEIVED), (referred, R.REFERRED),
                             (escalated_into(IssueState.DRAFT), R.ESCALATED))
    ],
]  # fmt: skip


@pytest.mark.parametrize("case", ALLOWED, ids=lambda case: case.id)
def test_allowed_request_transition(world, case):
    assert_allowed(world, case)


def test_allowed_table_covers_every_request_transition_and_role():
    assert_table_covers(ALLOWED, REQUEST_ACTIONS)


# --- the refused table ---------------------------------------------------------------------

OTHER_WARD = "他の区の要望は操作できません。"
INACTIVE = "このアカウントは無効です。"
NOT_BEFORE_DECISION = "区重要課題の協議結果が出るまで、この要望には回答できません。"
ROLE_MESSAGES = {
    "answer": "「住民へ回答」は地域担当職員、区役所 管理職だけが行えます。",
    "refer": "「担当課へ回付」は区役所 管理職だけが行えます。",
    "escalate": "「区重要課題にする」は区役所 管理職だけが行えます。",
    "withdraw": "「取下げ」は地域担当職員、区役所 管理職だけが行えます。",
    "reopen": "「再開」は区役所 管理職だけが行えます。",
    "fund_from_ward": "「まちづくり推進経費を充当」は区役所 管理職だけが行えます。",
    "hand_over": "「他区へ引継ぎ」は区役所 管理職だけが行えます。",
    "cancel_handover": "「引継ぎを取り消す」は区役所 管理職だけが行えます。",
    "set_priority": "「緊急度を変更」は地域担当職員、区役所 管理職だけが行えます。",
    "assign": "「担当者を設定」は区役所 管理職だけが行えます。",
}
# A valid call of each action, for the rows where only the actor is wrong.
VALID = {
    "answer": (received, ANSWER),
    "refer": (received, {"referred_to": "中央区 土木センター"}),
    "escalate": (received, NEW_ISSUE),
    "withdraw": (received, WITHDRAW),
    "reopen": (answered, REOPEN),
    "fund_from_ward": (received, FUND),
    "hand_over": (received, lambda w, r: {"handover_ward": w.make.ward("東区").id, "comment": "所管違い"}),
    "cancel_handover": (handing_over, {"comment": "誤りでした"}),
    "set_priority": (received, {"priority": "high"}),
    "assign": (received, lambda w, r: {"assignee": w.actor("liaison").id}),
}


def wrong_state(setup, action: str, label: str, action_label: str) -> Refused:
    return Refused(f"{action}-{setup.__name__}", setup, "manager", action, VALID[action][1],
                   f"「{label}」の要望には「{action_label}」はできません。")  # fmt: skip


REFUSED = [
    # wrong state
    wrong_state(answered, "answer", "回答済み", "住民へ回答"),
    wrong_state(withdrawn, "answer", "取下げ", "住民へ回答"),
    wrong_state(referred, "refer", "回付", "担当課へ回付"),
    wrong_state(answered, "refer", "回答済み", "担当課へ回付"),
    wrong_state(referred, "escalate", "回付", "区重要課題にする"),
    wrong_state(answered, "escalate", "回答済み", "区重要課題にする"),
    wrong_state(referred, "withdraw", "回付", "取下げ"),
    wrong_state(answered, "withdraw", "回答済み", "取下げ"),
    wrong_state(received, "reopen", "受付", "再開"),
    wrong_state(referred, "reopen", "回付", "再開"),
    wrong_state(withdrawn, "fund_from_ward", "取下げ", "まちづくり推進経費を充当"),
    Refused("refer-escalated", escalated_into(IssueState.DRAFT), "manager", "refer",
            VALID["refer"][1], "「区重要課題化」の要望には「担当課へ回付」はできません。"),
    Refused("escalate-escalated", escalated_into(IssueState.DRAFT), "manager", "escalate",
            NEW_ISSUE, "「区重要課題化」の要望には「区重要課題にする」はできません。"),
    Refused("fund-from-ward-escalated", escalated_into(IssueState.CONSULTING), "manager", "fund_from_ward",
            FUND, "「区重要課題化」の要望には「まちづくり推進経費を充当」はできません。"),
    Refused("withdraw-escalated", escalated_into(IssueState.DRAFT), "liaison", "withdraw",
            WITHDRAW, "「区重要課題化」の要望には「取下げ」はできません。"),
    # wrong role: the liaison may not refer, escalate or reopen; bureau staff and admin nothing
    *[
        Refused(f"{action}-by-liaison", VALID[action][0], "liaison", action, VALID[action][1],
                ROLE_MESSAGES[action])
        for action in ("refer", "escalate", "reopen", "fund_from_ward", "hand_over", "cancel_handover")
    ],
    *[
        Refused(f"{action}-by-{who}", VALID[action][0], who, action, VALID[action][1], ROLE_MESSAGES[action])
        for action in ROLE_MESSAGES
        for who in ("admin", "lead")
    ],
    Refused("unknown-action", received, "manager", "approve", {}, "この操作はできません。"),
    Refused("assign-by-liaison", received, "liaison", "assign", VALID["assign"][1], ROLE_MESSAGES["assign"]),
    wrong_state(answered, "set_priority", "回答済み", "緊急度を変更"),
    wrong_state(withdrawn, "assign", "取下げ", "担当者を設定"),
    Refused("set-priority-by-east-liaison", received, "east_liaison", "set_priority", {"priority": "high"},
            OTHER_WARD),
    Refused("set-priority-without-priority", received, "liaison", "set_priority", {"priority": ""},
            "緊急度を入力してください。"),
    Refused("assign-another-wards-liaison", received, "manager", "assign",
            lambda w, r: {"assignee": w.actor("east_liaison").id},
            "担当者には、この区の地域担当職員か管理職を選んでください。"),
    # other ward
    *[
        Refused(f"{action}-by-east-manager", VALID[action][0], "east_manager", action, VALID[action][1],
                OTHER_WARD)
        for action in ROLE_MESSAGES
    ],
    Refused("answer-by-east-liaison", received, "east_liaison", "answer", ANSWER, OTHER_WARD),
    Refused("withdraw-by-east-liaison", received, "east_liaison", "withdraw", WITHDRAW, OTHER_WARD),
    # deactivated users
    Refused("answer-by-inactive-liaison", received, "inactive_liaison", "answer", ANSWER, INACTIVE),
    Refused("refer-by-inactive-manager", received, "inactive_manager", "refer", VALID["refer"][1], INACTIVE),
    Refused("reopen-by-inactive-manager", answered, "inactive_manager", "reopen", REOPEN, INACTIVE),
    # missing required fields
    Refused("answer-without-text", received, "liaison", "answer", ANSWER | {"answer_text": ""},
            "回答内容を入力してください。"),
    Refused("answer-with-blank-text", received, "liaison", "answer", ANSWER | {"answer_text": "  \n "},
            "回答内容を入力してください。"),
    Refused("answer-without-kind", received, "liaison", "answer", ANSWER | {"answer_kind": None},
            "回答区分を入力してください。"),
    Refused("answer-without-date", received, "liaison", "answer", ANSWER | {"answered_on": ""},
            "回答日を入力してください。"),
    Refused("refer-without-referred-to", received, "manager", "refer", {"referred_to": " "},
            "回付先を入力してください。"),
    Refused("withdraw-without-reason", received, "liaison", "withdraw", {}, "理由を入力してください。"),
    Refused("reopen-without-reason", answered, "manager", "reopen", {"comment": ""},
            "理由を入力してください。"),
    Refused("escalate-without-issue-or-title", received, "manager", "escalate", {"title": "  "},
            "新しい区重要課題の件名を入力してください。"),
    Refused("fund-from-ward-without-project", received, "manager", "fund_from_ward",
            FUND | {"project_name": ""}, "事業名を入力してください。"),
    Refused("fund-from-ward-without-amount", received, "manager", "fund_from_ward",
            FUND | {"allocated_yen": None}, "充当額を入力してください。"),
    # invalid values
    Refused("fund-from-ward-zero", received, "manager", "fund_from_ward", FUND | {"allocated_yen": 0},
            "充当額が正しくありません。"),
    Refused("fund-from-ward-year-without-fund", received, "manager", "fund_from_ward",
            FUND | {"fiscal_year": 2024}, "令和6年度 (2024)のまちづくり推進経費が設定されていません。"),
    Refused("fund-from-ward-beyond-allocation", received, "manager", "fund_from_ward",
            FUND | {"allocated_yen": 30_000_001}, "まちづくり推進経費の残額 (30,000千円) を超えています。"),
    Refused("fund-from-ward-beyond-remaining", after_fund_drawn, "manager", "fund_from_ward", FUND,
            "まちづくり推進経費の残額 (400千円) を超えています。"),
    Refused("answer-in-the-future", received, "liaison", "answer", ANSWER | {"answered_on": TOMORROW},
            "回答日に未来の日付は指定できません。"),
    Refused("answer-before-received", received, "liaison", "answer", ANSWER | {"answered_on": YESTERDAY},
            "回答日が受付日より前になっています。"),
    Refused("answer-with-bad-date", received, "liaison", "answer", ANSWER | {"answered_on": "2024-13-01"},
            "回答日の日付が正しくありません。"),
    Refused("answer-with-bad-kind", received, "liaison", "answer", ANSWER | {"answer_kind": "maybe"},
            "回答区分が正しくありません。"),
    Refused("escalate-with-inactive-lead-bureau", received, "manager", "escalate", with_inactive_bureau,
            "主管局を選んでください。"),
    Refused("escalate-with-unknown-lead-bureau", received, "manager", "escalate",
            NEW_ISSUE | {"lead_bureau": 987654}, "主管局を選んでください。"),
    # hand-over: to another ward only, with a reason; taken or declined by that ward's managers
    Refused("hand-over-to-own-ward", received, "manager", "hand_over",
            lambda w, r: {"handover_ward": r.ward_id, "comment": "所管違い"},
            "自分の区には引き継げません。引継ぎ先の区を選んでください。"),
    Refused("hand-over-to-unknown-ward", received, "manager", "hand_over",
            {"handover_ward": 987654, "comment": "所管違い"}, "引継ぎ先の区を選んでください。"),
    Refused("hand-over-without-ward", received, "manager", "hand_over", {"comment": "所管違い"},
            "引継ぎ先の区を入力してください。"),
    Refused("hand-over-without-reason", received, "manager", "hand_over",
            lambda w, r: {"handover_ward": w.make.ward("東区").id}, "理由を入力してください。"),
    Refused("hand-over-after-fund-drawn", received_with_fund, "manager", "hand_over",
            lambda w, r: {"handover_ward": w.make.ward("東区").id, "comment": "所管違い"},
            "まちづくり推進経費を充当した要望は他区へ引き継げません。"),
    Refused("hand-over-referred", referred, "manager", "hand_over",
            lambda w, r: {"handover_ward": w.make.ward("東区").id, "comment": "所管違い"},
            "「回付」の要望には「他区へ引継ぎ」はできません。"),
    Refused("hand-over-twice", handing_over, "manager", "hand_over",
            lambda w, r: {"handover_ward": w.make.ward("西区").id, "comment": "所管違い"},
            "「他区へ引継ぎ中」の要望には「他区へ引継ぎ」はできません。"),
    Refused("answer-handing-over", handing_over, "liaison", "answer", ANSWER,
            "「他区へ引継ぎ中」の要望には「住民へ回答」はできません。"),
    Refused("accept-handover-by-sending-ward", handing_over, "manager", "accept_handover",
            lambda w, r: {"center": r.center_id}, "引継ぎ先の区の管理職だけが操作できます。"),
    Refused("decline-handover-by-sending-ward", handing_over, "manager", "decline_handover",
            {"comment": "中央区の所管"}, "引継ぎ先の区の管理職だけが操作できます。"),
    Refused("accept-handover-by-east-liaison", handing_over, "east_liaison", "accept_handover", east_center,
            "「引継ぎを受ける」は区役所 管理職だけが行えます。"),
    Refused("accept-handover-into-sending-ward-center", handing_over, "east_manager", "accept_handover",
            lambda w, r: {"center": r.center_id}, "引き受けるまちづくりセンターを選んでください。"),
    Refused("accept-handover-into-inactive-center", handing_over, "east_manager", "accept_handover",
            inactive_east_center, "引き受けるまちづくりセンターを選んでください。"),
    Refused("accept-handover-without-center", handing_over, "east_manager", "accept_handover", {},
            "まちづくりセンターを入力してください。"),
    Refused("decline-handover-without-reason", handing_over, "east_manager", "decline_handover",
            {"comment": " "}, "理由を入力してください。"),
    Refused("accept-handover-received", received, "east_manager", "accept_handover", east_center,
            "引継ぎ先の区の管理職だけが操作できます。"),
    # an escalated request is answered only once its issue has a decision
    *[
        Refused(f"answer-escalated-issue-{state}", escalated_into(state), "liaison", "answer", ANSWER,
                NOT_BEFORE_DECISION)
        for state in (IssueState.DRAFT, IssueState.REGISTERED, IssueState.CONSULTING)
    ],
    Refused("answer-escalated-issue-continued", escalated_into(IssueState.CONSULTING, continued=True),
            "manager", "answer", ANSWER, NOT_BEFORE_DECISION),
    # escalating only into an open issue of the same ward
    Refused("escalate-into-other-ward-issue", received, "manager", "escalate",
            into_issue(IssueState.DRAFT, ward="東区"), "他の区の区重要課題にはまとめられません。"),
    *[
        Refused(f"escalate-into-{state}-issue", received, "manager", "escalate", into_issue(state),
                f"「{state.label}」の区重要課題には要望を追加できません。")
        for state in (IssueState.COMPLETED, IssueState.WITHDRAWN, IssueState.NOT_ADOPTED)
    ],
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSED, ids=lambda case: case.id)
def test_refused_request_action_changes_nothing(world, case):
    assert_refused(world, case)


def test_refused_ids_are_unique():
    ids = [case.id for case in REFUSED] + [case.id for case in ALLOWED]
    assert len(ids) == len(set(ids))


# --- a whole life ----------------------------------------------------------------------------


def test_request_history_reads_as_its_life(world):
    """received → answered → reopened → referred → answered, one event per step, in order."""
    request = received(world)
    world.apply("liaison", request, "answer", ANSWER)
    world.apply("manager", request, "reopen", REOPEN)
    world.apply("manager", request, "refer", {"referred_to": "中央区 土木センター"})
    world.apply("liaison", request, "answer", ANSWER | {"answer_kind": "information"})
    world.session.expire_all()
    events = world.session.scalars(
        select(HistoryEvent).where(HistoryEvent.service_request_id == request.id).order_by(HistoryEvent.id)
    ).all()
    assert [(e.action, e.from_state, e.to_state, e.actor_role) for e in events] == [
        ("create", None, "received", "liaison"),
        ("answer", "received", "answered", "liaison"),
        ("reopen", "answered", "received", "ward_manager"),
        ("refer", "received", "referred", "ward_manager"),
        ("answer", "referred", "answered", "liaison"),
    ]
    assert request.answer_kind == AnswerKind.INFORMATION
    assert all(e.created_at.tzinfo is not None for e in events)


def test_escalated_request_waits_for_the_decision_then_can_be_answered(world):
    request = escalated_into(IssueState.CONSULTING)(world)
    issue = request.ward_issue
    with pytest.raises(WorkflowError, match="協議結果が出るまで"):
        world.apply("liaison", request, "answer", ANSWER)
    world.apply("lead", issue, "decide", {"decision": Decision.PARTIAL.value, "decision_reason": "一部"})
    world.apply("liaison", request, "answer", ANSWER)
    assert request.state == RequestState.ANSWERED and issue.state == IssueState.DECIDED
