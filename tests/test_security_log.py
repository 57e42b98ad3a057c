"""The security event log: each kind written with who, where and what, never a secret; 403s
kept although the refused request is rolled back; the admin's page filters and pages it.

On main there was no such log: every test here would have failed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tracker.background import jobs, worker
from tracker.models import HistoryEvent, utcnow
from tracker.ops_models import OutboxJob, PersonalDataAccess, SecurityEvent
from tracker.safeguards import personal_data, security_log

from .factories import Factory
from .test_admin import NEW_PASSWORD, user_data
from .test_exports import csv_rows

WRONG_PASSWORD = "wrong-password!"
CHANGED_PASSWORD = "a-brand-new-password"


def events(session, kind: str | None = None) -> list[SecurityEvent]:
    session.expire_all()
    statement = select(SecurityEvent).order_by(SecurityEvent.id)
    if kind:
        statement = statement.where(SecurityEvent.kind == kind)
    return list(session.scalars(statement))


def as_text(event: SecurityEvent) -> str:
    return " ".join(str(getattr(event, column.key)) for column in SecurityEvent.__table__.columns)


def test_logins_failures_password_changes_and_logouts_are_logged_without_secrets(
    make, session, client, csrf_off
):
    user = make.liaison()
    client.post("/login", data={"login": user.login.upper(), "password": WRONG_PASSWORD})
    client.post("/login", data={"login": user.login, "password": Factory.PASSWORD})
    client.post(
        "/password",
        data={"current": Factory.PASSWORD, "new": CHANGED_PASSWORD, "confirm": CHANGED_PASSWORD},
    )
    client.post("/logout")
    logged = events(session)
    assert [event.kind for event in logged] == ["login_failed", "login_ok", "password_changed", "logout"]
    failed, ok, changed, logout = logged
    assert (failed.user_id, failed.login, failed.ip, failed.path) == (
        None,
        user.login.upper(),
        "127.0.0.1",
        "/login",
    )
    assert (ok.user_id, ok.login) == (user.id, user.login)
    assert (changed.user_id, changed.path) == (user.id, "/password")
    assert (logout.user_id, logout.path) == (user.id, "/logout")
    for event in logged:
        text = as_text(event)
        assert WRONG_PASSWORD not in text and Factory.PASSWORD not in text and CHANGED_PASSWORD not in text


def test_a_login_id_that_names_no_account_is_not_logged(session, client, csrf_off):
    """It may be a password typed into the wrong box."""
    client.post("/login", data={"login": "my-secret-passphrase", "password": WRONG_PASSWORD})
    (event,) = events(session, "login_failed")
    assert (event.login, event.detail, event.ip) == ("", {"unknown_login": True}, "127.0.0.1")
    assert "my-secret-passphrase" not in as_text(event)


def test_a_403_is_logged_though_the_refused_request_is_rolled_back(make, session, login_as, monkeypatch):
    liaison = make.liaison()
    request = make.request(liaison, requester_name="水前寺 花子")
    client = login_as(liaison)

    def writes_then_refuses(user, found):
        """A check that wrote something before it refused: the refusal must not keep it."""
        personal_data.record_access(session, user, [found.id], personal_data.VIEW, "127.0.0.1")
        return False

    monkeypatch.setattr(personal_data, "may_reveal", writes_then_refuses)
    assert client.post(f"/requests/{request.id}/personal-data?secret=query").status_code == 403
    (event,) = events(session, "forbidden")
    assert (event.user_id, event.login, event.ip) == (liaison.id, liaison.login, "127.0.0.1")
    assert event.path == f"/requests/{request.id}/personal-data"  # without the query string
    assert event.detail == {"method": "POST"}
    assert session.scalars(select(PersonalDataAccess)).all() == []  # the refused write is gone


def test_a_refused_csrf_token_is_logged(make, session, login_as, app):
    client = login_as(make.liaison())
    app.config["WTF_CSRF_ENABLED"] = True  # csrf_off turns it off again afterwards
    assert client.post("/logout").status_code == 400
    (event,) = events(session, "csrf_failed")
    assert (event.path, event.detail) == ("/logout", {"method": "POST"})


def test_an_export_points_at_its_history_event(make, session, login_as):
    liaison = make.liaison()
    make.request(liaison)
    csv_rows(login_as(liaison).get("/requests/?format=csv&sort=reference"))
    (event,) = events(session, "export")
    history = session.get(HistoryEvent, event.detail["history_event_id"])
    assert history.action == "export" and history.actor_id == liaison.id
    assert event.detail["format"] == "csv" and event.detail["rows"] == 1
    assert event.path == "/requests/" and "sort" not in as_text(event)  # no query string


def test_an_admin_change_points_at_its_history_event_without_the_password(make, session, login_as):
    admin = make.admin()
    login_as(admin).post("/admin/users/new", data=user_data("admin"))
    (event,) = events(session, "admin_change")
    history = session.get(HistoryEvent, event.detail["history_event_id"])
    assert history.action == "admin_change" and event.user_id == admin.id
    assert event.detail["tables"] == ["users"]
    assert NEW_PASSWORD not in as_text(event)


def seed(session, make):
    """Five events of known kinds, logins, addresses and days."""
    user = make.liaison()
    rows = [
        ("login_failed", None, "tanaka", "192.0.2.1", dt.datetime(2026, 4, 1, 1, tzinfo=dt.UTC)),
        ("login_failed", None, "Tanaka", "198.51.100.2", dt.datetime(2026, 4, 2, 1, tzinfo=dt.UTC)),
        ("login_ok", user, None, "192.0.2.1", dt.datetime(2026, 4, 3, 1, tzinfo=dt.UTC)),
        ("forbidden", user, None, "192.0.2.1", dt.datetime(2026, 4, 4, 1, tzinfo=dt.UTC)),
        ("logout", user, None, "192.0.2.1", dt.datetime(2026, 4, 5, 1, tzinfo=dt.UTC)),
    ]
    made = []
    for kind, who, login, ip, at in rows:
        event = security_log.record(session, kind, user=who, login=login, ip=ip, path="/x")
        event.created_at = at
        made.append(event)
    session.commit()
    return user, made


def ids_shown(response) -> list[str]:
    text = response.get_data(as_text=True)
    return [line for line in text.split("<tr>")[1:] if "<td>" in line]


def test_the_admin_page_filters_by_kind_login_address_and_days(make, session, login_as):
    user, _made = seed(session, make)
    client = login_as(make.admin())

    def shown(query: str) -> int:
        response = client.get(f"/admin/audit/security?{query}")
        assert response.status_code == 200
        return len(ids_shown(response))

    assert shown("kind=login_failed") == 2
    assert shown("who=TANAKA") == 2  # as typed, in any letter case
    assert shown(f"who={user.login.upper()}") == 3  # the user's own events, by login in any case
    assert shown("ip=198.51.100.2") == 1
    assert shown("since=2026/4/2&until=2026/4/4&ip=192.0.2.1") == 2  # Tokyo days, both ends included
    refused = client.get("/admin/audit/security?since=2026/13/40")
    assert refused.status_code == 422 and "日付として読み取れません" in refused.get_data(as_text=True)


def test_the_admin_page_is_keyset_paged_and_exports_csv(make, session, login_as, app, monkeypatch):
    _user, made = seed(session, make)
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    client = login_as(make.admin())
    first = client.get("/admin/audit/security?ip=192.0.2.1")
    assert len(ids_shown(first)) == 2 and f"before={made[3].id}" in first.get_data(as_text=True)
    second = client.get(f"/admin/audit/security?ip=192.0.2.1&before={made[3].id}")
    assert len(ids_shown(second)) == 2 and "before=" not in second.get_data(as_text=True)
    rows = csv_rows(
        client.get(f"/admin/audit/security?ip=192.0.2.1&before={made[3].id}&format=csv")
    )  # all pages
    assert rows[0] == ["日時", "種類", "ログインID", "職員", "IPアドレス", "パス", "詳細"]
    assert [row[1] for row in rows[1:]] == ["ログアウト", "権限なし (403)", "ログイン", "ログイン失敗"]
    (export,) = events(session, "export")
    assert export.detail["rows"] == 4


def test_events_past_the_retention_period_are_purged(make, session):
    _user, made = seed(session, make)
    now = dt.datetime(2026, 4, 3, 12, tzinfo=dt.UTC)
    assert security_log.purge_older_than(session, 1, now=now) == 2  # older than 4/2 12:00
    assert [event.id for event in events(session)] == [event.id for event in made[2:]]


def test_security_events_are_purged_daily_after_400_days_by_default(app, make, session):
    assert ("purge_security_events", dt.time(2, 30)) in worker.DAILY_JOBS
    assert app.config["SECURITY_LOG_RETENTION_DAYS"] == 400
    _user, made = seed(session, make)
    made[0].created_at = utcnow() - dt.timedelta(days=401)
    made[1].created_at = utcnow() - dt.timedelta(days=399)
    session.commit()
    old, recent = made[0].id, made[1].id
    row = jobs.request_job(session, "purge_security_events")
    session.commit()  # runs inline after the commit (no Redis in these tests)
    session.expire_all()
    assert session.get(OutboxJob, row.id).result == {"retention_days": 400, "purged": 1}
    remaining = select(SecurityEvent.id).where(SecurityEvent.id.in_([old, recent]))
    assert list(session.scalars(remaining)) == [recent]


def test_the_admin_page_runs_the_same_queries_for_few_and_many_events(make, session, login_as, count_queries):
    client = login_as(make.admin())
    users = [make.liaison() for _ in range(3)]

    def add(count: int) -> None:
        for number in range(count):
            security_log.record(session, "login_ok", user=users[number % 3], ip="192.0.2.9", path="/login")
        session.commit()

    def selects() -> int:
        count_queries.clear()
        assert client.get("/admin/audit/security").status_code == 200
        return len([s for s in count_queries if s.lstrip().upper().startswith("SELECT")])

    add(3)
    few = selects()
    add(27)
    assert selects() == few <= 5
