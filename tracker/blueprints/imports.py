"""一括取込: upload a center's field log, follow the import, read its result or its errors."""

from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, send_file, url_for
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField
from wtforms.validators import Optional

from ..background import import_format, importer
from ..city import choices
from ..extensions import db
from ..formatting import today_in_tokyo
from ..ops_models import ImportBatch
from ..states import ImportState, Role
from ..workflow import WorkflowError
from .common import form_errors, paginate, roles_required
from .form_messages import Form
from .forms import options, row_id

bp = Blueprint("imports", __name__, url_prefix="/imports")

IMPORT_ROLES = (Role.LIAISON, Role.WARD_MANAGER)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN_REQUESTS = 50


class ImportForm(Form):
    center_id = SelectField(
        "まちづくりセンター", coerce=row_id, validate_choice=False, validators=[Optional()]
    )
    upload = FileField("ファイル (Excel・CSV)", validators=[FileRequired("ファイルを選んでください。")])


def _form() -> ImportForm:
    form = ImportForm()
    if current_user.role == Role.WARD_MANAGER:
        centers = choices.active_centers_of_ward(db.session, current_user.ward_id)
        form.center_id.choices = options([(0, "選んでください"), *((c.id, c.name) for c in centers)])
    return form


@bp.route("/", methods=["GET", "POST"])
@roles_required(*IMPORT_ROLES)
def index():
    form = _form()
    if form.validate_on_submit():
        upload = form.upload.data
        try:
            batch = importer.accept_upload(
                db.session,
                current_user,
                form.center_id.data,
                upload.stream,
                upload.filename,
                directory=current_app.config["IMPORT_DIR"],
                max_bytes=current_app.config["IMPORT_MAX_BYTES"],
            )
            db.session.commit()  # the import starts now: inline without Redis, on a worker with it
        except WorkflowError as failure:
            db.session.rollback()
            flash(failure.message, "error")
        else:
            return redirect(url_for(".batch", batch_id=batch.id))
    elif form.errors:
        flash(form_errors(form), "error")
    page = paginate(importer.batches_for(current_user))
    return render_template(
        "imports/index.html",
        form=form,
        page=page,
        columns=import_format.COLUMNS,
        sources=list(import_format.SOURCES),
    )


def _visible_batch(batch_id: int) -> ImportBatch:
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        abort(404)
    if not importer.can_view(current_user, batch):
        abort(403, description="この取込結果を見る権限がありません。")
    return batch


@bp.route("/<int:batch_id>")
@roles_required(*IMPORT_ROLES)
def batch(batch_id: int):
    found = _visible_batch(batch_id)
    results = importer.results(db.session, found, SHOWN_REQUESTS)
    return render_template(
        "imports/batch.html",
        batch=found,
        status=importer.status(found),
        ImportState=ImportState,
        requests=results.requests,
        earlier=results.earlier,
    )


@bp.route("/<int:batch_id>/status")
@roles_required(*IMPORT_ROLES)
def status(batch_id: int):
    response = jsonify(importer.status(_visible_batch(batch_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


def _template(content: bytes, name: str, mimetype: str):
    return send_file(io.BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=name)


def _category_names() -> list[str]:
    return [c.name for c in choices.active_categories(db.session)]


@bp.route("/template.xlsx")
@roles_required(*IMPORT_ROLES)
def template_xlsx():
    content = import_format.template_xlsx(_category_names(), today_in_tokyo())
    return _template(content, "要望取込テンプレート.xlsx", XLSX_TYPE)


@bp.route("/template.csv")
@roles_required(*IMPORT_ROLES)
def template_csv():
    content = import_format.template_csv(_category_names(), today_in_tokyo())
    return _template(content, "要望取込テンプレート.csv", "text/csv; charset=utf-8")
