"""Residents' personal data (要望者氏名・連絡先): showing it, recording each showing, erasing it.

Under Japan's Act on the Protection of Personal Information (as it applies to local
governments since 2023) the city keeps a resident's name and contact only as long as needed,
shows them only to staff who need them, and can say who saw them.

- Every page, list, export, notification and e-mail shows them masked or not at all. The request
  page shows them masked too, with a 「個人情報を表示」 button (a POST) for the roles that need
  them: liaisons and ward managers of the request's ward, and the admin. Bureau staff never.
- A reveal is a server-side grant (``PersonalDataGrant``): the POST makes one and puts only its
  random token in the session; the next view of the page uses it up (``use_reveal``: one atomic
  UPDATE, within ``REVEAL_GRANT_SECONDS``) and only then shows the data. Replaying a cookie
  that carried the token shows nothing: the grant is used.
- Each showing of unmasked data, and each export that carries it, writes a
  ``PersonalDataAccess`` row: who, in which role, which request, view or export, when, from
  which address; never the data itself. The admin reads them at /admin/audit/.
- ``PERSONAL_DATA_RETENTION_DAYS`` (default 1095, three years) after a request is closed
  (answered: its answer date; withdrawn: the date of its withdraw event) the daily job
  ``erase_personal_data`` empties both fields and writes an ``erase_personal_data`` event (the
  names of the fields erased, not their values). The request's photos and attachments go with
  them (rows, and their files once the erasure commits): a photo of a resident's house or a
  陳情書 with signatures is personal data too. A re-run finds nothing more to erase. The job
  also deletes uploaded import files once their import has finished: they hold the same data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, joinedload

from ..background import jobs, worker
from ..effects import stored_files
from ..effects.support import record_event
from ..extensions import db
from ..formatting import TOKYO, today_in_tokyo
from ..models import HistoryEvent, Photo, ServiceRequest, User, utcnow
from ..ops_models import ImportBatch, PersonalDataAccess, PersonalDataGrant
from ..states import ImportState, RequestState, Role
from ..teamwork_models import Attachment
from ..wording import N_
from . import security_log

FIELDS = ("requester_name", "requester_contact")
FIELD_LABELS = {"requester_name": N_("要望者氏名"), "requester_contact": N_("連絡先")}
VIEW, EXPORT = "view", "export"
ACTION_LABELS = {VIEW: N_("閲覧"), EXPORT: N_("出力")}
ERASE_ACTION = "erase_personal_data"
ERASE_BATCH = 200  # requests erased per transaction
FINISHED_IMPORTS = (ImportState.DONE, ImportState.INVALID, ImportState.DUPLICATE)
REVEAL_GRANT_SECONDS = 120  # a grant not used this soon after its POST shows nothing

# --- who may see it, and the record of each showing ------------------------------------------


def has_personal_data(request: ServiceRequest) -> bool:
    return any(getattr(request, name) for name in FIELDS)


def may_reveal(user: User, request: ServiceRequest) -> bool:
    """Liaisons and ward managers of the request's ward (and of the ward it is being handed
    over to: it is about to become theirs), and the admin; never bureau staff."""
    if not user.is_authenticated or not user.active:
        return False
    if user.role == Role.ADMIN:
        return True
    if user.role in (Role.LIAISON, Role.WARD_MANAGER):
        return user.ward_id is not None and user.ward_id in (request.ward_id, request.handover_ward_id)
    return False


def record_access(
    session: Session, user: User, request_ids: Iterable[int], action: str, ip: str | None
) -> list[PersonalDataAccess]:
    """Record that ``user`` was shown (``view``) or took out (``export``) the personal data of
    these requests; one row per request, in the caller's transaction."""
    if action not in ACTION_LABELS:
        raise ValueError(f"unknown access action {action!r}")
    now = utcnow()
    rows = [
        PersonalDataAccess(
            user_id=user.id,
            role=user.role.value,
            request_id=request_id,
            action=action,
            created_at=now,
            ip=(ip or "")[:45],
        )
        for request_id in dict.fromkeys(request_ids)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def grant_reveal(session: Session, user: User, request: ServiceRequest) -> str:
    """A one-view grant of the request's personal data to ``user``; the token for the session
    (only its SHA-256 is stored). Nothing is shown or recorded as seen until it is used."""
    token = secrets.token_urlsafe(32)
    session.add(PersonalDataGrant(token_hash=_token_hash(token), user_id=user.id, request_id=request.id))
    session.flush()
    return token


def use_reveal(
    session: Session, user: User, request: ServiceRequest, token: str | None, ip: str | None
) -> bool:
    """Use up the grant of ``token`` (this user, this request, recent, unused) in one UPDATE;
    when it was good, record the showing (access row and security event) and return True."""
    if not token or not isinstance(token, str) or not may_reveal(user, request):
        return False
    now = utcnow()
    used = session.execute(
        update(PersonalDataGrant)
        .where(
            PersonalDataGrant.token_hash == _token_hash(token),
            PersonalDataGrant.used_at.is_(None),
            PersonalDataGrant.user_id == user.id,
            PersonalDataGrant.request_id == request.id,
            PersonalDataGrant.created_at > now - dt.timedelta(seconds=REVEAL_GRANT_SECONDS),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        return False
    record_access(session, user, [request.id], VIEW, ip)
    security_log.record(
        session, security_log.PERSONAL_DATA_REVEALED, user=user, ip=ip, detail={"request_id": request.id}
    )
    return True


def purge_grants(session: Session, now: dt.datetime | None = None) -> int:
    """Delete the grants too old to be used (they hold no data, only who asked when)."""
    cutoff = (now or utcnow()) - dt.timedelta(days=1)
    return (
        session.execute(delete(PersonalDataGrant).where(PersonalDataGrant.created_at < cutoff)).rowcount or 0
    )


def request_id_named(session: Session, wanted: str, wanted_id: int | None) -> int | None:
    """The id of the request whose reference number is ``wanted`` or whose id is ``wanted_id``
    (``wanted`` read as an id, if it is one); None when ``wanted`` is empty, and -1 (no
    request's id, so a filter by it finds nothing) when no request matches."""
    if not wanted:
        return None
    match = ServiceRequest.reference == wanted
    if wanted_id is not None:
        match = or_(match, ServiceRequest.id == wanted_id)
    return session.scalar(select(ServiceRequest.id).where(match).limit(1)) or -1


def accesses(user_id: int | None = None, request_id: int | None = None):
    """The access log, newest first, optionally of one user or one request, with the user and
    the request of each row loaded."""
    statement = (
        select(PersonalDataAccess)
        .options(joinedload(PersonalDataAccess.user), joinedload(PersonalDataAccess.service_request))
        .order_by(PersonalDataAccess.created_at.desc(), PersonalDataAccess.id.desc())
    )
    if user_id:
        statement = statement.where(PersonalDataAccess.user_id == user_id)
    if request_id:
        statement = statement.where(PersonalDataAccess.request_id == request_id)
    return statement


# --- erasure after the retention period ------------------------------------------------------


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=TOKYO).astimezone(dt.UTC)


def due_for_erasure(today: dt.date, retention_days: int):
    """Requests with personal data, closed before ``today - retention_days`` (Tokyo dates)."""
    cutoff = today - dt.timedelta(days=retention_days)
    withdrawn_at = (
        select(func.max(HistoryEvent.created_at))
        .where(HistoryEvent.service_request_id == ServiceRequest.id, HistoryEvent.action == "withdraw")
        .scalar_subquery()
    )
    has_photos = exists().where(Photo.service_request_id == ServiceRequest.id)
    has_attachments = exists().where(Attachment.service_request_id == ServiceRequest.id)
    return (
        select(ServiceRequest)
        .where(
            or_(*(getattr(ServiceRequest, name) != "" for name in FIELDS), has_photos, has_attachments),
            or_(
                and_(ServiceRequest.state == RequestState.ANSWERED, ServiceRequest.answered_on < cutoff),
                and_(ServiceRequest.state == RequestState.WITHDRAWN, withdrawn_at < _start_of(cutoff)),
            ),
        )
        .order_by(ServiceRequest.id)
    )


def _erase_files(session: Session, request: ServiceRequest) -> tuple[int, int]:
    """Delete the request's photos and attachments (their files after commit); how many of each."""
    config = current_app.config
    photos = session.scalars(select(Photo).where(Photo.service_request_id == request.id)).all()
    attachments = session.scalars(select(Attachment).where(Attachment.service_request_id == request.id)).all()
    for directory, rows in ((config["PHOTO_DIR"], photos), (config["ATTACHMENT_DIR"], attachments)):
        for row in rows:
            stored_files.delete_after_commit(session, directory, row.stored_name)
            session.delete(row)
    return len(photos), len(attachments)


def erase(session: Session, request: ServiceRequest, retention_days: int) -> HistoryEvent | None:
    """Empty the request's personal fields, delete its photos and attachments, and record it;
    None when there was nothing to erase."""
    erased = [name for name in FIELDS if getattr(request, name)]
    for name in erased:
        setattr(request, name, "")
    photos, attachments = _erase_files(session, request)
    if not erased and not photos and not attachments:
        return None
    what = [FIELD_LABELS[name] for name in erased]
    what += [f"写真{photos}枚"] * bool(photos) + [f"添付ファイル{attachments}件"] * bool(attachments)
    return record_event(
        session,
        None,
        request,
        ERASE_ACTION,
        request.state,
        request.state,
        comment=f"保存期間 ({retention_days:,}日) を過ぎたため、{'・'.join(what)}を消去しました。",
        data={
            "fields": erased,
            "retention_days": retention_days,
            **({"photos": photos} if photos else {}),
            **({"attachments": attachments} if attachments else {}),
        },
    )


def erase_due(session: Session, today: dt.date, retention_days: int, limit: int = ERASE_BATCH) -> int:
    """Erase up to ``limit`` due requests in the caller's transaction (rows locked); how many."""
    statement = due_for_erasure(today, retention_days).limit(limit).with_for_update()
    erased = 0
    for request in session.scalars(statement).all():
        if erase(session, request, retention_days) is not None:
            erased += 1
    session.flush()
    return erased


def remove_finished_import_files(session: Session, directory: str) -> int:
    """Delete the stored upload of every import that has finished (its rows are in the database,
    or it imported nothing); an unfinished one keeps its file for a retry."""
    folder = Path(directory)
    if not folder.is_dir():
        return 0
    names = [path.name for path in folder.iterdir() if path.is_file()]
    removed = 0
    for start in range(0, len(names), 500):
        finished = session.scalars(
            select(ImportBatch.stored_name).where(
                ImportBatch.stored_name.in_(names[start : start + 500]),
                ImportBatch.state.in_(FINISHED_IMPORTS),
            )
        ).all()
        for name in finished:
            (folder / name).unlink(missing_ok=True)
            removed += 1
    return removed


@jobs.job("erase_personal_data", "保存期間を過ぎた個人情報の消去", timeout=3600, retry_intervals=(600, 3600))
def erase_personal_data(ctx: jobs.JobContext, day: str | None = None) -> None:
    """Daily: erase what is due, a batch per transaction, until nothing is left (idempotent)."""
    config = current_app.config
    today = dt.date.fromisoformat(day) if day else today_in_tokyo()
    retention_days = config["PERSONAL_DATA_RETENTION_DAYS"]
    total = 0
    with ctx.session() as session:
        while True:
            with session.begin():
                erased = erase_due(session, today, retention_days)
            total += erased
            if erased < ERASE_BATCH:
                break
        with session.begin():
            files = remove_finished_import_files(session, config["IMPORT_DIR"])
            purge_grants(session)
    ctx.set_result({"day": today.isoformat(), "erased": total, "import_files_removed": files})


worker.daily("erase_personal_data", dt.time(2, 0))


def register_cli(app: Flask) -> None:
    group = click.Group("personal-data", help="Residents' personal data (要望者氏名・連絡先).")
    app.cli.add_command(group)

    @group.command("erase")
    @click.option("--today", "day", default=None, help="Run as of this date (YYYY-MM-DD, Tokyo).")
    def erase_command(day: str | None) -> None:
        """Erase the personal data of requests closed longer ago than PERSONAL_DATA_RETENTION_DAYS."""
        today = dt.date.fromisoformat(day) if day else today_in_tokyo()
        retention_days = current_app.config["PERSONAL_DATA_RETENTION_DAYS"]
        total = 0
        while True:
            erased = erase_due(db.session, today, retention_days)
            db.session.commit()
            total += erased
            if erased < ERASE_BATCH:
                break
        files = remove_finished_import_files(db.session, current_app.config["IMPORT_DIR"])
        db.session.commit()
        click.echo(
            f"保存期間 ({retention_days:,}日) を過ぎた要望 {total} 件の個人情報を消去しました"
            f" (取込ファイル {files} 件を削除)。"
        )
