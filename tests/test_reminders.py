"""Daily reminders: the right people get one digest a day with the right counts, nobody else.

Overdue on DAY (2024-06-20): requests logged on TODAY (2024-06-03) are due 2024-06-17; the
consultation continued until 2024-06-10 is past its review date, the one until 2024-06-25 not.
"""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tracker import workflow
from tracker.background import jobs, reminders, worker
from tracker.formatting import today_in_tokyo
from tracker.ops_models import Notification, OutboxJob, ReminderDigest
from tracker.states import IssueState, JobState

from .factories import TODAY

DAY = dt.date(2024, 6, 20)


def _continue_until(session, staff, issue, day: dt.date) -> None:
    workflow.apply(
        session, staff, issue, "decide", {"decision": "continue", "next_review_on": day}, today=TODAY
    )
    session.commit()


@pytest.fixture
def people(make, session):
    """Who should hear what on DAY, and who should not hear anything."""
    liaison = make.liaison("中央区")
    colleague = make.liaison("中央区")  # same center: the same overdue requests
    gone = make.liaison("中央区", active=False)
    takuma = make.liaison("東区", center="託麻")
    akitsu = make.liaison("東区", center="秋津")  # nothing overdue at 秋津
    chuo, higashi, nishi = make.manager("中央区"), make.manager("東区"), make.manager("西区")
    # the ward's second managers, who approve the issues (and hear of their ward like the first)
    chuo_2, higashi_2 = make.second_manager("中央区"), make.second_manager("東区")
    env, fire = make.staff("環境局"), make.staff("消防局")
    env_gone = make.staff("環境局")
    admin = make.admin()
    for number, user in enumerate((liaison, colleague, takuma, chuo, higashi, env, gone, env_gone)):
        user.email = f"user{number}@example.city.kumamoto.jp"
    env_gone.active = False
    session.commit()

    overdue = make.request(liaison, title="側溝の蓋が割れている")
    make.request(liaison, received_on=TODAY, answer_due_on=DAY + dt.timedelta(days=4))  # not yet due
    answered = make.request(liaison)
    answer = {"answer_text": "修理しました", "answer_kind": "resolved", "answered_on": TODAY}
    workflow.apply(session, liaison, answered, "answer", answer, today=TODAY)
    make.request(takuma)  # overdue in 東区 (託麻)

    late = make.issue(
        IssueState.CONSULTING, manager=chuo, approver=chuo_2, staff=env, lead="環境局", with_request=False
    )
    _continue_until(session, env, late, dt.date(2024, 6, 10))
    later = make.issue(
        IssueState.CONSULTING,
        ward="東区",
        manager=higashi,
        approver=higashi_2,
        staff=fire,
        lead="消防局",
        with_request=False,
    )
    _continue_until(session, fire, later, dt.date(2024, 6, 25))
    make.issue(
        IssueState.CONSULTING, manager=chuo, approver=chuo_2, staff=env, lead="環境局", with_request=False
    )  # no review date
    session.commit()
    return {
        "expected": {
            liaison.id: (1, 0),
            colleague.id: (1, 0),
            takuma.id: (1, 0),
            chuo.id: (1, 1),
            chuo_2.id: (1, 1),
            higashi.id: (1, 0),
            higashi_2.id: (1, 0),
            env.id: (0, 1),
        },
        "silent": [gone, akitsu, nishi, fire, env_gone, admin],
        "liaison": liaison,
        "chuo": chuo,
        "overdue": overdue,
        "late": late,
    }


def _digests(session, day: dt.date = DAY) -> dict[int, tuple[int, int]]:
    rows = session.scalars(select(ReminderDigest).where(ReminderDigest.day == day))
    return {row.user_id: (row.overdue_requests, row.overdue_consultations) for row in rows}


def _notifications(session, user_id: int) -> list[Notification]:
    return session.scalars(
        select(Notification).where(Notification.user_id == user_id, Notification.kind == "reminder.digest")
    ).all()


def test_each_person_gets_one_digest_with_their_own_counts(people, session):
    assert reminders.send_reminders(session, DAY) == 8
    assert _digests(session) == people["expected"]
    for user in people["silent"]:
        assert _notifications(session, user.id) == []


