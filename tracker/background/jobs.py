"""Background work: the one way to start it, and how it runs on RQ or inline.

``request_job`` records the job in the ``job_outbox`` table in the caller's transaction. Only
after that transaction commits is the job handed over: to RQ when ``REDIS_URL`` is set, or run
inline in this process when it is not. A rolled-back transaction starts nothing. If Redis is
down at commit time, the row stays ``pending`` and the relay (``relay_outbox``, run every few
seconds by ``flask worker``) hands it over once Redis is back. A job whose worker died while it
ran is found by the relay too and started again, or marked failed after its last attempt.

Every job runs through ``run_outbox_job``, which skips a job already done, so a job handed over
twice runs its work once; the work itself must also be idempotent (a re-run sends no second
e-mail, imports no second row), because a job may die half-way and start again.

No Flask request is needed here: jobs run the same from a view, a CLI command or a worker.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import flask_babel
from flask import Flask, current_app, has_app_context, has_request_context
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import utcnow
from ..ops_models import OutboxJob
from ..states import JobState

log = logging.getLogger(__name__)

RUNNABLE_STATES = (JobState.PENDING, JobState.ENQUEUED, JobState.RETRYING)
PENDING_KEY = "tracker_pending_jobs"


@contextmanager
def in_language(locale: str | None) -> Iterator[None]:
    """What is written inside is in ``locale`` (a recipient's ``User.locale``), in a request or
    in a job: the texts translate only in a request, so a job without one gets a bare request
    context of its app for the while (no session or user is read from it)."""
    with ExitStack() as stack:
        if not has_request_context():
            stack.enter_context(current_app.test_request_context())
        stack.enter_context(flask_babel.force_locale(locale or "ja"))
        yield


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable[..., Any]
    label: str
    timeout: int  # seconds a run may take before RQ stops it
    max_attempts: int  # including the first run
    retry_intervals: tuple[int, ...]  # seconds between attempts (back-off)


JOBS: dict[str, JobSpec] = {}


def job(name: str, label: str, *, timeout: int = 300, max_attempts: int = 3, retry_intervals=(10, 60, 300)):
    """Register ``func`` as the background job ``name`` (a Japanese ``label`` for the admin page)."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        JOBS[name] = JobSpec(name, func, label, timeout, max_attempts, tuple(retry_intervals))
        return func

    return register


class JobContext:
    """What a running job gets besides its arguments: its outbox row id and progress reporting."""

    def __init__(self, outbox_id: int, bind):
        self.outbox_id = outbox_id
        self._bind = bind

    def session(self) -> Session:
        """A session for the job's own work, on the database the job was started from."""
        return _session(self._bind)

    def set_result(self, result: dict[str, Any]) -> None:
        """Keep what the job produced (a file name, counts, errors) on its row, for the page."""
        with _session(self._bind) as session, session.begin():
            session.execute(update(OutboxJob).where(OutboxJob.id == self.outbox_id).values(result=result))

    def progress(self, done: int, total: int | None = None) -> None:
        """Record progress in its own short transaction, so a page can show it while the job runs."""
        values: dict[str, Any] = {"progress_done": done}
        if total is not None:
            values["progress_total"] = total
        with _session(self._bind) as session, session.begin():
            session.execute(update(OutboxJob).where(OutboxJob.id == self.outbox_id).values(**values))


def request_job(
    session: Session,
    name: str,
    kwargs: dict[str, Any] | None = None,
    *,
    dedupe_key: str | None = None,
    requested_by_id: int | None = None,
) -> OutboxJob | None:
    """Record a job in the caller's transaction; it starts after the commit, never before.

    With ``dedupe_key``, a second request with the same key is ignored (None is returned), which
    makes "once a day" or "once per file" jobs safe to request from several places.
    """
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}")
    row = OutboxJob(name=name, kwargs=kwargs or {}, dedupe_key=dedupe_key, requested_by_id=requested_by_id)
    if dedupe_key is not None:
        exists = session.execute(select(OutboxJob.id).where(OutboxJob.dedupe_key == dedupe_key)).first()
        if exists:
            return None
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            return None
    else:
        session.add(row)
    session.flush()
    session.info.setdefault(PENDING_KEY, []).append(row.id)
    return row


