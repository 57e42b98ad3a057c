"""The stress database: dropped and created again, migrated and seeded through ``flask``, and
afterwards inspected for what the run really left there."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .faults import tail
from .ledger import Ledger
from .settings import BIN, ROOT, SetupError, libpq_url

TERMINAL_JOB_STATES = ("done", "failed")


# --- database -------------------------------------------------------------------------------------


def recreate_database(url: str, name: str) -> None:
    import psycopg

    try:
        with psycopg.connect(libpq_url(url, "postgres"), autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
    except psycopg.Error as error:
        raise SetupError(f"PostgreSQL: could not recreate {name}: {error}") from error


def run_flask(args: list[str], env: dict, workdir: Path, timeout: float) -> None:
    log = workdir / "setup.log"
    with open(log, "ab") as out:
        try:
            done = subprocess.run(
                [str(BIN / "flask"), "--app", "wsgi", *args],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                start_new_session=True,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise SetupError(f"flask {' '.join(args)} took more than {timeout:.0f} s") from error
    if done.returncode != 0:
        raise SetupError(f"flask {' '.join(args)} failed ({done.returncode}):\n{tail(log)}")


def query(url: str, sql: str, params=()) -> list[tuple]:
    import psycopg

    with psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=5) as connection:
        return connection.execute(sql, params).fetchall()


def table_counts(url: str) -> dict[str, int]:
    tables = ("requests", "ward_issues", "history_events", "photos", "job_outbox", "notifications")
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in tables)
    return dict(query(url, sql))


def outbox_open(url: str) -> int:
    sql = "SELECT count(*) FROM job_outbox WHERE NOT (state = ANY(%s))"
    return query(url, sql, (list(TERMINAL_JOB_STATES),))[0][0]


@dataclass
class Found:
    requests: int = 0  # the run's requests found with the reference the client saw
    requests_delta: int = 0  # rows added to the table during the run
    photos: int = 0
    issues: int = 0  # ward issues added during the run
    issues_seen_missing: int = 0  # issues a client saw on a page that are not in the table
    events: int = 0
    duplicates: list[tuple[str, int]] = field(default_factory=list)
    chain_breaks: list[tuple[int, str, str]] = field(default_factory=list)
    orphan_issues: int = 0
    jobs_total: int = 0
    jobs_by_state: dict[str, int] = field(default_factory=dict)
    jobs_not_done: list[tuple] = field(default_factory=list)
    jobs_restarted: int = 0
    notifications: int = 0
    notifications_emailed: int = 0


def inspect_database(url: str, ledger: Ledger, baseline: dict[str, int]) -> Found:
    with ledger.lock:
        created = dict(ledger.created)
    ids = list(created)
    issue_ids = sorted(ledger.issue_ids())
    found = Found()
    rows = query(url, "SELECT id, reference FROM requests WHERE id = ANY(%s)", (ids,))
    found.requests = sum(1 for rid, ref in rows if created[rid].reference in (None, ref))
    now = table_counts(url)
    found.requests_delta = now["requests"] - baseline["requests"]
    found.issues = now["ward_issues"] - baseline["ward_issues"]
    found.photos = query(url, "SELECT count(*) FROM photos WHERE service_request_id = ANY(%s)", (ids,))[0][0]
    seen = query(url, "SELECT count(*) FROM ward_issues WHERE id = ANY(%s)", (issue_ids,))[0][0]
    found.issues_seen_missing = len(issue_ids) - seen
    # The run's requests' events, and every event of the issues added during the run.
    found.events = query(
        url,
        "SELECT count(*) FROM history_events WHERE service_request_id = ANY(%s) OR ward_issue_id > %s",
        (ids, baseline["max_issue_id"]),
    )[0][0]
    found.duplicates = query(
        url,
        "SELECT reference, count(*) FROM requests GROUP BY reference HAVING count(*) > 1 "
        "UNION ALL SELECT reference, count(*) FROM ward_issues GROUP BY reference HAVING count(*) > 1",
    )
    # Each event of a request starts in the state the previous one ended in; two actions that
    # both started from 受付 (a lost update) break that chain.
    found.chain_breaks = query(
        url,
        "SELECT service_request_id, prev, from_state FROM ("
        " SELECT service_request_id, from_state,"
        "  lag(to_state) OVER (PARTITION BY service_request_id ORDER BY id) AS prev"
        " FROM history_events WHERE service_request_id = ANY(%s)) chain"
        " WHERE prev IS NOT NULL AND from_state IS DISTINCT FROM prev ORDER BY 1",
        (ids,),
    )
    found.orphan_issues = query(
        url,
        "SELECT count(*) FROM ward_issues w WHERE w.id > %s"
        " AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.ward_issue_id = w.id)",
        (baseline["max_issue_id"],),
    )[0][0]
    found.jobs_by_state = dict(query(url, "SELECT state, count(*) FROM job_outbox GROUP BY state"))
    found.jobs_total = sum(found.jobs_by_state.values())
    found.jobs_not_done = query(
        url,
        "SELECT id, name, state, attempts, left(coalesce(last_error, ''), 160) FROM job_outbox"
        " WHERE state <> 'done' ORDER BY id LIMIT 10",
    )
    found.jobs_restarted = query(url, "SELECT count(*) FROM job_outbox WHERE attempts > 1")[0][0]
    found.notifications, found.notifications_emailed = query(
        url,
        "SELECT count(*), count(n.emailed_at) FROM notifications n"
        " JOIN history_events e ON e.id = n.history_event_id WHERE e.service_request_id = ANY(%s)",
        (ids,),
    )[0]
    return found
