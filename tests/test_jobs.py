"""Background work: nothing starts before the commit, nothing is lost, nothing runs twice.

The first tests run inline (no REDIS_URL), inside the suite's rolled-back transaction. The
others use the real Redis (``REDIS_URL``, default ``redis://127.0.0.1:6379/15``) and real RQ
worker processes (``flask worker``) on a database of their own, with real commits; under
``CI=true`` an unreachable Redis fails the run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq.scheduler import RQScheduler
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker import PROJECT_ROOT, workflow
from tracker.background import jobs
from tracker.extensions import db
from tracker.models import utcnow
from tracker.ops_models import Notification, OutboxJob
from tracker.states import JobState, RequestState

from . import selftest_jobs
from .factories import TODAY, Factory
from .selftest_jobs import marker_lines
from .support import build_app, database_url_for_tests

DEAD_REDIS = "redis://127.0.0.1:1/0"


def outbox_row(session, outbox_id: int) -> OutboxJob:
    session.expire_all()
    return session.get(OutboxJob, outbox_id)


# --- inline (no Redis) ----------------------------------------------------------------------


def test_a_rolled_back_transaction_starts_nothing(session, tmp_path):
    marker = str(tmp_path / "marker")
    jobs.request_job(session, "selftest_marker", {"path": marker, "token": "a"})
    session.rollback()
    assert session.execute(select(func.count(OutboxJob.id))).scalar_one() == 0
    assert marker_lines(marker) == []


def test_a_committed_job_runs_once_after_the_commit_and_not_before(session, tmp_path):
    marker = str(tmp_path / "marker")
    row = jobs.request_job(session, "selftest_marker", {"path": marker, "token": "a"})
    session.flush()
    assert marker_lines(marker) == []  # recorded, not started
    session.commit()
    assert marker_lines(marker) == ["a"]
    assert outbox_row(session, row.id).state == JobState.DONE
    jobs.run_outbox_job(row.id, bind=session.get_bind())  # handed over twice: runs once
    assert marker_lines(marker) == ["a"]


def test_a_job_requested_twice_under_one_key_runs_once(session, tmp_path):
    marker = str(tmp_path / "marker")
    first = jobs.request_job(session, "selftest_marker", {"path": marker, "token": "a"}, dedupe_key="k")
    second = jobs.request_job(session, "selftest_marker", {"path": marker, "token": "a"}, dedupe_key="k")
    session.commit()
    assert first is not None and second is None
    assert marker_lines(marker) == ["a"]


def test_a_failing_inline_job_leaves_the_change_committed_and_the_failure_on_its_row(make, session, tmp_path):
    request = make.request()
    marker = str(tmp_path / "marker")
    workflow.apply(session, make.manager(), request, "refer", {"referred_to": "土木センター"}, today=TODAY)
    row = jobs.request_job(session, "selftest_fail", {"path": marker})
    session.commit()
    assert session.get(type(request), request.id).state == RequestState.REFERRED
    failed = outbox_row(session, row.id)
    assert failed.state == JobState.RETRYING and "意図した失敗" in failed.last_error
    assert failed.attempts == 1


# --- the real Redis and real workers ------------------------------------------------------------


@pytest.fixture(scope="module")
def live(redis_url, tmp_path_factory):
    """An app with Redis on a database of its own (real commits), and a queue of its own."""
    tmp = tmp_path_factory.mktemp("jobs")
    database_url = database_url_for_tests(tmp, suffix="_jobs")
    queue_name = f"tracker-test-{uuid.uuid4().hex[:8]}"
    app = build_app(database_url, tmp / "instance", REDIS_URL=redis_url, RQ_QUEUE=queue_name)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RQ_QUEUE": queue_name,
        "INSTANCE_PATH": str(tmp / "instance"),
        "SECRET_KEY": "test-secret",
        "APP_ENV": "testing",
    }
    yield app, env, tmp
    with app.app_context():
        jobs.queue().empty()
        db.engine.dispose()


def start_worker(env: dict, *, burst: bool) -> subprocess.Popen:
    command = [str(PROJECT_ROOT / ".venv/bin/flask"), "--app", "tests.selftest_jobs:create_worker_app"]
    command += ["worker", *(["--burst"] if burst else [])]
    log = open(os.path.join(env["INSTANCE_PATH"], "worker.log"), "ab")  # noqa: SIM115 - the worker holds it
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the job's forked child dies with it
    )


def kill_with_children(process: subprocess.Popen, env: dict) -> None:
    """SIGKILL a worker and the job it runs (RQ's work horse has a process group of its own).

    The dead worker's scheduler lock is then released, as its expiry would do a minute later.
    """
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    for pid in [process.pid, *map(int, children)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=30)
    Redis.from_url(env["REDIS_URL"]).delete(RQScheduler.get_locking_key(env["RQ_QUEUE"]))


def run_worker_until_idle(env: dict) -> None:
    process = start_worker(env, burst=True)
    assert process.wait(timeout=120) == 0


def wait_for(condition, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def state_of(outbox_id: int) -> OutboxJob:
    """The row as committed now, read in a transaction that ends at once (SQLite locks the file)."""
    with Session(db.engine) as session:
        return session.get(OutboxJob, outbox_id)


@pytest.fixture
def live_app(live) -> Iterator:
    app, env, tmp = live
    with app.app_context():
        app.config["REDIS_URL"] = env["REDIS_URL"]
        app.extensions.pop("tracker_redis", None)
        yield app, env, tmp
        db.session.remove()


def test_a_committed_job_runs_exactly_once_on_a_real_worker(live_app):
    _app, env, tmp = live_app
    marker = str(tmp / f"marker-{uuid.uuid4().hex}")
    outbox_id = jobs.request_job(db.session, "selftest_marker", {"path": marker, "token": "a"}).id
    db.session.commit()
    assert state_of(outbox_id).state == JobState.ENQUEUED
    run_worker_until_idle(env)
    assert state_of(outbox_id).state == JobState.DONE
    jobs.enqueue(jobs.queue(), outbox_id, db.engine)  # a second hand-over is refused: already done
    run_worker_until_idle(env)
    assert marker_lines(marker) == ["a"]


def test_with_redis_down_the_action_succeeds_and_the_job_runs_once_redis_is_back(live_app):
    app, env, tmp = live_app
    marker = str(tmp / f"marker-{uuid.uuid4().hex}")
    make = Factory(db.session)
    request, manager = make.request(), make.manager()
    app.config["REDIS_URL"] = DEAD_REDIS
    app.extensions.pop("tracker_redis", None)
    workflow.apply(db.session, manager, request, "refer", {"referred_to": "土木センター"}, today=TODAY)
    outbox_id = jobs.request_job(db.session, "selftest_marker", {"path": marker, "token": "a"}).id
    request_id = request.id
    db.session.commit()  # Redis refuses the hand-over: the change is committed all the same
    db.session.close()
    assert state_of(outbox_id).state == JobState.PENDING
    with Session(db.engine) as session:
        assert session.get(type(request), request_id).state == RequestState.REFERRED

    app.config["REDIS_URL"] = env["REDIS_URL"]
    app.extensions.pop("tracker_redis", None)
    assert jobs.relay_outbox(stale_after=dt.timedelta(0))["handed_over"] >= 1
    run_worker_until_idle(env)
    assert state_of(outbox_id).state == JobState.DONE
    assert marker_lines(marker) == ["a"]


def test_a_worker_killed_in_the_middle_of_a_job_is_restarted_never_lost(live_app):
    _app, env, tmp = live_app
    marker = str(tmp / f"marker-{uuid.uuid4().hex}")
    kwargs = {"path": marker, "token": "a", "steps": 40, "delay": 0.1}
    outbox_id = jobs.request_job(db.session, "selftest_slow", kwargs).id
    db.session.commit()
    worker = start_worker(env, burst=False)
    try:
        wait_for(lambda: state_of(outbox_id).progress_done > 0)
    finally:
        kill_with_children(worker, env)
    stuck = state_of(outbox_id)
    assert stuck.state == JobState.RUNNING and stuck.progress_done < 40  # visible, not gone
    assert marker_lines(marker) == []

    later = utcnow() + dt.timedelta(seconds=jobs.JOBS["selftest_slow"].timeout + 61)
    assert jobs.relay_outbox(now=later)["restarted"] == 1
    run_worker_until_idle(env)
    done = state_of(outbox_id)
    assert done.state == JobState.DONE and done.attempts == 2
    assert marker_lines(marker) == ["a"]


def test_a_job_that_keeps_failing_ends_visible_as_failed(live_app):
    _app, env, tmp = live_app
    marker = str(tmp / f"marker-{uuid.uuid4().hex}")
    outbox_id = jobs.request_job(db.session, "selftest_fail", {"path": marker}).id
    db.session.commit()
    worker = start_worker(env, burst=False)  # its scheduler brings the retry back after 1 s
    try:
        wait_for(lambda: state_of(outbox_id).state == JobState.FAILED, timeout=30)
    finally:
        kill_with_children(worker, env)
    failed = state_of(outbox_id)
    assert failed.attempts == 2 and "意図した失敗" in failed.last_error
    assert marker_lines(marker) == ["attempt", "attempt"]


def test_selftest_jobs_are_registered():
    assert {"selftest_marker", "selftest_slow", "selftest_fail"} <= set(jobs.JOBS)
    # each name runs this module's function, with the retry settings the worker tests rely on
    assert jobs.JOBS["selftest_marker"].func is selftest_jobs.write_marker
    assert jobs.JOBS["selftest_slow"].func is selftest_jobs.slow
    assert jobs.JOBS["selftest_fail"].func is selftest_jobs.fail
    assert (jobs.JOBS["selftest_fail"].max_attempts, jobs.JOBS["selftest_fail"].retry_intervals) == (2, (1,))


def test_a_workflow_action_notifies_and_mails_through_a_real_worker(live_app):
    """The product's own jobs end to end: refer → notify → send_email, on RQ."""
    _app, env, _tmp = live_app
    make = Factory(db.session)
    liaison = make.liaison()
    liaison.email = "liaison@example.jp"
    request = make.request(liaison)
    workflow.apply(db.session, make.manager(), request, "refer", {"referred_to": "土木センター"}, today=TODAY)
    liaison_id = liaison.id
    db.session.commit()
    db.session.close()
    run_worker_until_idle(env)  # notify, which requests send_email
    run_worker_until_idle(env)  # send_email
    with Session(db.engine) as session:
        notes = session.scalars(select(Notification).where(Notification.user_id == liaison_id)).all()
    assert len(notes) == 1 and notes[0].emailed_at is not None
    mail_dir = Path(env["INSTANCE_PATH"]) / "mail"
    mails = [p for p in mail_dir.glob("*.eml") if f"notification-{notes[0].id}" in p.name]
    assert len(mails) == 1
