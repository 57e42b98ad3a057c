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
    session,
    url_for,
)
from flask_login import current_user, login_required

from ..activity_models import Activity
from ..city import choices
from ..effects import held_photos, intake
from ..extensions import db
from ..fieldwork import heard, operations
from ..finding import list_pages, listing, queries, similar
from ..formatting import today_in_tokyo
from ..models import Photo, ServiceRequest
from ..safeguards import personal_data
from ..states import Role
from ..workflow import WorkflowError
from .common import roles_required, run_action, send_stored, visible_request
from .detail import build_form, request_page
from .forms import RequestForm, options
from .triage_forms import bulk_form

bp = Blueprint("field", __name__)

FIELD_ROLES = (Role.LIAISON, Role.WARD_MANAGER)


@bp.route("/field/")
@roles_required(Role.LIAISON)
def queue():
    """Unanswered requests of my center, overdue first (``?format=csv|xlsx``: all of them)."""
    statement = queries.open_requests_of_center(current_user.center_id)
    if list_pages.wanted_format():
        return list_pages.export_fixed(statement, ServiceRequest, "未回答の要望", "未回答の要望")
    rows = db.session.execute(statement).scalars().all()
    return render_template("field/queue.html", rows=rows)


@bp.route("/requests/")
@roles_required(Role.LIAISON, Role.WARD_MANAGER, Role.ADMIN)
def ward_requests():
    """区の要望 (the admin: 全要望): filtered, sorted, keyset-paged; ``?format=`` exports."""
    return list_pages.show(
        listing.REQUESTS,
        queries.requests_for(current_user),
        template="field/requests.html",
        endpoint="field.ward_requests",
        what="要望一覧",
        filename="要望一覧",
        bulk=bulk_form(db.session, current_user) if current_user.role == Role.WARD_MANAGER else None,
    )


def _request_form() -> RequestForm:
    form = RequestForm()
    categories = choices.active_categories(db.session)
    form.category_id.choices = options([(c.id, c.name) for c in categories])
    if current_user.role == Role.WARD_MANAGER:
        centers = choices.active_centers_of_ward(db.session, current_user.ward_id)
        form.center_id.choices = options([(c.id, c.name) for c in centers])
    else:
        form.center_id.choices = options(
            [(current_user.center_id or 0, current_user.center.name if current_user.center else "")]
        )
    return form


def _chosen_original(ward_id: int | None) -> ServiceRequest | bool | None:
    """The request chosen with 「この要望に関連付けて登録」: None if none was chosen, False
    if the choice is not a request the new one may be linked to (``similar.linkable_request``)."""
    raw = request.form.get("duplicate_of", "")
    if not raw:
        return None
    chosen_id = int(raw) if raw.isdecimal() and len(raw) <= 9 else None
    chosen = similar.linkable_request(db.session, ward_id, chosen_id)
    return False if chosen is None else chosen


@bp.route("/requests/new", methods=["GET", "POST"])
@roles_required(*FIELD_ROLES)
def new_request():
    """Log a request. When it resembles open requests of the ward and the user has not chosen
    yet, the form comes back (nothing saved) with them and two choices: link the new request
    to one of them (関連付けて登録), or log it as a separate one (別の要望として登録).

    Photos chosen on a form that comes back are held (``held_photos``) and listed as
    「選択済みの写真」: the next submit re-attaches them, less the ones the user took off."""
    form = _request_form()
    suggestions: list = []
    hold_dir = current_app.config["PHOTO_HOLD_DIR"]
    token = held_photos.valid_token(request.form.get("photo_hold")) or held_photos.new_token()
    photos_held = True
    activity = _heard_in()
    if request.method == "GET":
        form.received_on.data = today_in_tokyo()
        for name, value in heard.request_prefill(activity).items() if activity else ():
            form[name].data = value
    else:
        held_photos.purge(hold_dir)
        held_photos.drop(hold_dir, token, request.form.getlist("drop_photo"))
        photos_held = _hold_uploads(hold_dir, token, form.photos.name)
    if form.validate_on_submit() and photos_held:
        ward_id = intake.ward_id_of(current_user)
        original = _chosen_original(ward_id)
        if original is None and request.form.get("similar_choice") != "separate":
            suggestions = similar.similar_open_requests(
                db.session, ward_id, form.title.data, form.description.data
            )
        if original is False:
            flash("関連付ける要望が見つかりません。もう一度選んでください。", "error")
        elif suggestions:
            flash(
                "似ている未回答の要望があります。関連付けるか、別の要望として登録するかを選んでください。",
                "warning",
            )
        else:
            created = _log_new_request(form, original, hold_dir, token, activity)
            if created is not None:
                flash(f"要望 {created.reference} を登録しました。", "success")
                return redirect(url_for("field.request_detail", request_id=created.id))
    elif form.errors:
        flash("入力内容を確認してください。", "error")
    return render_template(
        "field/new_request.html",
        form=form,
        suggestions=suggestions,
        photo_hold=token,
        held=held_photos.held(hold_dir, token),
        activity=activity,
    )


