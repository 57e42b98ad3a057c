"""What ``make bench`` sets up and runs outside the load process: its two PostgreSQL databases
(recreated, migrated, seeded with the demo accounts, loaded by ``flask gen-data``; kept with
``BENCH_REUSE=1`` when already loaded), the facts its pages need (ids present in both), a gunicorn
per database and one for the baseline app, and the CSV export of everything timed through
``flask export-requests`` with the peak memory of that process."""

from __future__ import annotations

import csv
import os
import re
import secrets
import signal
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

from .bench_plan import ADMIN, SEED
from .bench_results import export_result
from .database import query, recreate_database, run_flask
from .faults import Proc, tail, wait_until
from .settings import BIN, HOST, LOOPBACK, ROOT, SetupError, free_port, libpq_url
from .stress import SCRUBBED_ENV

LOAD_TIMEOUT = 3600  # seconds gen-data may take (a million requests: about 10 minutes)
EXPORT_TIMEOUT = 1800
READY_TIMEOUT = 90


def database_url(base: str, name: str) -> str:
    """``base`` (a server URL, any database in it ignored) pointing at the database ``name``;
    refused unless the server is this machine's and the name a bench one."""
    parts = urllib.parse.urlsplit(libpq_url(base))
    if parts.scheme != "postgresql":
        raise SetupError(f"BENCH_DATABASE_URL must be a postgresql:// URL, not {parts.scheme!r}")
    if parts.hostname is not None and parts.hostname not in LOOPBACK:
        raise SetupError(f"BENCH_DATABASE_URL must point to this machine's loopback, not {parts.hostname!r}")
    if "bench" not in name or not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SetupError(f"refusing to drop database {name!r}: its name must contain 'bench'")
    return libpq_url(base, name)


