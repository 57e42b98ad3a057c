"""Reports (報告書): ask for the fiscal-year report of ward issues, follow its job, download it.

The file is made in the background (``tracker.reports``); the request is recorded in the same
transaction as nothing else, committed, and the user is sent to the job's page, which reloads
itself until the file is ready.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import SelectField

from .. import jobs, reports
from ..extensions import db
from ..formatting import fiscal_year_label, fiscal_year_of, today_in_tokyo
from ..forms import options
from ..models import OutboxJob, WardIssue
from ..states import JobState, Role
from .common import roles_required

bp = Blueprint("reports", __name__, url_prefix="/reports")

READERS = (Role.ADMIN, Role.WARD_MANAGER, Role.BUREAU_STAFF)
JOB_NAME = "report_xlsx"
FINISHED = (JobState.DONE, JobState.FAILED)


class ReportForm(FlaskForm):
    fiscal_year = SelectField("年度", coerce=int)


def _fiscal_years() -> list[int]:
    """From the first fiscal year with a ward issue to the current one, newest first."""
    current = fiscal_year_of(today_in_tokyo())
    first = db.session.execute(select(func.min(WardIssue.fiscal_year))).scalar_one() or current
    return list(range(max(current, first), min(first, current) - 1, -1))


def _report_form() -> ReportForm:
    form = ReportForm()
    form.fiscal_year.choices = options((year, fiscal_year_label(year)) for year in _fiscal_years())
    return form


def _own_job(outbox_id: int) -> OutboxJob:
    """A report job the current user asked for (the admin may see anyone's)."""
    row = db.session.get(OutboxJob, outbox_id)
    if row is None or row.name != JOB_NAME:
        abort(404)
    if current_user.role != Role.ADMIN and row.requested_by_id != current_user.id:
        abort(403, description="この報告書は作成を依頼した人と管理者だけが見られます。")
    return row


@bp.route("/", methods=["GET", "POST"])
@roles_required(*READERS)
def index():
    form = _report_form()
    if form.validate_on_submit():
        row = jobs.request_job(
            db.session, JOB_NAME, {"fiscal_year": form.fiscal_year.data}, requested_by_id=current_user.id
        )
        db.session.commit()
        return redirect(url_for("reports.job", outbox_id=row.id))
    if form.is_submitted():
        flash("年度を選んでください。", "error")
    recent = db.session.scalars(
        select(OutboxJob)
        .where(OutboxJob.name == JOB_NAME, OutboxJob.requested_by_id == current_user.id)
        .order_by(OutboxJob.id.desc())
        .limit(10)
    ).all()
    return render_template("reports/index.html", form=form, recent=recent)


@bp.route("/jobs/<int:outbox_id>")
@roles_required(*READERS)
def job(outbox_id: int):
    row = _own_job(outbox_id)
    return render_template("reports/job.html", row=row, finished=row.state in FINISHED)


@bp.route("/jobs/<int:outbox_id>/download")
@roles_required(*READERS)
def download(outbox_id: int):
    row = _own_job(outbox_id)
    name = (row.result or {}).get("file")
    if row.state != JobState.DONE or not name:
        abort(404)
    path = reports.report_dir() / name
    if not path.is_file():
        abort(404)
    return send_file(
        path,
        mimetype=reports.XLSX_MIMETYPE,
        as_attachment=True,
        download_name=reports.download_name(row.result["fiscal_year"]),
    )
