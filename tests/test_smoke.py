import datetime as dt
from collections import Counter

from sqlalchemy import func, select

from tracker.city import demo_requests, masterdata
from tracker.models import ServiceRequest, WardFund, WardIssue
from tracker.states import IssueState, RequestState, Role


def test_each_role_home_page_renders(make, login_as):
    for user, heading in [
        (make.liaison(), "未回答の要望"),
        (make.manager(), "要望の振り分け"),
        (make.staff(), "担当の区重要課題"),
        (make.admin(), "ユーザー"),
    ]:
        client = login_as(user)
        response = client.get("/", follow_redirects=True)
        assert response.status_code == 200
        assert heading in response.get_data(as_text=True), user.role


def test_factory_walks_issue_to_completed(make):
    from tracker.states import IssueState

    issue = make.issue(IssueState.COMPLETED)
    assert issue.budget_lines[0].executed_yen == 2_000_000
    assert [e.action for e in issue.events][-1] == "complete"
    assert Role.ADMIN


def test_demo_requests_show_a_ward_office_at_work_and_load_once(session, tmp_path):
    today = dt.date(2026, 11, 22)
    masterdata.load_demo_users(session)
    assert demo_requests.load_demo_requests(session, str(tmp_path), today) == 4 * 6
    assert demo_requests.load_demo_requests(session, str(tmp_path), today) == 0
    demo = select(ServiceRequest).where(ServiceRequest.fiscal_year == 2026, ServiceRequest.title.like("%(%)"))
    states = Counter(request.state for request in session.scalars(demo))
    assert states == {
        RequestState.RECEIVED: 8,
        RequestState.ANSWERED: 4,
        RequestState.REFERRED: 4,
        RequestState.ESCALATED: 8,
    }
    overdue = [
        r for r in session.scalars(demo) if r.state == RequestState.RECEIVED and r.answer_due_on < today
    ]
    assert len(overdue) == 4  # the 30-day-old ones: a dashboard has something to flag
    issues = Counter(i.state for i in session.scalars(select(WardIssue).where(WardIssue.fiscal_year == 2026)))
    assert issues == {IssueState.DRAFT: 4, IssueState.CONSULTING: 4}
    assert session.scalar(select(func.count(WardFund.id)).where(WardFund.fiscal_year == 2026)) == 4
