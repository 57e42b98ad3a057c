"""Input only a job or an API caller could send: the workflow refuses it in Japanese, not the database."""

import pytest
from sqlalchemy import func, select

from tracker import workflow
from tracker.models import WardIssue
from tracker.states import IssueState, RequestState
from tracker.workflow import WorkflowError

from .factories import TODAY


def test_too_long_texts_are_refused_before_anything_changes(make, session):
    request, manager = make.request(), make.manager()
    issues = session.execute(select(func.count(WardIssue.id))).scalar_one()
    with pytest.raises(WorkflowError, match="件名は200文字以内で入力してください。"):
        workflow.apply(session, manager, request, "escalate", {"title": "街" * 201}, today=TODAY)
    with pytest.raises(WorkflowError, match="回付先は120文字以内で入力してください。"):
        workflow.apply(session, manager, request, "refer", {"referred_to": "課" * 121}, today=TODAY)
    assert request.state == RequestState.RECEIVED
    assert session.execute(select(func.count(WardIssue.id))).scalar_one() == issues


def test_an_unknown_related_bureau_is_named_as_such(make, session):
    issue = make.issue(IssueState.REGISTERED)
    manager = issue.created_by
    payload = {"lead_bureau": make.bureau().id, "related_bureaus": [987654]}
    with pytest.raises(WorkflowError, match="関係局を選んでください。"):
        workflow.apply(session, manager, issue, "send", payload, today=TODAY)


@pytest.mark.parametrize("flag", ["false", "0", "", None, "off"])
def test_within_existing_budget_needs_a_real_yes(make, session, flag):
    issue = make.issue(IssueState.DECIDED)
    staff = make.staff()
    with pytest.raises(WorkflowError, match="既存予算内で対応"):
        workflow.apply(session, staff, issue, "budget", {"within_existing_budget": flag}, today=TODAY)
    assert issue.state == IssueState.DECIDED and not issue.within_existing_budget


@pytest.mark.parametrize("flag", [True, "true", "on", "1"])
def test_within_existing_budget_accepts_yes(make, session, flag):
    issue = make.issue(IssueState.DECIDED)
    workflow.apply(session, make.staff(), issue, "budget", {"within_existing_budget": flag}, today=TODAY)
    assert issue.state == IssueState.BUDGETED and issue.within_existing_budget
