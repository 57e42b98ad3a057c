"""The intake queue (未振り分け): Open311 requests whose place named no center, waiting for a
ward manager of the ward the address names (any ward manager when it names none) or admin to
give them a center in one click (``tracker.open311.submissions``)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from wtforms import SelectField
from wtforms.validators import InputRequired

from ..extensions import db
from ..open311 import submissions
from ..open311_models import Open311Submission
from ..states import Role
from ..workflow import WorkflowError
from .common import roles_required
from .form_messages import Form
from .forms import REQUIRED, options, row_id

bp = Blueprint("intake", __name__, url_prefix="/intake")

ASSIGNERS = (Role.WARD_MANAGER, Role.ADMIN)


class AssignForm(Form):
    center_id = SelectField(
        lazy_gettext("まちづくりセンター"), coerce=row_id, validators=[InputRequired(REQUIRED)]
    )


def _centers() -> list[tuple[int, str]]:
    return [(center.id, center.name) for center in submissions.assignable_centers(db.session, current_user)]


def _form(submission_id: int, centers: list[tuple[int, str]]) -> AssignForm:
    """The form of one row; each row's fields are prefixed with its id (one page, many forms)."""
    form = AssignForm(prefix=f"s{submission_id}")
    form.center_id.choices = options(centers)
    return form


@bp.route("/")
@roles_required(*ASSIGNERS)
def index():
    rows = submissions.queue_for(db.session, current_user)
    centers = _centers()  # the same for every row: one query
    forms = {row.id: _form(row.id, centers) for row in rows}
    return render_template("intake/index.html", rows=rows, forms=forms)


@bp.route("/<int:submission_id>/assign", methods=["POST"])
@roles_required(*ASSIGNERS)
def assign(submission_id: int):
    submission = db.session.get(Open311Submission, submission_id)
    if submission is None:
        abort(404)
    if not submissions.may_assign(current_user, submission):
        abort(403, description=_("この未振り分けの要望を振り分ける権限がありません。"))
    form = _form(submission_id, _centers())
    if not form.validate_on_submit():
        flash(_("振り分け先のまちづくりセンターを選んでください。"), "error")
        return redirect(url_for("intake.index"))
    try:
        created = submissions.assign_center(
            db.session,
            current_user,
            submission,
            form.center_id.data,
            answer_due_days=current_app.config["ANSWER_DUE_DAYS"],
        )
    except WorkflowError as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(url_for("intake.index"))
    db.session.commit()
    flash(
        _(
            "%(reference)s として %(center)s に振り分けました。",
            reference=created.reference,
            center=created.center.name,
        ),
        "success",
    )
    return redirect(url_for("intake.index"))
