"""Shared across wards (区役所間の情報共有): 他区の類似課題 on an issue's page and the city-wide
事例集 (good-practice library). The workflow rows of the 事例集 actions are in
tests/test_workflow_issues.py; who may open the routes is in tests/test_authorization_matrix.py.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tracker import workflow
from tracker.finding import similar_issues
from tracker.models import Category, HistoryEvent
from tracker.monitoring_models import GoodPractice
from tracker.states import IssueState
from tracker.workflow import WorkflowError

from .factories import TODAY

S = IssueState
SECRET_REQUEST = "中央区の住民だけが知る要望の件名"
SECRET_NAME = "熊本 花子"
SECRET_CONTACT = "096-123-4567"
SECRET_COMMENT = "中央区の内部でだけ共有するコメント"
SUMMARY = "自治会と共同で点検したことで、設置場所の合意が早くできた。"


@pytest.fixture
def categories(session) -> tuple[Category, Category]:
    first, second = session.scalars(select(Category).order_by(Category.id).limit(2)).all()
    return first, second


@pytest.fixture
def people(make):
    return {
        "central": make.manager("中央区"),
        "east": make.manager("東区"),
        "east_liaison": make.liaison("東区"),
        "staff": make.staff("環境局"),
        "admin": make.admin(),
    }


def an_issue(make, people, state, *, ward="中央区", title="公園の街灯の老朽化", category=None,
             request_title=None, **request):  # fmt: skip
    manager = people["central"] if ward == "中央区" else people["east"]
    fields = dict(request)
    if request_title is not None:
        fields["title"] = request_title
    if category is not None:
        fields["category_id"] = category.id
    return make.issue(state, ward=ward, manager=manager, staff=people["staff"], title=title,
                      request_fields=fields)  # fmt: skip


@pytest.fixture
def east_issue(make, people, categories):
    """東区's issue the similar ones are looked for: 街灯, in the first category."""
    return an_issue(
        make, people, S.REGISTERED, ward="東区", title="通学路の街灯の老朽化", category=categories[0]
    )


def found(session, user, issue) -> dict[str, similar_issues.SimilarIssue]:
    return {s.reference: s for s in similar_issues.similar_issues(session, user, issue)}


# --- 他区の類似課題 --------------------------------------------------------------------------


def test_similar_issue_of_another_ward_by_category(session, make, people, categories, east_issue):
    same = an_issue(make, people, S.COMPLETED, title="ごみステーションの設置", category=categories[0])
    other = an_issue(make, people, S.COMPLETED, title="ごみステーションの設置", category=categories[1])
    shown = found(session, people["east"], east_issue)
    assert same.reference in shown and other.reference not in shown
    row = shown[same.reference]
    assert (row.same_category, row.similar_text, row.ward) == (True, False, "中央区")
    assert (row.state, row.decision.label, row.lead_bureau, row.budget_yen) == (
        S.COMPLETED,
        "対応する",
        "環境局",
        2_000_000,
    )
    assert row.outcome == "設置した" and not row.visible


def test_similar_issue_of_another_ward_by_text(session, make, people, categories, east_issue):
    alike = an_issue(make, people, S.CONSULTING, title="公園の街灯の老朽化", category=categories[1])
    shown = found(session, people["east"], east_issue)
    assert shown[alike.reference].similar_text and not shown[alike.reference].same_category
    assert shown[alike.reference].budget_yen == 0


def test_own_ward_drafts_and_withdrawn_issues_are_not_similar(session, make, people, categories, east_issue):
    own = an_issue(make, people, S.COMPLETED, ward="東区", category=categories[0])
    hidden = [
        an_issue(make, people, state, category=categories[0])
        for state in (S.DRAFT, S.AWAITING_APPROVAL, S.WITHDRAWN)
    ]
    shown = found(session, people["east"], east_issue)
    assert not {own.reference, *(i.reference for i in hidden)} & set(shown)
    assert east_issue.reference not in shown


