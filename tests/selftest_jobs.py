"""Jobs that exercise the background machinery in tests, in this process and in a worker process.

``create_worker_app`` is what ``flask --app tests.selftest_jobs:create_worker_app worker`` runs.
"""

from __future__ import annotations

import time
from pathlib import Path

from tracker import create_app
from tracker.background import jobs


def marker_lines(path: str) -> list[str]:
    file = Path(path)
    return file.read_text().splitlines() if file.exists() else []


@jobs.job("selftest_marker", "テスト: 印を書く", timeout=30, max_attempts=2, retry_intervals=(1,))
def write_marker(ctx: jobs.JobContext, path: str, token: str) -> None:
    """Appends ``token`` to the file: a job that ran twice leaves two lines."""
    with open(path, "a") as file:
        file.write(token + "\n")


@jobs.job("selftest_slow", "テスト: 時間のかかる処理", timeout=30, max_attempts=3, retry_intervals=(1,))
def slow(ctx: jobs.JobContext, path: str, token: str, steps: int, delay: float) -> None:
    for step in range(steps):
        time.sleep(delay)
        ctx.progress(step + 1, steps)
    with open(path, "a") as file:
        file.write(token + "\n")


@jobs.job("selftest_fail", "テスト: 失敗する処理", timeout=30, max_attempts=2, retry_intervals=(1,))
def fail(ctx: jobs.JobContext, path: str) -> None:
    with open(path, "a") as file:
        file.write("attempt\n")
    raise RuntimeError("意図した失敗")


def create_worker_app():
    return create_app()
