"""Residents' personal data: masked by default, every showing recorded, never in lists or
messages, and erased once closed requests pass the retention period."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from email import message_from_bytes, policy

import openpyxl
import pytest
from sqlalchemy import func, select

from tracker import workflow
from tracker.background import reminders
from tracker.formatting import today_in_tokyo
from tracker.models import HistoryEvent, ServiceRequest
from tracker.ops_models import ImportBatch, Notification, PersonalDataAccess, PersonalDataGrant, SecurityEvent
from tracker.reporting import reports
from tracker.safeguards import personal_data
from tracker.states import ImportState, IssueState, RequestState, Role

from .factories import TODAY
from .test_import import import_file, row, xlsx

NAME = "水前寺 花子"
CONTACT = "090-1234-5678"
PERSONAL = {"requester_name": NAME, "requester_contact": CONTACT}


def text_of(response) -> str:
    return response.get_data(as_text=True)


def leaks(text: str) -> bool:
    return NAME in text or CONTACT in text


def access_rows(session) -> list[PersonalDataAccess]:
    session.expire_all()
    return list(session.scalars(select(PersonalDataAccess).order_by(PersonalDataAccess.id)))


def security_events(session, kind: str) -> list[SecurityEvent]:
    session.expire_all()
    return list(session.scalars(select(SecurityEvent).where(SecurityEvent.kind == kind)))


def replayed_token(app, cookie: str) -> str:
    """The reveal token inside a session cookie (signed, not encrypted: readable)."""
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer.loads(cookie)["reveal_personal_data"]


def reveal(client, request_id: int):
    return client.post(f"/requests/{request_id}/personal-data")


def reveal_and_view(client, request_id: int):
    """A reveal as a browser makes it: the POST, then the view that it redirects to."""
    reveal(client, request_id)
    return client.get(f"/requests/{request_id}")


# --- the request page: masked, revealed on demand, every showing recorded ---------------------


def test_the_request_page_masks_personal_data_by_default(make, session, login_as):
    liaison = make.liaison()
    request = make.request(liaison, **PERSONAL)
    page = text_of(login_as(liaison).get(f"/requests/{request.id}"))
    assert not leaks(page)
    assert page.count("＊＊＊") == 2 and "個人情報を表示" in page
    assert access_rows(session) == []


def test_revealing_shows_it_for_one_view_and_records_one_access(make, session, login_as):
    liaison = make.liaison()
    request = make.request(liaison, **PERSONAL)
    client = login_as(liaison)

    response = reveal(client, request.id)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/requests/{request.id}")
    shown = client.get(f"/requests/{request.id}")
    assert NAME in text_of(shown) and CONTACT in text_of(shown)
    assert "no-store" in shown.headers["Cache-Control"]
    (row_,) = access_rows(session)
    assert (row_.user_id, row_.role, row_.request_id, row_.action) == (
        liaison.id,
        "liaison",
        request.id,
        "view",
    )
    assert row_.ip == "127.0.0.1" and row_.created_at is not None
    # the record holds no personal data
    assert not leaks(" ".join(str(getattr(row_, c.key)) for c in PersonalDataAccess.__table__.columns))

    again = text_of(client.get(f"/requests/{request.id}"))  # the next view is masked again
    assert not leaks(again) and len(access_rows(session)) == 1

    reveal(client, request.id)
    client.get(f"/requests/{request.id}")
    assert len(access_rows(session)) == 2  # one row per reveal


def test_replaying_the_cookie_of_a_reveal_shows_the_data_once(make, session, login_as, app):
    liaison = make.liaison()
    request = make.request(liaison, **PERSONAL)
    client = login_as(liaison)
    reveal(client, request.id)
    replayed = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value  # the cookie after the POST
    shown = []
    for _ in range(2):
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], replayed)
        shown.append(leaks(text_of(client.get(f"/requests/{request.id}"))))
    assert shown == [True, False]
    assert len(access_rows(session)) == 1  # logged at the one use
    (grant,) = session.scalars(select(PersonalDataGrant)).all()
    assert grant.used_at is not None and len(grant.token_hash) == 64
    token = replayed_token(app, replayed)  # the session holds the token; the table only its hash
    assert grant.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
    (event,) = security_events(session, "personal_data_revealed")
    assert (event.user_id, event.detail, event.ip) == (liaison.id, {"request_id": request.id}, "127.0.0.1")
    assert event.path == f"/requests/{request.id}"


def test_a_grant_is_good_for_its_own_user_and_request_only_and_for_two_minutes(make, session):
    liaison, other = make.liaison(), make.liaison()
    first, second = make.request(liaison, **PERSONAL), make.request(liaison, **PERSONAL)
    token = personal_data.grant_reveal(session, liaison, first)
    assert not personal_data.use_reveal(session, other, first, token, "127.0.0.1")
    assert not personal_data.use_reveal(session, liaison, second, token, "127.0.0.1")
    assert not personal_data.use_reveal(session, liaison, first, token + "x", "127.0.0.1")
    grant = session.scalars(select(PersonalDataGrant)).one()
    grant.created_at = grant.created_at - dt.timedelta(seconds=personal_data.REVEAL_GRANT_SECONDS + 1)
    session.flush()
    assert not personal_data.use_reveal(session, liaison, first, token, "127.0.0.1")
    fresh = personal_data.grant_reveal(session, liaison, first)
    assert personal_data.use_reveal(session, liaison, first, fresh, "127.0.0.1")
    assert not personal_data.use_reveal(session, liaison, first, fresh, "127.0.0.1")
    assert len(access_rows(session)) == 1


def test_a_reveal_for_one_request_does_not_show_another(make, session, login_as):
    liaison = make.liaison()
    first, second = make.request(liaison, **PERSONAL), make.request(liaison, **PERSONAL)
    client = login_as(liaison)
    reveal(client, first.id)
    assert not leaks(text_of(client.get(f"/requests/{second.id}")))
    assert not leaks(text_of(client.get(f"/requests/{first.id}")))  # the pending reveal went with it


@pytest.mark.parametrize("role", ["liaison", "manager", "admin"])
def test_the_roles_with_need_may_reveal(make, session, login_as, role):
    request = make.request(**PERSONAL)
    user = {"liaison": make.liaison, "manager": make.manager, "admin": make.admin}[role]()
    client = login_as(user)
    assert "個人情報を表示" in text_of(client.get(f"/requests/{request.id}"))
    assert reveal(client, request.id).status_code == 302
    assert NAME in text_of(client.get(f"/requests/{request.id}"))
    assert [(r.user_id, r.role) for r in access_rows(session)] == [(user.id, user.role.value)]


def test_bureau_staff_see_the_request_but_can_never_reveal(make, session, login_as):
    issue = make.issue(IssueState.CONSULTING)
    request = issue.requests[0]
    request.requester_name, request.requester_contact = NAME, CONTACT
    session.commit()
    staff = make.staff("環境局")
    client = login_as(staff)
    page = text_of(client.get(f"/requests/{request.id}"))
    assert "＊＊＊" in page and "個人情報を表示" not in page and not leaks(page)
    response = reveal(client, request.id)
    assert response.status_code == 403 and "権限がありません" in text_of(response)
    assert not leaks(text_of(client.get(f"/requests/{request.id}")))
    assert access_rows(session) == []


def test_another_wards_manager_cannot_reveal(make, session, login_as):
    request = make.request(**PERSONAL)
    client = login_as(make.manager("東区"))
    assert reveal(client, request.id).status_code == 403
    assert access_rows(session) == []


def test_reveal_needs_the_csrf_token_and_a_post(make, session, login_as, app):
    liaison = make.liaison()
    request = make.request(liaison, **PERSONAL)
    client = login_as(liaison)
    app.config["WTF_CSRF_ENABLED"] = True  # the csrf_off fixture turns it back on anyway
    assert reveal(client, request.id).status_code == 400
    assert client.get(f"/requests/{request.id}/personal-data").status_code == 405
    assert access_rows(session) == []
    page = text_of(client.get(f"/requests/{request.id}"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.split("/personal-data")[1]).group(1)
    assert client.post(f"/requests/{request.id}/personal-data", data={"csrf_token": token}).status_code == 302
    assert access_rows(session) == []  # a grant only: recorded when it is used
    assert leaks(text_of(client.get(f"/requests/{request.id}")))
    assert len(access_rows(session)) == 1


def test_a_request_without_personal_data_offers_nothing_and_records_nothing(make, session, login_as):
    liaison = make.liaison()
    request = make.request(liaison, requester_name="", requester_contact="")
    client = login_as(liaison)
    page = text_of(client.get(f"/requests/{request.id}"))
    assert "個人情報を表示" not in page and "＊＊＊" not in page
    assert reveal(client, request.id).status_code == 302
    assert access_rows(session) == []


def test_record_access_for_exports_writes_one_row_per_request(make, session):
    admin = make.admin()
    first, second = make.request(**PERSONAL), make.request(**PERSONAL)
    rows = personal_data.record_access(session, admin, [first.id, second.id, first.id], "export", "10.0.0.1")
    assert [(r.request_id, r.action, r.role, r.ip) for r in rows] == [
        (first.id, "export", "admin", "10.0.0.1"),
        (second.id, "export", "admin", "10.0.0.1"),
    ]
    with pytest.raises(ValueError):
        personal_data.record_access(session, admin, [first.id], "print", None)


# --- the admin's access log --------------------------------------------------------------------


def test_the_access_log_is_for_the_admin_only(make, session, login_as):
    for user in (make.liaison(), make.manager(), make.staff()):
        assert login_as(user).get("/admin/audit/").status_code == 403
    admin = make.admin()
    page = text_of(login_as(admin).get("/admin/audit/"))
    # the page itself (the admin's menu carries its name on every page)
    assert "<h1>個人情報の閲覧記録</h1>" in page and "<th>IPアドレス</th>" in page
    assert '<td colspan="6" class="empty">該当する記録はありません。</td>' in page


def test_the_access_log_lists_and_filters_by_user_and_request(make, session, login_as):
    liaison, manager = make.liaison(), make.manager()
    first, second = make.request(liaison, **PERSONAL), make.request(liaison, **PERSONAL)
    reveal_and_view(login_as(liaison), first.id)
    reveal_and_view(login_as(manager), first.id)
    reveal_and_view(login_as(manager), second.id)
    client = login_as(make.admin())

    page = text_of(client.get("/admin/audit/"))
    # one row per reveal (the user filter lists every login, the menu has 閲覧 in its labels)
    assert page.count('class="ref"') == 3 and not leaks(page)
    assert page.count(f">{first.reference}</a>") == 2 and page.count(f">{second.reference}</a>") == 1
    assert page.count(f'href="/admin/audit/?user={liaison.id}">{liaison.login}</a>') == 1
    assert page.count(f'href="/admin/audit/?user={manager.id}">{manager.login}</a>') == 2
    assert page.count("<td>閲覧</td>") == 3 and page.count("<td>127.0.0.1</td>") == 3

    by_user = text_of(client.get(f"/admin/audit/?user={liaison.id}"))
    assert by_user.count('class="ref"') == 1 and first.reference in by_user
    by_request = text_of(client.get(f"/admin/audit/?request={second.reference}"))
    assert by_request.count('class="ref"') == 1 and second.reference in by_request
    by_id = text_of(client.get(f"/admin/audit/?request={first.id}&user={manager.id}"))
    assert by_id.count('class="ref"') == 1
    unknown = text_of(client.get("/admin/audit/?request=NO-SUCH-REF"))
    assert "該当する記録はありません" in unknown


def test_the_access_log_is_paginated_with_a_constant_number_of_queries(
    make, session, login_as, app, monkeypatch, count_queries
):
    admin = make.admin()
    client = login_as(admin)
    requests = [make.request(**PERSONAL) for _ in range(3)]
    users = [make.liaison() for _ in range(3)]

    def add(count: int) -> None:
        for number in range(count):
            user, request = users[number % 3], requests[number % 3]
            personal_data.record_access(session, user, [request.id], "view", "127.0.0.1")
        session.commit()

    def selects() -> int:
        count_queries.clear()
        response = client.get("/admin/audit/")
        assert response.status_code == 200
        return len([s for s in count_queries if s.lstrip().upper().startswith("SELECT")])

    add(3)
    few = selects()
    add(27)
    assert selects() == few <= 6

    monkeypatch.setitem(app.config, "PAGE_SIZE", 10)
    page = text_of(client.get("/admin/audit/?page=2"))
    assert page.count('class="ref"') == 10 and "2 / 3 ページ" in page


# --- nowhere else: lists, pages, notifications, e-mails, imports, reports ----------------------


def test_lists_and_other_pages_never_show_personal_data(make, session, login_as):
    manager = make.manager()
    issue = make.issue(IssueState.CONSULTING, manager=manager)
    bundled = issue.requests[0]
    bundled.requester_name, bundled.requester_contact = NAME, CONTACT
    liaison = make.liaison()
    make.request(liaison, **PERSONAL)
    session.commit()
    pages = {
        liaison: ["/field/", "/requests/", f"/issues/{issue.id}", "/issues/", "/notifications/"],
        manager: ["/ward/", "/requests/", f"/issues/{issue.id}", "/issues/", f"/requests/{bundled.id}"],
        make.staff("環境局"): [
            "/bureau/",
            "/bureau/?tab=all",
            f"/issues/{issue.id}",
            f"/requests/{bundled.id}",
        ],
        make.admin(): ["/requests/", "/issues/", f"/requests/{bundled.id}", "/admin/jobs"],
    }
    for user, paths in pages.items():
        client = login_as(user)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (user.role, path)
            assert not leaks(text_of(response)), (user.role, path)


@pytest.fixture
def mail_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_DIR", str(tmp_path / "mail"))
    monkeypatch.setitem(app.config, "MAIL_SERVER", None)
    return tmp_path / "mail"


def mails(folder) -> list[str]:
    texts = []
    for path in sorted(folder.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        texts.append(f"{message['Subject']}\n{message['To']}\n{message.get_content()}")
    return texts


def test_notifications_and_emails_carry_no_personal_data(make, session, mail_dir):
    manager = make.manager()
    liaison = make.liaison()
    for user in (manager, liaison):
        user.email, user.email_notifications = f"{user.login}@example.city.kumamoto.jp", True
    session.commit()
    request = make.request(liaison, **PERSONAL)
    payload = {
        "title": "街灯の老朽化",
        "situation": "老朽化している",
        "proposal": "LED街灯に更新する",
        "lead_bureau": make.bureau("環境局").id,
    }
    workflow.apply(session, manager, request, "escalate", payload, today=TODAY)
    session.commit()
    issue = request.ward_issue
    staff = make.staff("環境局")
    workflow.apply(session, manager, issue, "submit", {}, today=TODAY)
    workflow.apply(session, make.second_manager(), issue, "approve", {}, today=TODAY)
    workflow.apply(session, manager, issue, "assign_ward_owner", {"owner": liaison.id}, today=TODAY)
    workflow.apply(session, manager, issue, "send", {}, today=TODAY)
    session.commit()
    workflow.apply(
        session, staff, issue, "decide", {"decision": "adopt", "decision_reason": "対応"}, today=TODAY
    )
    session.commit()
    reminders.send_reminders(session, today_in_tokyo())  # the request is long overdue by now

    session.expire_all()
    notes = session.scalars(
        select(Notification).where(Notification.user_id.in_([manager.id, liaison.id]))
    ).all()
    kinds = {n.kind for n in notes}
    assert {"request.escalate", "issue.assign_ward_owner", "issue.decide", "reminder.digest"} <= kinds
    assert all(not leaks(f"{n.title}\n{n.body}\n{n.url}") for n in notes)
    sent = mails(mail_dir)
    assert len(sent) >= 3 and all(not leaks(text) for text in sent)
    assert any(request.reference in text for text in sent)


def test_the_import_error_report_never_repeats_personal_data(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    rows = [
        row(要望者氏名=NAME * 20, 連絡先=CONTACT * 20),  # both too long
        row(要望者氏名=NAME, 連絡先=CONTACT, 分野="ない分野", 受付日="昨日"),
    ]
    batch = import_file(client, session, xlsx(rows))
    assert batch.state == ImportState.INVALID
    assert {e["column"] for e in batch.errors} >= {"要望者氏名", "連絡先", "分野", "受付日"}
    assert not leaks(str(batch.errors))
    page = text_of(client.get(f"/imports/{batch.id}"))
    assert "要望者氏名" in page and not leaks(page)


def test_a_finished_import_lists_requests_without_personal_data(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    batch = import_file(client, session, xlsx([row(要望者氏名=NAME, 連絡先=CONTACT)]))
    assert batch.state == ImportState.DONE
    page = text_of(client.get(f"/imports/{batch.id}"))
    assert "取り込みました" in page and not leaks(page)
    assert session.scalar(select(func.count()).where(ServiceRequest.requester_name == NAME)) == 1


def test_the_report_workbook_carries_no_personal_data(make, session, tmp_path):
    make.issue(IssueState.BUDGETED)
    make.request(**PERSONAL)
    for request in session.scalars(select(ServiceRequest)):
        request.requester_name, request.requester_contact = NAME, CONTACT
    session.commit()
    cells = []
    for year in (2024, 2025):  # the issue's year, and its budget's
        path = tmp_path / f"report-{year}.xlsx"
        reports.write_workbook(reports.fiscal_year_report(session, year), path)
        workbook = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
        cells += [
            str(c) for sheet in workbook.worksheets for r in sheet.iter_rows(values_only=True) for c in r
        ]
    assert "街灯整備事業" in cells  # the report has content
    assert not leaks("\n".join(cells))


# --- retention: erasure of closed requests' personal data --------------------------------------

RETENTION = 30


def answered(make, liaison, on: dt.date, **fields) -> ServiceRequest:
    request = make.request(liaison, **{**PERSONAL, **fields})
    answer = {"answer_text": "対応しました", "answer_kind": "resolved", "answered_on": on}
    workflow.apply(make.session, liaison, request, "answer", answer, today=today_in_tokyo())
    make.session.commit()
    return request


def withdrawn(make, liaison) -> ServiceRequest:
    request = make.request(liaison, **PERSONAL)
    workflow.apply(
        make.session, liaison, request, "withdraw", {"comment": "解決済み"}, today=today_in_tokyo()
    )
    make.session.commit()
    return request


@pytest.fixture
def closed(make, session, app, monkeypatch):
    """Requests closed at various times, and some that must never be erased."""
    monkeypatch.setitem(app.config, "PERSONAL_DATA_RETENTION_DAYS", RETENTION)
    today = today_in_tokyo()
    liaison = make.liaison()
    made = {
        "answered_long_ago": answered(make, liaison, TODAY),
        "answered_just_over": answered(make, liaison, today - dt.timedelta(days=RETENTION + 1)),
        "answered_exactly": answered(make, liaison, today - dt.timedelta(days=RETENTION)),
        "answered_recently": answered(make, liaison, today - dt.timedelta(days=3)),
        "contact_only": answered(make, liaison, TODAY, requester_name=""),
        "nothing_to_erase": answered(make, liaison, TODAY, requester_name="", requester_contact=""),
        "withdrawn_today": withdrawn(make, liaison),
        "open_long_ago": make.request(liaison, **PERSONAL),
    }
    reopened = answered(make, liaison, TODAY)
    workflow.apply(session, make.manager(), reopened, "reopen", {"comment": "再対応"}, today=today)
    session.commit()
    made["reopened"] = reopened
    return made


def erase_events(session, request) -> list[HistoryEvent]:
    return list(
        session.scalars(
            select(HistoryEvent).where(
                HistoryEvent.service_request_id == request.id, HistoryEvent.action == "erase_personal_data"
            )
        )
    )


def state_of(session, closed) -> dict[str, tuple[str, str, int]]:
    session.expire_all()
    return {
        name: (r.requester_name, r.requester_contact, len(erase_events(session, r)))
        for name, r in closed.items()
    }


def test_the_retention_job_erases_exactly_the_closed_and_old_and_a_rerun_nothing(closed, session):
    today = today_in_tokyo()
    erased = personal_data.erase_due(session, today, RETENTION)
    session.commit()
    assert erased == 3
    gone = ("", "", 1)
    assert state_of(session, closed) == {
        "answered_long_ago": gone,
        "answered_just_over": gone,
        "answered_exactly": (NAME, CONTACT, 0),
        "answered_recently": (NAME, CONTACT, 0),
        "contact_only": gone,
        "nothing_to_erase": ("", "", 0),
        "withdrawn_today": (NAME, CONTACT, 0),
        "open_long_ago": (NAME, CONTACT, 0),
        "reopened": (NAME, CONTACT, 0),
    }
    (event,) = erase_events(session, closed["answered_long_ago"])
    assert event.data == {"fields": ["requester_name", "requester_contact"], "retention_days": RETENTION}
    assert (event.actor_id, event.actor_role) == (None, "system")
    assert event.from_state == event.to_state == RequestState.ANSWERED.value
    assert "保存期間" in event.comment and not leaks(f"{event.comment} {event.data}")
    assert erase_events(session, closed["contact_only"])[0].data["fields"] == ["requester_contact"]

    assert personal_data.erase_due(session, today, RETENTION) == 0  # a re-run erases nothing more
    session.commit()
    assert sum(n for *_, n in state_of(session, closed).values()) == 3

    later = today + dt.timedelta(days=RETENTION + 1)  # the withdrawal is old enough now
    assert personal_data.erase_due(session, later, RETENTION) == 3
    session.commit()
    after = state_of(session, closed)
    assert after["withdrawn_today"] == after["answered_exactly"] == after["answered_recently"] == gone
    assert after["open_long_ago"] == after["reopened"] == (NAME, CONTACT, 0)


def test_the_erasure_reads_on_the_timeline(closed, session, make, login_as):
    personal_data.erase_due(session, today_in_tokyo(), RETENTION)
    session.commit()
    page = text_of(login_as(make.admin()).get(f"/requests/{closed['answered_long_ago'].id}"))
    assert "個人情報の消去" in page and "保存期間 (30日) を過ぎたため" in page


def test_the_daily_job_and_the_cli_erase_and_report(closed, session, app, tmp_path, monkeypatch):
    from tracker.background import jobs, worker

    assert ("erase_personal_data", dt.time(2, 0)) in worker.DAILY_JOBS
    assert app.config["PERSONAL_DATA_RETENTION_DAYS"] == RETENTION
    row_ = jobs.request_job(session, "erase_personal_data")
    session.commit()  # the job runs inline after the commit
    session.expire_all()
    assert row_.result["erased"] == 3
    assert state_of(session, closed)["answered_long_ago"] == ("", "", 1)

    result = app.test_cli_runner().invoke(args=["personal-data", "erase"])
    assert result.exit_code == 0, result.output
    assert "要望 0 件の個人情報を消去しました" in result.output
    later = (today_in_tokyo() + dt.timedelta(days=RETENTION + 1)).isoformat()
    result = app.test_cli_runner().invoke(args=["personal-data", "erase", "--today", later])
    assert result.exit_code == 0 and "要望 3 件" in result.output
    assert sum(n for *_, n in state_of(session, closed).values()) == 6


def test_the_default_retention_is_three_years():
    from tracker.config import load_config

    assert load_config("/tmp", {"TESTING": True})["PERSONAL_DATA_RETENTION_DAYS"] == 1095


def test_finished_import_files_are_removed_unfinished_kept(
    make, session, login_as, app, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "IMPORT_DIR", str(tmp_path / "imports"))
    liaison = make.liaison()
    client = login_as(liaison)
    done = import_file(client, session, xlsx([row(要望者氏名=NAME)]))
    invalid = import_file(client, session, xlsx([row(分野="ない分野")]))
    assert (done.state, invalid.state) == (ImportState.DONE, ImportState.INVALID)
    folder = tmp_path / "imports"
    unfinished = ImportBatch(
        center_id=liaison.center_id,
        uploaded_by_id=liaison.id,
        original_name="途中.xlsx",
        stored_name="unfinished.xlsx",
        sha256="0" * 64,
        state=ImportState.RUNNING,
    )
    session.add(unfinished)
    session.commit()
    (folder / "unfinished.xlsx").write_bytes(b"x")
    assert len(list(folder.iterdir())) == 3
    assert personal_data.remove_finished_import_files(session, str(folder)) == 2
    assert [p.name for p in folder.iterdir()] == ["unfinished.xlsx"]
    assert personal_data.remove_finished_import_files(session, str(folder)) == 0


def test_may_reveal_rules(make):
    request = make.request(**PERSONAL)
    assert personal_data.may_reveal(make.liaison(), request)
    assert personal_data.may_reveal(make.manager(), request)
    assert personal_data.may_reveal(make.admin(), request)
    assert not personal_data.may_reveal(make.manager("東区"), request)
    assert not personal_data.may_reveal(make.liaison("東区"), request)
    assert not personal_data.may_reveal(make.staff(), request)
    assert not personal_data.may_reveal(make.user(Role.ADMIN, active=False), request)


@pytest.mark.parametrize("value", ["²", str(2**31), str(2**64), "-1"])
def test_the_access_log_filters_ignore_ids_no_row_can_have(make, login_as, value):
    client = login_as(make.admin())
    assert client.get("/admin/audit/", query_string={"request": value, "user": value}).status_code == 200
    assert client.get("/admin/audit/exports", query_string={"user": value}).status_code == 200
