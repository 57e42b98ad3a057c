"""The processes of the stress stack and the faults injected into it: its own Redis (killed with
SIGKILL mid-run, then started again empty), one RQ worker and gunicorn, each in a process group of
its own, and how to stop them all."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from .browser import Browser, Stats
from .settings import BIN, HOST, ROOT, SetupError, free_port, port_open

# --- processes -------------------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (RQ's work horse has a process group of its own)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                for child in map(int, children.read_text().split()):
                    if child not in found:
                        found.append(child)
                        pending.append(child)
    return found


class Proc:
    """One child process in a session (process group) of its own, logging to a file."""

    def __init__(self, name: str, argv: list[str], env: dict, log_path: Path):
        self.name, self.argv, self.env, self.log_path = name, argv, env, log_path
        self.popen: subprocess.Popen | None = None
        self.stopped_cleanly: bool | None = None
        self.exit_status: int | None = None

    def start(self) -> Proc:
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the process, its group and every descendant (a crash, or the last resort)."""
        if self.popen is None:
            return
        family = descendants(self.popen.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        for pid in [self.popen.pid, *family]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)

    def stop(self, grace: float) -> None:
        """SIGTERM (gunicorn and RQ stop gracefully on it), then SIGKILL after ``grace`` seconds."""
        if self.popen is None or self.stopped_cleanly is not None:
            return
        family = descendants(self.popen.pid)
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
                self.stopped_cleanly = True
            except subprocess.TimeoutExpired:
                self.stopped_cleanly = False
        else:
            self.stopped_cleanly = False  # it had died before we asked
        self.exit_status = self.popen.returncode
        # Whatever is left of its group or its children (a work horse, a gunicorn worker) goes now.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        for pid in family:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        if self.exit_status is None:
            self.exit_status = self.popen.returncode


def wait_until(condition, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


def tail(path: Path, lines: int = 25) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


class Stack:
    """The stress run's own Redis, worker and gunicorn, and how to stop them all."""

    def __init__(self, workdir: Path, env: dict):
        self.workdir, self.env = workdir, env
        self.redis_port = 0
        self.web_port = 0
        self.redis: Proc | None = None
        self.old_redis: list[Proc] = []
        self.worker: Proc | None = None
        self.web: Proc | None = None
        self.events: list[str] = []

    def start_redis(self) -> None:
        for _ in range(3):
            self.redis_port = self.redis_port or free_port()
            argv = [shutil.which("redis-server") or "redis-server", "--port", str(self.redis_port)]
            argv += ["--bind", HOST, "--save", "", "--appendonly", "no", "--daemonize", "no"]
            argv += ["--dir", str(self.workdir), "--protected-mode", "yes"]
            self.redis = Proc("redis", argv, self.env, self.workdir / "redis.log").start()
            up = wait_until(lambda: port_open(self.redis_port) or not self.redis.alive(), 10)
            if up and self.redis.alive():
                return
            self.redis.kill()
            self.old_redis.append(self.redis)
            self.redis_port = 0
        raise SetupError(f"redis-server did not start:\n{tail(self.workdir / 'redis.log')}")

    def crash_redis(self) -> None:
        self.redis.kill()
        self.old_redis.append(self.redis)
        self.events.append("Redis killed (SIGKILL)")

    def restart_redis(self) -> bool:
        argv = list(self.old_redis[-1].argv)
        self.redis = Proc("redis", argv, self.env, self.workdir / "redis.log").start()
        up = wait_until(lambda: port_open(self.redis_port) or not self.redis.alive(), 10)
        self.events.append("Redis started again on the same port, empty" if up else "Redis did not come back")
        return up and self.redis.alive()

    def start_worker(self) -> None:
        argv = [str(BIN / "flask"), "--app", "wsgi", "worker"]
        self.worker = Proc("worker", argv, self.env, self.workdir / "worker.log").start()

    def start_web(self) -> str:
        self.web_port = free_port()
        argv = [str(BIN / "gunicorn"), "-w", "2", "-b", f"{HOST}:{self.web_port}", "--timeout", "30"]
        argv += ["--graceful-timeout", "10", "--access-logfile", str(self.workdir / "access.log")]
        argv += ["--access-logformat", "%(s)s %(m)s %(U)s %(M)s", "wsgi:app"]
        self.web = Proc("gunicorn", argv, self.env, self.workdir / "gunicorn.log").start()
        base = f"http://{HOST}:{self.web_port}"
        probe = Browser(base, Stats())
        if not wait_until(lambda: probe.get("/login").status == 200 or not self.web.alive(), 60, 0.5):
            raise SetupError(f"gunicorn did not answer:\n{tail(self.workdir / 'gunicorn.log')}")
        if not self.web.alive():
            raise SetupError(f"gunicorn exited:\n{tail(self.workdir / 'gunicorn.log')}")
        return base

    def stop_all(self) -> None:
        """Stop in order: no new requests, then no new jobs, then Redis. Safe to call twice."""
        for proc, grace in ((self.web, 15), (self.worker, 20), (self.redis, 5)):
            if proc is not None:
                try:
                    proc.stop(grace)
                except BaseException as error:  # keep stopping the others
                    print(f"  could not stop {proc.name}: {error}", file=sys.stderr)
                    with contextlib.suppress(BaseException):
                        proc.kill()
        for proc in self.old_redis:
            with contextlib.suppress(BaseException):
                proc.kill()