def test_a_digest_is_a_notification_and_an_email(people, session, app):
    reminders.send_reminders(session, DAY)
    chuo = people["chuo"]
    [notification] = _notifications(session, chuo.id)
    assert notification.title == (
        "期限超過のお知らせ: 回答期限を過ぎた要望 1件、次回協議予定日を過ぎた区重要課題 1件"
    )
    assert people["overdue"].reference in notification.body
    assert "側溝の蓋が割れている" in notification.body
    assert people["late"].reference in notification.body
    assert "2024年6月10日" in notification.body
    assert notification.url == "/ward/"
    assert notification.emailed_at is not None
    assert session.scalars(select(ReminderDigest).where(ReminderDigest.user_id == chuo.id)).one().emailed_at

    mail = Path(app.config["MAIL_DIR"]) / f"notification-{notification.id}.eml"
    message = message_from_bytes(mail.read_bytes(), policy=policy.default)
    assert message["To"].addresses[0].addr_spec == chuo.email
    assert "期限超過のお知らせ" in message["Subject"]
    assert people["overdue"].reference in message.get_content()
    [liaison_note] = _notifications(session, people["liaison"].id)
    assert liaison_note.url == "/field/"


def test_a_long_digest_lists_the_first_items_and_counts_the_rest(people, session, monkeypatch):
    monkeypatch.setattr(reminders, "MAX_LISTED", 0)
    reminders.send_reminders(session, DAY)
    [notification] = _notifications(session, people["chuo"].id)
    assert notification.body.count("・ほか 1件") == 2  # one overdue request, one consultation
    assert people["overdue"].reference not in notification.body


def test_nobody_hears_twice_on_one_day_but_again_the_next_day(people, session, app):
    assert reminders.send_reminders(session, DAY) == 8
    mails = set(Path(app.config["MAIL_DIR"]).iterdir())
    assert reminders.send_reminders(session, DAY) == 0
    assert set(Path(app.config["MAIL_DIR"]).iterdir()) == mails
    assert session.scalar(select(func.count(ReminderDigest.id))) == 8
    assert reminders.send_reminders(session, DAY + dt.timedelta(days=1)) == 8
    assert _digests(session, DAY + dt.timedelta(days=1)) == people["expected"]


def test_a_digest_delivered_by_another_run_meanwhile_is_skipped(people, session):
    """Two runs at once: the second one's digest row collides with the first's and sends nothing."""
    digests = reminders.due_digests(session, DAY)
    first = digests[0]
    assert reminders.deliver_digest(session, first, DAY) is True
    assert reminders.deliver_digest(session, first, DAY) is False
    assert len(_notifications(session, first.user.id)) == 1


def test_without_an_address_or_with_mail_turned_off_there_is_a_notification_but_no_email(people, session):
    liaison = people["liaison"]
    liaison.email_notifications = False
    session.commit()
    reminders.send_reminders(session, DAY)
    [notification] = _notifications(session, liaison.id)
    assert notification.emailed_at is None
    assert (
        session.scalars(select(ReminderDigest).where(ReminderDigest.user_id == liaison.id)).one().emailed_at
        is None
    )


def test_nothing_overdue_sends_nothing(make, session):
    make.liaison()
    make.request()
    assert reminders.send_reminders(session, TODAY) == 0
    assert session.scalar(select(func.count(ReminderDigest.id))) == 0


def test_the_daily_job_is_registered_and_runs_in_the_background(people, session):
    assert ("daily_reminders", dt.time(8, 0)) in worker.DAILY_JOBS
    row = jobs.request_job(session, "daily_reminders", {"day": DAY.isoformat()})
    session.commit()  # no REDIS_URL: runs inline after the commit
    session.expire_all()
    done = session.get(OutboxJob, row.id)
    assert done.state == JobState.DONE, done.last_error
    assert done.result == {"day": DAY.isoformat(), "digests": 8}
    assert _digests(session) == people["expected"]


def test_flask_reminders_run_sends_today_and_prints_how_many(people, session, app):
    result = app.test_cli_runner().invoke(args=["reminders", "run"])
    assert result.exit_code == 0, result.output
    sent = session.scalar(select(func.count(ReminderDigest.id)).where(ReminderDigest.day == today_in_tokyo()))
    assert sent >= 6  # everything in the fixture is long overdue by now
    assert f"期限超過のお知らせを {sent} 件送信しました。" in result.output
    again = app.test_cli_runner().invoke(args=["reminders", "run"])
    assert "期限超過のお知らせを 0 件送信しました。" in again.output
