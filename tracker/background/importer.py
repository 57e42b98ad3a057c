"""一括取込: a center's field log (Excel or CSV) imported as requests or activities, every row or none.

``accept_upload`` stores the file and records an ``ImportBatch`` with its job in the caller's
transaction; what the file holds (``KINDS``) is the job's argument ``kind``. The job
``import_requests`` finds the columns by their headers (``import_headers``): a header it does
not know leaves the batch waiting for the user to say what it is (``confirm_mapping`` starts
the job again with their ``mapping`` as an argument). It then checks every row
(``import_format`` for requests, ``activity_import`` for activities): if any row is wrong it
records every problem and imports nothing; otherwise it creates every request, with its
reference number and 'create' event (and 'answer' event for a row imported answered), or logs
every activity through ``fieldwork.operations``, in one transaction. A file is imported into
a center once: ``ImportBatch.imported_key`` is set in that same transaction, so the same file
again, or the job run again after a crash, imports nothing new. ``status`` and ``results`` are
what the batch's page shows of it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from ..activity_models import Activity
from ..effects import intake
from ..formatting import date_label, today_in_tokyo
from ..models import Category, Center, HistoryEvent, ServiceRequest, User, utcnow
from ..ops_models import ImportBatch
from ..states import ImportState, JobState, Role
from ..wording import N_, say, translate
from ..workflow import WorkflowError
from . import activity_import, import_format, jobs, request_writer
from .import_format import EXTENSIONS, Rules, read_table
from .import_headers import Sheet, clean_mapping, error, read_sheet
from .jobs import in_language

FINISHED = (ImportState.DONE, ImportState.INVALID, ImportState.DUPLICATE)
MAX_ERRORS = 1000  # kept for the report; a file that wrong needs fixing anyway
REQUESTS, ACTIVITIES = "requests", "activities"
KINDS = {REQUESTS: N_("要望・相談"), ACTIVITIES: N_("活動記録")}
LAYOUTS = {REQUESTS: import_format.LAYOUT, ACTIVITIES: activity_import.LAYOUT}


def accept_upload(
    session: Session,
    actor: User,
    center_id: Any,
    stream: BinaryIO,
    original_name: str,
    *,
    directory: str,
    max_bytes: int,
    kind: str = REQUESTS,
) -> ImportBatch:
    """Store an uploaded file and record its batch and job; the job starts after the commit."""
    if kind not in KINDS:
        raise WorkflowError("取り込むものを選んでください。")
    center = intake.center_for(session, actor, center_id)
    name = Path(original_name or "").name[:200]
    extension = Path(name).suffix.lower()
    if extension not in EXTENSIONS:
        raise WorkflowError("Excel (.xlsx) か CSV (.csv) のファイルを選んでください。")
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise WorkflowError("ファイルが大きすぎます (%(mb)sMBまで)。", mb=max_bytes // (1024 * 1024))
    if not data:
        raise WorkflowError("ファイル「%(name)s」が空です。", name=name)
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
    job = jobs.request_job(
        session, "import_requests", {"batch_id": batch.id, "kind": kind}, requested_by_id=actor.id
    )
    batch.outbox_job_id = job.id
    return batch


def kind_of(batch: ImportBatch) -> str:
    """What the batch's file holds, as its job was asked to read it (requests before there was a choice)."""
    return batch.outbox_job.kwargs.get("kind", REQUESTS) if batch.outbox_job else REQUESTS


def needs_mapping(batch: ImportBatch) -> bool:
    """Whether the job stopped at headers it does not know (kept as the pending batch's errors)."""
    return batch.state == ImportState.PENDING and bool(batch.errors)


def unknown_columns(batch: ImportBatch) -> list[str]:
    return [problem["column"] for problem in batch.errors] if needs_mapping(batch) else []


