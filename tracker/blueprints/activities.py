"""活動記録: the liaison staff's field work. The list (filters, keyset pages, CSV/XLSX), logging
and editing an activity, its page with the requests heard in it and its history, and linking a
request of the ward to it. Liaisons work on their center's activities, ward managers on the
ward's, the admin on all; bureau staff have none (403).

The rules and writes are ``tracker.fieldwork`` (``operations``, ``heard``); the list is
``tracker.finding.activities``; the form's choices ``tracker.city.activity_choices``. The
organisations of each center are kept on ``activity_organisations``.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from ..activity_models import Activity
from ..city import activity_choices
from ..effects.support import CONFLICT_MESSAGE, WorkflowConflict
from ..extensions import db
from ..fieldwork import heard, history, operations
from ..fieldwork.access import can_edit_activity, can_view_activity
from ..finding import activities, activity_exports, exports
from ..finding.listing import DIRECTION_LABELS
from ..formatting import today_in_tokyo
from ..models import ServiceRequest
from ..states import Role
from .activity_forms import ActivityForm, LinkRequestForm, UnlinkRequestForm
from .common import roles_required, submitted_version
from .forms import options

bp = Blueprint("activities", __name__, url_prefix="/activities")

ACTIVITY_ROLES = (Role.LIAISON, Role.WARD_MANAGER, Role.ADMIN)
NONE_CHOSEN = (0, "—")


@bp.app_template_global()
def heard_in(found: ServiceRequest) -> Activity | None:
    """The activity a request was heard in, when the viewer may see it (the request's page)."""
    return heard.activity_of_request(db.session, current_user, found)


def visible_activity(activity_id: int) -> Activity:
    found = db.session.get(Activity, activity_id)
    if found is None:
        abort(404)
    if not can_view_activity(current_user, found):
        abort(403, description=_("この活動記録を見る権限がありません。"))
    return found


@bp.route("/")
@roles_required(*ACTIVITY_ROLES)
def index():
    """The activities in the user's scope: filtered, sorted, keyset-paged; ``?format=`` exports."""
    choices = activities.choices_for(db.session, current_user)
    flt = activities.parse(request.args, choices, me=current_user.id)
    fmt = request.args.get("format")
    if fmt in exports.FORMATS:
        return activity_exports.export(db.session, current_user, flt, fmt)
    if fmt:
        flt.notices.append(_("出力形式が不正なため、一覧を表示しています。"))
    size = current_app.config.get("PAGE_SIZE", activities.PAGE_SIZE)
    page, counts = activities.activity_page(db.session, current_user, flt, size=size)

    def list_url(params: dict | None = None, **more) -> str:
        return url_for("activities.index", **{**(flt.params() if params is None else params), **more})

    hidden = [(name, value) for name, value in flt.params().items()]
    return render_template(
        "activities/index.html",
        page=page,
        counts=counts,
        flt=flt,
        choices=choices,
        list_url=list_url,
        hidden=hidden,
        chips=flt.chips(choices),
        direction_labels=DIRECTION_LABELS,
    )


def _activity_form(activity: Activity | None = None) -> ActivityForm:
    """The form with the user's choices; on GET, filled in from ``activity`` or the defaults."""
    if request.method == "GET" and activity is not None:
        form = ActivityForm(obj=activity, version=str(activity.version))
        form.liaison_ids.data = [user.id for user in activity.liaisons]
        form.organisation_id.data = activity.organisation_id or 0
    else:
        form = ActivityForm()
    centers = list(activity_choices.loggable_centers(db.session, current_user))
    if activity is not None and activity.center not in centers:
        centers.append(activity.center)
    form.center_id.choices = options([(c.id, c.name) for c in centers])
    form.kind_id.choices = {
        group: options(pairs) for group, pairs in activity_choices.kind_groups(db.session).items()
    }
    organisations = activity_choices.organisations_by_center(db.session, centers)
    form.organisation_id.choices = {"": options([NONE_CHOSEN])} | {
        name: options(pairs) for name, pairs in organisations.items()
    }
    ward_ids = {c.ward_id for c in centers}
    liaisons = activity_choices.liaisons_of_wards(db.session, ward_ids)
    form.liaison_ids.choices = options([(u.id, u.display_name) for u in liaisons])
    if request.method == "GET" and activity is None:
        form.held_on.data = today_in_tokyo()
        if current_user.role == Role.LIAISON:
            form.center_id.data = current_user.center_id
            form.liaison_ids.data = [current_user.id]
        elif len(centers) == 1:
            form.center_id.data = centers[0].id
    return form


def _refused(form: ActivityForm, error: operations.ActivityError) -> str | None:
    """Put the refusal next to its field; the message for the form's top when it has none."""
    field = error.field if error.field in form._fields else None
    if field is None:
        return error.message
    form[field].errors = [*form[field].errors, error.message]
    return None


def _form_page(form: ActivityForm, activity: Activity | None, refusal: str | None = None, status: int = 200):
    page = render_template("activities/form.html", form=form, activity=activity, refusal=refusal)
    return page, status


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*ACTIVITY_ROLES)
def new():
    """Log an activity: 活動日 (today), 活動区分 and the center (a liaison's own) are all it needs."""
    form = _activity_form()
    if request.method == "GET":
        return _form_page(form, None)
    if not form.validate_on_submit():
        return _form_page(form, None, _("入力内容を確認してください。"), 422)
    try:
        created = operations.log_activity(db.session, current_user, form.values(), today=today_in_tokyo())
        db.session.commit()
    except operations.ActivityError as error:
        db.session.rollback()
        return _form_page(form, None, _refused(form, error) or _("入力内容を確認してください。"), 422)
    flash(_("活動を記録しました。"), "success")
    return redirect(url_for("activities.detail", activity_id=created.id))


