"""``make stress``: a bounded load-and-fault run of the whole stack on this machine's loopback.

What it does, on 127.0.0.1 only, and always stopping by itself:

1. Drops and recreates a PostgreSQL database of its own (``STRESS_DATABASE_URL``, default
   ``postgresql://postgres@127.0.0.1:5432/tracker_stress``; its name must contain "stress"),
   runs the migrations (``flask db upgrade heads``) and ``flask seed --demo``.
2. Starts a Redis of its own on a free port (the machine's Redis is never touched), one
   ``flask worker`` on a queue of its own, and gunicorn with 2 workers on another free port.
3. Runs ``STRESS_CLIENTS`` (8) concurrent clients for ``STRESS_SECONDS`` (60): liaisons log
   requests (sometimes with a photo); ward managers log requests, refer them, escalate them into
   a new ward issue or bundle them into one the run created, sometimes twice at once from two
   sessions (a double click, ``STRESS_DOUBLE_SUBMIT`` 0.15); everyone logs out and in now and
   then. Every client writes down what it believes it created and did.
4. Kills the stress Redis (SIGKILL, as a crash) for ``STRESS_OUTAGE_SECONDS`` (10) during the
   run, then starts it again, empty, on the same port.
5. Waits (at most ``STRESS_DRAIN_SECONDS``, 90) for the background work to finish, stops
   gunicorn, the worker and Redis, compares what the clients believe with the database, prints
   the result, and exits 0 only if nothing was lost, duplicated or answered with a 5xx.

Every process it starts runs in a process group of its own and is stopped on the way out,
also after Ctrl-C, SIGTERM, a failure, or the hard deadline (printed at the start).
Exit status: 0 all checks passed, 1 a check failed, 2 setup failed, 3 hard deadline, 130 interrupted.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
import uuid
from pathlib import Path

from .browser import Stats
from .clients import Client
from .database import inspect_database, outbox_open, query, recreate_database, run_flask, table_counts
from .faults import Proc, Stack
from .ledger import Ledger, expected_from
from .settings import (
    CLEANUP_LIMIT,
    HOST,
    JOIN_LIMIT,
    LIAISONS,
    MANAGERS,
    Settings,
    SetupError,
    check_loopback_database,
    libpq_url,
    outage_window,
)
from .verdict import report, verdict_from

# Variables of the caller's environment that must not leak into the stress stack.
SCRUBBED_ENV = (
    "APP_ENV",
    "BASE_URL",
    "DATABASE_URL",
    "IMPORT_DIR",
    "INSTANCE_PATH",
    "MAIL_DIR",
    "MAIL_FROM",
    "MAIL_PASSWORD",
    "MAIL_PORT",
    "MAIL_SERVER",
    "MAIL_USERNAME",
    "MAIL_USE_TLS",
    "PHOTO_DIR",
    "REDIS_URL",
    "REPORT_DIR",
    "RQ_QUEUE",
    "SECRET_KEY",
    "AUDIT_KEY",
    "AUDIT_KEY_FALLBACKS",
)


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM: stop everything and leave."""


class HardDeadline(BaseException):
    """The script ran past its bound: stop everything and leave."""


# --- the run ------------------------------------------------------------------------------------------