def confirm_mapping(session: Session, actor: User, batch: ImportBatch, chosen: dict[str, Any]) -> ImportBatch:
    """The user's field (or 取り込まない) for each unknown header: the job runs again with it."""
    if not can_view(actor, batch):
        raise WorkflowError("この取込を進める権限がありません。")
    if not needs_mapping(batch):
        raise WorkflowError("この取込は列の対応づけを待っていません。")
    previous = dict(batch.outbox_job.kwargs) if batch.outbox_job else {"kind": REQUESTS}
    kind = previous.get("kind", REQUESTS)
    try:
        mapping = clean_mapping(LAYOUTS[kind], unknown_columns(batch), chosen)
    except ValueError as failure:
        raise WorkflowError(str(failure)) from None
    arguments = {"batch_id": batch.id, "kind": kind, "mapping": {**previous.get("mapping", {}), **mapping}}
    batch.errors = []
    job = jobs.request_job(session, "import_requests", arguments, requested_by_id=actor.id)
    batch.outbox_job_id = job.id
    return batch


def imported_key(batch: ImportBatch) -> str:
    return f"{batch.center_id}:{batch.sha256}"


def earlier_import(session: Session, batch: ImportBatch) -> ImportBatch | None:
    """The batch that already imported this file into this center, if any."""
    return session.scalars(select(ImportBatch).where(ImportBatch.imported_key == imported_key(batch))).first()


def batches_for(user: User):
    """The imports a liaison (their center) or a ward manager (their ward) may see, newest first."""
    statement = (
        select(ImportBatch)
        .options(selectinload(ImportBatch.outbox_job))  # its arguments say what the file holds
        .order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc())
    )
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
    waiting = needs_mapping(batch)
    label = (
        translate(N_("処理に失敗しました"))
        if failed
        else translate(N_("列の対応づけ待ち"))
        if waiting
        else batch.state.label
    )
    return {
        "state": batch.state.value,
        "label": label,
        "finished": failed or waiting or batch.state in FINISHED,
        "failed": failed,
        "done": job.progress_done if job else 0,
        "total": job.progress_total if job else None,
    }


@dataclass(frozen=True)
class Results:
    requests: list[ServiceRequest]  # the first requests a finished import created
    earlier: ImportBatch | None  # the batch that had already imported a refused duplicate
    activities: list[Activity]  # the first activities a finished import logged


def imported_activities(session: Session, batch: ImportBatch, limit: int) -> list[Activity]:
    statement = (
        select(Activity)
        .where(Activity.import_batch_id == batch.id)
        .options(
            selectinload(Activity.kind), selectinload(Activity.organisation), selectinload(Activity.liaisons)
        )
        .order_by(Activity.id)
        .limit(limit)
    )
    return list(session.scalars(statement))


def results(session: Session, batch: ImportBatch, limit: int) -> Results:
    """What an import came to: the first ``limit`` requests (or activities) it created if it is
    done, or the batch that imported the same file before if it was refused as a duplicate."""
    done = batch.state == ImportState.DONE
    activities = kind_of(batch) == ACTIVITIES
    return Results(
        imported_requests(session, batch, limit) if done and not activities else [],
        earlier_import(session, batch) if batch.state == ImportState.DUPLICATE else None,
        imported_activities(session, batch, limit) if done and activities else [],
    )


# --- the job ---------------------------------------------------------------------------------


@jobs.job("import_requests", N_("一括取込"), timeout=1800, max_attempts=2, retry_intervals=(60,))
def import_requests(
    ctx: jobs.JobContext, batch_id: int, kind: str = REQUESTS, mapping: dict | None = None
) -> None:
    with ctx.session() as session:
        with session.begin():
            batch = session.get(ImportBatch, batch_id)
            if batch is None or batch.state in FINISHED:
                return
            locale = batch.uploaded_by.locale
        with in_language(locale):  # the problems are stored as the uploader reads them
            _import(ctx, session, batch_id, kind, mapping)