def environment(workdir: Path, url: str) -> dict:
    """The environment of every ``flask`` command and gunicorn of the run on ``url``: no Redis
    (background work inline), keys of this run, the statement header on, no login throttle."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update(
        APP_ENV="development",  # production forces Secure cookies, and there is no HTTPS here
        DATABASE_URL=url,
        INSTANCE_PATH=str(workdir / "instance"),
        TIMEZONE="Asia/Tokyo",
        SQL_STATEMENT_HEADER="1",
        LOGIN_THROTTLE_FREE_FAILURES="100000",
        LOGIN_THROTTLE_ADDRESS_FAILURES="100000",
        PYTHONUNBUFFERED="1",
    )
    return env


def keys() -> dict[str, str]:
    return {"SECRET_KEY": secrets.token_hex(32), "AUDIT_KEY": secrets.token_hex(32)}


def marker(requests: int) -> str:
    return f"make bench: flask gen-data --requests {requests} --seed {SEED}"


def is_loaded(url: str, name: str, requests: int) -> bool:
    """The database exists, its load finished (the comment is written last) and holds the requests."""
    try:
        comment = query(
            libpq_url(url, "postgres"),
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (name,),
        )
    except Exception:  # no server, no database: not loaded
        return False
    if not comment or comment[0][0] != marker(requests):
        return False
    return query(url, "SELECT count(*) FROM requests")[0][0] >= requests


def prepare(url: str, name: str, requests: int, reuse: bool, env: dict, workdir: Path) -> None:
    if reuse and is_loaded(url, name, requests):
        print(f"{name}: already holds {requests:,} generated requests (BENCH_REUSE=1): kept", flush=True)
        run_flask(["db", "upgrade", "heads"], env, workdir, 300)
        return
    print(f"{name}: drop, create, migrate, seed the demo, gen-data --requests {requests:,} …", flush=True)
    recreate_database(url, name)
    run_flask(["db", "upgrade", "heads"], env, workdir, 300)
    run_flask(["seed", "--demo"], env, workdir, 300)
    started = time.monotonic()
    loading = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "gen-data", "--requests", str(requests), "--seed", str(SEED)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=LOAD_TIMEOUT,
        check=False,
    )
    if loading.returncode != 0:
        raise SetupError(f"flask gen-data --requests {requests} failed ({loading.returncode})")
    # What autovacuum does minutes after a bulk load in production: statistics, and the visibility
    # map that lets index-only scans skip the table (a freshly COPied table has none).
    execute(url, "VACUUM ANALYZE")
    execute(url, f"COMMENT ON DATABASE \"{name}\" IS '{marker(requests)}'")
    print(f"{name}: {requests:,} requests loaded in {time.monotonic() - started:.0f} s", flush=True)


def execute(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as connection:
        connection.execute(sql)


# What a detail page's work depends on: a request's state and whether it belongs to an issue, an
# issue's state. The pages compare rows alike in both databases, not merely the same id.
SHAPES = {
    "requests": "SELECT id, state, ward_issue_id IS NULL FROM requests",
    "ward_issues": "SELECT id, state FROM ward_issues",
}


def comparable_ids(small_url: str, large_url: str, table: str) -> tuple[list[int], set[int]]:
    """The ids of ``table`` in the small database, and which of them the large one has too,
    with the same shape (see ``SHAPES``)."""
    small = {row[0]: row[1:] for row in query(small_url, SHAPES[table] + " ORDER BY id")}
    large = {
        row[0]: row[1:] for row in query(large_url, SHAPES[table] + " WHERE id = ANY(%s)", (list(small),))
    }
    return list(small), {id_ for id_, shape in small.items() if large.get(id_) == shape}


def ward_id(url: str, name: str = "中央区") -> str:
    rows = query(url, "SELECT id FROM wards WHERE name = %s", (name,))
    if not rows:
        raise SetupError(f"no ward {name} in the database: was `flask seed` run?")
    return str(rows[0][0])


# --- servers ----------------------------------------------------------------------------------------


def serve(name: str, app: str, env: dict, workdir: Path, probe: str) -> tuple[Proc, int]:
    """gunicorn with 2 sync workers and its default 30 s timeout, on a free port; returns when
    ``probe`` answers 200 (polled, never a fixed sleep)."""
    import http.client

    port = free_port()
    argv = [str(BIN / "gunicorn"), "-w", "2", "-b", f"{HOST}:{port}", "--graceful-timeout", "10", app]
    proc = Proc(name, argv, env, workdir / f"{name}.log").start()

    def answers() -> bool:
        if not proc.alive():
            return True
        connection = http.client.HTTPConnection(HOST, port, timeout=5)
        try:
            connection.request("GET", probe)
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    if not wait_until(answers, READY_TIMEOUT, 0.3) or not proc.alive():
        proc.kill()
        raise SetupError(f"gunicorn {name} did not answer {probe}:\n{tail(workdir / f'{name}.log')}")
    return proc, port


# --- the export -------------------------------------------------------------------------------------


def csv_records(path: Path) -> int:
    """The records of a CSV file (its header included), read as CSV: a newline in a field is no record."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return sum(1 for _ in csv.reader(handle))


def measure_export(url: str, env: dict, workdir: Path, label: str) -> dict:
    """``flask export-requests`` of every request as the admin: the seconds it says the export
    took (else its wall time), its exit status, its peak RSS (``wait4``'s rusage of that very
    process) and the rows the file holds."""
    out = workdir / f"export-{label}.csv"
    argv = [str(BIN / "flask"), "--app", "wsgi", "export-requests", "--user", ADMIN, "--format", "csv"]
    argv += ["--out", str(out)]
    with open(workdir / f"export-{label}.log", "wb") as log:
        started = time.monotonic()
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
        timer = threading.Timer(EXPORT_TIMEOUT, lambda: proc.send_signal(signal.SIGKILL))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        print(f"  export on {label} failed ({proc.returncode}):\n{tail(workdir / f'export-{label}.log')}")
    rows = max(0, csv_records(out) - 1) if out.exists() else 0
    database_rows = query(url, "SELECT count(*) FROM requests")[0][0]
    own = export_seconds((workdir / f"export-{label}.log").read_text(errors="replace"))
    result = export_result(rows, database_rows, own or seconds, usage.ru_maxrss, proc.returncode)
    result["wall_seconds"] = round(seconds, 2)  # with the process's start (imports, the app)
    return result


def export_seconds(output: str) -> float | None:
    """The seconds the export itself took, as ``flask export-requests`` prints them (``seconds=``)."""
    match = re.search(r"\bseconds=([0-9.]+)", output)
    return float(match.group(1)) if match else None
