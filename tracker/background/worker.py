"""``flask worker``: the RQ worker with its scheduler, and the relay loop beside it.

The relay loop hands over jobs that could not be enqueued at commit time (Redis was down),
restarts jobs whose worker died, and requests the daily jobs once a day (the outbox's
``dedupe_key`` makes "once" hold with any number of workers).

RQ's worker quits when it loses Redis in the middle of its work; ``run_worker`` then starts it
again every few seconds until Redis is back, so a Redis restart does not end ``flask worker``
(and with it the relay). Only SIGTERM/SIGINT, or the end of a ``--burst`` run, stop it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import threading

from flask import Flask
from redis.exceptions import RedisError
from rq import Worker

from ..extensions import db
from ..formatting import TOKYO
from . import jobs

log = logging.getLogger(__name__)

RELAY_EVERY_SECONDS = 5
RESTART_AFTER_SECONDS = 5  # after the RQ worker lost Redis

# (job name, local time of day in Tokyo from which it is due)
DAILY_JOBS: list[tuple[str, dt.time]] = []


def daily(name: str, at: dt.time) -> None:
    """Have ``flask worker`` request job ``name`` once a day from ``at`` (Tokyo time)."""
    DAILY_JOBS.append((name, at))


def request_daily_jobs(now: dt.datetime | None = None) -> list[str]:
    """Request each daily job that is due today and not yet requested; return their names."""
    local = (now or dt.datetime.now(dt.UTC)).astimezone(TOKYO)
    requested = []
    for name, at in DAILY_JOBS:
        if local.time() >= at:
            row = jobs.request_job(db.session, name, dedupe_key=f"{name}:{local.date().isoformat()}")
            if row is not None:
                requested.append(name)
    db.session.commit()
    return requested


def _relay_forever(app: Flask, stop: threading.Event) -> None:
    while not stop.wait(RELAY_EVERY_SECONDS):
        try:
            with app.app_context():
                jobs.relay_outbox()
                request_daily_jobs()
                db.session.remove()
        except Exception:
            log.exception("relay loop failed; trying again in %s s", RELAY_EVERY_SECONDS)


class _Worker(Worker):
    """RQ's worker, noting whether it was asked to stop (SIGTERM/SIGINT) or quit on its own."""

    stop_signalled = False

    def request_stop(self, signum, frame):
        self.stop_signalled = True
        super().request_stop(signum, frame)

    def request_force_stop(self, signum, frame):
        self.stop_signalled = True
        super().request_force_stop(signum, frame)


def _wait_unless_signalled(seconds: float) -> bool:
    """Sleep ``seconds``; False at once if SIGTERM or SIGINT comes meanwhile."""
    signalled = threading.Event()
    handler = lambda signum, frame: signalled.set()  # noqa: E731
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return not signalled.wait(seconds)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_worker(app: Flask, *, burst: bool = False) -> None:
    connection = jobs.redis_connection(app)
    if connection is None:
        raise RuntimeError("REDIS_URL が設定されていません。ワーカーには Redis が必要です。")
    jobs.serve_from(app)
    engines = list(db.engines.values())
    # Each job runs in a forked child: it must not share the parent's database connections.
    os.register_at_fork(after_in_child=lambda: [engine.dispose(close=False) for engine in engines])
    stop = threading.Event()
    relay = threading.Thread(target=_relay_forever, args=(app, stop), name="outbox-relay", daemon=True)
    relay.start()
    try:
        while True:
            rq_worker = None
            try:
                rq_worker = _Worker([app.config["RQ_QUEUE"]], connection=connection)
                rq_worker.work(with_scheduler=True, burst=burst)
            except RedisError as error:
                if rq_worker is not None and rq_worker.stop_signalled:
                    return
                if burst:
                    raise
                log.warning(
                    "the RQ worker lost Redis (%s); starting it again in %s s", error, RESTART_AFTER_SECONDS
                )
            else:
                if burst or rq_worker.stop_signalled:
                    return
                log.warning(
                    "the RQ worker quit unasked (Redis lost?); starting it again in %s s",
                    RESTART_AFTER_SECONDS,
                )
            if not _wait_unless_signalled(RESTART_AFTER_SECONDS):
                return
    finally:
        stop.set()
