"""Notifications: the right people hear of each workflow event once, in the app and by e-mail.

The test app has no REDIS_URL, so the jobs run inline right after ``session.commit()`` (which
releases a savepoint of the test's transaction and fires the after-commit hand-over).
"""

from __future__ import annotations

import email
from email import policy
from unittest.mock import MagicMock

import pytest
from sqlalchemy import func, select

from tracker import workflow
from tracker.background import jobs
from tracker.background.notifications import ANSWER_RESIDENTS, RULES
from tracker.models import User, utcnow
from tracker.ops_models import Notification, OutboxJob
from tracker.states import IssueState, JobState, Role

from .factories import PATH_TO_STATE, TODAY
from .test_consultation import NOTIFIED as CONSULTATION_RULES
from .test_handover import NOTIFIED as HANDOVER_RULES

BUDGET = {"fiscal_year": 2025, "project_name": "街灯整備事業", "allocated_yen": 1_500_000}
BUREAU_PEOPLE = {"staff", "staff_2", "staff_related"}
RESULT_PEOPLE = {"manager", "manager_2", "liaison", "liaison_2"}

# Who takes an issue action in CASES (the lead bureau's staff, unless named here).
WARD_SIDE = {
    "send": "manager",
    "submit": "manager",
    "return_draft": "manager_2",
    "assign_ward_owner": "manager",
}

# (subject, action, issue state before, payload, who hears of it)
CASES = [
    ("request", "escalate", None, {"title": "公園の街灯"}, {"liaison"}),
    ("request", "refer", None, {"referred_to": "土木センター"}, {"liaison"}),
    ("request", "reopen", None, {"comment": "再確認が必要"}, {"liaison"}),
    ("request", "comment", None, {"body": "現地を確認しました"}, {"liaison"}),
    (
        "issue",
        "comment",
        IssueState.CONSULTING,
        {"body": "予算要求の資料を送ります"},
        {"manager"},
    ),  # the drafter
    ("issue", "submit", IssueState.DRAFT, {}, {"manager_2"}),  # the other managers of the ward
    ("issue", "return_draft", IssueState.AWAITING_APPROVAL, {"comment": "再検討"}, {"manager"}),  # drafter
    ("issue", "assign_ward_owner", IssueState.DRAFT, {"owner": "liaison_idle"}, {"liaison_idle"}),
    ("issue", "assign_bureau_owner", IssueState.CONSULTING, {"owner": "staff_2"}, {"staff_2"}),
    ("issue", "send", IssueState.REGISTERED, {"related_bureaus": ["都市建設局"]}, BUREAU_PEOPLE),
    ("issue", "decide", IssueState.CONSULTING, {"decision": "adopt"}, RESULT_PEOPLE),
    ("issue", "budget", IssueState.DECIDED, BUDGET, RESULT_PEOPLE),
    ("issue", "add_budget_line", IssueState.BUDGETED, BUDGET, RESULT_PEOPLE),
    ("issue", "start", IssueState.BUDGETED, {}, RESULT_PEOPLE),
    ("issue", "complete", IssueState.IMPLEMENTING, {"outcome": "設置した", "executed": "all"}, RESULT_PEOPLE),
]


def cast(make) -> dict[str, User]:
    """Everyone in 中央区 / 環境局 who might hear of something, and some who never should."""
    return {
        "liaison": make.liaison(),  # logged the request (the first bundled one)
        "liaison_2": make.liaison(),  # logged a second bundled request
        "liaison_idle": make.liaison(),  # logged nothing
        "liaison_off": make.liaison(),  # logged a bundled request, then was deactivated
        "manager": make.manager(),  # acts for the ward
        "manager_2": make.manager(),
        "manager_east": make.manager("東区"),
        "manager_off": make.user(Role.WARD_MANAGER, active=False),
        "staff": make.staff("環境局"),  # acts for the lead bureau
        "staff_2": make.staff("環境局"),
        "staff_related": make.staff("都市建設局"),
        "staff_other": make.staff("消防局"),
        "staff_off": make.user(Role.BUREAU_STAFF, bureau="環境局", active=False),
        "admin": make.admin(),
    }


def apply(session, actor, subject, action, payload=None):
    event = workflow.apply(session, actor, subject, action, payload or {}, today=TODAY)
    session.commit()
    return event


