"""The admin's page of background work: every state, retrying, relaying, and nobody else.

Rows are made directly (no job starts for a row added by hand); a retried row runs inline after
the commit, as the test app has no REDIS_URL.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tracker.background import jobs
from tracker.models import utcnow
from tracker.ops_models import OutboxJob
from tracker.states import JobState

DEAD_REDIS = "redis://127.0.0.1:1/0"


def _row(session, state: JobState, *, age: dt.timedelta = dt.timedelta(0), **fields) -> OutboxJob:
    now = utcnow()
    row = OutboxJob(
        name="daily_reminders", kwargs={"day": "2024-06-20"}, state=state, created_at=now - age, **fields
    )
    session.add(row)
    return row


@pytest.fixture
def rows(make, session):
    """One row in every state, and the ones the page must flag or offer to run again."""
    requester = make.manager()
    hour = dt.timedelta(hours=1)
    made = {
        "fresh": _row(session, JobState.PENDING, requested_by_id=requester.id),
        "unsent": _row(session, JobState.PENDING, age=dt.timedelta(minutes=5)),
        "enqueued": _row(session, JobState.ENQUEUED, age=dt.timedelta(minutes=5), rq_job_id="outbox-x-0"),
        "running": _row(
            session, JobState.RUNNING, started_at=utcnow(), attempts=1, progress_done=3, progress_total=10
        ),
        "overrun": _row(session, JobState.RUNNING, age=3 * hour, started_at=utcnow() - 2 * hour, attempts=1),
        "retrying": _row(session, JobState.RETRYING, attempts=1, last_error="ConnectionError: 一時的な失敗"),
        "failed": _row(
            session, JobState.FAILED, attempts=3, last_error="RuntimeError: SMTPサーバーに接続できません"
        ),
        "done": _row(session, JobState.DONE, attempts=1, finished_at=utcnow(), result={"digests": 4}),
    }
    session.commit()
    return made


@pytest.fixture
def admin_client(make, login_as):
    return login_as(make.admin())


def _retry_buttons(page: str) -> set[int]:
    return {
        int(part.split("/")[0]) for part in page.split('action="/admin/jobs/')[1:] if "/retry" in part[:20]
    }


def test_the_page_lists_every_state_with_counts_flags_and_errors(rows, admin_client):
    response = admin_client.get("/admin/jobs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for heading in ("待機中・キュー投入済み", "実行中", "再試行待ち", "失敗", "最近の完了"):
        assert f"<h2>{heading}</h2>" in page
    assert '<dd class="count-pending">2件</dd>' in page
    assert '<dd class="count-running">2件</dd>' in page
    for state in ("enqueued", "retrying", "failed", "done"):
        assert f'<dd class="count-{state}">1件</dd>' in page
    assert page.count("未送信</span>") == 1
    assert f'id="job-{rows["unsent"].id}"' in page.split("未送信</span>")[0]
    assert "3 / 10" in page
    assert "SMTPサーバーに接続できません" in page
    assert "一時的な失敗" in page
    assert "期限超過のお知らせ" in page  # the job's label
    assert "Redis未設定 (インライン実行)" in page
    assert rows["fresh"].requested_by.display_name in page
    assert _retry_buttons(page) == {rows["failed"].id, rows["unsent"].id, rows["overrun"].id}
    assert "送信待ちを再送" in page


def test_retry_turns_a_failed_row_back_to_pending_and_runs_it(rows, session, admin_client):
    failed = rows["failed"]
    response = admin_client.post(f"/admin/jobs/{failed.id}/retry")
    assert response.status_code == 302
    session.expire_all()
    row = session.get(OutboxJob, failed.id)
    assert row.state == JobState.DONE, row.last_error
    assert row.attempts == 1  # counted afresh
    assert row.last_error == ""
    assert row.result == {"day": "2024-06-20", "digests": 0}
    assert f"#{failed.id} を再実行しました" in admin_client.get("/admin/jobs").get_data(as_text=True)


def test_a_running_or_finished_row_is_not_started_again(rows, session, admin_client):
    for name in ("running", "done", "retrying"):
        before = (rows[name].state, rows[name].attempts)
        admin_client.post(f"/admin/jobs/{rows[name].id}/retry")
        session.expire_all()
        row = session.get(OutboxJob, rows[name].id)
        assert (row.state, row.attempts) == before, name
    page = admin_client.get("/admin/jobs").get_data(as_text=True)
    assert "失敗したか止まっている処理だけ再実行できます" in page
    assert admin_client.post("/admin/jobs/999999/retry").status_code == 404


def test_the_relay_button_hands_over_what_is_waiting(rows, admin_client, monkeypatch):
    calls = []

    def relay():
        calls.append(True)
        return {"handed_over": 2, "restarted": 1, "failed": 0}

    monkeypatch.setattr(jobs, "relay_outbox", relay)
    response = admin_client.post("/admin/jobs/relay", follow_redirects=True)
    assert calls == [True]
    assert "引き渡し 2件、再開 1件" in response.get_data(as_text=True)


def test_an_unreachable_redis_is_shown(rows, app, admin_client, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", DEAD_REDIS)
    try:
        page = admin_client.get("/admin/jobs").get_data(as_text=True)
    finally:
        app.extensions.pop("tracker_redis", None)
    assert "Redis に接続できません" in page
    assert "Redis未設定" not in page


def test_only_the_admin_may_see_or_act(rows, make, login_as):
    for user in (make.manager(), make.staff(), make.liaison()):
        client = login_as(user)
        assert client.get("/admin/jobs").status_code == 403
        assert client.post(f"/admin/jobs/{rows['failed'].id}/retry").status_code == 403
        assert client.post("/admin/jobs/relay").status_code == 403
    assert (
        login_as(make.manager()).get("/", follow_redirects=True).get_data(as_text=True).count("/admin/jobs")
        == 0
    )


def _selects(statements: list[str]) -> list[str]:
    return [statement for statement in statements if statement.lstrip().upper().startswith("SELECT")]


def test_the_page_runs_a_constant_number_of_queries(rows, make, session, admin_client, count_queries):
    admin_client.get("/admin/jobs")
    count_queries.clear()
    admin_client.get("/admin/jobs")
    few = len(_selects(count_queries))
    for state in JobState:
        for _ in range(3):
            _row(session, state, requested_by_id=make.staff().id, last_error="x")
    session.commit()
    count_queries.clear()
    page = admin_client.get("/admin/jobs").get_data(as_text=True)
    assert len(_selects(count_queries)) == few <= 8
    assert page.count('id="job-') == len(rows) + 3 * len(JobState)
