"""The community organisations of each center (校区自治協議会, 町内自治会, ...), which the activity
form offers: kept by the ward managers for their ward's centers, and by the admin for all.

The rules are ``tracker.fieldwork.organisations``; each change is committed with its record in
the admin change log (``tracker.safeguards.admin_log.recording``).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..activity_models import CommunityOrganisation
from ..city import activity_choices
from ..extensions import db
from ..fieldwork import organisations
from ..fieldwork.operations import ActivityError
from ..finding import activities
from ..models import Center
from ..safeguards import admin_log
from ..states import Role
from ..wording import N_
from .activity_forms import OrganisationForm
from .common import roles_required
from .forms import options

bp = Blueprint("organisations", __name__, url_prefix="/activities/organisations")

KEEPERS = (Role.WARD_MANAGER, Role.ADMIN)


def _form() -> OrganisationForm:
    form = OrganisationForm()
    centers = activity_choices.loggable_centers(db.session, current_user)
    form.center_id.choices = options([(c.id, c.name) for c in centers])
    return form


def _commit(change: Callable[[], object], form: OrganisationForm, success: str, **params) -> bool:
    """One change and its admin-log record, committed; a refusal goes next to its field.

    ``success`` is a marked Japanese template: the log keeps it in Japanese, the flash shows
    it in the user's language."""
    try:
        with admin_log.recording(db.session, current_user, success % params):
            change()
        db.session.commit()
    except ActivityError as error:
        db.session.rollback()
        field = form._fields.get(error.field or "")
        if field is not None:
            field.errors = [*field.errors, error.message]
        else:
            flash(error.message, "error")
        return False
    flash(_(success, **params), "success")
    return True


def _list_page(form: OrganisationForm, status: int = 200):
    centers = activity_choices.loggable_centers(db.session, current_user)
    rows = activities.organisations_of(db.session, [c.id for c in centers])
    page = render_template("activities/organisations.html", centers=centers, rows=rows, form=form)
    return page, status


@bp.route("/", methods=["GET"])
@roles_required(*KEEPERS)
def index():
    return _list_page(_form())


@bp.route("/new", methods=["POST"])
@roles_required(*KEEPERS)
def new():
    form = _form()
    if form.validate_on_submit():
        center = db.session.get(Center, form.center_id.data)
        name = " ".join(form.name.data.split())
        if _commit(
            lambda: organisations.add_organisation(db.session, current_user, center, form.data),
            form,
            N_("地域団体「%(name)s」を追加しました。"),
            name=name,
        ):
            return redirect(url_for("organisations.index"))
    return _list_page(form, 422)


def _kept(organisation_id: int) -> CommunityOrganisation:
    found = db.session.get(CommunityOrganisation, organisation_id)
    if found is None:
        abort(404)
    if not organisations.may_keep(current_user, found.center):
        abort(403, description=_("このセンターの地域団体は編集できません。"))
    return found


@bp.route("/<int:organisation_id>/edit", methods=["GET", "POST"])
@roles_required(*KEEPERS)
def edit(organisation_id: int):
    found = _kept(organisation_id)
    form = OrganisationForm(obj=found if request.method == "GET" else None)
    form.center_id.choices = options([(found.center_id, found.center.name)])
    form.center_id.data = found.center_id
    if request.method == "POST" and form.validate_on_submit():
        name = " ".join(form.name.data.split())
        if _commit(
            lambda: organisations.update_organisation(db.session, current_user, found, form.data),
            form,
            N_("地域団体「%(name)s」を更新しました。"),
            name=name,
        ):
            return redirect(url_for("organisations.index"))
    status = 422 if request.method == "POST" else 200
    return render_template("activities/organisation_form.html", form=form, organisation=found), status


@bp.route("/<int:organisation_id>/active", methods=["POST"])
@roles_required(*KEEPERS)
def set_active(organisation_id: int):
    """Deactivate (``active=0``) or reactivate (``active=1``) an organisation."""
    found = _kept(organisation_id)
    active = request.form.get("active") == "1"
    form = _form()
    if _commit(
        lambda: organisations.set_active(db.session, current_user, found, active),
        form,
        N_("地域団体「%(name)s」を有効にしました。")
        if active
        else N_("地域団体「%(name)s」を無効にしました。"),
        name=found.name,
    ):
        return redirect(url_for("organisations.index"))
    return _list_page(form, 422)