def stack_env(settings: Settings, workdir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update(
        APP_ENV="development",  # production forces Secure cookies, and there is no HTTPS here
        SECRET_KEY=secrets.token_hex(32),
        AUDIT_KEY=secrets.token_hex(32),
        DATABASE_URL=libpq_url(settings.database_url),
        INSTANCE_PATH=str(workdir / "instance"),
        TIMEZONE="Asia/Tokyo",
        # Every client logs in from 127.0.0.1: the login throttle must not be what the run measures.
        LOGIN_THROTTLE_FREE_FAILURES="100000",
        LOGIN_THROTTLE_ADDRESS_FAILURES="100000",
        PYTHONUNBUFFERED="1",
    )
    return env


def run(settings: Settings, workdir: Path, stack: Stack) -> int:
    name = check_loopback_database(settings.database_url)
    print(f"database {name}: drop, create, migrate, seed …", flush=True)
    recreate_database(settings.database_url, name)
    setup_env = dict(stack.env)  # no REDIS_URL yet: the seed's own jobs run inline
    run_flask(["db", "upgrade", "heads"], setup_env, workdir, 120)
    run_flask(["seed", "--demo"], setup_env, workdir, 120)
    baseline = table_counts(settings.database_url)
    last_issue = query(settings.database_url, "SELECT coalesce(max(id), 0) FROM ward_issues")
    baseline["max_issue_id"] = last_issue[0][0]

    stack.start_redis()
    stack.env["REDIS_URL"] = f"redis://{HOST}:{stack.redis_port}/0"
    stack.env["RQ_QUEUE"] = f"stress-{uuid.uuid4().hex[:8]}"
    stack.start_worker()
    base = stack.start_web()
    stack.env["BASE_URL"] = base
    print(f"redis :{stack.redis_port}, worker, gunicorn -w 2 on {base}", flush=True)

    stats, ledger, stop = Stats(), Ledger(), threading.Event()
    accounts = [
        LIAISONS[(i // 2) % 4] if i % 2 == 0 else MANAGERS[(i // 2) % 4] for i in range(settings.clients)
    ]
    clients = [
        Client(i, login, base, stats, ledger, stop, settings.double_submit)
        for i, login in enumerate(accounts)
    ]
    outage_at, outage_for = outage_window(settings.seconds, settings.outage_seconds)
    print(
        f"{settings.clients} clients for {settings.seconds} s; Redis down from {outage_at:.0f} s "
        f"for {outage_for:.0f} s",
        flush=True,
    )
    started = time.monotonic()
    for client in clients:
        client.start()
    deaths: list[str] = []
    phase = "before"
    while (elapsed := time.monotonic() - started) < settings.seconds:
        if phase == "before" and outage_for > 0 and elapsed >= outage_at:
            stack.crash_redis()
            print(f"  {elapsed:5.1f} s  Redis killed", flush=True)
            phase = "down"
        elif phase == "down" and elapsed >= outage_at + outage_for:
            up = stack.restart_redis()
            print(f"  {time.monotonic() - started:5.1f} s  Redis {'back' if up else 'NOT back'}", flush=True)
            phase = "after"
        for proc in (stack.web, stack.worker):
            if not proc.alive() and proc.name not in {d.split()[0] for d in deaths}:
                deaths.append(f"{proc.name} exited ({proc.popen.returncode}) at {elapsed:.0f} s")
                print(f"  {deaths[-1]}", flush=True)
        time.sleep(0.2)
    if phase == "down":
        stack.restart_redis()
    stop.set()
    for client in clients:
        client.join(max(0.1, started + settings.seconds + JOIN_LIMIT - time.monotonic()))
    duration = time.monotonic() - started
    stuck = [c.name for c in clients if c.is_alive()]

    print(f"drain: waiting up to {settings.drain_seconds} s for background work …", flush=True)
    drain_started = time.monotonic()
    remaining = outbox_open(settings.database_url)
    while remaining and time.monotonic() - drain_started < settings.drain_seconds:
        if not stack.worker.alive() and "worker" not in {d.split()[0] for d in deaths}:
            deaths.append(f"worker exited ({stack.worker.popen.returncode}) while draining")
            print(f"  {deaths[-1]}", flush=True)
        time.sleep(1)
        remaining = outbox_open(settings.database_url)
    drained = time.monotonic() - drain_started
    print(f"  {remaining} jobs still open after {drained:.0f} s", flush=True)

    print("stopping gunicorn, worker, Redis …", flush=True)
    stack.stop_all()

    expected = expected_from(ledger)
    found = inspect_database(settings.database_url, ledger, baseline)
    crashed = [c for c in clients if c.crashed]
    verdict = verdict_from(stats, ledger, expected, found, len(crashed))
    unclean = len(deaths) + sum(
        1
        for proc in (stack.web, stack.worker, stack.redis)
        if not proc.stopped_cleanly and not proc_died(proc, deaths)
    )
    verdict = dataclasses.replace(verdict, processes_unclean=unclean)
    report(
        settings, stack, stats, ledger, expected, found, verdict, duration, drained, deaths, stuck, crashed
    )
    return verdict.exit_status()


def proc_died(proc: Proc, deaths: list[str]) -> bool:
    return any(death.split()[0] == proc.name for death in deaths)


def main() -> int:
    settings = Settings.from_env(os.environ)
    workdir = Path(tempfile.mkdtemp(prefix="tracker-stress-"))
    (workdir / "instance").mkdir()
    stack = Stack(workdir, stack_env(settings, workdir))
    print(f"stress: at most {settings.bound()} s in all; logs in {workdir}", flush=True)

    def interrupted(signum, frame):
        raise Interrupted()

    def deadline(signum, frame):
        raise HardDeadline()

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGALRM, deadline)
    signal.alarm(settings.bound() - CLEANUP_LIMIT)
    status = 2
    try:
        status = run(settings, workdir, stack)
    except SetupError as error:
        print(f"stress: setup failed: {error}", file=sys.stderr)
        status = 2
    except Interrupted:
        print("stress: interrupted; stopping everything …", file=sys.stderr)
        status = 130
    except HardDeadline:
        print(
            f"stress: past the hard deadline ({settings.bound()} s); stopping everything …", file=sys.stderr
        )
        status = 3
    except Exception:
        traceback.print_exc()
        print("stress: failed (see above); stopping everything …", file=sys.stderr)
        status = 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the clean-up itself is bounded: let it finish
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.alarm(CLEANUP_LIMIT)
        try:
            stack.stop_all()
        except HardDeadline:
            print("stress: clean-up ran out of time", file=sys.stderr)
        finally:
            signal.alarm(0)
    if status == 0:
        shutil.rmtree(workdir, ignore_errors=True)
    return status