def test_cancelled_budget_lines_count_in_no_total(session, make, people, categories, east_issue):
    issue = an_issue(make, people, S.IMPLEMENTING, category=categories[0])
    line = {"fiscal_year": 2024, "project_name": "追加工事", "allocated_yen": 300_000}
    workflow.apply(session, people["staff"], issue, "add_budget_line", line, today=TODAY)
    line = issue.budget_lines[0]
    workflow.apply(session, people["staff"], issue, "cancel_budget_line",
                   {"budget_line": line.id, "comment": "重複"}, today=TODAY)  # fmt: skip
    assert found(session, people["east"], east_issue)[issue.reference].budget_yen == 300_000


def test_similar_issues_take_five_bounded_queries_whatever_the_number_of_issues(
    session, make, people, categories, east_issue, count_queries
):
    def statements() -> int:
        session.expire_all()
        issue = session.get(type(east_issue), east_issue.id)
        user = session.get(type(people["east"]), people["east"].id)
        count_queries.clear()
        rows = similar_issues.similar_issues(session, user, issue)
        return len(count_queries), len(rows)

    an_issue(make, people, S.REGISTERED, category=categories[0])
    few = statements()
    for _ in range(similar_issues.LIMIT + 2):
        an_issue(make, people, S.REGISTERED, category=categories[0])
    many = statements()
    assert few == (5, 1)  # its categories; sharing one; the newest; like the title; which share
    assert many == (5, similar_issues.LIMIT)


def test_bureau_staff_are_offered_only_issues_sent_to_a_bureau(session, make, people, categories):
    mine = an_issue(make, people, S.CONSULTING, ward="東区", category=categories[0])
    sent = an_issue(make, people, S.CONSULTING, category=categories[0])
    unsent = an_issue(make, people, S.REGISTERED, category=categories[0])
    shown = found(session, people["staff"], mine)
    assert sent.reference in shown and unsent.reference not in shown
    assert shown[sent.reference].visible  # sent to the staff member's own bureau


def test_issue_page_shows_issue_facts_only(session, make, people, categories, east_issue, login_as):
    central = an_issue(make, people, S.COMPLETED, title="ごみステーションの設置", category=categories[0],
                       request_title=SECRET_REQUEST, requester_name=SECRET_NAME,
                       requester_contact=SECRET_CONTACT)  # fmt: skip
    request = central.requests[0]
    workflow.apply(session, people["central"], request, "comment", {"body": SECRET_COMMENT}, today=TODAY)
    workflow.apply(session, people["central"], central, "comment", {"body": SECRET_COMMENT}, today=TODAY)
    session.commit()
    html = login_as(people["east"]).get(f"/issues/{east_issue.id}").get_data(as_text=True)
    section = html[html.index("他区の類似課題") :]
    assert central.reference in section and "ごみステーションの設置" in section and "2,000千円" in section
    assert "設置した" in section and "中央区" in section
    assert f"/issues/{central.id}" not in html  # the 東区 manager may not open it
    for secret in (request.reference, SECRET_REQUEST, SECRET_NAME, SECRET_CONTACT, SECRET_COMMENT,
                   request.organisation):  # fmt: skip
        assert secret not in html


def test_admin_sees_links_and_a_liaison_no_section(session, make, people, categories, east_issue, login_as):
    central = an_issue(make, people, S.COMPLETED, category=categories[0])
    admin_html = login_as(people["admin"]).get(f"/issues/{east_issue.id}").get_data(as_text=True)
    assert "他区の類似課題" in admin_html and f'/issues/{central.id}"' in admin_html
    liaison_html = login_as(people["east_liaison"]).get(f"/issues/{east_issue.id}").get_data(as_text=True)
    assert "他区の類似課題" not in liaison_html and central.reference not in liaison_html


# --- marking a good practice -----------------------------------------------------------------


