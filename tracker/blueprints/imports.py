"""一括取込: upload a center's field log (requests or activities), say what an unknown column is,
follow the import, read its result or its errors."""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from markupsafe import Markup
from wtforms import RadioField, SelectField
from wtforms.validators import Optional

from ..background import activity_import, import_format, importer
from ..background.import_headers import SKIP
from ..city import choices
from ..extensions import db
from ..formatting import today_in_tokyo
from ..models import User
from ..ops_models import ImportBatch
from ..states import ImportState, Role
from ..wording import translate
from ..workflow import WorkflowError
from .common import form_errors, paginate, roles_required
from .form_messages import Form
from .forms import options, row_id

bp = Blueprint("imports", __name__, url_prefix="/imports")

IMPORT_ROLES = (Role.LIAISON, Role.WARD_MANAGER)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN_REQUESTS = 50


class ImportForm(Form):
    kind = RadioField(
        lazy_gettext("取り込むもの"),
        choices=options((key, lazy_gettext(label)) for key, label in importer.KINDS.items()),
        default=importer.REQUESTS,
    )
    center_id = SelectField(
        lazy_gettext("まちづくりセンター"), coerce=row_id, validate_choice=False, validators=[Optional()]
    )
    upload = FileField(
        lazy_gettext("ファイル (Excel・CSV)"),
        validators=[FileRequired("ファイルを選んでください。")],
    )


def _form() -> ImportForm:
    form = ImportForm()
    if current_user.role == Role.WARD_MANAGER:
        centers = choices.active_centers_of_ward(db.session, current_user.ward_id)
        form.center_id.choices = options([(0, _("選んでください")), *((c.id, c.name) for c in centers)])
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
                kind=form.kind.data,
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
        columns=[_as_typed(column) for column in import_format.COLUMNS],
        activity_columns=[_as_typed(column) for column in activity_import.COLUMNS],
        sources=[_as_typed(source) for source in import_format.SOURCES],
        answer_kinds=[_as_typed(kind) for kind in import_format.ANSWER_KINDS],
        kinds={key: translate(label) for key, label in importer.KINDS.items()},
        kind_of=importer.kind_of,
        status_of=importer.status,
    )


def _as_typed(name: str) -> Markup:
    """A column name or value as the file holds it (in Japanese, marked ``lang="ja"``: it is
    typed as it is in any language), with its meaning in the user's language when that differs:
    ``件名 (Subject)``."""
    meaning = translate(name)
    quoted = Markup('<span lang="ja">{}</span>').format(name)
    return quoted if meaning == name else Markup("{} ({})").format(quoted, meaning)


def _visible_batch(batch_id: int) -> ImportBatch:
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        abort(404)
    if not importer.can_view(current_user, batch):
        abort(403, description=_("この取込結果を見る権限がありません。"))
    return batch


def _mapping_form(batch: ImportBatch) -> Form:
    """One select per unknown header (by its position): a field of the import, or 取り込まない."""
    fields = importer.LAYOUTS[importer.kind_of(batch)].columns
    choices = options([(SKIP, _("取り込まない")), *((name, translate(name)) for name in fields)])

    class MappingForm(Form):
        pass

    for index, header in enumerate(importer.unknown_columns(batch)):
        setattr(
            MappingForm,
            f"column_{index}",
            SelectField(_("列「%(name)s」", name=header), choices=choices, default=SKIP),
        )
    return MappingForm()


def _render_batch(found: ImportBatch, mapping_form=None, status_code: int = 200, refusal: str = ""):
    results = importer.results(db.session, found, SHOWN_REQUESTS)
    if mapping_form is None and importer.needs_mapping(found):
        mapping_form = _mapping_form(found)
    page = render_template(
        "imports/batch.html",
        batch=found,
        kind_label=translate(importer.KINDS[importer.kind_of(found)]),
        column_label=translate,
        status=importer.status(found),
        ImportState=ImportState,
        requests=results.requests,
        activities=results.activities,
        earlier=results.earlier,
        mapping_form=mapping_form,
        refusal=refusal,
    )
    return page, status_code


@bp.route("/<int:batch_id>")
@roles_required(*IMPORT_ROLES)
def batch(batch_id: int):
    return _render_batch(_visible_batch(batch_id))


@bp.route("/<int:batch_id>/mapping", methods=["POST"])
@roles_required(*IMPORT_ROLES)
def mapping(batch_id: int):
    found = _visible_batch(batch_id)
    if not importer.needs_mapping(found):
        flash(_("この取込は列の対応づけを待っていません。"), "error")
        return redirect(url_for(".batch", batch_id=found.id))
    form = _mapping_form(found)
    if not form.validate_on_submit():
        return _render_batch(found, form, 422)
    unknown = importer.unknown_columns(found)
    chosen = {header: getattr(form, f"column_{index}").data for index, header in enumerate(unknown)}
    try:
        importer.confirm_mapping(db.session, current_user, found, chosen)
        db.session.commit()  # the job runs again, now knowing every column
    except WorkflowError as failure:
        db.session.rollback()
        return _render_batch(db.session.get(ImportBatch, batch_id), form, 422, failure.message)
    return redirect(url_for(".batch", batch_id=batch_id))


@bp.route("/<int:batch_id>/status")
@roles_required(*IMPORT_ROLES)
def status(batch_id: int):
    found = _visible_batch(batch_id)
    status = importer.status(found)
    kind = translate(importer.KINDS[importer.kind_of(found)])
    done, total = f"{status['done']:,}", f"{status['total'] or 0:,}"
    response = jsonify(
        {
            **status,
            "phase_text": _("%(kind)sを登録しています…", kind=kind),
            "count_text": _("%(done)s / %(total)s行", done=done, total=total),
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _template(content: bytes, name: str, mimetype: str):
    return send_file(io.BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=name)


def _category_names() -> list[str]:
    return [c.name for c in choices.active_categories(db.session)]


def _activity_example() -> tuple[list[str], str, str]:
    """The activity kinds, and the center and staff name the example row shows."""
    kinds = activity_import.active_kind_names(db.session)
    user: User = current_user
    center = user.center.name if user.center else ""
    return kinds, center, user.display_name if user.role == Role.LIAISON else ""


def _wants_activities() -> bool:
    return request.args.get("kind") == importer.ACTIVITIES


@bp.route("/template.xlsx")
@roles_required(*IMPORT_ROLES)
def template_xlsx():
    if _wants_activities():
        content = activity_import.template_xlsx(*_activity_example(), today_in_tokyo())
        return _template(content, _("活動記録取込テンプレート.xlsx"), XLSX_TYPE)
    content = import_format.template_xlsx(_category_names(), today_in_tokyo())
    return _template(content, _("要望取込テンプレート.xlsx"), XLSX_TYPE)


@bp.route("/template.csv")
@roles_required(*IMPORT_ROLES)
def template_csv():
    if _wants_activities():
        content = activity_import.template_csv(*_activity_example(), today_in_tokyo())
        return _template(content, _("活動記録取込テンプレート.csv"), "text/csv; charset=utf-8")
    content = import_format.template_csv(_category_names(), today_in_tokyo())
    return _template(content, _("要望取込テンプレート.csv"), "text/csv; charset=utf-8")