def issue_with_requests(make, session, people, state: IssueState):
    """An issue bundling requests of liaison, liaison_2 and liaison_off, walked to ``state``."""
    issue = make.issue(IssueState.DRAFT, manager=people["manager"], staff=people["staff"], with_request=False)
    for who in ("liaison", "liaison_2", "liaison_off"):
        apply(session, people["manager"], make.request(people[who]), "escalate", {"ward_issue": issue})
    people["liaison_off"].active = False
    session.commit()
    for who, action, payload in PATH_TO_STATE[state]:
        apply(session, people["manager_2" if who == "approver" else who], issue, action, payload)
    return issue


def notified(session, event) -> list[int]:
    """The users notified of ``event``, one entry per notification."""
    session.expire_all()
    return sorted(session.scalars(select(Notification.user_id).filter_by(history_event_id=event.id)))


def ids(people, names) -> list[int]:
    return sorted(people[name].id for name in names)


def test_the_tests_cover_every_rule():
    """Each rule is checked here, or in the test module of its feature."""
    cases = {(subject, action) for subject, action, *_ in CASES}
    assert cases | CONSULTATION_RULES | HANDOVER_RULES == set(RULES)


@pytest.mark.parametrize("subject, action, before, payload, expected", CASES, ids=[c[1] for c in CASES])
def test_each_event_reaches_exactly_the_right_people_once(
    make, session, subject, action, before, payload, expected
):
    people = cast(make)
    payload = dict(payload)
    if subject == "request":
        target, actor = make.request(people["liaison"]), people["manager"]
        if action == "reopen":
            apply(session, actor, target, "withdraw", {"comment": "重複"})
    else:
        target = issue_with_requests(make, session, people, before)
        actor = people[WARD_SIDE.get(action, "staff")]
        if "owner" in payload:
            payload["owner"] = people[payload["owner"]].id
        if action == "send":
            payload["related_bureaus"] = [make.bureau(name).id for name in payload["related_bureaus"]]
        if payload.get("executed") == "all":
            payload["executed"] = {line.id: line.allocated_yen for line in target.budget_lines}
    event = apply(session, actor, target, action, payload)
    assert notified(session, event) == ids(people, expected)
    notices = session.scalars(select(Notification).filter_by(history_event_id=event.id)).all()
    assert all(n.kind == f"{subject}.{action}" and target.reference in n.title for n in notices)
    assert all((ANSWER_RESIDENTS in n.body) == (expected == RESULT_PEOPLE) for n in notices)


def test_the_actor_never_hears_of_their_own_action(make, session):
    manager = make.manager()
    request = make.request(manager, center_id=make.center().id)  # a manager logged it, and refers it
    event = apply(session, manager, request, "refer", {"referred_to": "土木センター"})
    assert notified(session, event) == []


def test_a_deactivated_user_hears_nothing(make, session):
    liaison = make.liaison()
    request = make.request(liaison)
    liaison.active = False
    session.commit()
    event = apply(session, make.manager(), request, "refer", {"referred_to": "土木センター"})
    assert notified(session, event) == []


def test_actions_without_a_rule_start_no_job(make, session):
    request = make.request()
    before = session.scalar(select(func.count(OutboxJob.id)))
    apply(session, make.manager(), request, "withdraw", {"comment": "重複"})
    assert session.scalar(select(func.count(OutboxJob.id))) == before


def test_continued_consultation_notifies_without_asking_to_answer(make, session):
    issue = make.issue(IssueState.CONSULTING)
    payload = {"decision": "continue", "next_review_on": "2024-07-01"}
    event = apply(session, make.staff("環境局"), issue, "decide", payload)
    notice = session.scalars(select(Notification).filter_by(history_event_id=event.id)).first()
    assert "継続協議" in notice.body and ANSWER_RESIDENTS not in notice.body


def notify_row(session, event) -> OutboxJob:
    session.expire_all()
    return session.scalars(select(OutboxJob).filter_by(dedupe_key=f"notify:{event.id}")).one()


def test_two_actions_in_one_transaction_notify_only_after_the_commit(make, session):
    manager, first, second = make.manager(), make.request(), make.request()
    workflow.apply(session, manager, first, "refer", {"referred_to": "土木センター"}, today=TODAY)
    workflow.apply(session, manager, second, "refer", {"referred_to": "土木センター"}, today=TODAY)
    assert session.scalar(select(func.count(Notification.id))) == 0  # nothing before the commit
    session.commit()
    assert session.scalar(select(func.count(Notification.id))) == 2


