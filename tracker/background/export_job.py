"""Exports too long to stream: a background job that writes the file, its page, its download.

A list export past ``EXPORT_INLINE_MAX_ROWS`` rows (``tracker.finding.list_pages.deliver``) is
recorded as an outbox job ``export_list`` with what rebuilds it: the list's endpoint and URL
arguments, the format, whether personal data is in it, the address it was asked from. The job
(``export_list``) runs ``run_export`` for the user who asked, in one transaction:

1. the ``PersonalDataAccess`` rows of the requests whose personal data goes into the file, by
   one INSERT ... SELECT just before the rows are read (not REPEATABLE READ: the progress written
   beside the job onto its outbox row would make marking it done a serialisation failure);
2. the file, streamed from a server-side cursor into ``EXPORT_DIR`` under a temporary name and
   renamed when complete (``exports.write_file``), progress recorded every ``PROGRESS_EVERY``
   rows for the job's page;
3. the export's history event with the rows actually written, and the job marked done, in the
   same transaction: a job that fails half-way leaves neither a record nor a file.

A job and its file are seen by whoever asked, and by the admin (``may_see_job``). Files older
than ``EXPORT_RETENTION_DAYS`` are deleted by the daily ``purge_export_files``.
``flask export-requests`` runs the same ``run_export`` from the command line.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..finding import export_plans, export_rows, exports, request_rows
from ..formatting import today_in_tokyo
from ..models import User, utcnow
from ..ops_models import OutboxJob
from ..states import JobState, Role
from ..wording import N_, translate
from . import jobs, worker

JOB_NAME = "export_list"
PROGRESS_EVERY = 10_000  # rows between two progress records
REQUESTS_LIST = "field.ward_requests"  # what ``flask export-requests`` exports: the user's requests
MIMETYPES = {"csv": exports.CSV_MIMETYPE, "xlsx": exports.XLSX_MIMETYPE}


def export_dir() -> Path:
    return Path(current_app.config["EXPORT_DIR"])


def request_export(
    session: Session,
    user: User,
    *,
    endpoint: str,
    pairs: list[tuple[str, str]],
    fmt: str,
    what: str,
    filename: str,
    personal: bool | None,
    ip: str | None,
) -> OutboxJob:
    """Ask for the export of the list at ``endpoint`` with these URL arguments; it is made after
    the commit (on RQ, or inline without Redis)."""
    kwargs = {
        "endpoint": endpoint,
        "pairs": [[name, value] for name, value in pairs],
        "fmt": fmt,
        "what": what,
        "filename": filename,
        "personal": personal,
        "ip": (ip or "")[:45],
        "day": today_in_tokyo().isoformat(),
    }
    return jobs.request_job(session, JOB_NAME, kwargs, requested_by_id=user.id)


def _progress_every(cell_rows: Iterable[Any], report: Callable[[int], None]) -> Iterator[Any]:
    for done, cells in enumerate(cell_rows, start=1):
        yield cells
        if done % PROGRESS_EVERY == 0:
            report(done)


def run_export(
    session: Session,
    user: User,
    *,
    endpoint: str,
    pairs: list,
    fmt: str,
    what: str,
    personal: bool | None,
    ip: str,
    path: Path,
    today: dt.date,
    progress: Callable[[int, int | None], None] | None = None,
) -> int:
    """The job's work in the caller's transaction: log the personal data, write the file, record
    the export with the rows written. The number of rows."""
    plan = export_plans.plan_for(session, user, endpoint, pairs, today)
    if personal is not None:  # asked for at the click; the user may have lost the right since
        personal = bool(personal) and request_rows.may_export_personal(user)
    record = dict(plan.filters) if personal is None else dict(plan.filters, personal=personal)
    if personal:
        record["personal_rows"] = request_rows.record_personal_export(session, user, plan.where, ip)
    records = export_rows.csv_records_of(session, user, plan, bool(personal)) if fmt == "csv" else None
    headers, rows = records or export_rows.rows_of(session, user, plan, bool(personal))
    if progress is not None:
        progress(0, plan.count(session))
        rows = _progress_every(rows, progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    if records:
        written = exports.write_records_file(str(path), headers, rows)
    else:
        written = exports.write_file(str(path), fmt, headers, rows, translate(what))
    exports.record_export(session, user, what, fmt, written, record)
    return written


def _separate_progress(session: Session) -> bool:
    """Whether progress can be written beside the job's transaction. Not on a SQLite file: its
    transactions take the write lock from their start, so a second writer would wait for the
    whole export (a development setup; the page then shows the job running, then done)."""
    bind = session.get_bind()
    return not (isinstance(bind, Engine) and bind.dialect.name == "sqlite")


@jobs.job(JOB_NAME, N_("一覧のファイル出力"), timeout=1800, max_attempts=2, retry_intervals=(60,))
def export_list(
    ctx: jobs.JobContext,
    endpoint: str,
    pairs: list,
    fmt: str,
    what: str,
    filename: str,
    personal: bool | None,
    ip: str,
    day: str,
) -> None:
    name = f"export-{ctx.outbox_id}.{fmt}"
    path = export_dir() / name
    try:
        with ctx.session() as session, session.begin():
            row = session.get(OutboxJob, ctx.outbox_id)
            user = row.requested_by
            started = time.monotonic()
            with jobs.in_language(user.locale):
                written = run_export(
                    session,
                    user,
                    endpoint=endpoint,
                    pairs=pairs,
                    fmt=fmt,
                    what=what,
                    personal=personal,
                    ip=ip,
                    path=path,
                    today=dt.date.fromisoformat(day),
                    progress=ctx.progress if _separate_progress(session) else None,
                )
            session.execute(
                update(OutboxJob)
                .where(OutboxJob.id == ctx.outbox_id)
                .values(
                    state=JobState.DONE,
                    finished_at=utcnow(),
                    progress_done=written,
                    progress_total=written,
                    result={"file": name, "rows": written, "seconds": round(time.monotonic() - started, 1)},
                )
            )
    except BaseException:  # the record and the job's end were not committed: no file either
        path.unlink(missing_ok=True)
        raise


# --- who sees a job, and its file --------------------------------------------------------------


def export_of(session: Session, outbox_id: int) -> OutboxJob | None:
    """The export job with this id; None if there is none, or it is a job of another kind."""
    row = session.get(OutboxJob, outbox_id)
    return row if row is not None and row.name == JOB_NAME else None


def may_see_job(user: User, row: OutboxJob) -> bool:
    """An export job is seen by whoever asked for it, and by the admin."""
    return user.role == Role.ADMIN or row.requested_by_id == user.id


def is_finished(row: OutboxJob) -> bool:
    return row.state in (JobState.DONE, JobState.FAILED)


def export_file(row: OutboxJob) -> Path | None:
    """The file a job made; None until it is done, or once it has been deleted."""
    name = (row.result or {}).get("file")
    if row.state != JobState.DONE or not name:
        return None
    path = export_dir() / name
    return path if path.is_file() else None


def download_name(row: OutboxJob) -> str:
    """The name the file is saved under: the list's name, the day it was asked for, the format."""
    day = row.kwargs["day"].replace("-", "")
    return f"{row.kwargs['filename']}_{day}.{row.kwargs['fmt']}"


# --- retention ---------------------------------------------------------------------------------


def purge_files_older_than(directory: Path, days: int, now: float | None = None) -> int:
    """Delete the export files (and any left-over partial file) older than ``days``; how many."""
    if not directory.is_dir():
        return 0
    cutoff = (now if now is not None else time.time()) - days * 86400
    purged = 0
    for path in directory.glob("export-*"):
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            purged += 1
    return purged


@jobs.job("purge_export_files", N_("保存期間を過ぎた出力ファイルの削除"), timeout=600, retry_intervals=(600,))
def purge_export_files(ctx: jobs.JobContext) -> None:
    """Daily: delete the export files past ``EXPORT_RETENTION_DAYS``."""
    days = current_app.config["EXPORT_RETENTION_DAYS"]
    ctx.set_result({"retention_days": days, "purged": purge_files_older_than(export_dir(), days)})


worker.daily("purge_export_files", dt.time(2, 45))
