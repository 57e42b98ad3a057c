"""``flask worker`` outlives a Redis restart: RQ's worker quits when Redis goes away, and
``run_worker`` starts it again (found by ``make stress``, which kills its Redis mid-run)."""

from __future__ import annotations

import os
import signal
import threading

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from tracker.background import worker


class FakeWorker:
    """Plays RQ's worker: each ``work()`` call takes the next scripted ending."""

    endings: list[str] = []
    runs = 0

    def __init__(self, queues, connection):
        self.stop_signalled = False

    def work(self, with_scheduler: bool, burst: bool) -> bool:
        FakeWorker.runs += 1
        ending = FakeWorker.endings.pop(0)
        if ending == "lost redis":
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        if ending == "asked to stop":
            self.stop_signalled = True
        return False  # "quit unasked": RQ logged the error, quit its loop, and its teardown worked


@pytest.fixture
def fake_worker(app, monkeypatch):
    monkeypatch.setattr(worker, "_Worker", FakeWorker)
    monkeypatch.setattr(worker, "RESTART_AFTER_SECONDS", 0)
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # never connected here
    monkeypatch.setitem(app.extensions, "tracker_redis", None)
    FakeWorker.runs = 0
    with app.app_context():
        yield app


def test_the_worker_starts_again_after_losing_redis_until_asked_to_stop(fake_worker):
    FakeWorker.endings = ["lost redis", "quit unasked", "asked to stop"]
    worker.run_worker(fake_worker)
    assert FakeWorker.runs == 3


def test_a_burst_run_ends_when_its_queue_is_empty_and_fails_when_redis_is_lost(fake_worker):
    FakeWorker.endings = ["quit unasked"]
    worker.run_worker(fake_worker, burst=True)
    assert FakeWorker.runs == 1
    FakeWorker.endings = ["lost redis"]
    with pytest.raises(RedisConnectionError):
        worker.run_worker(fake_worker, burst=True)


def test_sigterm_while_waiting_for_redis_stops_the_worker():
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM))
    previous = signal.getsignal(signal.SIGTERM)
    timer.start()
    try:
        assert worker._wait_unless_signalled(30) is False
    finally:
        timer.cancel()
    assert signal.getsignal(signal.SIGTERM) is previous
    assert worker._wait_unless_signalled(0.01) is True
