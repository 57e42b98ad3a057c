"""The ward issue (区重要課題) state machine: every allowed transition and a table of refused ones.

The rows and checkers are shared with tests/test_workflow_requests.py (see its docstring).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select

from tracker import workflow
from tracker.effects import city_settings, publication
from tracker.effects.approval import OWN_DRAFT
from tracker.effects.support import MAX_YEN
from tracker.models import BudgetLine, ProgressNote, WardIssue
from tracker.monitoring_models import GoodPractice, IssuePublication
from tracker.states import REGISTERED_ISSUE_STATES, Decision, IssueState, RequestState
from tracker.teamwork_models import IssueInquiry, IssueOpinion
from tracker.workflow import ISSUE_ACTIONS

from .factories import PATH_TO_STATE, TODAY
from .teamwork_cases import COMMENT, a_pdf, check_attachment, check_comment, issue_in
from .test_workflow_requests import (
    NEW_ISSUE,
    TOMORROW,
    YESTERDAY,
    Allowed,
    Refused,
    World,
    assert_allowed,
    assert_refused,
    assert_table_covers,
    check_changes,
)

S = IssueState
LINE = {"fiscal_year": 2025, "project_name": "防犯灯設置事業", "allocated_yen": 500_000}
FIRST_LINE = "街灯整備事業"  # the budget line every factory-walked budgeted issue has (2,000,000 yen)


@pytest.fixture
def world(make) -> World:
    return World(make)


# --- setups --------------------------------------------------------------------------------


def at(state: IssueState, *, related: bool = False, lead: bool = True) -> Callable[[World], WardIssue]:
    def setup(w: World) -> WardIssue:
        return w.issue(state, related=related, lead=lead)

    setup.__name__ = f"{state}{'-related' if related else ''}{'' if lead else '-no-lead'}"
    return setup


def continued(w: World) -> WardIssue:
    """Consulting, after the lead bureau said 継続協議 once."""
    issue = w.issue(S.CONSULTING)
    w.apply("lead", issue, "decide", {"decision": "continue", "next_review_on": TOMORROW})
    return issue


def with_second_line(state: IssueState) -> Callable[[World], WardIssue]:
    def setup(w: World) -> WardIssue:
        issue = w.issue(S.BUDGETED)
        w.apply("lead", issue, "add_budget_line", LINE)
        if state == S.IMPLEMENTING:
            w.apply("lead", issue, "start")
        assert issue.state == state and len(issue.budget_lines) == 2
        return issue

    return setup


def within_existing(state: IssueState) -> Callable[[World], WardIssue]:
    def setup(w: World) -> WardIssue:
        issue = w.issue(S.DECIDED)
        w.apply("lead", issue, "budget", {"within_existing_budget": True})
        if state == S.IMPLEMENTING:
            w.apply("lead", issue, "start")
        assert issue.state == state and issue.budget_lines == []
        return issue

    return setup


def bundling_two(state: IssueState) -> Callable[[World], WardIssue]:
    """An issue in ``state`` with two escalated requests (remembered as ``w.saved['bundled']``)."""

    def setup(w: World) -> WardIssue:
        issue = w.issue(state)
        w.apply("manager", w.request(), "escalate", {"ward_issue": issue})
        w.saved["bundled"] = list(issue.requests)
        assert len(w.saved["bundled"]) == 2
        return issue

    return setup


def self_approval_allowed(state: IssueState) -> Callable[[World], WardIssue]:
    """An issue in ``state`` of a city that turned two pairs of eyes off."""

    def setup(w: World) -> WardIssue:
        city_settings.set_on(w.session, city_settings.TWO_EYES_APPROVAL, False)
        return w.issue(state)

    setup.__name__ = f"{state}-two-eyes-off"
    return setup


def chosen(who: str) -> Callable[[World, WardIssue], dict]:
    return lambda w, issue: {"owner": w.actor(who).id}


def owned_by_liaison(w: World) -> WardIssue:
    issue = w.issue(S.DRAFT)
    w.apply("manager", issue, "assign_ward_owner", {"owner": w.actor("liaison").id})
    return issue


def title_only(w: World) -> WardIssue:
    """A draft with a title and nothing else."""
    return workflow.create_issue(w.session, w.actor("manager"), {"title": "件名だけ"}, today=TODAY)


def bureau_id(name: str) -> Callable[[World], int]:
    return lambda w: w.make.bureau(name).id


def executed_all(w: World, issue: WardIssue) -> dict:
    amounts = {line.id: line.allocated_yen - 100_000 * index for index, line in enumerate(issue.budget_lines)}
    return {"outcome": "LED街灯を20基設置した", "executed": amounts}


def executed_only_first(w: World, issue: WardIssue) -> dict:
    return {"outcome": "設置した", "executed": {issue.budget_lines[0].id: 2_000_000}}


def executed_value(value) -> Callable[[World, WardIssue], dict]:
    return lambda w, issue: {"outcome": "設置した", "executed": {str(issue.budget_lines[0].id): value}}


def send_with_inactive_lead(w: World, issue: WardIssue) -> dict:
    bureau = w.make.bureau("交通局")
    bureau.active = False
    w.session.flush()
    return {"lead_bureau": bureau.id}


# --- checks of allowed transitions ---------------------------------------------------------


def check_edit_title(w, issue, payload, event):
    assert issue.title == "街灯のLED化"
    assert event.data == {"changes": {"title": "街灯のLED化"}}


def check_edit_bureaus(w, issue, payload, event):
    assert issue.proposal == "防犯灯も合わせて更新する"
    assert [b.name for b in issue.related_bureaus] == ["文化市民局"]
    assert event.data == {
        "changes": {"proposal": "防犯灯も合わせて更新する", "related_bureaus": ["文化市民局"]}
    }


def check_sent(w, issue, payload, event):
    assert issue.sent_at is not None and issue.lead_bureau.name == "環境局"
    assert event.data == {"lead_bureau": "環境局", "related_bureaus": []}


def check_sent_with_lead(w, issue, payload, event):
    assert issue.lead_bureau.name == "消防局"
    # the lead is never also a related bureau
    assert [b.name for b in issue.related_bureaus] == ["文化市民局"]
    assert event.data == {"lead_bureau": "消防局", "related_bureaus": ["文化市民局"]}


def check_decided(decision: Decision, reason: str = "") -> Callable:
    def check(w, issue, payload, event):
        assert (issue.decision, issue.decision_reason, issue.decided_on) == (decision, reason, TODAY)
        assert issue.next_review_on is None
        assert event.data == {"decision": decision.value}
        assert event.comment == reason

    return check


def check_continue(w, issue, payload, event):
    assert (issue.decision, issue.next_review_on, issue.decided_on) == (Decision.CONTINUE, TOMORROW, None)
    assert event.data == {"decision": "continue", "next_review_on": str(TOMORROW)}


def check_new_line(project: str, yen: int, count: int) -> Callable:
    def check(w, issue, payload, event):
        assert len(issue.budget_lines) == count
        line = next(line for line in issue.budget_lines if line.project_name == project)
        assert (line.allocated_yen, line.executed_yen, line.fiscal_year) == (yen, None, 2025)
        assert (line.bureau.name, line.ward_id, line.funding.value) == ("環境局", issue.ward_id, "bureau")
        assert event.data == {"fiscal_year": 2025, "project_name": project, "allocated_yen": yen}

    return check


def check_within_existing(w, issue, payload, event):
    assert issue.within_existing_budget is True and issue.budget_lines == []
    assert event.data == {"within_existing_budget": True}


def check_note_by(who: str) -> Callable:
    def check(w, issue, payload, event):
        note = issue.progress_notes[-1]
        assert (note.body, note.author_id) == ("地元説明会を開催した", w.actor(who).id)
        assert w.session.scalar(select(ProgressNote).where(ProgressNote.ward_issue_id == issue.id)) is note
        assert event.comment == "地元説明会を開催した"

    return check


def check_completed(w, issue, payload, event):
    assert [(line.allocated_yen, line.executed_yen) for line in issue.budget_lines] == [
        (2_000_000, 2_000_000),
        (500_000, 400_000),
    ]
    assert issue.outcome == "LED街灯を20基設置した"
    assert event.data == {"executed_yen": {str(k): v for k, v in payload["executed"].items()}}


def check_completed_without_lines(w, issue, payload, event):
    assert issue.outcome == "既存予算で対応した" and event.data == {"executed_yen": {}}


def check_withdrawn(w, issue, payload, event):
    assert issue.requests == []
    for request in w.saved["bundled"]:
        assert (request.state, request.ward_issue_id) == (RequestState.RECEIVED, None)
        assert request.events[-1].data == {"ward_issue_id": issue.id}
    assert event.comment == "区の事業で対応するため"


def check_public(w, issue, payload, event):
    assert issue.is_public is True and event.data == {"is_public": True}


def in_library(w: World) -> WardIssue:
    """Completed, and marked as a good practice (事例集)."""
    issue = w.issue(S.COMPLETED)
    w.apply("manager", issue, "mark_good_practice", {"summary": PRACTICE})
    return issue


def library_entry(w: World, issue: WardIssue) -> GoodPractice | None:
    return w.session.scalar(select(GoodPractice).where(GoodPractice.ward_issue_id == issue.id))


def check_practice(old: str | None, new: str | None) -> Callable:
    def check(w, issue, payload, event):
        assert event.data == {"old_summary": old, "new_summary": new}
        entry = library_entry(w, issue)
        assert (entry.summary if entry else None) == new
        if new is not None:
            assert entry.marked_by_id == w.actor("manager").id

    return check


PUBLIC_TEXT = {
    "title": "公園の街灯をLEDに更新します",
    "summary": "老朽化した街灯をLED街灯に更新します。",
    "decision_text": "対応することになりました。",
    "budget_text": "2,000千円",
    "outcome": "",
    "progress_text": "",
}


def written(state: IssueState, *, approved: bool = False) -> Callable[[World], WardIssue]:
    """An issue in ``state`` whose public text the manager wrote (and the approver approved)."""

    def setup(w: World) -> WardIssue:
        issue = w.issue(state)
        w.apply("manager", issue, "write_public_text", PUBLIC_TEXT)
        if approved:
            w.apply("approver", issue, "approve_public_text")
        return issue

    setup.__name__ = f"{state}-written{'-approved' if approved else ''}"
    return setup


def written_with_two_eyes_off(w: World) -> WardIssue:
    """Consulting, its public text written by the manager, in a city that turned two pairs of eyes off."""
    city_settings.set_on(w.session, city_settings.TWO_EYES_APPROVAL, False)
    return written(S.CONSULTING)(w)


def published_text(w: World, issue: WardIssue) -> IssuePublication | None:
    return publication.publication_of(w.session, issue)


def check_first_public_text(w, issue, payload, event):
    shown = published_text(w, issue)
    assert {key: getattr(shown, key) for key in PUBLIC_TEXT} == PUBLIC_TEXT
    assert (shown.written_by_id, shown.approved_at, shown.approved_by_id) == (
        w.actor("manager").id,
        None,
        None,
    )
    assert event.data == {
        "public_text": [{"field": key, "old": None, "new": value} for key, value in PUBLIC_TEXT.items()],
        "approval_cleared": False,
    }


def check_edit_after_approval(w, issue, payload, event):
    shown = published_text(w, issue)
    assert (shown.title, shown.summary, shown.approved_at, shown.approved_by_id) == (
        "街灯のLED化",
        PUBLIC_TEXT["summary"],
        None,
        None,
    )
    assert event.data == {
        "public_text": [{"field": "title", "old": PUBLIC_TEXT["title"], "new": "街灯のLED化"}],
        "approval_cleared": True,
    }


def check_public_text_approved(by: str) -> Callable:
    def check(w, issue, payload, event):
        shown = published_text(w, issue)
        assert shown.approved_by_id == w.actor(by).id and shown.approved_at is not None
        assert event.data == {"public_text_approved": PUBLIC_TEXT["title"]}

    return check


def check_not_public(w, issue, payload, event):
    assert issue.is_public is False and event.data == {"is_public": False}


def check_inquiry(w, issue, payload, event):
    inquiry = w.session.scalars(select(IssueInquiry).where(IssueInquiry.ward_issue_id == issue.id)).one()
    assert (inquiry.question, inquiry.asked_by_id, inquiry.answered_at) == (
        QUESTION,
        w.actor("lead").id,
        None,
    )
    assert event.comment == QUESTION


def check_inquiry_answered(w, issue, payload, event):
    inquiry = w.session.scalars(select(IssueInquiry).where(IssueInquiry.ward_issue_id == issue.id)).one()
    assert (inquiry.answer, inquiry.answered_by_id) == (ANSWER, w.actor("manager").id)
    assert inquiry.answered_at is not None
    assert (event.comment, event.data) == (
        ANSWER,
        {"question": PATH_TO_STATE[S.INQUIRING][-1][2]["question"]},
    )


def check_opinion(w, issue, payload, event):
    opinion = w.session.scalars(select(IssueOpinion).where(IssueOpinion.ward_issue_id == issue.id)).one()
    assert (opinion.body, opinion.bureau.name, opinion.author_id) == (
        OPINION["body"],
        "文化市民局",
        w.actor("related").id,
    )
    assert (event.comment, event.data) == (OPINION["body"], {"opinion_of": "文化市民局"})


def check_returned(w, issue, payload, event):
    assert event.comment == "対応案に概算額を書いてください"


def check_owner(side: str, who: str, old: str | None = None) -> Callable:
    def check(w, issue, payload, event):
        user = w.actor(who)
        assert getattr(issue, side) is user
        assert event.data == {"owner": side, "old_owner": old, "new_owner": user.display_name,
                              "new_owner_id": user.id}  # fmt: skip

    return check


def side_withdrawn(w, issue, payload):
    return [(r, "issue_withdrawn", RequestState.ESCALATED, RequestState.RECEIVED) for r in w.saved["bundled"]]


def first_line(extra: dict) -> Callable[[World, WardIssue], dict]:
    def payload(w: World, issue: WardIssue) -> dict:
        return {"budget_line": issue.budget_lines[0].id, **extra}

    return payload


def check_line_cancelled(w, issue, payload, event):
    line = issue.budget_lines[0]
    assert (line.cancel_reason, line.cancelled_by_id) == ("重複", event.actor_id) and line.cancelled_at
    assert issue.current_budget_lines == [] and event.data["budget_line_id"] == line.id


# --- the allowed table ---------------------------------------------------------------------

QUESTION = "対象の街灯は何基ですか。"
ANSWER = "20基です。"
OPINION = {"body": "地域の防犯の観点から早期の対応が望ましい。"}
WORKING = [S.CONSULTING, S.INQUIRING, S.DECIDED, S.BUDGETED, S.IMPLEMENTING]
SENT = [S.CONSULTING, S.DECIDED, S.NOT_ADOPTED, S.BUDGETED, S.IMPLEMENTING, S.COMPLETED]
MONEY = [S.BUDGETED, S.IMPLEMENTING, S.COMPLETED]
REASONS = {S.NOT_ADOPTED: "財源がない"}  # the decision's reason on the factory's path, else 対応する
LATER = TOMORROW + dt.timedelta(days=7)
NOTE = {"body": "地元説明会を開催した"}
PRACTICE = "自治会と共同で点検し、設置場所の合意が早くできた。"

ALLOWED = [
    Allowed("edit-draft", at(S.DRAFT), "manager", "edit", {"title": " 街灯のLED化 "}, S.DRAFT, S.DRAFT,
            check=check_edit_title),
    Allowed("edit-registered", at(S.REGISTERED), "manager", "edit",
            lambda w, i: {"proposal": "防犯灯も合わせて更新する",
                          "related_bureaus": [bureau_id("文化市民局")(w)]},
            S.REGISTERED, S.REGISTERED, grows={"ward_issue_related_bureaus": 1}, check=check_edit_bureaus),
    Allowed("approve-draft", at(S.DRAFT), "approver", "approve", {}, S.DRAFT, S.REGISTERED),
    Allowed("approve-awaiting", at(S.AWAITING_APPROVAL), "approver", "approve", {}, S.AWAITING_APPROVAL,
            S.REGISTERED),
    *[
        Allowed(f"approve-own-{state}-two-eyes-off", self_approval_allowed(state), "manager", "approve", {},
                state, S.REGISTERED)
        for state in (S.DRAFT, S.AWAITING_APPROVAL)
    ],
    Allowed("submit", at(S.DRAFT), "manager", "submit", {"comment": "決裁をお願いします"}, S.DRAFT,
            S.AWAITING_APPROVAL),
    Allowed("return-draft", at(S.AWAITING_APPROVAL), "approver", "return_draft",
            {"comment": "対応案に概算額を書いてください"}, S.AWAITING_APPROVAL, S.DRAFT,
            check=check_returned),
    *[
        Allowed(f"assign-ward-owner-{state}", at(state), "manager", "assign_ward_owner", chosen("liaison"),
                state, state, check=check_owner("ward_owner", "liaison"))
        for state in S
        if state != S.WITHDRAWN
    ],
    *[
        Allowed(f"assign-bureau-owner-{state}", at(state), "lead", "assign_bureau_owner", chosen("lead"),
                state, state, check=check_owner("bureau_owner", "lead"))
        for state in (S.CONSULTING, S.INQUIRING, S.DECIDED, S.NOT_ADOPTED, S.BUDGETED, S.IMPLEMENTING)
    ],
    Allowed("send", at(S.REGISTERED), "manager", "send", {}, S.REGISTERED, S.CONSULTING, check=check_sent),
    Allowed("send-naming-lead", at(S.REGISTERED, lead=False), "manager", "send",
            lambda w, i: {"lead_bureau": bureau_id("消防局")(w),
                          "related_bureaus": [bureau_id("文化市民局")(w), bureau_id("消防局")(w)]},
            S.REGISTERED, S.CONSULTING, grows={"ward_issue_related_bureaus": 1}, check=check_sent_with_lead),
    Allowed("decide-adopt", at(S.CONSULTING), "lead", "decide", {"decision": "adopt"}, S.CONSULTING,
            S.DECIDED, check=check_decided(Decision.ADOPT)),
    Allowed("decide-partial", at(S.CONSULTING), "lead", "decide",
            {"decision": "partial", "decision_reason": "LED化のみ対応"}, S.CONSULTING, S.DECIDED,
            check=check_decided(Decision.PARTIAL, "LED化のみ対応")),
    Allowed("decide-reject", at(S.CONSULTING), "lead", "decide",
            {"decision": "reject", "decision_reason": "財源がない"}, S.CONSULTING, S.NOT_ADOPTED,
            check=check_decided(Decision.REJECT, "財源がない")),
    Allowed("decide-continue", at(S.CONSULTING), "lead", "decide",
            {"decision": "continue", "next_review_on": TOMORROW.isoformat()}, S.CONSULTING, S.CONSULTING,
            check=check_continue),
    Allowed("decide-adopt-after-continue", continued, "lead", "decide", {"decision": "adopt"}, S.CONSULTING,
            S.DECIDED, check=check_decided(Decision.ADOPT)),
    Allowed("inquire", at(S.CONSULTING), "lead", "inquire", {"question": QUESTION}, S.CONSULTING,
            S.INQUIRING, grows={"issue_inquiries": 1}, check=check_inquiry),
    Allowed("answer-inquiry", at(S.INQUIRING), "manager", "answer_inquiry", {"answer": ANSWER}, S.INQUIRING,
            S.CONSULTING, check=check_inquiry_answered),
    *[
        Allowed(f"opine-{state}", at(state, related=True), "related", "opine", OPINION, state, state,
                grows={"issue_opinions": 1}, check=check_opinion)
        for state in (S.CONSULTING, S.INQUIRING)
    ],
    Allowed("budget-line", at(S.DECIDED), "lead", "budget", LINE | {"allocated_yen": "500,000"}, S.DECIDED,
            S.BUDGETED, grows={"budget_lines": 1}, check=check_new_line("防犯灯設置事業", 500_000, 1)),
    Allowed("budget-within-existing", at(S.DECIDED), "lead", "budget", {"within_existing_budget": True},
            S.DECIDED, S.BUDGETED, check=check_within_existing),
    *[
        Allowed(f"add-budget-line-{state}", at(state), "lead", "add_budget_line", LINE, state, state,
                grows={"budget_lines": 1}, check=check_new_line("防犯灯設置事業", 500_000, 2))
        for state in (S.BUDGETED, S.IMPLEMENTING)
    ],
    Allowed("start", at(S.BUDGETED), "lead", "start", {}, S.BUDGETED, S.IMPLEMENTING),
    *[
        Allowed(f"note-{state}-by-{who}", at(state, related=True), who, "note", NOTE, state, state,
                grows={"progress_notes": 1}, check=check_note_by(who))
        for state in WORKING
        for who in ("lead", "related", "manager")
    ],
    Allowed("complete-every-line", with_second_line(S.IMPLEMENTING), "lead", "complete", executed_all,
            S.IMPLEMENTING, S.COMPLETED, check=check_completed),
    Allowed("complete-within-existing-budget", within_existing(S.IMPLEMENTING), "lead", "complete",
            {"outcome": "既存予算で対応した"}, S.IMPLEMENTING, S.COMPLETED,
            check=check_completed_without_lines),
    *[
        Allowed(f"withdraw-{state}", bundling_two(state), "manager", "withdraw",
                {"comment": "区の事業で対応するため"}, state, S.WITHDRAWN, side=side_withdrawn,
                check=check_withdrawn)
        for state in (S.DRAFT, S.AWAITING_APPROVAL, S.REGISTERED)
    ],
    Allowed("mark-good-practice", at(S.COMPLETED), "manager", "mark_good_practice", {"summary": PRACTICE},
            S.COMPLETED, S.COMPLETED, grows={"good_practices": 1}, check=check_practice(None, PRACTICE)),
    Allowed("edit-good-practice", in_library, "manager", "edit_good_practice", {"summary": "改めた要約"},
            S.COMPLETED, S.COMPLETED, check=check_practice(PRACTICE, "改めた要約")),
    Allowed("unmark-good-practice", in_library, "manager", "unmark_good_practice", {"comment": "誤登録"},
            S.COMPLETED, S.COMPLETED, grows={"good_practices": -1}, check=check_practice(PRACTICE, None)),
    # 公開内容: written by a manager, approved by another (or by the writer with two pairs of eyes
    # off); only then may the issue be made public; unpublishing needs nothing
    *[
        row
        for state in REGISTERED_ISSUE_STATES
        for row in (
            Allowed(f"write-public-text-{state}", at(state), "manager", "write_public_text", PUBLIC_TEXT,
                    state, state, check=check_first_public_text),
            Allowed(f"approve-public-text-{state}", written(state), "approver", "approve_public_text", {},
                    state, state, check=check_public_text_approved("approver")),
            Allowed(f"set-public-{state}", written(state, approved=True), "manager", "set_public",
                    {"is_public": True}, state, state, check=check_public),
        )
    ],
    Allowed("edit-public-text-after-approval", written(S.COMPLETED, approved=True), "approver",
            "write_public_text", PUBLIC_TEXT | {"title": " 街灯のLED化 "}, S.COMPLETED, S.COMPLETED,
            check=check_edit_after_approval),
    Allowed("approve-own-public-text-two-eyes-off", written_with_two_eyes_off, "manager",
            "approve_public_text", {}, S.CONSULTING, S.CONSULTING,
            check=check_public_text_approved("manager")),
    *[
        Allowed(f"set-public-off-{state}", at(state), "manager", "set_public", {"is_public": False}, state,
                state, check=check_not_public)
        for state in (S.DRAFT, S.AWAITING_APPROVAL)
    ],
    *[
        row
        for state in S
        for row in (
            Allowed(f"comment-{state}", issue_in(state), "manager", "comment", COMMENT, state, state,
                    grows={"comments": 1}, check=check_comment),
            Allowed(f"attach-{state}", issue_in(state), "manager", "attach", a_pdf, state, state,
                    grows={"attachments": 1}, check=check_attachment),
        )
    ],
    *[
        row
        for who, state in (("liaison", S.DRAFT), ("admin", S.DRAFT), ("lead", S.CONSULTING),
                           ("related", S.BUDGETED))
        for row in (
            Allowed(f"comment-{state}-by-{who}", issue_in(state, related=True), who, "comment", COMMENT,
                    state, state, grows={"comments": 1}, check=check_comment),
            Allowed(f"attach-{state}-by-{who}", issue_in(state, related=True), who, "attach", a_pdf,
                    state, state, grows={"attachments": 1}, check=check_attachment),
        )
    ],
    # corrections (訂正) and 取消
    *[
        Allowed(f"correct-texts-{state}-by-{who}", at(state), who, "correct_texts",
                {"title": "街灯のLED化", "comment": "件名の誤記"}, state, state,
                check=check_changes(("title", "公園の街灯の老朽化", "街灯のLED化"), reason="件名の誤記"))
        for state in SENT
        for who in ("manager", "admin")
    ],
    *[
        Allowed(f"correct-decision-continued-by-{who}", continued, who, "correct_decision",
                {"decision_reason": "", "next_review_on": LATER, "comment": "日程変更"}, S.CONSULTING,
                S.CONSULTING,
                check=check_changes(("next_review_on", str(TOMORROW), str(LATER)), reason="日程変更"))
        for who in ("lead", "admin")
    ],
    *[
        Allowed(f"correct-decision-{state}-by-{who}", at(state), who, "correct_decision",
                {"decision_reason": "一部対応する", "comment": "補足"}, state, state,
                check=check_changes(("decision_reason", REASONS.get(state, "対応する"), "一部対応する"),
                                    reason="補足"))
        for state in SENT[1:]
        for who in ("lead", "admin")
    ],
    *[
        Allowed(f"correct-budget-line-{state}-by-{who}", at(state), who, "correct_budget_line",
                first_line({"project_name": "街灯LED化事業", "comment": "名称の誤り"}), state, state,
                check=check_changes(("project_name", FIRST_LINE, "街灯LED化事業"), reason="名称の誤り"))
        for state in MONEY
        for who in ("lead", "admin")
    ],
    *[
        Allowed(f"cancel-budget-line-{state}-by-{who}", at(state), who, "cancel_budget_line",
                first_line({"comment": "重複"}), state, state, check=check_line_cancelled)
        for state in MONEY
        for who in ("lead", "admin")
    ],
]  # fmt: skip


@pytest.mark.parametrize("case", ALLOWED, ids=lambda case: case.id)
def test_allowed_issue_transition(world, case):
    assert_allowed(world, case)


def test_allowed_table_covers_every_issue_transition_and_role():
    assert_table_covers(ALLOWED, ISSUE_ACTIONS)


def test_set_public_can_be_turned_off_again(world):
    issue = written(S.COMPLETED, approved=True)(world)
    world.apply("manager", issue, "set_public", {"is_public": True})
    world.apply("manager", issue, "set_public", {"is_public": False})
    assert issue.is_public is False
    assert [e.data for e in issue.events[-2:]] == [{"is_public": True}, {"is_public": False}]


def test_withdrawn_issue_requests_can_be_escalated_again(world):
    issue = bundling_two(S.DRAFT)(world)
    world.apply("manager", issue, "withdraw", {"comment": "重複"})
    request = world.saved["bundled"][0]
    world.apply("manager", request, "escalate", NEW_ISSUE)
    assert request.state == RequestState.ESCALATED and request.ward_issue is not issue


# --- the refused table ---------------------------------------------------------------------

OTHER_WARD = "他の区の区重要課題は操作できません。"
LEAD_ONLY = "この区重要課題の主管局の担当者だけが操作できます。"
RELATED_ONLY = "この区重要課題の関係局の担当者だけが操作できます。"
PARTIES_ONLY = "この区重要課題の主管局・関係局の担当者だけが操作できます。"
INACTIVE = "このアカウントは無効です。"
MANAGER_ONLY = "は区役所 管理職だけが行えます。"
STAFF_ONLY = "は局 担当者だけが行えます。"

# A state in which each action is allowed, a valid payload, and the role message.
VALID: dict[str, tuple[Callable, object, str]] = {
    "edit": (at(S.DRAFT), {"title": "街灯のLED化"}, "「内容を編集」" + MANAGER_ONLY),
    "approve": (at(S.DRAFT), {}, "「区重要課題に決定」" + MANAGER_ONLY),
    "submit": (at(S.DRAFT), {}, "「決裁に回す」" + MANAGER_ONLY),
    "return_draft": (at(S.AWAITING_APPROVAL), {"comment": "再検討"}, "「差し戻し」" + MANAGER_ONLY),
    "send": (at(S.REGISTERED), {}, "「局へ送付」" + MANAGER_ONLY),
    "assign_ward_owner": (at(S.DRAFT), chosen("liaison"), "「区の担当者を設定」" + MANAGER_ONLY),
    "assign_bureau_owner": (
        at(S.CONSULTING, related=True),
        chosen("lead"),
        "「局の担当者を設定」" + STAFF_ONLY,
    ),
    "decide": (at(S.CONSULTING, related=True), {"decision": "adopt"}, "「協議結果を登録」" + STAFF_ONLY),
    "inquire": (at(S.CONSULTING, related=True), {"question": QUESTION}, "「区へ照会」" + STAFF_ONLY),
    "answer_inquiry": (at(S.INQUIRING, related=True), {"answer": ANSWER}, "「照会に回答」" + MANAGER_ONLY),
    "opine": (at(S.CONSULTING, related=True), OPINION, "「意見を登録」" + STAFF_ONLY),
    "budget": (at(S.DECIDED, related=True), LINE, "「予算化」" + STAFF_ONLY),
    "add_budget_line": (at(S.BUDGETED, related=True), LINE, "「予算を追加」" + STAFF_ONLY),
    "start": (at(S.BUDGETED, related=True), {}, "「事業に着手」" + STAFF_ONLY),
    "note": (at(S.CONSULTING), NOTE, "「進捗を記録」は区役所 管理職、局 担当者だけが行えます。"),
    "complete": (at(S.IMPLEMENTING, related=True), executed_all, "「完了」" + STAFF_ONLY),
    "withdraw": (at(S.DRAFT), {"comment": "重複"}, "「取下げ」" + MANAGER_ONLY),
    "write_public_text": (at(S.CONSULTING), PUBLIC_TEXT, "「公開内容を作成」" + MANAGER_ONLY),
    "approve_public_text": (written(S.CONSULTING), {}, "「公開内容の確認」" + MANAGER_ONLY),
    "set_public": (written(S.CONSULTING, approved=True), {"is_public": True}, "「公開設定」" + MANAGER_ONLY),
    "mark_good_practice": (at(S.COMPLETED), {"summary": PRACTICE}, "「事例集に登録」" + MANAGER_ONLY),
    "edit_good_practice": (in_library, {"summary": "改めた要約"}, "「事例の要約を編集」" + MANAGER_ONLY),
    "unmark_good_practice": (in_library, {"comment": "誤登録"}, "「事例集から外す」" + MANAGER_ONLY),
}
ACTION_LABELS = {
    "edit": "内容を編集",
    "approve": "区重要課題に決定",
    "submit": "決裁に回す",
    "return_draft": "差し戻し",
    "send": "局へ送付",
    "assign_ward_owner": "区の担当者を設定",
    "assign_bureau_owner": "局の担当者を設定",
    "decide": "協議結果を登録",
    "inquire": "区へ照会",
    "answer_inquiry": "照会に回答",
    "opine": "意見を登録",
    "budget": "予算化",
    "add_budget_line": "予算を追加",
    "start": "事業に着手",
    "note": "進捗を記録",
    "complete": "完了",
    "withdraw": "取下げ",
    "write_public_text": "公開内容を作成",
    "approve_public_text": "公開内容の確認",
    "set_public": "公開設定",
    "mark_good_practice": "事例集に登録",
    "edit_good_practice": "事例の要約を編集",
    "unmark_good_practice": "事例集から外す",
}
LIBRARY_ACTIONS = ["mark_good_practice", "edit_good_practice", "unmark_good_practice"]
MANAGER_ACTIONS = ("edit", "approve", "submit", "return_draft", "send", "assign_ward_owner", "answer_inquiry",
                   "withdraw", "write_public_text", "approve_public_text", "set_public", "mark_good_practice",
                   "edit_good_practice", "unmark_good_practice")  # fmt: skip
LEAD_ACTIONS = ("decide", "inquire", "budget", "add_budget_line", "start", "complete", "assign_bureau_owner")
WARD_OWNER_ONLY = "区の担当者には、この区の地域担当職員か管理職を選んでください。"
BUREAU_OWNER_ONLY = "局の担当者には、主管局の担当者を選んでください。"


def valid(action: str, who: str, message: str, name: str) -> Refused:
    setup, payload, _ = VALID[action]
    return Refused(f"{action}-by-{name}", setup, who, action, payload, message)


def wrong_state(state: IssueState, action: str, who: str, payload: object = None, **kwargs) -> Refused:
    payload = VALID[action][1] if payload is None else payload
    message = f"「{state.label}」の区重要課題には「{ACTION_LABELS[action]}」はできません。"
    return Refused(f"{action}-{state}", at(state, **kwargs), who, action, payload, message)


def refused(name: str, setup, who: str, action: str, payload, message: str) -> Refused:
    return Refused(name, setup, who, action, payload, message)


DECIDE = "decide"
REFUSED = [
    # wrong state
    wrong_state(S.REGISTERED, "approve", "manager"),
    wrong_state(S.CONSULTING, "approve", "manager"),
    wrong_state(S.REGISTERED, "submit", "manager"),
    wrong_state(S.AWAITING_APPROVAL, "submit", "manager"),
    wrong_state(S.DRAFT, "return_draft", "approver"),
    wrong_state(S.REGISTERED, "return_draft", "approver"),
    wrong_state(S.AWAITING_APPROVAL, "edit", "manager"),
    wrong_state(S.AWAITING_APPROVAL, "send", "manager"),
    wrong_state(S.WITHDRAWN, "assign_ward_owner", "manager"),
    wrong_state(S.REGISTERED, "assign_bureau_owner", "lead"),
    wrong_state(S.COMPLETED, "assign_bureau_owner", "lead"),
    wrong_state(S.WITHDRAWN, "assign_bureau_owner", "lead"),
    wrong_state(S.DRAFT, "send", "manager"),
    wrong_state(S.CONSULTING, "send", "manager"),
    wrong_state(S.DRAFT, DECIDE, "lead"),
    wrong_state(S.DECIDED, DECIDE, "lead"),
    wrong_state(S.NOT_ADOPTED, DECIDE, "lead"),
    wrong_state(S.CONSULTING, "budget", "lead"),
    wrong_state(S.INQUIRING, DECIDE, "lead"),
    wrong_state(S.INQUIRING, "inquire", "lead"),
    wrong_state(S.DECIDED, "inquire", "lead"),
    wrong_state(S.CONSULTING, "answer_inquiry", "manager"),
    wrong_state(S.DECIDED, "opine", "related", related=True),
    wrong_state(S.REGISTERED, "opine", "related", related=True),
    wrong_state(S.BUDGETED, "budget", "lead"),
    wrong_state(S.DECIDED, "add_budget_line", "lead"),
    wrong_state(S.COMPLETED, "add_budget_line", "lead"),
    wrong_state(S.DECIDED, "start", "lead"),
    wrong_state(S.IMPLEMENTING, "start", "lead"),
    wrong_state(S.BUDGETED, "complete", "lead", {"outcome": "設置した", "executed": {}}),
    wrong_state(S.COMPLETED, "complete", "lead", {"outcome": "設置した", "executed": {}}),
    wrong_state(S.CONSULTING, "edit", "manager"),
    wrong_state(S.CONSULTING, "withdraw", "manager"),
    wrong_state(S.DECIDED, "withdraw", "manager"),
    wrong_state(S.WITHDRAWN, "withdraw", "manager"),
    wrong_state(S.DRAFT, "note", "manager"),
    wrong_state(S.NOT_ADOPTED, "note", "lead"),
    wrong_state(S.COMPLETED, "note", "lead"),
    wrong_state(S.WITHDRAWN, "set_public", "manager", {"is_public": False}),
    *[wrong_state(state, action, "manager")
      for state in (S.DRAFT, S.AWAITING_APPROVAL, S.WITHDRAWN)
      for action in ("write_public_text", "approve_public_text")],
    *[wrong_state(state, action, "manager", payload)
      for state in (S.REGISTERED, S.IMPLEMENTING, S.WITHDRAWN)
      for action, payload in (("mark_good_practice", {"summary": PRACTICE}),
                              ("edit_good_practice", {"summary": "改めた要約"}),
                              ("unmark_good_practice", {"comment": "誤登録"}))],
    # wrong role: bureau staff may not do the ward's part, the ward manager not the bureau's,
    # the liaison no issue action, the admin nothing
    *[valid(action, "lead", VALID[action][2], "lead") for action in MANAGER_ACTIONS],
    *[valid(action, "manager", VALID[action][2], "manager") for action in LEAD_ACTIONS],
    *[valid(action, "liaison", VALID[action][2], "liaison") for action in ("approve", "note")],
    *[valid(action, "admin", VALID[action][2], "admin") for action in VALID],
    refused("unknown-action", at(S.DRAFT), "manager", "answer", {}, "この操作はできません。"),
    # other ward
    *[valid(action, "east_manager", OTHER_WARD, "east-manager")
      for action in (*MANAGER_ACTIONS, "note")],
    # other bureau: only the lead bureau decides, budgets, starts, completes; parties note
    *[valid(action, "other_bureau", LEAD_ONLY, "other-bureau") for action in LEAD_ACTIONS],
    *[valid(action, "related", LEAD_ONLY, "related-bureau") for action in LEAD_ACTIONS],
    valid("note", "other_bureau", PARTIES_ONLY, "other-bureau"),
    # a related bureau's opinion: its staff only, not the lead's, not another bureau's
    valid("opine", "lead", RELATED_ONLY, "lead"),
    valid("opine", "other_bureau", RELATED_ONLY, "other-bureau"),
    valid("opine", "manager", VALID["opine"][2], "manager"),
    refused("inquire-without-question", at(S.CONSULTING), "lead", "inquire", {"question": " "},
            "照会内容を入力してください。"),
    refused("answer-inquiry-without-answer", at(S.INQUIRING), "manager", "answer_inquiry", {},
            "回答を入力してください。"),
    refused("opine-without-body", at(S.CONSULTING, related=True), "related", "opine", {"body": ""},
            "内容を入力してください。"),
    # deactivated users
    valid(DECIDE, "inactive_lead", INACTIVE, "inactive-lead"),
    valid("approve", "inactive_manager", INACTIVE, "inactive-manager"),
    # missing required fields
    refused("decide-without-decision", at(S.CONSULTING), "lead", DECIDE, {"decision": ""},
            "協議結果を入力してください。"),
    refused("reject-without-reason", at(S.CONSULTING), "lead", DECIDE, {"decision": "reject"},
            "「対応しない」とする理由を入力してください。"),
    refused("reject-with-blank-reason", at(S.CONSULTING), "lead", DECIDE,
            {"decision": "reject", "decision_reason": "   "}, "「対応しない」とする理由を入力してください。"),
    refused("continue-without-next-review", at(S.CONSULTING), "lead", DECIDE, {"decision": "continue"},
            "継続協議には次回協議予定日を入力してください。"),
    refused("budget-without-amount-or-existing", at(S.DECIDED), "lead", "budget",
            {"fiscal_year": 2025, "project_name": "防犯灯設置事業", "within_existing_budget": False},
            "予算額を入力するか、「既存予算内で対応」を選んでください。"),
    refused("budget-with-nothing", at(S.DECIDED), "lead", "budget", {},
            "予算額を入力するか、「既存予算内で対応」を選んでください。"),
    refused("budget-without-project-name", at(S.DECIDED), "lead", "budget", LINE | {"project_name": " "},
            "事業名を入力してください。"),
    refused("budget-without-fiscal-year", at(S.DECIDED), "lead", "budget", LINE | {"fiscal_year": None},
            "年度を入力してください。"),
    refused("add-budget-line-without-amount", at(S.BUDGETED), "lead", "add_budget_line",
            LINE | {"allocated_yen": ""}, "予算額を入力してください。"),
    refused("complete-without-executed", at(S.IMPLEMENTING), "lead", "complete", {"outcome": "設置した"},
            f"「{FIRST_LINE}」の決算額を入力してください。"),
    refused("complete-without-second-line-executed", with_second_line(S.IMPLEMENTING), "lead", "complete",
            executed_only_first, "「防犯灯設置事業」の決算額を入力してください。"),
    refused("complete-with-blank-executed", at(S.IMPLEMENTING), "lead", "complete", executed_value(" "),
            f"「{FIRST_LINE}」の決算額を入力してください。"),
    refused("complete-without-outcome", at(S.IMPLEMENTING), "lead", "complete",
            lambda w, i: executed_all(w, i) | {"outcome": ""}, "成果を入力してください。"),
    refused("send-without-lead-bureau", at(S.REGISTERED, lead=False), "manager", "send", {},
            "主管局が決まっていないため局へ送付できません。"),
    refused("note-without-body", at(S.CONSULTING), "manager", "note", {"body": "\n"},
            "内容を入力してください。"),
    refused("withdraw-without-reason", at(S.DRAFT), "manager", "withdraw", {}, "理由を入力してください。"),
    refused("approve-incomplete-draft", title_only, "approver", "approve", {},
            "決定の前に入力してください: 現状と課題、対応案"),
    refused("submit-incomplete-draft", title_only, "manager", "submit", {},
            "決定の前に入力してください: 現状と課題、対応案"),
    # two pairs of eyes (on by default): the drafter may not approve their own draft
    *[refused(f"approve-own-{state}", at(state), "manager", "approve", {}, OWN_DRAFT)
      for state in (S.DRAFT, S.AWAITING_APPROVAL)],
    refused("return-draft-without-reason", at(S.AWAITING_APPROVAL), "approver", "return_draft",
            {"comment": " "}, "理由を入力してください。"),
    # persons in charge: someone of the issue's ward; of its lead bureau
    refused("assign-ward-owner-without-owner", at(S.DRAFT), "manager", "assign_ward_owner", {},
            "担当者を入力してください。"),
    refused("assign-ward-owner-unknown", at(S.DRAFT), "manager", "assign_ward_owner", {"owner": 987654},
            "担当者を選んでください。"),
    refused("assign-ward-owner-not-a-number", at(S.DRAFT), "manager", "assign_ward_owner",
            {"owner": "だれか"}, "担当者を選んでください。"),
    refused("assign-ward-owner-inactive", at(S.DRAFT), "manager", "assign_ward_owner",
            chosen("inactive_liaison"), "担当者を選んでください。"),
    *[refused(f"assign-ward-owner-{who}", at(S.CONSULTING), "manager", "assign_ward_owner", chosen(who),
              WARD_OWNER_ONLY) for who in ("east_liaison", "east_manager", "lead", "admin")],
    refused("assign-ward-owner-twice", owned_by_liaison, "manager", "assign_ward_owner", chosen("liaison"),
            "選んだ職員はすでにこの区重要課題の担当者です。"),
    *[refused(f"assign-bureau-owner-{who}", at(S.CONSULTING, related=True), "lead", "assign_bureau_owner",
              chosen(who), BUREAU_OWNER_ONLY) for who in ("related", "other_bureau", "liaison", "manager")],
    refused("assign-bureau-owner-inactive", at(S.CONSULTING), "lead", "assign_bureau_owner",
            chosen("inactive_lead"), "担当者を選んでください。"),
    refused("edit-blank-title", at(S.DRAFT), "manager", "edit", {"title": "  "}, "件名を入力してください。"),
    refused("edit-without-change", at(S.DRAFT), "manager", "edit", {"title": NEW_ISSUE["title"]},
            "変更された項目がありません。"),
    # invalid values
    *[
        refused(f"budget-amount-{name}", at(S.DECIDED), "lead", "budget", LINE | {"allocated_yen": value},
                message)
        for name, value, message in (
            ("negative", -500_000, "予算額が正しくありません。"),
            ("zero", 0, "予算額が正しくありません。"),
            ("zero-text", "0", "予算額が正しくありません。"),
            ("too-large", MAX_YEN + 1, "予算額が正しくありません。"),
            ("not-a-number", "五十万", "予算額は円単位の整数で入力してください。"),
            ("decimal", "500000.5", "予算額は円単位の整数で入力してください。"),
        )
    ],
    refused("add-budget-line-negative", at(S.IMPLEMENTING), "lead", "add_budget_line",
            LINE | {"allocated_yen": -1}, "予算額が正しくありません。"),
    refused("budget-fiscal-year-out-of-range", at(S.DECIDED), "lead", "budget", LINE | {"fiscal_year": 1900},
            "年度が正しくありません。"),
    refused("budget-fiscal-year-not-a-number", at(S.DECIDED), "lead", "budget",
            LINE | {"fiscal_year": "令和7"}, "年度が正しくありません。"),
    *[
        refused(f"continue-next-review-{name}", at(S.CONSULTING), "lead", DECIDE,
                {"decision": "continue", "next_review_on": value}, message)
        for name, value, message in (
            ("today", TODAY, "次回協議予定日には明日以降の日付を入力してください。"),
            ("today-iso", TODAY.isoformat(), "次回協議予定日には明日以降の日付を入力してください。"),
            ("yesterday", YESTERDAY, "次回協議予定日には明日以降の日付を入力してください。"),
            ("not-a-date", "来月", "次回協議予定日の日付が正しくありません。"),
        )
    ],
    refused("decide-unknown-decision", at(S.CONSULTING), "lead", DECIDE, {"decision": "maybe"},
            "協議結果が正しくありません。"),
    refused("complete-negative-executed", at(S.IMPLEMENTING), "lead", "complete", executed_value(-1),
            f"「{FIRST_LINE}」の決算額が正しくありません。"),
    refused("complete-executed-not-a-number", at(S.IMPLEMENTING), "lead", "complete",
            executed_value("二百万"), f"「{FIRST_LINE}」の決算額は円単位の整数で入力してください。"),
    refused("send-with-inactive-lead", at(S.REGISTERED, lead=False), "manager", "send",
            send_with_inactive_lead, "主管局を選んでください。"),
    refused("send-with-unknown-lead", at(S.REGISTERED, lead=False), "manager", "send",
            {"lead_bureau": 987654}, "主管局を選んでください。"),
    # the 事例集: a summary of what worked, once per issue; editing or removing an entry that exists
    refused("mark-good-practice-without-summary", at(S.COMPLETED), "manager", "mark_good_practice",
            {"summary": " \n"}, "うまくいった点の要約を入力してください。"),
    refused("mark-good-practice-too-long", at(S.COMPLETED), "manager", "mark_good_practice",
            {"summary": "あ" * 2001}, "要約は2000文字以内で入力してください。"),
    refused("mark-good-practice-twice", in_library, "manager", "mark_good_practice", {"summary": "別の要約"},
            "この区重要課題はすでに事例集に登録されています。"),
    refused("edit-good-practice-not-in-library", at(S.COMPLETED), "manager", "edit_good_practice",
            {"summary": "改めた要約"}, "この区重要課題は事例集に登録されていません。"),
    refused("edit-good-practice-unchanged", in_library, "manager", "edit_good_practice",
            {"summary": f"  {PRACTICE} "}, "要約が変更されていません。"),
    refused("edit-good-practice-blank", in_library, "manager", "edit_good_practice", {"summary": ""},
            "うまくいった点の要約を入力してください。"),
    refused("unmark-good-practice-not-in-library", at(S.COMPLETED), "manager", "unmark_good_practice",
            {"comment": "誤登録"}, "この区重要課題は事例集に登録されていません。"),
    refused("unmark-good-practice-without-reason", in_library, "manager", "unmark_good_practice", {},
            "理由を入力してください。"),
    # 公開内容: a title, within bounds, a change; approved once, by another manager; public only approved
    refused("write-public-text-without-title", at(S.CONSULTING), "manager", "write_public_text",
            PUBLIC_TEXT | {"title": " \n"}, "公開する件名を入力してください。"),
    refused("write-public-text-title-too-long", at(S.CONSULTING), "manager", "write_public_text",
            PUBLIC_TEXT | {"title": "あ" * 201}, "公開する件名は200文字以内で入力してください。"),
    refused("write-public-text-summary-too-long", at(S.CONSULTING), "manager", "write_public_text",
            PUBLIC_TEXT | {"summary": "あ" * 5001}, "概要は5000文字以内で入力してください。"),
    refused("write-public-text-unchanged", written(S.CONSULTING, approved=True), "approver",
            "write_public_text", PUBLIC_TEXT | {"summary": f" {PUBLIC_TEXT['summary']}\n"},
            "変更された項目がありません。"),
    refused("approve-public-text-not-written", at(S.CONSULTING), "approver", "approve_public_text", {},
            publication.NOT_WRITTEN),
    refused("approve-public-text-twice", written(S.CONSULTING, approved=True), "approver",
            "approve_public_text", {}, publication.ALREADY_APPROVED),
    *[refused(f"approve-own-public-text-{state}", written(state), "manager", "approve_public_text", {},
              publication.OWN_TEXT) for state in (S.REGISTERED, S.COMPLETED)],
    *[refused(f"set-public-without-approved-text-{state}", at(state), "manager", "set_public",
              {"is_public": True}, publication.NOT_APPROVED) for state in (S.DRAFT, S.CONSULTING)],
    refused("set-public-with-unapproved-text", written(S.CONSULTING), "manager", "set_public",
            {"is_public": "on"}, publication.NOT_APPROVED),
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSED, ids=lambda case: case.id)
def test_refused_issue_action_changes_nothing(world, case):
    assert_refused(world, case)


def test_refused_ids_are_unique():
    ids = [case.id for case in REFUSED] + [case.id for case in ALLOWED]
    assert len(ids) == len(set(ids))


# --- a whole life ----------------------------------------------------------------------------


def test_issue_history_reads_as_its_life(world):
    issue = world.issue(S.COMPLETED)
    rows = [(e.action, e.from_state, e.to_state, e.actor_role) for e in issue.events]
    assert rows == [
        ("create", None, "draft", "ward_manager"),
        ("bundle", "draft", "draft", "ward_manager"),
        ("submit", "draft", "awaiting_approval", "ward_manager"),
        ("approve", "awaiting_approval", "registered", "ward_manager"),
        ("send", "registered", "consulting", "ward_manager"),
        ("decide", "consulting", "decided", "bureau_staff"),
        ("budget", "decided", "budgeted", "bureau_staff"),
        ("start", "budgeted", "implementing", "bureau_staff"),
        ("complete", "implementing", "completed", "bureau_staff"),
    ]
    line = world.session.scalars(select(BudgetLine).where(BudgetLine.ward_issue_id == issue.id)).one()
    assert (line.allocated_yen, line.executed_yen) == (2_000_000, 2_000_000)


CORRECTIONS_OF_MONEY = ["correct_decision", "correct_budget_line", "cancel_budget_line"]
PUBLICATION = ["write_public_text", "approve_public_text", "set_public"]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (S.DRAFT, {"manager": ["edit", "approve", "submit", "assign_ward_owner", "withdraw", "set_public"]}),
        (S.AWAITING_APPROVAL, {"manager": ["approve", "return_draft", "assign_ward_owner", "withdraw",
                                           "set_public"]}),
        (S.REGISTERED, {"manager": ["edit", "send", "assign_ward_owner", "withdraw", *PUBLICATION]}),
        (
            S.CONSULTING,
            {"manager": ["assign_ward_owner", "note", "correct_texts", *PUBLICATION],
             "lead": ["assign_bureau_owner", "decide", "inquire", "note", "correct_decision"],
             "related": ["opine", "note"], "admin": ["correct_texts", "correct_decision"]},
        ),
        (S.INQUIRING, {"manager": ["assign_ward_owner", "answer_inquiry", "note", *PUBLICATION],
                       "lead": ["assign_bureau_owner", "note"], "related": ["opine", "note"]}),
        (S.BUDGETED, {"manager": ["assign_ward_owner", "note", "correct_texts", *PUBLICATION],
                      "lead": ["assign_bureau_owner", "add_budget_line", "start", "note",
                               *CORRECTIONS_OF_MONEY],
                      "related": ["note"], "admin": ["correct_texts", *CORRECTIONS_OF_MONEY]}),
        (S.COMPLETED, {"manager": ["assign_ward_owner", "correct_texts", *LIBRARY_ACTIONS, *PUBLICATION],
                       "lead": CORRECTIONS_OF_MONEY, "admin": ["correct_texts", *CORRECTIONS_OF_MONEY]}),
        (S.WITHDRAWN, {}),
    ],
)  # fmt: skip
def test_available_actions_follow_the_tables(world, state, expected):
    """Besides the rows above, whoever sees the issue may comment and attach (the ward's staff,
    the admin, and the bureaus once it was sent); nobody else may do anything."""
    issue = world.issue(state, related=state != S.WITHDRAWN)
    viewers = {"manager", "liaison", "admin"} | ({"lead", "related"} if issue.sent_at else set())
    for who in ("manager", "lead", "related", "other_bureau", "east_manager", "liaison", "admin"):
        names = [action.name for action in workflow.available_actions(world.actor(who), issue)]
        teamwork = ["comment", "attach"] if who in viewers else []
        assert names == expected.get(who, []) + teamwork, who
