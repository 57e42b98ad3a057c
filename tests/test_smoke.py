import datetime as dt
from collections import Counter

from sqlalchemy import func, select

from tracker.city import demo_calendar, demo_practices, demo_requests, demo_teamwork, masterdata
from tracker.effects import budget_calendar
from tracker.models import HistoryEvent, ServiceRequest, WardFund, WardIssue
from tracker.monitoring_models import BudgetCalendar, GoodPractice
from tracker.states import IssueState, RequestState
from tracker.teamwork_models import Attachment, Comment


def test_each_role_home_page_renders(make, login_as):
    # the page each role lands on, told by its <h1> and a part of it no other page of the role has
    for user, path, heading, content in [
        (make.liaison(), "/field/", "<h1>未回答の要望</h1>", "中央区まちづくりセンター の未回答の要望です。"),
        (make.manager(), "/ward/", "<h1>要望の振り分け</h1>", "中央区の受付・回付中の要望です。"),
        (make.staff(), "/bureau/", "<h1>環境局 担当の区重要課題</h1>", 'class="current">協議中</a>'),
        (make.admin(), "/admin/users", "<h1>ユーザー</h1>", "<th>ログインID</th><th>氏名</th><th>役割</th>"),
    ]:
        client = login_as(user)
        response = client.get("/", follow_redirects=True)
        assert response.status_code == 200
        assert response.request.path == path, user.role
        text = response.get_data(as_text=True)
        assert heading in text and content in text, user.role


def test_factory_walks_issue_to_completed(make):
    issue = make.issue(IssueState.COMPLETED)
    assert issue.state == IssueState.COMPLETED
    assert issue.budget_lines[0].executed_yen == 2_000_000
    assert [e.action for e in issue.events] == [
        "create",
        "bundle",  # the factory escalates a request into it
        "submit",  # the drafter submits it, a second manager approves it
        "approve",
        "send",
        "decide",
        "budget",
        "start",
        "complete",
    ]


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


def test_demo_teamwork_shows_ward_and_bureau_working_together_and_loads_once(session, tmp_path):
    today = dt.date(2026, 11, 22)
    masterdata.load_demo_users(session)
    demo_requests.load_demo_requests(session, str(tmp_path), today)
    assert demo_teamwork.load_demo_teamwork(session, str(tmp_path / "attachments"), today) is True
    assert demo_teamwork.load_demo_teamwork(session, str(tmp_path / "attachments"), today) is False
    issues = {
        i.ward.name: i
        for i in session.scalars(select(WardIssue).where(WardIssue.title.like("防犯灯の増設 (%")))
    }
    assert issues["中央区"].state == IssueState.INQUIRING  # the bureau's question waits for the ward
    assert {i.state for name, i in issues.items() if name != "中央区"} == {IssueState.CONSULTING}
    assert session.scalar(select(func.count(Comment.id))) == 2 * len(issues)
    letter = session.scalars(select(Attachment)).one()
    assert (letter.ward_issue_id, letter.content_type) == (issues["東区"].id, "application/pdf")
    assert (tmp_path / "attachments" / letter.stored_name).read_bytes().startswith(b"%PDF-")
    offered = session.scalars(select(ServiceRequest).filter_by(state=RequestState.HANDING_OVER)).one()
    assert (offered.ward.name, offered.handover_ward.name) == ("北区", "中央区")
    corrected = session.scalars(select(HistoryEvent).filter_by(action="correct_request")).one()
    assert corrected.comment == demo_teamwork.CORRECTION["comment"]


def test_demo_calendar_is_next_years_budget_puts_the_demo_consultations_at_risk_and_loads_once(
    session, tmp_path
):
    today = dt.date(2026, 11, 22)
    masterdata.load_demo_users(session)
    demo_requests.load_demo_requests(session, str(tmp_path), today)
    demo_teamwork.load_demo_teamwork(session, str(tmp_path / "attachments"), today)
    assert demo_calendar.load_demo_calendar(session, today) is True
    assert demo_calendar.load_demo_calendar(session, today) is False
    calendar = session.scalars(select(BudgetCalendar)).one()
    dates = (calendar.budget_year, calendar.send_by, calendar.results_by, calendar.decided_on)
    assert dates == (2027, dt.date(2026, 10, 31), dt.date(2026, 12, 15), dt.date(2027, 2, 5))
    assert (
        budget_calendar.problems(2027, {n: getattr(calendar, n) for n in budget_calendar.DATE_FIELDS}) == {}
    )
    # past 10月末 the drafts are too late; the four consultations have 23 days to get a result
    outlook = budget_calendar.at_risk(session, today)
    assert [(item.step, item.days_left) for item in outlook.items] == [("協議結果の登録", 23)] * 4
    assert len({item.issue.ward_id for item in outlook.items}) == 4  # one in each demo ward


def test_demo_library_holds_the_three_published_examples_and_loads_once(session, tmp_path, make, login_as):
    masterdata.load_demo_users(session)
    masterdata.load_demo_issues(session, str(tmp_path))
    today = dt.date(2026, 11, 22)
    assert demo_practices.load_demo_practices(session, today) == 3
    assert demo_practices.load_demo_practices(session, today) == 0
    entries = session.scalars(select(GoodPractice)).all()
    assert {e.ward_issue.title for e in entries} == set(demo_practices.SUMMARIES)
    assert all(e.ward_issue.events[-1].action == "mark_good_practice" for e in entries)
    session.commit()
    html = login_as(make.liaison("北区")).get("/practices/").get_data(as_text=True)
    assert all(title in html for title in demo_practices.SUMMARIES) and "47,537千円" in html
