"""Views: each role's pages render, forbidden ones answer 403 and change nothing, lists stay cheap."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from tracker.models import HistoryEvent, Photo, ServiceRequest
from tracker.states import IssueState, RequestState

from .factories import png_bytes
from .test_notifications import add_notifications


def event_count(session) -> int:
    return session.execute(select(func.count(HistoryEvent.id))).scalar_one()


@pytest.mark.parametrize(
    "role, path, heading, content",
    [
        # the <h1> (the menu repeats most titles on every page), and something only that page shows
        ("liaison", "/field/", "<h1>未回答の要望</h1>", "中央区まちづくりセンター の未回答の要望です。"),
        ("liaison", "/requests/new", "<h1>要望を登録</h1>", "<legend>要望の内容</legend>"),
        ("liaison", "/requests/", "<h1>要望一覧</h1>", '<select name="logged_by">'),
        ("liaison", "/issues/", "<h1>区重要課題</h1>", "<th>主管局</th><th>担当者</th><th>協議結果</th>"),
        ("manager", "/ward/", "<h1>要望の振り分け</h1>", "中央区の受付・回付中の要望です。"),
        ("manager", "/issues/new", "<h1>区重要課題を起案</h1>", "起案する</button>"),
        ("manager", "/requests/new", "<h1>要望を登録</h1>", '<select id="center_id" name="center_id">'),
        (
            "staff",
            "/bureau/",
            "<h1>環境局 担当の区重要課題</h1>",
            'aria-current="page" class="current">協議中</a>',
        ),
        (
            "staff",
            "/bureau/?tab=all",
            "<h1>環境局 担当の区重要課題</h1>",
            'aria-current="page" class="current">すべて</a>',
        ),
        ("admin", "/requests/", "<h1>要望一覧</h1>", '<select name="ward">'),
        ("admin", "/issues/", "<h1>区重要課題</h1>", '<select name="ward">'),
    ],
)
def test_role_pages_render(make, login_as, role, path, heading, content):
    client = login_as(getattr(make, role)())
    response = client.get(path)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert heading in text
    assert content in text


def test_detail_pages_render_for_every_party(make, login_as):
    issue = make.issue(IssueState.BUDGETED)
    request = issue.requests[0]
    for user in (make.liaison(), make.manager(), make.staff("環境局"), make.admin()):
        client = login_as(user)
        request_page = client.get(f"/requests/{request.id}")
        assert request_page.status_code == 200
        assert f"<h1>{request.reference} {request.title}</h1>" in request_page.get_data(as_text=True)
        page = client.get(f"/issues/{issue.id}")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert f"<h1>{issue.reference} {issue.title}</h1>" in text
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
    text = response.get_data(as_text=True)
    assert "<h1>権限がありません</h1>" in text
    assert '<p class="error-message">この画面はあなたの役割では使えません。</p>' in text


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


def test_issue_list_shows_only_own_ward(make, login_as):
    make.issue(IssueState.DRAFT, ward="東区", with_request=False)
    own = make.issue(IssueState.DRAFT, with_request=False)
    text = login_as(make.manager()).get("/issues/").get_data(as_text=True)
    assert own.reference in text
    assert "HIGASHI-" not in text


# (English, the Japanese it replaces): the Japanese must be gone from the English page. Where the
# page also prints the same words in text the catalog does not translate (the liaison's queue keeps
# "＋ 要望を登録" and its lead sentence), the markup around the string pins the translated spot.
ENGLISH_PAGES = {
    "liaison": [
        (
            "/field/?lang=en",
            [
                ("<h1>Unanswered requests</h1>", "<h1>未回答の要望</h1>"),  # the heading
                ('<a href="/dashboard/">Dashboard</a>', "ダッシュボード"),  # the menu
                ('<a href="/requests/new">Log a request</a>', '<a href="/requests/new">要望を登録</a>'),
                ('<a href="/imports/">Bulk import</a>', "一括取込"),
                ('<li><a href="/">Home</a></li>', "ホーム"),  # the breadcrumbs
                ('placeholder="Search requests and issues"', "要望・課題を検索"),
                ('<button type="submit" class="link">Log out</button>', "ログアウト"),  # a button
                ('<span class="badge unread-count">Unread 1</span>', "未読"),
            ],
        ),
        (
            "/notifications/",  # no ?lang=: the choice stays for the session
            [
                ("<h1>Notifications</h1>", "<h1>通知</h1>"),
                ("<thead><tr><th>Date</th><th>Details</th><th>State</th></tr></thead>", "<th>日時</th>"),
                ('<button type="submit" class="button">Mark all as read</button>', "すべて既読にする"),
                ('<button type="submit" class="link">Mark as read</button>', "既読にする"),
                ("E-mail notification settings</a>", "メール通知の設定"),
            ],
        ),
        (
            "/no-such-page",
            [
                ("<h1>Not found</h1>", "見つかりません"),
                ('<p class="error-message">The page you asked for does not exist.</p>', "お探しのページ"),
            ],
        ),
    ],
    "manager": [
        (
            "/ward/?lang=en",
            [
                ("<h1>Triage requests</h1>", "要望の振り分け"),
                ('<a href="/ward/">Triage</a>', '<a href="/ward/">振り分け</a>'),
                ('<a href="/funds">Ward fund</a>', "まちづくり推進経費"),
                ('<a href="/reports/">Reports</a>', "報告書"),
                ("Export the list (every matching row):", "一覧を出力"),
                ("Include personal data", "個人情報を含める"),
            ],
        ),
    ],
    "staff": [
        (
            "/bureau/?lang=en",
            [
                ("<h1>環境局 Ward issues for our bureau</h1>", "担当の区重要課題"),
                ('<a href="/bureau/">In consultation</a>', "協議中の課題"),
                ('<a href="/bureau/?tab=all">Our issues</a>', "担当課題一覧"),
                ("<label>Keywords", "キーワード"),  # the filter form
                ("<label>Decision", "<label>協議結果"),
                ('<button type="submit" class="button">Filter</button>', "絞り込む"),
            ],
        ),
    ],
    "admin": [
        (
            "/admin/users?lang=en",
            [
                ("<h1>Users</h1>", "<h1>ユーザー</h1>"),
                ('<a href="/admin/master">Master data</a>', "マスタデータ"),
                ('<a href="/admin/jobs">Background work</a>', "バックグラウンド処理"),
                ('<a href="/admin/audit/">Personal data access log</a>', "個人情報の閲覧記録"),
            ],
        ),
    ],
}


JAPANESE_HEADINGS = {
    "liaison": "<h1>未回答の要望</h1>",
    "manager": "<h1>要望の振り分け</h1>",
    "staff": "<h1>環境局 担当の区重要課題</h1>",
    "admin": "<h1>ユーザー</h1>",
}


@pytest.mark.parametrize("role", list(ENGLISH_PAGES))
def test_english_is_available(make, login_as, session, role):
    user = getattr(make, role)()
    make.issue(IssueState.CONSULTING)  # a row on the bureau's list
    add_notifications(session, user, 1)
    client = login_as(user)
    for path, strings in ENGLISH_PAGES[role]:
        text = client.get(path).get_data(as_text=True)
        assert '<html lang="en">' in text, path
        for english, japanese in strings:
            assert english in text, (path, english)
            assert japanese not in text, (path, japanese)
    first_path, first_strings = ENGLISH_PAGES[role][0]
    text = client.get(first_path.replace("lang=en", "lang=ja")).get_data(as_text=True)  # and back
    assert '<html lang="ja">' in text and JAPANESE_HEADINGS[role] in text
    for english, _japanese in first_strings:
        assert english not in text, english
