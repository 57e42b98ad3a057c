"""Exports made in the background (一覧のファイル出力): the job's page, its progress, its file.

A list export past ``EXPORT_INLINE_MAX_ROWS`` rows is started as a job by the list's own view
(``tracker.finding.list_pages.deliver``), which sends the user here. The page shows a progress
bar that ``static/js/export-job.js`` keeps current from ``/status`` (without JavaScript the page
reloads itself), and the download once the file is complete. A job, its status and its file are
seen only by whoever asked for it and by the admin (``export_job.may_see_job``): 403 for anyone
else, 404 for an id that is no export job.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template, send_file
from flask_babel import gettext as _
from flask_login import current_user

from ..background import export_job
from ..extensions import db
from ..finding import exports, list_pages
from ..ops_models import OutboxJob
from ..states import JobState, Role
from .common import roles_required

bp = Blueprint("exports", __name__, url_prefix="/exports")

EXPORTERS = (Role.LIAISON, Role.WARD_MANAGER, Role.BUREAU_STAFF, Role.ADMIN)


def _own_job(outbox_id: int) -> OutboxJob:
    row = export_job.export_of(db.session, outbox_id)
    if row is None:
        abort(404)
    if not export_job.may_see_job(current_user, row):
        abort(403, description=_("この出力ファイルは作成を依頼した人と管理者だけが見られます。"))
    return row


@bp.route("/jobs/<int:outbox_id>")
@roles_required(*EXPORTERS)
def job(outbox_id: int):
    row = _own_job(outbox_id)
    return render_template(
        "exports/job.html",
        row=row,
        finished=export_job.is_finished(row),
        available=export_job.export_file(row) is not None,
        format_label=list_pages.FORMAT_LABELS.get(row.kwargs.get("fmt"), ""),
    )


@bp.route("/jobs/<int:outbox_id>/status")
@roles_required(*EXPORTERS)
def status(outbox_id: int):
    """The job's state and progress, for the page's progress bar."""
    row = _own_job(outbox_id)
    return jsonify(
        state=row.state.value,
        done=row.progress_done or 0,
        total=row.progress_total,
        finished=export_job.is_finished(row),
    )


@bp.route("/jobs/<int:outbox_id>/download")
@roles_required(*EXPORTERS)
def download(outbox_id: int):
    row = _own_job(outbox_id)
    path = export_job.export_file(row) if row.state == JobState.DONE else None
    if path is None:
        abort(404)
    name = export_job.download_name(row)
    sent = send_file(
        path, mimetype=export_job.MIMETYPES[row.kwargs["fmt"]], as_attachment=True, download_name=name
    )
    sent.headers["Content-Disposition"] = exports.content_disposition(name)
    return sent