def _heard_in() -> Activity | None:
    """The activity the request is being logged from (``?activity=``, then a hidden field)."""
    raw = request.values.get("activity", "")
    if not raw:
        return None
    found = db.session.get(Activity, int(raw)) if raw.isdecimal() and len(raw) <= 9 else None
    if found is None:
        abort(404)
    if not heard.may_link(current_user, found):
        abort(403, description="この活動記録には要望を結び付けられません。")
    return found


def _hold_uploads(hold_dir: str, token: str, field_name: str) -> bool:
    """Check and hold the photos this submit sent; False (and a flash) if one was refused."""
    uploads = [
        (upload.stream, upload.filename) for upload in request.files.getlist(field_name) if upload.filename
    ]
    try:
        held_photos.hold_uploads(
            hold_dir,
            token,
            uploads,
            max_count=current_app.config["PHOTO_MAX_COUNT"],
            max_bytes=current_app.config["PHOTO_MAX_BYTES"],
        )
    except WorkflowError as error:
        flash(error.message, "error")
        return False
    return True


def _log_new_request(
    form, original: ServiceRequest | None, hold_dir: str, token: str, activity: Activity | None = None
):
    fields = {k: v for k, v in form.data.items() if k not in ("photos", "csrf_token")}
    uploads = held_photos.uploads(hold_dir, token)
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
            duplicate_of=original,
        )
        if activity is not None:  # heard in an activity: linked in the same transaction
            operations.link_request(db.session, current_user, activity, created)
        db.session.commit()
    except WorkflowError as error:
        db.session.rollback()
        flash(error.message, "error")
        return None
    held_photos.clear(hold_dir, token)
    return created


@bp.route("/requests/similar")
@roles_required(*FIELD_ROLES)
def similar_requests():
    """The suggestions for a title being typed (static/js/similar.js): an HTML fragment."""
    title = (request.args.get("title") or "")[:200]
    description = (request.args.get("description") or "")[:2000]
    ward_id = intake.ward_id_of(current_user)
    suggestions = similar.similar_open_requests(db.session, ward_id, title, description)
    return render_template("field/_similar.html", suggestions=suggestions, live=True)


@bp.route("/requests/<int:request_id>")
@login_required
def request_detail(request_id: int):
    found = visible_request(request_id)
    # Personal data is masked unless this view uses up the grant of a 「個人情報を表示」 POST.
    token = session.pop(REVEAL_KEY, None)
    revealed = personal_data.use_reveal(db.session, current_user, found, token, request.remote_addr)
    if revealed:
        db.session.commit()  # the grant is used and the showing recorded before anything is shown
    response = make_response(request_page(found, revealed=revealed))
    if revealed:
        response.headers["Cache-Control"] = "no-store"
    return response


REVEAL_KEY = "reveal_personal_data"


@bp.route("/requests/<int:request_id>/personal-data", methods=["POST"])
@login_required
def reveal_personal_data(request_id: int):
    """Grant one view of the requester's name and contact: the next view of the page uses it."""
    found = visible_request(request_id)
    if not personal_data.may_reveal(current_user, found):
        abort(403, description="要望者の個人情報を表示する権限がありません。")
    if personal_data.has_personal_data(found):
        session[REVEAL_KEY] = personal_data.grant_reveal(db.session, current_user, found)
        db.session.commit()
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
    return send_stored(current_app.config["PHOTO_DIR"], found)
