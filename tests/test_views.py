"""Views: each role's pages render, forbidden ones answer 403 and change nothing, lists stay cheap."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from tracker.models import HistoryEvent, Photo, ServiceRequest
from tracker.states import IssueState, RequestState

from .factories import png_bytes


def event_count(session) -> int:
    return session.execute(select(func.count(HistoryEvent.id))).scalar_one()


@pytest.mark.parametrize(
    "role, path, heading",
    [
        ("liaison", "/field/", "未回答の要望"),
        ("liaison", "/requests/new", "要望を登録"),
        ("liaison", "/requests/", "要望一覧"),
        ("liaison", "/issues/", "区重要課題"),
        ("manager", "/ward/", "要望の振り分け"),
        ("manager", "/issues/new", "区重要課題を起案"),
        ("manager", "/requests/new", "要望を登録"),
        ("staff", "/bureau/", "担当の区重要課題"),
        ("staff", "/bureau/?tab=all", "担当の区重要課題"),
        ("admin", "/requests/", "要望一覧"),
        ("admin", "/issues/", "区重要課題"),
    ],
)
def test_role_pages_render(make, login_as, role, path, heading):
    client = login_as(getattr(make, role)())
    response = client.get(path)
    assert response.status_code == 200
    assert heading in response.get_data(as_text=True)


def test_detail_pages_render_for_every_party(make, login_as):
    issue = make.issue(IssueState.BUDGETED)
    request = issue.requests[0]
    for user in (make.liaison(), make.manager(), make.staff("環境局"), make.admin()):
        client = login_as(user)
        assert client.get(f"/requests/{request.id}").status_code == 200
        page = client.get(f"/issues/{issue.id}")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert "2,000千円" in text and "令和7年度 (2025)" in text


@pytest.mark.parametrize(
    "role, path",
    [
        ("liaison", "/bureau/"),
        ("liaison", "/ward/"),
        ("liaison", "/admin/users"),
        ("staff", "/ward/"),
        ("staff", "/field/"),
        ("staff", "/requests/"),
        ("manager", "/bureau/"),
        ("manager", "/admin/master"),
        ("admin", "/field/"),
    ],
)
def test_pages_of_other_roles_are_forbidden(make, login_as, role, path):
    response = login_as(getattr(make, role)()).get(path)
    assert response.status_code == 403
    assert "権限" in response.get_data(as_text=True)


def test_anonymous_is_sent_to_login(client):
    response = client.get("/field/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_records_of_another_ward_or_bureau_are_forbidden(make, login_as):
    issue = make.issue(IssueState.CONSULTING)  # 中央区, lead 環境局
    request = issue.requests[0]
    for user in (make.liaison("東区"), make.manager("東区"), make.staff("消防局")):
        client = login_as(user)
        assert client.get(f"/requests/{request.id}").status_code == 403
        assert client.get(f"/issues/{issue.id}").status_code == 403


def test_bureau_cannot_see_an_issue_before_it_is_sent(make, login_as):
    issue = make.issue(IssueState.REGISTERED)
    assert login_as(make.staff("環境局")).get(f"/issues/{issue.id}").status_code == 403


@pytest.mark.parametrize(
    "who, path, data",
    [
        ("liaison", "refer", {"refer-referred_to": "土木センター"}),
        ("other_manager", "refer", {"refer-referred_to": "土木センター"}),
        ("other_manager", "escalate", {"escalate-ward_issue_id": "0", "escalate-title": "x"}),
        ("staff", "answer", {"answer-answer_kind": "resolved", "answer-answer_text": "x"}),
        ("other_liaison", "answer", {"answer-answer_kind": "resolved", "answer-answer_text": "x"}),
    ],
)
def test_forbidden_request_actions_change_nothing(make, login_as, session, who, path, data):
    request = make.request()
    users = {
        "liaison": make.liaison,
        "other_manager": lambda: make.manager("東区"),
        "staff": make.staff,
        "other_liaison": lambda: make.liaison("東区"),
    }
    client = login_as(users[who]())
    before = event_count(session)
    response = client.post(
        f"/requests/{request.id}/{path}", data={**data, f"{path}-answered_on": "2024-06-03"}
    )
    assert response.status_code == 403
    session.refresh(request)
    assert request.state == RequestState.RECEIVED
    assert event_count(session) == before


def test_forbidden_issue_action_says_why_and_changes_nothing(make, login_as, session):
    issue = make.issue(IssueState.CONSULTING)
    client = login_as(make.staff("消防局"))
    before = event_count(session)
    response = client.post(f"/issues/{issue.id}/decide", data={"decide-decision": "adopt"})
    assert response.status_code == 403
    session.refresh(issue)
    assert issue.state == IssueState.CONSULTING and issue.decision is None
    assert event_count(session) == before


def test_related_bureau_sees_but_cannot_decide(make, login_as, session):
    issue = make.issue(IssueState.REGISTERED)
    manager = make.manager()
    client = login_as(manager)
    response = client.post(
        f"/issues/{issue.id}/send",
        data={
            "send-lead_bureau_id": make.bureau("環境局").id,
            "send-related_bureau_ids": make.bureau("都市建設局").id,
        },
    )
    assert response.status_code == 302
    client = login_as(make.staff("都市建設局"))
    assert client.get(f"/issues/{issue.id}").status_code == 200
    response = client.post(f"/issues/{issue.id}/decide", data={"decide-decision": "adopt"})
    assert response.status_code == 403
    assert "主管局" in response.get_data(as_text=True)


def test_invalid_action_input_flashes_japanese_reason_and_changes_nothing(make, login_as, session):
    request = make.request()
    client = login_as(make.manager())
    before = event_count(session)
    response = client.post(
        f"/requests/{request.id}/withdraw", data={"withdraw-comment": ""}, follow_redirects=True
    )
    assert "入力してください" in response.get_data(as_text=True)
    assert request.state == RequestState.RECEIVED
    assert event_count(session) == before


def test_manager_escalates_through_the_page(make, login_as, session):
    request = make.request()
    client = login_as(make.manager())
    response = client.post(
        f"/requests/{request.id}/escalate",
        data={"escalate-ward_issue_id": "0", "escalate-title": "公園の街灯", "escalate-lead_bureau_id": "0"},
        follow_redirects=True,
    )
    assert "区重要課題にまとめました" in response.get_data(as_text=True)
    session.refresh(request)
    assert request.state == RequestState.ESCALATED
    assert request.ward_issue.title == "公園の街灯"


def test_log_request_with_photo_and_serve_it_safely(make, login_as, session):
    liaison = make.liaison()
    client = login_as(liaison)
    response = client.post(
        "/requests/new",
        data={
            "title": "カーブミラーが曲がっている",
            "category_id": make.category().id,
            "source": "counter",
            "received_on": "2024-06-03",
            "photos": [(io.BytesIO(png_bytes()), "mirror.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    created = session.execute(
        select(ServiceRequest).filter_by(title="カーブミラーが曲がっている")
    ).scalar_one()
    assert created.reference.startswith("CHUO-2024-")
    assert created.events[0].action == "create"
    photo = created.photos[0]
    served = client.get(f"/photos/{photo.id}")
    assert served.status_code == 200
    assert served.mimetype == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert login_as(make.liaison("東区")).get(f"/photos/{photo.id}").status_code == 403


def test_a_file_that_is_not_an_image_is_refused_and_nothing_is_stored(make, login_as, session):
    client = login_as(make.liaison())
    count = session.execute(select(func.count(ServiceRequest.id))).scalar_one()
    response = client.post(
        "/requests/new",
        data={
            "title": "偽の写真",
            "category_id": make.category().id,
            "source": "counter",
            "photos": [(io.BytesIO(b"<html><script>alert(1)</script>"), "photo.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "写真 (JPEG・PNG・WebP) として読み取れません" in response.get_data(as_text=True)
    assert session.execute(select(func.count(ServiceRequest.id))).scalar_one() == count
    assert session.execute(select(func.count(Photo.id))).scalar_one() == 0


def test_personal_data_is_masked_for_bureau_staff(make, login_as):
    issue = make.issue(IssueState.CONSULTING)
    request = issue.requests[0]
    staff_page = login_as(make.staff("環境局")).get(f"/requests/{request.id}").get_data(as_text=True)
    assert "熊本 太郎" not in staff_page and "096-000-0000" not in staff_page
    assert "＊＊＊" in staff_page
    manager = login_as(make.manager())
    page = manager.get(f"/requests/{request.id}").get_data(as_text=True)
    assert "熊本 太郎" not in page  # masked by default, for every role
    manager.post(f"/requests/{request.id}/personal-data")  # 「個人情報を表示」: shown once, and recorded
    assert "熊本 太郎" in manager.get(f"/requests/{request.id}").get_data(as_text=True)


LIST_PAGES = [
    ("liaison", "/field/"),
    ("liaison", "/requests/"),
    ("manager", "/ward/"),
    ("manager", "/issues/"),
    ("staff", "/bureau/?tab=all"),
    ("admin", "/requests/"),
]


@pytest.mark.parametrize("role, path", LIST_PAGES)
def test_list_pages_run_a_constant_number_of_queries(make, login_as, count_queries, role, path):
    liaison = make.liaison()
    manager = make.manager()
    staff = make.staff("環境局")
    users = {"liaison": liaison, "manager": manager, "staff": staff, "admin": make.admin()}
    client = login_as(users[role])

    def add_rows(count):
        for _ in range(count):
            make.request(liaison)
            make.issue(IssueState.BUDGETED, manager=manager, staff=staff)

    def queries_for_page():
        count_queries.clear()
        assert client.get(path).status_code == 200
        return len(count_queries)

    add_rows(2)
    few = queries_for_page()
    add_rows(8)
    many = queries_for_page()
    assert few == many


def test_login_failure_and_deactivated_user(make, client, csrf_off):
    user = make.liaison()
    response = client.post("/login", data={"login": user.login, "password": "wrong-password"})
    assert response.status_code == 200
    assert "正しくありません" in response.get_data(as_text=True)
    user.active = False
    response = client.post("/login", data={"login": user.login, "password": "correct-horse-battery"})
    assert response.status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_login_next_stays_on_the_site(make, client, csrf_off, target):
    user = make.liaison()
    response = client.post(
        "/login", data={"login": user.login, "password": "correct-horse-battery", "next": target}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_follows_a_local_next(make, client, csrf_off):
    user = make.liaison()
    response = client.post(
        "/login", data={"login": user.login, "password": "correct-horse-battery", "next": "/requests/"}
    )
    assert response.headers["Location"] == "/requests/"


def test_change_password_and_logout(make, login_as):
    user = make.manager()
    client = login_as(user)
    response = client.post(
        "/password", data={"current": "correct-horse-battery", "new": "short", "confirm": "short"}
    )
    assert "10文字以上" in response.get_data(as_text=True)
    response = client.post(
        "/password",
        data={"current": "correct-horse-battery", "new": "a-new-long-pass", "confirm": "a-new-long-pass"},
    )
    assert response.status_code == 302
    assert client.post("/logout").status_code == 302
    assert client.get("/ward/").status_code == 302
    response = client.post("/login", data={"login": user.login, "password": "a-new-long-pass"})
    assert response.status_code == 302


def test_csrf_is_required_on_posts(make, app, client, session):
    request = make.request()
    response = client.post("/login", data={"login": "x", "password": "y"})
    assert response.status_code == 400
    assert "もう一度お試しください" in response.get_data(as_text=True)
    assert session.get(ServiceRequest, request.id).state == RequestState.RECEIVED


def test_production_requires_a_secret_key(monkeypatch, tmp_path):
    from tracker.config import ConfigError, load_config

    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(str(tmp_path), {"APP_ENV": "production"})


def test_issue_list_shows_only_own_ward(make, login_as):
    make.issue(IssueState.DRAFT, ward="東区", with_request=False)
    own = make.issue(IssueState.DRAFT, with_request=False)
    text = login_as(make.manager()).get("/issues/").get_data(as_text=True)
    assert own.reference in text
    assert "HIGASHI-" not in text


def test_english_is_available(make, login_as):
    client = login_as(make.liaison())
    text = client.get("/field/?lang=en").get_data(as_text=True)
    assert "Unanswered requests" in text
    assert "未回答の要望" in client.get("/field/?lang=ja").get_data(as_text=True)