def practice_count(session) -> int:
    return session.scalar(select(func.count()).select_from(GoodPractice))


def test_mark_edit_unmark_with_history(session, make, people, login_as):
    issue = an_issue(make, people, S.COMPLETED)
    client = login_as(people["central"])
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert "事例集に登録" in page and "事例の要約を編集" not in page
    response = client.post(f"/issues/{issue.id}/good-practice", data={"mark_good_practice-summary": SUMMARY})
    assert response.status_code == 302
    practice = session.scalars(select(GoodPractice)).one()
    assert (practice.summary, practice.marked_by_id) == (SUMMARY, people["central"].id)
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert "事例の要約を編集" in page and "事例集から外す" in page and SUMMARY in page
    client.post(f"/issues/{issue.id}/good-practice/edit", data={"edit_good_practice-summary": "改めた要約"})
    session.refresh(practice)
    assert practice.summary == "改めた要約"
    client.post(f"/issues/{issue.id}/good-practice/remove", data={"unmark_good_practice-comment": "誤登録"})
    assert practice_count(session) == 0
    mine = (HistoryEvent.ward_issue_id == issue.id, HistoryEvent.action.like("%good_practice"))
    events = session.scalars(select(HistoryEvent).where(*mine).order_by(HistoryEvent.id)).all()
    assert [(e.action, e.data) for e in events] == [
        ("mark_good_practice", {"old_summary": None, "new_summary": SUMMARY}),
        ("edit_good_practice", {"old_summary": SUMMARY, "new_summary": "改めた要約"}),
        ("unmark_good_practice", {"old_summary": "改めた要約", "new_summary": None}),
    ]
    assert events[-1].comment == "誤登録"
    assert "事例集の要約: 改めた要約 → (なし)" in client.get(f"/issues/{issue.id}").get_data(as_text=True)


@pytest.mark.parametrize("who", ["east", "east_liaison", "staff", "admin"])
def test_only_the_wards_managers_mark(session, make, people, login_as, who):
    issue = an_issue(make, people, S.COMPLETED)
    events = len(issue.events)
    client = login_as(people[who])
    response = client.post(f"/issues/{issue.id}/good-practice", data={"mark_good_practice-summary": SUMMARY})
    assert response.status_code == 403
    session.refresh(issue)
    assert practice_count(session) == 0 and len(issue.events) == events


def test_an_issue_not_completed_cannot_be_marked(session, make, people, login_as):
    issue = an_issue(make, people, S.IMPLEMENTING)
    response = login_as(people["central"]).post(
        f"/issues/{issue.id}/good-practice", data={"mark_good_practice-summary": SUMMARY}
    )
    assert response.status_code == 403
    assert practice_count(session) == 0


def test_a_summary_is_required_and_short(session, make, people, login_as):
    issue = an_issue(make, people, S.COMPLETED)
    client = login_as(people["central"])
    blank = client.post(f"/issues/{issue.id}/good-practice", data={"mark_good_practice-summary": "  "})
    long = client.post(f"/issues/{issue.id}/good-practice", data={"mark_good_practice-summary": "あ" * 2001})
    assert (blank.status_code, long.status_code) == (422, 422)
    assert "あ" * 2001 in long.get_data(as_text=True)  # what was typed is kept
    assert practice_count(session) == 0


def test_marking_twice_is_refused(session, make, people):
    issue = an_issue(make, people, S.COMPLETED)
    workflow.apply(session, people["central"], issue, "mark_good_practice", {"summary": SUMMARY}, today=TODAY)
    with pytest.raises(WorkflowError, match="すでに事例集に登録されています"):
        workflow.apply(
            session, people["central"], issue, "mark_good_practice", {"summary": "別"}, today=TODAY
        )
    with pytest.raises(WorkflowError, match="要約が変更されていません"):
        workflow.apply(
            session, people["central"], issue, "edit_good_practice", {"summary": SUMMARY}, today=TODAY
        )
    assert practice_count(session) == 1


