"""What the admin's page of background work shows: the outbox by state, and RQ's failed jobs.

A job may be started again by the admin (``jobs.retry``) when it failed, was never handed over
(pending for more than ``UNSENT_AFTER``), or runs far past its time limit (its worker died).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from redis.exceptions import RedisError
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from ..models import utcnow
from ..ops_models import OutboxJob
from ..states import JobState
from ..wording import N_
from . import jobs

UNSENT_AFTER = dt.timedelta(seconds=30)
# (heading, states, order, how many rows are shown)
SECTIONS = (
    (N_("待機中・キュー投入済み"), (JobState.PENDING, JobState.ENQUEUED), OutboxJob.id, 100),
    (N_("実行中"), (JobState.RUNNING,), OutboxJob.id, 100),
    (N_("再試行待ち"), (JobState.RETRYING,), OutboxJob.id, 100),
    (N_("失敗"), (JobState.FAILED,), OutboxJob.id.desc(), 100),
    (N_("最近の完了"), (JobState.DONE,), OutboxJob.id.desc(), 20),
)


def unsent(row: OutboxJob, now: dt.datetime) -> bool:
    return row.state == JobState.PENDING and now - row.created_at > UNSENT_AFTER


def retryable(row: OutboxJob, now: dt.datetime) -> bool:
    spec = jobs.JOBS.get(row.name)
    overrun = (
        row.state == JobState.RUNNING
        and spec is not None
        and now - (row.started_at or row.created_at) > dt.timedelta(seconds=spec.timeout + 60)
    )
    return row.state == JobState.FAILED or unsent(row, now) or overrun


@dataclass(frozen=True)
class Board:
    counts: dict[JobState, int]
    sections: list[tuple[str, list[OutboxJob]]]
    redis_configured: bool
    rq_failed: int | None  # None: no Redis, or it does not answer
    now: dt.datetime


def _rq_failed_count() -> int | None:
    try:
        return FailedJobRegistry(queue=jobs.queue()).count
    except RedisError:
        return None


def board(session: Session) -> Board:
    """Counts per state and the rows of each section, in a constant number of queries."""
    counts = dict(session.execute(select(OutboxJob.state, func.count()).group_by(OutboxJob.state)).all())
    sections = [
        (
            title,
            session.scalars(
                select(OutboxJob)
                .options(joinedload(OutboxJob.requested_by))
                .where(OutboxJob.state.in_(states))
                .order_by(order)
                .limit(limit)
            ).all(),
        )
        for title, states, order, limit in SECTIONS
    ]
    redis_configured = bool(current_app.config.get("REDIS_URL"))
    rq_failed = _rq_failed_count() if redis_configured else None
    return Board(counts, sections, redis_configured, rq_failed, utcnow())
