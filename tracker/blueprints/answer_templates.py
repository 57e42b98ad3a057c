"""A ward's answer templates (定型文): the ward managers keep their ward's list (add, edit, reorder,
deactivate and reactivate; never delete), the admin every ward's (chosen with ``?ward=``).

The rules and writes are ``tracker.city.answer_templates``; each change is committed with its
record in the admin change log. The answer forms of a ward's requests offer its active
templates through ``answer_templates_for`` (``templates/answer_templates/_offer.html``).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

# lazily translated labels, marked with N_ (a keyword `make catalog` extracts; _l is not one)
from flask_babel import lazy_gettext as N_
from flask_login import current_user
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..city import answer_templates, choices
from ..city.answer_templates import BODY_LIMIT, TITLE_LIMIT, TemplateError
from ..extensions import db
from ..models import ServiceRequest, Ward
from ..states import Role
from ..teamwork_models import AnswerTemplate
from .common import roles_required
from .form_messages import Form

bp = Blueprint("answer_templates", __name__, url_prefix="/answer-templates")

KEEPERS = (Role.WARD_MANAGER, Role.ADMIN)
MAX_ID = 2**31 - 1


class TemplateForm(Form):
    title = StringField(N_("題名"), validators=[DataRequired(), Length(max=TITLE_LIMIT)])
    body = TextAreaField(
        N_("本文"),
        validators=[DataRequired(), Length(max=BODY_LIMIT)],
        description=N_(
            "{受付日} と {件名} は、回答欄に挿入するときにその要望の受付日と件名に置き換わります。"
        ),
        render_kw={"rows": 6},
    )


@bp.app_template_global()
def answer_templates_for(found: ServiceRequest):
    """The active templates of the request's ward, in order: what its answer form offers."""
    return answer_templates.offered(db.session, found.ward_id)


@bp.app_template_global()
def answer_templates_of_ward(ward_id: int | None):
    """The active templates of a ward: what the bulk answer of its lists offers (none without a ward)."""
    return answer_templates.offered(db.session, ward_id) if ward_id else []


def _chosen_ward(raw: str | None) -> Ward | None:
    """A manager's own ward; for the admin the ward ``raw`` names (None if it names none)."""
    if current_user.role == Role.WARD_MANAGER:
        return current_user.ward
    ward_id = int(raw) if raw and raw.isdecimal() and len(raw) <= 10 and int(raw) <= MAX_ID else None
    return db.session.get(Ward, ward_id) if ward_id else None


def _ward_of_page(raw: str | None) -> Ward:
    """The ward whose list is shown: a manager's own; the admin's choice (else the first ward)."""
    ward = _chosen_ward(raw)
    if ward is None and current_user.role == Role.ADMIN:
        wards = choices.wards(db.session)
        ward = wards[0] if wards else None
    if ward is None:
        abort(403, description=_("定型文を管理する区がありません。"))
    return ward


def _kept(template_id: int) -> AnswerTemplate:
    found = db.session.get(AnswerTemplate, template_id)
    if found is None:
        abort(404)
    if not answer_templates.may_keep(current_user, found.ward_id):
        abort(403, description=_("この区の定型文は編集できません。"))
    return found


def _back(ward_id: int):
    return redirect(url_for("answer_templates.index", ward=ward_id))


def _commit(change: Callable[[], object], form: TemplateForm | None) -> bool:
    """One change (recorded by the service), committed; a refusal goes next to its field, or
    above the form, or (no form) into an error flash."""
    try:
        change()
        db.session.commit()
    except TemplateError as error:
        db.session.rollback()
        field = form._fields.get(error.field or "") if form is not None else None
        if field is not None:
            field.errors = [*field.errors, error.message]
        elif form is not None:
            form.form_errors.append(error.message)
        else:
            flash(error.message, "error")
        return False
    return True


def _list_page(ward: Ward, form: TemplateForm, status: int = 200):
    rows = answer_templates.templates_of(db.session, ward.id)
    wards = choices.wards(db.session) if current_user.role == Role.ADMIN else ()
    page = render_template("answer_templates/index.html", ward=ward, wards=wards, rows=rows, form=form)
    return page, status


@bp.route("/")
@roles_required(*KEEPERS)
def index():
    return _list_page(_ward_of_page(request.args.get("ward")), TemplateForm(formdata=None))


@bp.route("/new", methods=["POST"])
@roles_required(*KEEPERS)
def new():
    ward = _chosen_ward(request.form.get("ward_id"))
    form = TemplateForm()
    if form.validate_on_submit() and _commit(
        lambda: answer_templates.add_template(db.session, current_user, ward, form.data), form
    ):
        flash(_("定型文「%(title)s」を追加しました。", title=form.title.data.strip()), "success")
        return _back(ward.id)
    return _list_page(ward or _ward_of_page(None), form, 422)


@bp.route("/<int:template_id>/edit", methods=["GET", "POST"])
@roles_required(*KEEPERS)
def edit(template_id: int):
    found = _kept(template_id)
    form = TemplateForm(obj=found if request.method == "GET" else None)
    if request.method == "POST":
        if form.validate_on_submit() and _commit(
            lambda: answer_templates.update_template(db.session, current_user, found, form.data), form
        ):
            flash(_("定型文「%(title)s」を更新しました。", title=found.title), "success")
            return _back(found.ward_id)
        return render_template("answer_templates/form.html", form=form, template=found), 422
    return render_template("answer_templates/form.html", form=form, template=found)


@bp.route("/<int:template_id>/move", methods=["POST"])
@roles_required(*KEEPERS)
def move(template_id: int):
    """One place up (``direction=up``) or down (``direction=down``) in the ward's list."""
    found = _kept(template_id)
    direction = request.form.get("direction")
    if _commit(lambda: answer_templates.move_template(db.session, current_user, found, direction), None):
        flash(_("定型文「%(title)s」の並び順を変えました。", title=found.title), "success")
    return _back(found.ward_id)


@bp.route("/<int:template_id>/active", methods=["POST"])
@roles_required(*KEEPERS)
def set_active(template_id: int):
    """Deactivate (``active=0``) or reactivate (``active=1``) a template."""
    found = _kept(template_id)
    active = {"0": False, "1": True}.get(request.form.get("active", ""))
    if _commit(lambda: answer_templates.set_active(db.session, current_user, found, active), None):
        if active:
            flash(_("定型文「%(title)s」を有効に戻しました。", title=found.title), "success")
        else:
            flash(_("定型文「%(title)s」を無効にしました。", title=found.title), "success")
    return _back(found.ward_id)
