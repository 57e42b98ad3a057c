"""Field work (地域担当職員): my queue, logging a request, request detail, answering residents."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

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
        return list_pages.export_fixed(statement, ServiceRequest, _("未回答の要望"), _("未回答の要望"))
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
        what=_("要望一覧"),
        filename=_("要望一覧"),
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
    「選択済みの写真」: the next submit re-attaches them, less the ones the user took off.

    A send from the device's offline queue (static/js/offline.js) asks for JSON: it is logged as
    a separate request unless a link was chosen, and answers ``{id, reference, url, created}``
    (422 with the messages when refused). A send whose ``client_uuid`` is already stored answers
    that request, as the first send did (``intake.log_request_once``)."""
    form = _request_form()
    suggestions: list = []
    hold_dir = current_app.config["PHOTO_HOLD_DIR"]
    token = held_photos.valid_token(request.form.get("photo_hold")) or held_photos.new_token()
    refused = None
    activity = _heard_in()
    as_json = request.method == "POST" and _wants_json()
    if request.method == "GET":
        form.received_on.data = today_in_tokyo()
        for name, value in heard.request_prefill(activity).items() if activity else ():
            form[name].data = value
    else:
        try:  # a send again of a request already stored: answered as the first time
            replayed = intake.replayed(db.session, current_user, request.form.get("client_uuid"))
        except WorkflowError as error:
            replayed, refused = None, error.message
        if replayed is not None:
            return _logged(replayed, False, as_json)
        held_photos.purge(hold_dir)
        held_photos.drop(hold_dir, token, request.form.getlist("drop_photo"))
        refused = refused or _hold_uploads(hold_dir, token, form.photos.name)
    if form.validate_on_submit() and refused is None:
        ward_id = intake.ward_id_of(current_user)
        original = _chosen_original(ward_id)
        if original is None and request.form.get("similar_choice") != "separate" and not as_json:
            suggestions = similar.similar_open_requests(
                db.session, ward_id, form.title.data, form.description.data
            )
        if original is False:
            refused = _("関連付ける要望が見つかりません。もう一度選んでください。")
        elif suggestions:
            flash(
                _("似ている未回答の要望があります。関連付けるか、別の要望として登録するかを選んでください。"),
                "warning",
            )
        else:
            created, is_new, refused = _log_new_request(form, original, hold_dir, token, activity)
            if created is not None:
                return _logged(created, is_new, as_json)
    elif form.errors:
        refused = _("入力内容を確認してください。")
    if as_json:
        return jsonify(
            {"messages": [refused or _("入力内容を確認してください。")], "errors": form.errors}
        ), 422
    if refused:
        flash(refused, "error")
    return render_template(
        "field/new_request.html",
        form=form,
        suggestions=suggestions,
        photo_hold=token,
        held=held_photos.held(hold_dir, token),
        activity=activity,
        client_uuid=request.form.get("client_uuid", "")[:36],
    )


def _logged(created: ServiceRequest, is_new: bool, as_json: bool):
    url = url_for("field.request_detail", request_id=created.id)
    if as_json:
        answer = {"id": created.id, "reference": created.reference, "url": url, "created": is_new}
        return jsonify(answer), 201 if is_new else 200
    flash(_("要望 %(reference)s を登録しました。", reference=created.reference), "success")
    return redirect(url)


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _heard_in() -> Activity | None:
    """The activity the request is being logged from (``?activity=``, then a hidden field)."""
    raw = request.values.get("activity", "")
    if not raw:
        return None
    found = db.session.get(Activity, int(raw)) if raw.isdecimal() and len(raw) <= 9 else None
    if found is None:
        abort(404)
    if not heard.may_link(current_user, found):
        abort(403, description=_("この活動記録には要望を結び付けられません。"))
    return found


def _hold_uploads(hold_dir: str, token: str, field_name: str) -> str | None:
    """Check and hold the photos this submit sent; the message if one was refused."""
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
        return error.message
    return None


def _log_new_request(form, original, hold_dir: str, token: str, activity: Activity | None = None):
    """(the request, whether it is new, None) or (None, False, the message why not)."""
    fields = {k: v for k, v in form.data.items() if k not in ("photos", "csrf_token")}
    uploads = held_photos.uploads(hold_dir, token)
    try:
        created, is_new = intake.log_request_once(
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
            client_uuid=request.form.get("client_uuid"),
        )
        if activity is not None and is_new:  # heard in an activity: linked in the same transaction
            operations.link_request(db.session, current_user, activity, created)
        db.session.commit()
    except WorkflowError as error:
        db.session.rollback()
        return None, False, error.message
    held_photos.clear(hold_dir, token)
    return created, is_new, None


@bp.route("/csrf-token")
@login_required
def csrf_token():
    """A fresh CSRF token for the offline queue's sends (JSON, never stored by anything)."""
    response = jsonify({"csrf_token": generate_csrf()})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/sw.js")
def service_worker():
    """The service worker (static/js/sw.js) from the root, so that its scope covers the app."""
    response = current_app.send_static_file("js/sw.js")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    response.content_type = "text/javascript; charset=utf-8"
    return response


@bp.route("/offline")
def offline_page():
    """What the service worker shows for a page that needs the network while there is none:
    a page without any personal data (cached by the service worker)."""
    return render_template("field/offline.html")


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
        abort(403, description=_("要望者の個人情報を表示する権限がありません。"))
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
        _("住民への回答を記録しました。"),
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
        _("要望を取り下げました。"),
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