@event.listens_for(Session, "after_commit")
def _hand_over_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the real commit is still to come
        return
    ids = session.info.pop(PENDING_KEY, None)
    if ids and has_app_context():
        dispatch(ids, session.get_bind())


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction) -> None:
    """A rolled-back transaction starts no job. (A job whose row went with a rolled-back
    savepoint is skipped at hand-over: its row is not there.)"""
    if previous_transaction.parent is None:
        session.info.pop(PENDING_KEY, None)


def _session(bind) -> Session:
    """A session of its own for the job machinery; on a connection already in a transaction
    (the tests' rolled-back one) it works in a savepoint and never ends that transaction."""
    return Session(bind, join_transaction_mode="create_savepoint")


def app_or_current(app: Flask | None) -> Flask:
    return app or current_app._get_current_object()


def redis_connection(app: Flask | None = None) -> Redis | None:
    app = app_or_current(app)
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    connection = app.extensions.get("tracker_redis")
    if connection is None:
        connection = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        app.extensions["tracker_redis"] = connection
    return connection


def queue(app: Flask | None = None) -> Queue | None:
    connection = redis_connection(app)
    return Queue(app_or_current(app).config["RQ_QUEUE"], connection=connection) if connection else None


def dispatch(ids: list[int], bind) -> None:
    """Hand committed jobs over: to RQ, or run them inline when there is no Redis."""
    rq_queue = queue()
    if rq_queue is None:
        for outbox_id in ids:
            run_inline(outbox_id, bind)
        return
    for outbox_id in ids:
        enqueue(rq_queue, outbox_id, bind)


def run_inline(outbox_id: int, bind) -> None:
    """Run a job here and now; a failure is recorded on its row and logged, never raised."""
    try:
        run_outbox_job(outbox_id, bind=bind)
    except Exception:
        log.exception("inline job %s failed", outbox_id)


def enqueue(rq_queue: Queue, outbox_id: int, bind) -> bool:
    """Put one outbox job on RQ and mark it enqueued; False (and left pending) if Redis is down."""
    with _session(bind) as session:
        row = session.get(OutboxJob, outbox_id)
        if row is None or row.state not in (JobState.PENDING, JobState.RETRYING):
            return False
        spec = JOBS[row.name]
    attempts_left = max(spec.max_attempts - row.attempts - 1, 0)
    try:
        rq_job = rq_queue.enqueue_call(
            run_outbox_job,
            args=(outbox_id,),
            job_id=f"outbox-{outbox_id}-{row.attempts}",
            timeout=spec.timeout,
            result_ttl=24 * 3600,
            failure_ttl=30 * 24 * 3600,
            retry=Retry(max=attempts_left, interval=list(spec.retry_intervals)) if attempts_left else None,
            description=f"{spec.label} (#{outbox_id})",
        )
    except RedisError as error:
        log.warning("Redis unavailable, job %s stays pending for the relay: %s", outbox_id, error)
        return False
    with _session(bind) as session, session.begin():
        session.execute(
            update(OutboxJob)
            .where(OutboxJob.id == outbox_id, OutboxJob.state.in_((JobState.PENDING, JobState.RETRYING)))
            .values(state=JobState.ENQUEUED, rq_job_id=rq_job.id, enqueued_at=utcnow())
        )
    return True


_worker_app: Flask | None = None


def serve_from(app: Flask) -> None:
    """Remember the app of this worker process: RQ's forked work horses run their jobs in it."""
    global _worker_app
    _worker_app = app


def _app() -> Flask:
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        raise RuntimeError("jobs run in an app context or in a worker started by 'flask worker'")
    return _worker_app