@bp.route("/<int:activity_id>/edit", methods=["GET", "POST"])
@roles_required(*ACTIVITY_ROLES)
def edit(activity_id: int):
    activity = visible_activity(activity_id)
    if not can_edit_activity(current_user, activity):
        abort(403, description=_("この活動記録は編集できません。"))
    form = _activity_form(activity)
    if request.method == "GET":
        return _form_page(form, activity)
    if not form.validate_on_submit():
        return _form_page(form, activity, _("入力内容を確認してください。"), 422)
    try:
        operations.edit_activity(
            db.session,
            current_user,
            activity,
            form.values(),
            today=today_in_tokyo(),
            expected_version=submitted_version(form),
        )
        db.session.commit()
    except (WorkflowConflict, StaleDataError):
        db.session.rollback()
        return _form_page(form, activity, CONFLICT_MESSAGE, 409)
    except operations.ActivityError as error:
        db.session.rollback()
        return _form_page(form, activity, _refused(form, error) or _("入力内容を確認してください。"), 422)
    flash(_("活動記録を更新しました。"), "success")
    return redirect(url_for("activities.detail", activity_id=activity.id))


def _detail_page(activity: Activity, link_form: LinkRequestForm | None = None, refusal: str | None = None):
    return render_template(
        "activities/detail.html",
        activity=activity,
        heard_requests=activities.requests_heard(db.session, activity),
        timeline=history.timeline(db.session, activity),
        may_edit=heard.may_link(current_user, activity),
        link_form=link_form or LinkRequestForm(),
        refusal=refusal,
    )


@bp.route("/<int:activity_id>")
@roles_required(*ACTIVITY_ROLES)
def detail(activity_id: int):
    return _detail_page(visible_activity(activity_id))


def _linkable(activity_id: int) -> Activity:
    activity = visible_activity(activity_id)
    if not heard.may_link(current_user, activity):
        abort(403, description=_("この活動記録は編集できません。"))
    return activity


@bp.route("/<int:activity_id>/link", methods=["POST"])
@roles_required(*ACTIVITY_ROLES)
def link(activity_id: int):
    """Link a request of the ward, named by its reference number, to the activity."""
    activity = _linkable(activity_id)
    form = LinkRequestForm()
    if not form.validate_on_submit():
        return _detail_page(activity, form), 422
    try:
        found = heard.request_by_reference(db.session, form.reference.data)
        operations.link_request(db.session, current_user, activity, found)
        db.session.commit()
    except operations.ActivityError as error:
        db.session.rollback()
        form.reference.errors = [*form.reference.errors, error.message]
        return _detail_page(activity, form), 422
    flash(_("要望 %(reference)s をこの活動に結び付けました。", reference=found.reference), "success")
    return redirect(url_for("activities.detail", activity_id=activity.id))


@bp.route("/<int:activity_id>/unlink", methods=["POST"])
@roles_required(*ACTIVITY_ROLES)
def unlink(activity_id: int):
    activity = _linkable(activity_id)
    form = UnlinkRequestForm()
    found = db.session.get(ServiceRequest, form.request_id.data) if form.validate_on_submit() else None
    if found is None:
        return _detail_page(activity, refusal=_("結び付けを解除する要望が見つかりません。")), 422
    try:
        operations.unlink_request(db.session, current_user, activity, found)
        db.session.commit()
    except operations.ActivityError as error:
        db.session.rollback()
        return _detail_page(activity, refusal=error.message), 422
    flash(_("要望 %(reference)s との結び付けを解除しました。", reference=found.reference), "success")
    return redirect(url_for("activities.detail", activity_id=activity.id))
