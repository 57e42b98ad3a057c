"""The admin's board of background work: every job with its state, retrying one, relaying the
outbox. Routes of the ``admin`` blueprint (``/admin/jobs``); the rules live in ``job_board``."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from ..background import job_board, jobs
from ..extensions import db
from ..models import utcnow
from ..ops_models import OutboxJob
from ..states import JobState, Role
from .admin import bp
from .common import roles_required


@bp.route("/jobs", endpoint="jobs")
@roles_required(Role.ADMIN)
def job_list():
    return render_template(
        "admin/jobs.html",
        board=job_board.board(db.session),
        states=list(JobState),
        labels={name: spec.label for name, spec in jobs.JOBS.items()},
        unsent=job_board.unsent,
        retryable=job_board.retryable,
    )


@bp.route("/jobs/<int:outbox_id>/retry", methods=["POST"])
@roles_required(Role.ADMIN)
def retry_job(outbox_id: int):
    row = db.get_or_404(OutboxJob, outbox_id)
    if not job_board.retryable(row, utcnow()):
        flash("失敗したか止まっている処理だけ再実行できます。", "error")
        return redirect(url_for("admin.jobs"))
    jobs.retry(db.session, row.id)
    db.session.commit()
    flash(f"#{outbox_id} を再実行しました。", "success")
    return redirect(url_for("admin.jobs"))


@bp.route("/jobs/relay", methods=["POST"])
@roles_required(Role.ADMIN)
def relay_jobs():
    counts = jobs.relay_outbox()
    flash(
        f"送信待ちを再送しました (引き渡し {counts['handed_over']}件、再開 {counts['restarted']}件、"
        f"失敗として終了 {counts['failed']}件)。",
        "success",
    )
    return redirect(url_for("admin.jobs"))