def run_outbox_job(outbox_id: int, *, bind=None) -> None:
    """Run one outbox job once: skip it if done, record the attempt, re-raise a failure for RQ."""
    if not has_app_context():
        with _app().app_context():
            return run_outbox_job(outbox_id, bind=bind)
    bind = bind or db.engine
    with _session(bind) as session, session.begin():
        row = session.get(OutboxJob, outbox_id, with_for_update=True)
        if row is None or row.state not in RUNNABLE_STATES:
            # Done, failed (only an admin's retry starts it again), or running elsewhere: a job
            # whose worker died is reset to pending by the relay, never taken over here.
            return None
        row.state, row.started_at, row.attempts = JobState.RUNNING, utcnow(), row.attempts + 1
        row.last_error = ""
        name, kwargs, attempts = row.name, dict(row.kwargs), row.attempts
    spec = JOBS[name]
    try:
        spec.func(JobContext(outbox_id, bind), **kwargs)
    except Exception as error:
        final = attempts >= spec.max_attempts
        with _session(bind) as session, session.begin():
            session.execute(
                update(OutboxJob)
                .where(OutboxJob.id == outbox_id)
                .values(
                    state=JobState.FAILED if final else JobState.RETRYING,
                    finished_at=utcnow(),
                    last_error=f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=5)}"[:4000],
                )
            )
        raise
    with _session(bind) as session, session.begin():
        session.execute(
            update(OutboxJob)
            .where(OutboxJob.id == outbox_id)
            .values(state=JobState.DONE, finished_at=utcnow())
        )
    return None


def relay_outbox(
    *, stale_after: dt.timedelta = dt.timedelta(seconds=30), now: dt.datetime | None = None
) -> dict[str, int]:
    """Hand over what the commit could not (Redis was down), and restart jobs whose worker died.

    Runs in ``flask worker`` every few seconds and from ``flask jobs relay``; safe to run from
    several processes at once (a job handed over twice still runs once).
    """
    bind = db.engine
    now = now or utcnow()
    counts = {"handed_over": 0, "restarted": 0, "failed": 0}
    with _session(bind) as session:
        waiting = session.scalars(
            select(OutboxJob.id)
            .where(OutboxJob.state.in_((JobState.PENDING,)), OutboxJob.created_at < now - stale_after)
            .order_by(OutboxJob.id)
            .limit(500)
        ).all()
        running = session.scalars(
            select(OutboxJob).where(
                OutboxJob.state.in_((JobState.RUNNING, JobState.ENQUEUED, JobState.RETRYING))
            )
        ).all()
        orphans = [row for row in running if _is_orphan(row, now)]
    rq_queue = queue()
    for outbox_id in waiting:
        if rq_queue is None:
            run_inline(outbox_id, bind)
            counts["handed_over"] += 1
        elif enqueue(rq_queue, outbox_id, bind):
            counts["handed_over"] += 1
    for row in orphans:
        spec = JOBS[row.name]
        with _session(bind) as session, session.begin():
            final = row.attempts >= spec.max_attempts
            session.execute(
                update(OutboxJob)
                .where(OutboxJob.id == row.id, OutboxJob.state == row.state)
                .values(
                    state=JobState.FAILED if final else JobState.PENDING,
                    last_error=(row.last_error or "") + "\nワーカーが応答しなくなったため中断されました。",
                )
            )
        if final:
            counts["failed"] += 1
        else:
            counts["restarted"] += 1
            if rq_queue is not None:
                enqueue(rq_queue, row.id, bind)
            else:
                run_inline(row.id, bind)
    return counts


def _is_orphan(row: OutboxJob, now: dt.datetime) -> bool:
    """A running job past its time limit, or an enqueued one RQ no longer knows or has failed."""
    spec = JOBS.get(row.name)
    if spec is None:
        return False
    if row.state == JobState.RUNNING:
        started = row.started_at or row.created_at
        return now - started > dt.timedelta(seconds=spec.timeout + 60)
    rq_queue = queue()
    if rq_queue is None or not row.rq_job_id:
        return False
    try:
        rq_job = rq_queue.fetch_job(row.rq_job_id)
    except RedisError:
        return False
    if rq_job is None:
        return True
    return rq_job.get_status(refresh=True) in ("failed", "stopped", "canceled") and not rq_job.retries_left


def retry(session: Session, outbox_id: int) -> OutboxJob:
    """An admin starts a failed or stuck job again (after the commit, like any job)."""
    row = session.get(OutboxJob, outbox_id)
    if row is None:
        raise KeyError(outbox_id)
    row.state, row.attempts, row.last_error = JobState.PENDING, 0, ""
    session.info.setdefault(PENDING_KEY, []).append(row.id)
    session.flush()
    return row
