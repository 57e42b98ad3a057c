"""一括取込: a center's field log (Excel or CSV) imported as requests, every row or none.

``accept_upload`` stores the file and records an ``ImportBatch`` with its job in the caller's
transaction. The job ``import_requests`` reads the file and checks every row
(``import_format``): if any row is wrong it records every problem and imports nothing;
otherwise it creates every request, with its reference number and 'create' event, in one
transaction. A file is imported into a center once: ``ImportBatch.imported_key`` is set in
that same transaction, so the same file again, or the job run again after a crash, imports
nothing new. ``status`` and ``results`` are what the batch's page shows of it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..effects import intake, references
from ..finding import search
from ..formatting import date_label, fiscal_year_of, today_in_tokyo
from ..models import Category, Center, HistoryEvent, ServiceRequest, User, utcnow
from ..ops_models import ImportBatch
from ..safeguards import audit
from ..states import ImportState, JobState, RequestState, Role
from ..workflow import WorkflowError
from . import jobs
from .import_format import EXTENSIONS, Rules, check_table, error, read_table

FINISHED = (ImportState.DONE, ImportState.INVALID, ImportState.DUPLICATE)
CHUNK = 500  # rows written (and progress reported) at a time
MAX_ERRORS = 1000  # kept for the report; a file that wrong needs fixing anyway


def accept_upload(
    session: Session,
    actor: User,
    center_id: Any,
    stream: BinaryIO,
    original_name: str,
    *,
    directory: str,
    max_bytes: int,
) -> ImportBatch:
    """Store an uploaded file and record its batch and job; the job starts after the commit."""
    center = intake.center_for(session, actor, center_id)
    name = Path(original_name or "").name[:200]
    extension = Path(name).suffix.lower()
    if extension not in EXTENSIONS:
        raise WorkflowError("Excel (.xlsx) か CSV (.csv) のファイルを選んでください。")
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise WorkflowError(f"ファイルが大きすぎます ({max_bytes // (1024 * 1024)}MBまで)。")
    if not data:
        raise WorkflowError(f"ファイル「{name}」が空です。")
    stored_name = f"{secrets.token_hex(16)}{extension}"
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / stored_name).write_bytes(data)
    batch = ImportBatch(
        center=center,
        uploaded_by=actor,
        original_name=name,
        stored_name=stored_name,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    session.add(batch)
    session.flush()
    job = jobs.request_job(session, "import_requests", {"batch_id": batch.id}, requested_by_id=actor.id)
    batch.outbox_job_id = job.id
    return batch


def imported_key(batch: ImportBatch) -> str:
    return f"{batch.center_id}:{batch.sha256}"


def earlier_import(session: Session, batch: ImportBatch) -> ImportBatch | None:
    """The batch that already imported this file into this center, if any."""
    return session.scalars(select(ImportBatch).where(ImportBatch.imported_key == imported_key(batch))).first()


def batches_for(user: User):
    """The imports a liaison (their center) or a ward manager (their ward) may see, newest first."""
    statement = select(ImportBatch).order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc())
    if user.role == Role.LIAISON:
        return statement.where(ImportBatch.center_id == user.center_id)
    return statement.join(Center, Center.id == ImportBatch.center_id).where(Center.ward_id == user.ward_id)


def can_view(user: User, batch: ImportBatch) -> bool:
    if user.role == Role.LIAISON:
        return batch.center_id == user.center_id
    return user.role == Role.WARD_MANAGER and batch.center.ward_id == user.ward_id


def imported_requests(session: Session, batch: ImportBatch, limit: int) -> list[ServiceRequest]:
    """The first requests a batch created (found by their 'create' events)."""
    statement = (
        select(ServiceRequest)
        .join(HistoryEvent, HistoryEvent.service_request_id == ServiceRequest.id)
        .where(
            HistoryEvent.action == "create",
            HistoryEvent.created_at >= batch.created_at,
            HistoryEvent.data["import_batch_id"].as_integer() == batch.id,
        )
        .order_by(ServiceRequest.id)
        .limit(limit)
    )
    return list(session.scalars(statement))


def status(batch: ImportBatch) -> dict:
    """What the page and its poller show: the state, and the progress kept on the job's row.

    A batch whose job failed for good before it finished shows as failed.
    """
    job = batch.outbox_job
    failed = job is not None and job.state == JobState.FAILED and batch.state not in FINISHED
    return {
        "state": batch.state.value,
        "label": "処理に失敗しました" if failed else batch.state.label,
        "finished": failed or batch.state in FINISHED,
        "failed": failed,
        "done": job.progress_done if job else 0,
        "total": job.progress_total if job else None,
    }


@dataclass(frozen=True)
class Results:
    requests: list[ServiceRequest]  # the first requests a finished import created
    earlier: ImportBatch | None  # the batch that had already imported a refused duplicate


def results(session: Session, batch: ImportBatch, limit: int) -> Results:
    """What an import came to: the first ``limit`` requests it created if it is done, or the
    batch that imported the same file before if it was refused as a duplicate."""
    return Results(
        imported_requests(session, batch, limit) if batch.state == ImportState.DONE else [],
        earlier_import(session, batch) if batch.state == ImportState.DUPLICATE else None,
    )


# --- the job ---------------------------------------------------------------------------------


@jobs.job("import_requests", "要望の一括取込", timeout=1800, max_attempts=2, retry_intervals=(60,))
def import_requests(ctx: jobs.JobContext, batch_id: int) -> None:
    config = current_app.config
    with ctx.session() as session:
        with session.begin():
            batch = session.get(ImportBatch, batch_id)
            if batch is None or batch.state in FINISHED:
                return
            batch.state = ImportState.RUNNING
            path = Path(config["IMPORT_DIR"]) / batch.stored_name
            rules = Rules(
                {c.name: (c.id, c.active) for c in session.scalars(select(Category))},
                today_in_tokyo(),
                config["ANSWER_DUE_DAYS"],
            )
            if _finish_if_duplicate(session, batch):
                return
        rows, problems = _read_and_check(path, rules)
        if problems:
            with session.begin():
                _finish(session.get(ImportBatch, batch_id), ImportState.INVALID, len(rows), problems)
            ctx.set_result({"rows": len(rows), "errors": len(problems)})
            return
        ctx.progress(0, len(rows))
        # SQLite takes one writer at a time: progress (its own transaction) must wait for the end.
        report = ctx.progress if session.get_bind().dialect.name != "sqlite" else None
        try:
            with session.begin():
                imported = _save(session, batch_id, rows, report)
        except IntegrityError:  # the same file, imported into the center at the same moment
            with session.begin():
                _finish_if_duplicate(session, session.get(ImportBatch, batch_id))
            imported = 0
    ctx.progress(len(rows), len(rows))
    ctx.set_result({"rows": len(rows), "imported": imported})


def _read_and_check(path: Path, rules: Rules) -> tuple[list[dict], list[dict]]:
    try:
        table = read_table(path)
    except WorkflowError as failure:
        return [], [error(None, "", failure.message)]
    return check_table(table, rules)


def _finish(batch: ImportBatch, state: ImportState, row_count: int, problems: list[dict]) -> None:
    batch.state, batch.row_count, batch.finished_at = state, row_count, utcnow()
    if len(problems) > MAX_ERRORS:
        left = len(problems) - MAX_ERRORS
        problems = [
            *problems[:MAX_ERRORS],
            error(None, "", f"ほかに{left:,}件の誤りがあります (表示を省略)。"),
        ]
    batch.errors = problems


def _finish_if_duplicate(session: Session, batch: ImportBatch) -> bool:
    earlier = earlier_import(session, batch)
    if earlier is None or earlier.id == batch.id:
        return False
    message = (
        f"同じ内容のファイルは{date_label(earlier.created_at)}に取り込み済みです (取込番号 {earlier.id})。"
        "新たに取り込んだ要望はありません。"
    )
    _finish(batch, ImportState.DUPLICATE, earlier.row_count, [error(None, "", message)])
    return True


def _save(session: Session, batch_id: int, rows: list[dict], report) -> int:
    """Create every request of the batch in the caller's transaction; 0 if another run did it."""
    batch = session.get(ImportBatch, batch_id, with_for_update=True)
    if batch.state != ImportState.RUNNING or _finish_if_duplicate(session, batch):
        return 0
    actor, center = batch.uploaded_by, batch.center
    try:
        if not actor.active:
            raise WorkflowError("取り込みを依頼したアカウントが無効になっています。")
        intake.center_for(session, actor, center.id)
    except WorkflowError as failure:
        _finish(batch, ImportState.INVALID, len(rows), [error(None, "", failure.message)])
        return 0
    numbers = Counter(fiscal_year_of(fields["received_on"]) for fields in rows)
    free = {
        year: iter(references.request_references(session, center.ward_id, year, count))
        for year, count in sorted(numbers.items())
    }
    now = utcnow()
    requests = [
        {
            **fields,
            "reference": next(free[fiscal_year_of(fields["received_on"])]),
            "fiscal_year": fiscal_year_of(fields["received_on"]),
            "center_id": center.id,
            "ward_id": center.ward_id,
            "state": RequestState.RECEIVED,
            "logged_by_id": actor.id,
            "created_at": now,
            "updated_at": now,
        }
        for fields in rows
    ]
    for values in requests:  # a bulk INSERT passes no flush listener: search_text made here
        values["search_text"] = search.request_search_text(values)
    for start in range(0, len(requests), CHUNK):
        chunk = requests[start : start + CHUNK]
        session.execute(insert(ServiceRequest), chunk)
        ids = dict(
            session.execute(
                select(ServiceRequest.reference, ServiceRequest.id).where(
                    ServiceRequest.reference.in_([values["reference"] for values in chunk])
                )
            ).all()
        )
        # the 'create' event ``record_event`` writes for a request logged one by one
        events = [
            {
                "service_request_id": ids[values["reference"]],
                "actor_id": actor.id,
                "actor_role": actor.role.value,
                "action": "create",
                "to_state": RequestState.RECEIVED.value,
                "data": {"import_batch_id": batch.id, "source": values["source"].value},
                "created_at": now,
            }
            for values in chunk
        ]
        audit.extend(session, events)  # inserted with their ids and hashes, chained in order
        if report is not None:
            report(start + len(chunk), len(requests))
    _finish(batch, ImportState.DONE, len(rows), [])
    batch.imported_count, batch.imported_key = len(rows), imported_key(batch)
    return len(rows)
