"""The admin's board of background work: every job with its state, retrying one, relaying the
outbox. Routes of the ``admin`` blueprint (``/admin/jobs``); the rules live in ``job_board``."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

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
        labels={name: _(spec.label) for name, spec in jobs.JOBS.items()},
        unsent=job_board.unsent,
        retryable=job_board.retryable,
    )


@bp.route("/jobs/<int:outbox_id>/retry", methods=["POST"])
@roles_required(Role.ADMIN)
def retry_job(outbox_id: int):
    row = db.get_or_404(OutboxJob, outbox_id)
    if not job_board.retryable(row, utcnow()):
        flash(_("失敗したか止まっている処理だけ再実行できます。"), "error")
        return redirect(url_for("admin.jobs"))
    jobs.retry(db.session, row.id)
    db.session.commit()
    flash(_("#%(id)s を再実行しました。", id=outbox_id), "success")
    return redirect(url_for("admin.jobs"))


@bp.route("/jobs/relay", methods=["POST"])
@roles_required(Role.ADMIN)
def relay_jobs():
    counts = jobs.relay_outbox()
    flash(
        _(
            "送信待ちを再送しました (引き渡し %(handed_over)s件、再開 %(restarted)s件、"
            "失敗として終了 %(failed)s件)。",
            **counts,
        ),
        "success",
    )
    return redirect(url_for("admin.jobs"))