def test_a_rerun_of_the_notify_job_creates_nothing_new(make, session):
    issue = make.issue(IssueState.CONSULTING)
    event = apply(session, make.staff("環境局"), issue, "decide", {"decision": "adopt"})
    first = notified(session, event)
    assert first and notify_row(session, event).state == JobState.DONE
    assert (
        jobs.request_job(session, "notify", {"event_id": event.id}, dedupe_key=f"notify:{event.id}") is None
    )
    jobs.run_outbox_job(notify_row(session, event).id, bind=session.get_bind())  # handed over twice
    jobs.retry(session, notify_row(session, event).id)  # and really run again
    session.commit()
    assert notify_row(session, event).state == JobState.DONE
    assert notified(session, event) == first


# --- e-mail ---------------------------------------------------------------------------------


@pytest.fixture
def mail_dir(app, tmp_path, monkeypatch):
    """Mail goes to .eml files in a folder of this test's; the app's settings come back after."""
    monkeypatch.setitem(app.config, "MAIL_DIR", str(tmp_path / "mail"))
    monkeypatch.setitem(app.config, "MAIL_SERVER", None)
    return tmp_path / "mail"


def decided_issue(make, session, **emails):
    """A decision that reaches ward managers with the given (address, wants e-mail) settings."""
    managers = {name: make.manager() for name in emails}
    issue = make.issue(IssueState.CONSULTING, manager=managers[next(iter(emails))])
    for name, (address, wanted) in emails.items():  # set after the way to 局協議中 (決裁依頼) is over
        managers[name].email, managers[name].email_notifications = address, wanted
    session.commit()
    event = apply(session, make.staff("環境局"), issue, "decide", {"decision": "adopt"})
    session.expire_all()
    return event, {
        name: session.scalars(select(Notification).filter_by(user=m, history_event_id=event.id)).one()
        for name, m in managers.items()
    }


def test_email_goes_only_to_users_who_want_it_once_even_if_sent_twice(make, session, mail_dir):
    event, notes = decided_issue(
        make,
        session,
        on=("on@example.jp", True),
        on_2=("on2@example.jp", True),
        off=("off@example.jp", False),
    )
    mail = mail_dir / f"notification-{notes['on'].id}.eml"
    assert sorted(mail_dir.iterdir()) == sorted([mail, mail_dir / f"notification-{notes['on_2'].id}.eml"])
    assert notes["on"].emailed_at is not None and notes["off"].emailed_at is None
    written = mail.stat().st_mtime_ns

    row = session.scalars(select(OutboxJob).filter_by(dedupe_key=f"email:{notes['on'].id}")).one()
    jobs.retry(session, row.id)  # run send_email again
    session.commit()
    assert len(list(mail_dir.iterdir())) == 2 and mail.stat().st_mtime_ns == written

    message = email.message_from_bytes(mail.read_bytes(), policy=policy.default)
    assert message["Subject"].endswith(notes["on"].title) and "on@example.jp" in message["To"]
    assert message["Message-ID"] == f"<notification-{notes['on'].id}@localhost>"
    text = message.get_content()
    assert f"http://127.0.0.1:5000/issues/{event.ward_issue_id}" in text and ANSWER_RESIDENTS in text