# --- the library -----------------------------------------------------------------------------


@pytest.fixture
def library(session, make, people):
    central = an_issue(make, people, S.COMPLETED, title="ごみステーションの設置")
    east = make.issue(
        S.COMPLETED, ward="東区", lead="消防局", manager=people["east"], title="消防倉庫の建替え"
    )
    workflow.apply(
        session, people["central"], central, "mark_good_practice", {"summary": SUMMARY}, today=TODAY
    )
    workflow.apply(session, people["east"], east, "mark_good_practice", {"summary": "地元の消防団と協議した"},
                   today=TODAY)  # fmt: skip
    session.commit()
    return {"central": central, "east": east}


def titles(html: str, library) -> set[str]:
    return {name for name, issue in library.items() if issue.title in html}


@pytest.mark.parametrize("who", ["central", "east", "east_liaison", "staff", "admin"])
def test_every_role_opens_the_library(make, people, library, login_as, who):
    response = login_as(people[who]).get("/practices/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and titles(html, library) == {"central", "east"}
    assert SUMMARY in html and "2,000千円" in html and "消防局" in html
    for request in (*library["central"].requests, *library["east"].requests):
        assert request.reference not in html and request.requester_name not in html


def test_the_library_links_to_an_issue_only_for_who_may_see_it(people, library, login_as):
    link = f'href="/issues/{library["central"].id}"'
    assert link in login_as(people["central"]).get("/practices/").get_data(as_text=True)
    assert link not in login_as(people["east"]).get("/practices/").get_data(as_text=True)
    assert link in login_as(people["admin"]).get("/practices/").get_data(as_text=True)


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"q": "消防団"}, {"east"}),  # the summary
        ({"q": "ごみステーション"}, {"central"}),  # the title
        ({"q": "校区内の街灯"}, {"central", "east"}),  # 現状と課題
        ({"q": "消防団 ごみ"}, set()),  # every word
        ({"ward": "WARD_EAST"}, {"east"}),
        ({"bureau": "BUREAU_FIRE"}, {"east"}),
        ({"fiscal_year": "2024"}, {"central", "east"}),
        ({"fiscal_year": "2023"}, set()),
    ],
)
def test_library_search_and_filters(make, people, library, login_as, query, expected):
    values = {"WARD_EAST": make.ward("東区").id, "BUREAU_FIRE": make.bureau("消防局").id}
    args = {key: values.get(value, value) for key, value in query.items()}
    html = login_as(people["east_liaison"]).get("/practices/", query_string=args).get_data(as_text=True)
    assert titles(html, library) == expected


def test_library_pages_and_counts_queries(
    session, make, people, library, login_as, count_queries, app, monkeypatch
):
    for _ in range(3):
        issue = an_issue(make, people, S.COMPLETED, title="追加の事例")
        workflow.apply(
            session, people["central"], issue, "mark_good_practice", {"summary": "要約"}, today=TODAY
        )
    session.commit()
    client = login_as(people["admin"])
    monkeypatch.setitem(client.application.config, "PAGE_SIZE", 2)
    count_queries.clear()
    first = client.get("/practices/").get_data(as_text=True)
    queries = len(count_queries)
    assert 'rel="next"' in first and "該当 5件" in first
    count_queries.clear()
    client.get("/practices/", query_string={"q": "要約", "ward": make.ward("中央区").id})
    assert len(count_queries) == queries


def test_unknown_filter_values_are_dropped_with_a_notice(people, library, login_as):
    html = (
        login_as(people["staff"]).get("/practices/", query_string={"ward": "999999"}).get_data(as_text=True)
    )
    assert "条件から外しました" in html and titles(html, library) == {"central", "east"}


def test_roles_of_the_viewers(people):
    assert [similar_issues.may_see(people[k]) for k in ("central", "east_liaison", "staff", "admin")] == [
        True, False, True, True,
    ]  # fmt: skip
