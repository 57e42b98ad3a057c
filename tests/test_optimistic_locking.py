"""Optimistic locking: two staff acting on the same request or ward issue never lose an update.

Every action form carries the version of the record its user saw; acting on a version that
is gone answers 409 with 「他の職員がこの記録を更新しました。…」 and a link to reload, and changes
nothing. Two transactions racing on one row: the second one's flush fails (StaleDataError)
and is answered the same way. Progress notes neither raise nor check the version.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from tracker import workflow
from tracker.effects.support import CONFLICT_MESSAGE
from tracker.models import HistoryEvent, ServiceRequest, WardIssue
from tracker.states import Decision, IssueState, RequestState
from tracker.workflow import WorkflowConflict, WorkflowError
from tracker.workflow import apply as real_apply  # the rival below uses it, not a patched one

from .factories import PATH_TO_STATE, TODAY, Factory

pytestmark = pytest.mark.usefixtures("csrf_off")


@pytest.fixture
def client_for(app, session):
    """``client_for(user)``: a test client of its own (own cookies), logged in as ``user``."""

    def make_client(user):
        client = app.test_client()
        response = client.post("/login", data={"login": user.login, "password": Factory.PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make_client


def shown_version(client, path: str, form: str | None) -> str:
    """The version the page at ``path`` put into the hidden field of the ``form`` action form
    (``None``: the page's one form, as on the issue edit page)."""
    page = client.get(path)
    assert page.status_code == 200
    name = f"{form}-version" if form else "version"
    found = re.search(rf'name="{name}"[^>]*value="(\d+)"', page.get_data(as_text=True))
    assert found, f"no hidden {name} field on {path}"
    return found.group(1)


def events_of(session, action: str) -> int:
    return session.execute(
        select(func.count(HistoryEvent.id)).where(HistoryEvent.action == action)
    ).scalar_one()


def assert_conflict(response, back: str) -> str:
    text = response.get_data(as_text=True)
    assert response.status_code == 409
    assert CONFLICT_MESSAGE in text
    assert f'href="{back}"' in text  # the link that reloads the record
    return text


# --- two staff, two browsers ----------------------------------------------------------------


def test_second_decision_on_an_outdated_issue_page_is_refused(make, client_for, session):
    issue = make.issue(IssueState.CONSULTING)
    first, second = client_for(make.staff("環境局")), client_for(make.staff("環境局"))
    path = f"/issues/{issue.id}"
    seen_first = shown_version(first, path, "decide")
    seen_second = shown_version(second, path, "decide")
    assert seen_first == seen_second == str(issue.version)

    response = first.post(
        f"{path}/decide",
        data={"decide-decision": "adopt", "decide-decision_reason": "対応する", "decide-version": seen_first},
    )
    assert response.status_code == 302

    response = second.post(
        f"{path}/decide",
        data={
            "decide-decision": "reject",
            "decide-decision_reason": "財源がない",
            "decide-version": seen_second,
        },
    )
    text = assert_conflict(response, path)
    assert "財源がない" in text  # what the second user typed, to copy after reloading

    session.expire_all()
    issue = session.get(WardIssue, issue.id)
    assert issue.state == IssueState.DECIDED and issue.decision == Decision.ADOPT
    assert issue.decision_reason == "対応する"
    assert events_of(session, "decide") == 1

    reloaded = second.get(path).get_data(as_text=True)  # after reloading, the page is current
    assert f'name="budget-version" type="hidden" value="{issue.version}"' in reloaded


def test_an_answer_typed_on_an_outdated_request_page_is_refused(make, client_for, session):
    """Still a legal action after the other change, so only the version catches it."""
    request = make.request()
    manager, liaison = client_for(make.manager()), client_for(request.logged_by)
    path = f"/requests/{request.id}"
    seen_by_manager = shown_version(manager, path, "refer")
    seen_by_liaison = shown_version(liaison, path, "answer")

    response = manager.post(
        f"{path}/refer", data={"refer-referred_to": "土木センター", "refer-version": seen_by_manager}
    )
    assert response.status_code == 302

    response = liaison.post(
        f"{path}/answer",
        data={
            "answer-answer_kind": "resolved",
            "answer-answer_text": "修理しました",
            "answer-answered_on": TODAY.isoformat(),
            "answer-version": seen_by_liaison,
        },
    )
    assert "修理しました" in assert_conflict(response, path)

    session.expire_all()
    request = session.get(ServiceRequest, request.id)
    assert request.state == RequestState.REFERRED and request.referred_to == "土木センター"
    assert request.answer_text == "" and events_of(session, "answer") == 0

    fresh = shown_version(liaison, path, "answer")  # reload, and the answer goes through
    assert fresh == str(request.version) != seen_by_liaison
    response = liaison.post(
        f"{path}/answer",
        data={
            "answer-answer_kind": "resolved",
            "answer-answer_text": "修理しました",
            "answer-answered_on": TODAY.isoformat(),
            "answer-version": fresh,
        },
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(ServiceRequest, request.id).state == RequestState.ANSWERED


def test_the_issue_edit_form_refuses_an_outdated_version(make, client_for, session):
    issue = make.issue(IssueState.DRAFT)
    first, second = client_for(make.manager()), client_for(make.manager())
    edit = f"/issues/{issue.id}/edit"
    seen_first, seen_second = shown_version(first, edit, None), shown_version(second, edit, None)
    assert seen_first == seen_second == str(issue.version)

    fields = {"situation": "老朽化", "proposal": "更新する", "lead_bureau_id": "0"}
    response = first.post(edit, data={**fields, "title": "第一の件名", "version": seen_first})
    assert response.status_code == 302
    response = second.post(edit, data={**fields, "title": "第二の件名", "version": seen_second})
    assert "第二の件名" in assert_conflict(response, f"/issues/{issue.id}")

    session.expire_all()
    assert session.get(WardIssue, issue.id).title == "第一の件名"
    assert events_of(session, "edit") == 1


def test_bundling_a_request_into_the_issue_makes_an_open_page_outdated(make, client_for, session):
    issue = make.issue(IssueState.DRAFT)
    other_request = make.request()
    approver, bundler = client_for(make.manager()), client_for(make.manager())
    seen = shown_version(approver, f"/issues/{issue.id}", "approve")

    response = bundler.post(
        f"/requests/{other_request.id}/escalate",
        data={"escalate-ward_issue_id": str(issue.id), "escalate-lead_bureau_id": "0"},
    )
    assert response.status_code == 302

    response = approver.post(f"/issues/{issue.id}/approve", data={"approve-version": seen})
    assert_conflict(response, f"/issues/{issue.id}")
    session.expire_all()
    issue = session.get(WardIssue, issue.id)
    assert issue.state == IssueState.DRAFT and len(issue.requests) == 2


def test_a_note_neither_blocks_nor_is_blocked_by_a_decision(make, client_for, session):
    issue = make.issue(IssueState.CONSULTING)
    decider, noter = client_for(make.staff("環境局")), client_for(make.manager())
    path = f"/issues/{issue.id}"
    seen_by_decider = shown_version(decider, path, "decide")
    seen_by_noter = shown_version(noter, path, "note")
    version = issue.version

    response = noter.post(
        f"{path}/notes", data={"note-body": "地元と協議した", "note-version": seen_by_noter}
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(WardIssue, issue.id).version == version  # a note leaves the version alone

    response = decider.post(
        f"{path}/decide", data={"decide-decision": "adopt", "decide-version": seen_by_decider}
    )
    assert response.status_code == 302

    response = noter.post(
        f"{path}/notes", data={"note-body": "予算要求を準備", "note-version": seen_by_noter}
    )
    assert response.status_code == 302  # the decision came first; the note is still welcome
    session.expire_all()
    issue = session.get(WardIssue, issue.id)
    assert issue.state == IssueState.DECIDED
    assert [n.body for n in issue.progress_notes] == ["地元と協議した", "予算要求を準備"]


def test_every_action_form_carries_the_version(make, client_for):
    issue = make.issue(IssueState.REGISTERED)
    page = client_for(make.manager()).get(f"/issues/{issue.id}").get_data(as_text=True)
    for form in ("send", "withdraw", "set_public"):
        assert f'name="{form}-version" type="hidden" value="{issue.version}"' in page
    request = make.request()
    page = client_for(make.manager()).get(f"/requests/{request.id}").get_data(as_text=True)
    for form in ("answer", "refer", "escalate", "withdraw", "fund_from_ward"):
        assert f'name="{form}-version" type="hidden" value="1"' in page


# --- a true race: two transactions on one row -----------------------------------------------


def _other_writer_commits(connection, issue_id: int, title: str) -> None:
    """Another user's transaction: its own session reads the issue, changes it and commits."""
    other = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        theirs = other.get(WardIssue, issue_id)
        real_apply(other, theirs.created_by, theirs, "edit", {"title": title}, today=TODAY)
        other.commit()
    finally:
        other.close()


def test_second_flush_on_a_row_updated_meanwhile_raises_conflict(make, session):
    issue = make.issue(IssueState.DRAFT)
    manager = make.manager()
    seen = issue.version
    session.commit()  # what we read belongs to a transaction that is over, as between two requests

    _other_writer_commits(session.get_bind(), issue.id, "先に保存された件名")
    assert issue.version == seen  # our copy is stale and does not know it

    with pytest.raises(WorkflowConflict) as raised:
        workflow.apply(session, manager, issue, "approve", {}, today=TODAY)  # no version given
    assert raised.value.message == CONFLICT_MESSAGE
    session.rollback()

    session.expire_all()
    issue = session.get(WardIssue, issue.id)
    assert issue.state == IssueState.DRAFT and issue.title == "先に保存された件名"
    assert issue.version == seen + 1


def test_a_race_lost_inside_a_request_answers_409_and_keeps_the_winner(
    make, client_for, session, monkeypatch
):
    issue = make.issue(IssueState.DRAFT)
    client = client_for(make.manager())
    seen = shown_version(client, f"/issues/{issue.id}", "approve")
    causes = []

    def apply_after_a_rival(session_, actor, subject, *args, **kwargs):
        session_.commit()  # our read is done; the rival's transaction commits before our write
        _other_writer_commits(session_.get_bind(), subject.id, "競合で先に保存")
        try:
            return real_apply(session_, actor, subject, *args, **kwargs)
        except WorkflowConflict as conflict:
            causes.append(conflict.__cause__)
            raise

    monkeypatch.setattr(workflow, "apply", apply_after_a_rival)
    response = client.post(f"/issues/{issue.id}/approve", data={"approve-version": seen})
    assert_conflict(response, f"/issues/{issue.id}")
    assert isinstance(causes[0], StaleDataError)  # the row's version had moved under the UPDATE

    session.expire_all()
    issue = session.get(WardIssue, issue.id)
    assert issue.title == "競合で先に保存" and issue.state == IssueState.DRAFT
    assert events_of(session, "approve") == 0


# --- the version itself ---------------------------------------------------------------------


def test_apply_refuses_an_expected_version_that_is_gone_and_changes_nothing(make, session):
    issue = make.issue(IssueState.REGISTERED)
    manager = make.manager()
    before = issue.version
    with pytest.raises(WorkflowConflict):
        workflow.apply(session, manager, issue, "send", {}, today=TODAY, expected_version=before - 1)
    assert issue.state == IssueState.REGISTERED and issue.version == before
    assert issubclass(WorkflowConflict, WorkflowError)
    workflow.apply(session, manager, issue, "send", {}, today=TODAY, expected_version=before)
    session.commit()
    assert issue.state == IssueState.CONSULTING and issue.version == before + 1


def test_the_version_goes_up_by_one_with_every_change_but_notes(make, session):
    manager, staff = make.manager(), make.staff("環境局")
    issue = workflow.create_issue(
        session,
        manager,
        {"title": "街灯", "situation": "老朽化", "proposal": "更新", "lead_bureau": None},
        today=TODAY,
    )
    session.commit()
    assert issue.version == 1
    actors = {"manager": manager, "approver": make.second_manager(), "staff": staff}
    steps = [
        ("manager", "edit", {"lead_bureau": make.bureau("環境局").id}),
        *PATH_TO_STATE[IssueState.IMPLEMENTING],
    ]
    steps += [
        ("staff", "note", {"body": "工事業者を選定"}),
        (
            "staff",
            "add_budget_line",
            {"fiscal_year": 2026, "project_name": "追加工事", "allocated_yen": 500_000},
        ),
        ("manager", "write_public_text", {"title": "公園の街灯をLEDに更新します"}),
        ("approver", "approve_public_text", {}),
        ("manager", "set_public", {"is_public": True}),
    ]
    for who, action, payload in steps:
        before = issue.version
        workflow.apply(
            session, actors[who], issue, action, dict(payload), today=TODAY, expected_version=before
        )
        session.commit()
        assert issue.version == before + (0 if action == "note" else 1), action

    request = make.request()
    assert request.version == 1
    for action, payload in [
        ("refer", {"referred_to": "土木センター"}),
        ("answer", {"answer_kind": "resolved", "answer_text": "修理済み", "answered_on": TODAY}),
        ("reopen", {"comment": "再発"}),
    ]:
        before = request.version
        workflow.apply(session, manager, request, action, payload, today=TODAY, expected_version=before)
        session.commit()
        assert request.version == before + 1, action


def test_factories_build_every_state_with_versions(make):
    for state in IssueState:
        issue = make.issue(state)
        assert issue.state == state and issue.version >= 1
        assert all(r.version >= 1 for r in issue.requests)