def test_a_failed_send_is_not_marked_and_the_retry_sends_it(make, session, app, mail_dir, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", 1)  # nothing listens there
    _, notes = decided_issue(make, session, on=("on@example.jp", True))
    session.expire_all()
    row = session.scalars(select(OutboxJob).filter_by(dedupe_key=f"email:{notes['on'].id}")).one()
    assert row.state == JobState.RETRYING and "Connection" in row.last_error
    assert session.get(Notification, notes["on"].id).emailed_at is None

    monkeypatch.setitem(app.config, "MAIL_SERVER", None)
    jobs.retry(session, row.id)
    session.commit()
    session.expire_all()
    assert session.get(Notification, notes["on"].id).emailed_at is not None
    assert len(list(mail_dir.iterdir())) == 1


def test_smtp_settings_send_through_smtp(make, session, app, mail_dir, monkeypatch):
    smtp = MagicMock()
    smtp.__enter__.return_value = smtp
    connect = MagicMock(return_value=smtp)
    monkeypatch.setattr("tracker.background.mail.smtplib.SMTP", connect)
    for key, value in {"MAIL_SERVER": "smtp.example.jp", "MAIL_USERNAME": "u", "MAIL_PASSWORD": "p"}.items():
        monkeypatch.setitem(app.config, key, value)
    decided_issue(make, session, on=("on@example.jp", True))
    assert connect.call_args.args == ("smtp.example.jp", app.config["MAIL_PORT"])
    assert smtp.starttls.called and smtp.login.call_args.args == ("u", "p")
    assert smtp.send_message.call_args.args[0]["To"].addresses[0].addr_spec == "on@example.jp"
    assert not mail_dir.exists()


# --- pages ------------------------------------------------------------------------------------


def add_notifications(session, user, count: int, offset: int = 0) -> list[Notification]:
    rows = [
        Notification(
            user_id=user.id,
            kind="issue.decide",
            title=f"お知らせ {offset + i}",
            body="本文",
            url="/issues/",
            dedupe_key=f"test:{offset + i}",
            created_at=utcnow(),
        )
        for i in range(count)
    ]
    session.add_all(rows)
    session.commit()
    return rows


def test_the_bell_shows_the_unread_count(make, session, login_as):
    liaison = make.liaison()
    notes = add_notifications(session, liaison, 3)
    notes[0].read_at = utcnow()
    session.commit()
    page = login_as(liaison).get("/field/").get_data(as_text=True)
    bell = page.split('<a class="bell" href="/notifications/">', 1)[1].split("</a>", 1)[0]
    assert '<span class="badge unread-count">未読 2</span>' in bell


def test_the_bell_costs_no_query_for_anonymous_users(client, count_queries):
    assert client.get("/login").status_code == 200
    assert not [q for q in count_queries if "notifications" in q]


def test_list_page_runs_a_constant_number_of_queries(make, session, login_as, count_queries):
    liaison = make.liaison()
    client = login_as(liaison)

    def queries_for_page():
        count_queries.clear()
        response = client.get("/notifications/")
        assert response.status_code == 200
        return len(count_queries), response.get_data(as_text=True)

    add_notifications(session, liaison, 2)
    few, _ = queries_for_page()
    add_notifications(session, liaison, 10, offset=2)
    many, page = queries_for_page()
    assert few == many
    assert page.count('class="unread"') == 12 and page.index("お知らせ 11") < page.index("お知らせ 0")


def test_list_page_is_paginated(make, session, login_as, app, monkeypatch):
    liaison = make.liaison()
    add_notifications(session, liaison, 3)
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    client = login_as(liaison)
    assert "お知らせ 0" not in client.get("/notifications/").get_data(as_text=True)
    assert "お知らせ 0" in client.get("/notifications/?page=2").get_data(as_text=True)


def test_following_a_link_marks_it_read(make, session, login_as):
    liaison = make.liaison()
    request = make.request(liaison)
    event = apply(session, make.manager(), request, "refer", {"referred_to": "土木センター"})
    note = session.scalars(select(Notification).filter_by(history_event_id=event.id)).one()
    response = login_as(liaison).get(f"/notifications/{note.id}/open")
    assert response.status_code == 302 and response.headers["Location"] == f"/requests/{request.id}"
    session.refresh(note)
    assert note.read_at is not None


def test_marking_one_and_all_read(make, session, login_as):
    liaison = make.liaison()
    first, *rest = add_notifications(session, liaison, 3)
    client = login_as(liaison)
    response = client.post(f"/notifications/{first.id}/read", follow_redirects=True)
    assert "既読にしました" in response.get_data(as_text=True)
    session.expire_all()
    assert first.read_at is not None and all(n.read_at is None for n in rest)
    response = client.post("/notifications/read-all", follow_redirects=True)
    assert "2件の通知を既読にしました" in response.get_data(as_text=True)
    session.expire_all()
    assert all(n.read_at is not None for n in rest)


def test_another_users_notification_is_forbidden(make, session, login_as):
    owner, other = make.liaison(), make.liaison()
    (note,) = add_notifications(session, owner, 1)
    client = login_as(other)
    assert client.get(f"/notifications/{note.id}/open").status_code == 403
    assert client.post(f"/notifications/{note.id}/read").status_code == 403
    client.post("/notifications/read-all")
    session.refresh(note)
    assert note.read_at is None


def test_posts_need_the_csrf_token(make, session, login_as, app):
    liaison = make.liaison()
    (note,) = add_notifications(session, liaison, 1)
    client = login_as(liaison)
    app.config["WTF_CSRF_ENABLED"] = True  # the csrf_off fixture turns it back on anyway
    assert client.post("/notifications/read-all").status_code == 400
    assert client.post(f"/notifications/{note.id}/read").status_code == 400
    session.refresh(note)
    assert note.read_at is None


def test_email_can_be_turned_off_and_on(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert "メールアドレスが登録されていない" in page
    response = client.post(
        "/notifications/settings", data={"email_notifications": "0"}, follow_redirects=True
    )
    assert "メール通知を停止しました" in response.get_data(as_text=True)
    session.refresh(liaison)
    assert liaison.email_notifications is False
    client.post("/notifications/settings", data={"email_notifications": "1"})
    session.refresh(liaison)
    assert liaison.email_notifications is True
