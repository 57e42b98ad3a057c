"""Field work (地域担当職員): my queue, logging a request, request detail, answering residents."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import intake, personal_data, photos, queries
from ..extensions import db
from ..formatting import today_in_tokyo
from ..forms import RequestForm, options
from ..models import Category, Center, Photo
from ..states import RequestState, Role
from ..workflow import WorkflowError
from .common import roles_required, run_action, visible_request
from .detail import build_form, request_action_forms

bp = Blueprint("field", __name__)

FIELD_ROLES = (Role.LIAISON, Role.WARD_MANAGER)


@bp.route("/field/")
@roles_required(Role.LIAISON)
def queue():
    """Unanswered requests of my center, overdue first."""
    rows = db.session.execute(queries.open_requests_of_center(current_user.center_id)).scalars().all()
    return render_template("field/queue.html", rows=rows)


@bp.route("/requests/")
@roles_required(Role.LIAISON, Role.WARD_MANAGER, Role.ADMIN)
def ward_requests():
    state = request.args.get("state") or None
    if state and state not in RequestState._value2member_map_:
        state = None
    center_id = request.args.get("center", type=int)
    page = db.paginate(
        queries.requests_for(current_user, state=state, center_id=center_id),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    centers = db.session.execute(queries.centers_for(current_user)).scalars().all()
    return render_template(
        "field/requests.html",
        page=page,
        state=state,
        center_id=center_id,
        centers=centers,
        states=list(RequestState),
    )


def _request_form() -> RequestForm:
    form = RequestForm()
    categories = db.session.execute(
        select(Category).where(Category.active).order_by(Category.sort_order)
    ).scalars()
    form.category_id.choices = options([(c.id, c.name) for c in categories])
    if current_user.role == Role.WARD_MANAGER:
        centers = db.session.execute(
            select(Center)
            .where(Center.ward_id == current_user.ward_id, Center.active)
            .order_by(Center.sort_order)
        ).scalars()
        form.center_id.choices = options([(c.id, c.name) for c in centers])
    else:
        form.center_id.choices = options(
            [(current_user.center_id or 0, current_user.center.name if current_user.center else "")]
        )
    return form


@bp.route("/requests/new", methods=["GET", "POST"])
@roles_required(*FIELD_ROLES)
def new_request():
    form = _request_form()
    if request.method == "GET":
        form.received_on.data = today_in_tokyo()
    if form.validate_on_submit():
        fields = {k: v for k, v in form.data.items() if k not in ("photos", "csrf_token")}
        uploads = [(f.stream, f.filename) for f in request.files.getlist(form.photos.name)]
        try:
            created = intake.log_request(
                db.session,
                current_user,
                fields,
                uploads,
                photo_dir=current_app.config["PHOTO_DIR"],
                photo_max_bytes=current_app.config["PHOTO_MAX_BYTES"],
                photo_max_count=current_app.config["PHOTO_MAX_COUNT"],
                answer_due_days=current_app.config["ANSWER_DUE_DAYS"],
                today=today_in_tokyo(),
            )
            db.session.commit()
        except WorkflowError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            flash(f"要望 {created.reference} を登録しました。", "success")
            return redirect(url_for("field.request_detail", request_id=created.id))
    elif form.errors:
        flash("入力内容を確認してください。", "error")
    return render_template("field/new_request.html", form=form)


@bp.route("/requests/<int:request_id>")
@login_required
def request_detail(request_id: int):
    found = visible_request(request_id)
    # Personal data is masked unless this view follows a 「個人情報を表示」 POST (recorded there).
    may_reveal = personal_data.may_reveal(current_user, found)
    revealed = REVEAL_KEY in session and session.pop(REVEAL_KEY) == found.id and may_reveal
    response = make_response(
        render_template(
            "field/request_detail.html",
            item=found,
            action_forms=request_action_forms(found),
            revealed=revealed,
            can_reveal=may_reveal and personal_data.has_personal_data(found),
        )
    )
    if revealed:
        response.headers["Cache-Control"] = "no-store"
    return response


REVEAL_KEY = "reveal_personal_data"


@bp.route("/requests/<int:request_id>/personal-data", methods=["POST"])
@login_required
def reveal_personal_data(request_id: int):
    """Show the requester's name and contact on the next view of the page, and record it."""
    found = visible_request(request_id)
    if not personal_data.may_reveal(current_user, found):
        abort(403, description="要望者の個人情報を表示する権限がありません。")
    if personal_data.has_personal_data(found):
        ip = request.remote_addr
        personal_data.record_access(db.session, current_user, [found.id], personal_data.VIEW, ip)
        db.session.commit()
        session[REVEAL_KEY] = found.id
    return redirect(url_for("field.request_detail", request_id=found.id))


@bp.route("/requests/<int:request_id>/answer", methods=["POST"])
@roles_required(*FIELD_ROLES)
def answer(request_id: int):
    found = visible_request(request_id)
    form = build_form(found, "answer")
    return run_action(
        found,
        "answer",
        form,
        form.data,
        "住民への回答を記録しました。",
        url_for("field.request_detail", request_id=found.id),
    )


@bp.route("/requests/<int:request_id>/withdraw", methods=["POST"])
@roles_required(*FIELD_ROLES)
def withdraw(request_id: int):
    found = visible_request(request_id)
    form = build_form(found, "withdraw")
    return run_action(
        found,
        "withdraw",
        form,
        form.data,
        "要望を取り下げました。",
        url_for("field.request_detail", request_id=found.id),
    )


@bp.route("/photos/<int:photo_id>")
@login_required
def photo(photo_id: int):
    found = db.session.get(Photo, photo_id)
    if found is None:
        abort(404)
    visible_request(found.service_request_id)
    response = send_file(
        photos.photo_path(current_app.config["PHOTO_DIR"], found.stored_name),
        mimetype=found.content_type,
        download_name=found.original_name,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