def _import(ctx: jobs.JobContext, session: Session, batch_id: int, kind: str, mapping: dict | None) -> None:
    with session.begin():
        batch = session.get(ImportBatch, batch_id)
        if batch is None or batch.state in FINISHED:
            return
        batch.state = ImportState.RUNNING
        path = Path(current_app.config["IMPORT_DIR"]) / batch.stored_name
        if _finish_if_duplicate(session, batch):
            return
    sheet = _read(path, LAYOUTS[kind], mapping or {})
    if sheet.unknown:
        with session.begin():
            _ask_for_mapping(session.get(ImportBatch, batch_id), sheet.unknown)
        ctx.set_result({"unknown_columns": sheet.unknown})
        return
    rows, problems = sheet.rows, sheet.problems
    if not problems:
        with session.begin():
            rows, problems = _check(session, session.get(ImportBatch, batch_id), kind, rows)
    if problems:
        with session.begin():
            _finish(session.get(ImportBatch, batch_id), ImportState.INVALID, len(rows), problems)
        ctx.set_result({"rows": len(rows), "errors": len(problems)})
        return
    ctx.progress(0, len(rows))
    # SQLite takes one writer at a time: progress (its own transaction) must wait for the end.
    report = ctx.progress if session.get_bind().dialect.name != "sqlite" else None
    write = _write_activities if kind == ACTIVITIES else request_writer.write_requests
    try:
        with session.begin():
            imported = _save(session, batch_id, rows, report, write)
    except IntegrityError:  # the same file, imported into the center at the same moment
        with session.begin():
            _finish_if_duplicate(session, session.get(ImportBatch, batch_id))
        imported = 0
    ctx.progress(len(rows), len(rows))
    ctx.set_result({"rows": len(rows), "imported": imported})


def _read(path: Path, layout, mapping: dict[str, str]) -> Sheet:
    try:
        table = read_table(path)
    except WorkflowError as failure:
        return Sheet([], [], [error(None, "", failure.message)])
    return read_sheet(table, layout, mapping)


def _ask_for_mapping(batch: ImportBatch, unknown: list[str]) -> None:
    """Leave the batch pending, its unknown headers kept as what the page asks about."""
    batch.state = ImportState.PENDING
    batch.errors = [
        error(
            None, name, say("列「%(name)s」は知らない列名です。何として取り込むか選んでください。", name=name)
        )
        for name in unknown
    ]


def _check(session: Session, batch: ImportBatch, kind: str, rows: list) -> tuple[list, list[dict]]:
    """Every row checked against what the database holds (categories; kinds, staff, centers)."""
    today = today_in_tokyo()
    if kind == ACTIVITIES:
        rules = activity_import.load_rules(session, batch.center, today)
        return activity_import.check_rows(session, batch.uploaded_by, rows, rules)
    config = current_app.config
    categories = {c.name: (c.id, c.active) for c in session.scalars(select(Category))}
    return import_format.check_rows(rows, Rules(categories, today, config["ANSWER_DUE_DAYS"]))


def _finish(batch: ImportBatch, state: ImportState, row_count: int, problems: list[dict]) -> None:
    batch.state, batch.row_count, batch.finished_at = state, row_count, utcnow()
    if len(problems) > MAX_ERRORS:
        left = len(problems) - MAX_ERRORS
        problems = [
            *problems[:MAX_ERRORS],
            error(None, "", say("ほかに%(count)s件の誤りがあります (表示を省略)。", count=f"{left:,}")),
        ]
    batch.errors = problems


def _finish_if_duplicate(session: Session, batch: ImportBatch) -> bool:
    earlier = earlier_import(session, batch)
    if earlier is None or earlier.id == batch.id:
        return False
    message = say(
        "同じ内容のファイルは%(day)sに取り込み済みです (取込番号 %(id)s)。新たに取り込んだ要望はありません。",
        day=date_label(earlier.created_at),
        id=earlier.id,
    )
    _finish(batch, ImportState.DUPLICATE, earlier.row_count, [error(None, "", message)])
    return True


def _save(session: Session, batch_id: int, rows: list, report, write) -> int:
    """Save every row of the batch (``write``) in the caller's transaction; 0 if another run did it."""
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
    write(session, batch, rows, report)
    _finish(batch, ImportState.DONE, len(rows), [])
    batch.imported_count, batch.imported_key = len(rows), imported_key(batch)
    return len(rows)


def _write_activities(session: Session, batch: ImportBatch, rows: list, report) -> None:
    key, today = imported_key(batch), today_in_tokyo()
    activity_import.save(session, batch.uploaded_by, key, batch.id, rows, today, report)
