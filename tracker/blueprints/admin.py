"""Administration (地域政策課): user accounts, the city's master data and settings; the admin's
board of background work is ``admin_jobs`` (routes of this same blueprint).

The rules live in ``accounts`` and ``masterdata_admin``, and a form's choices in
``city.choices``; each view parses its form, calls one of their functions, commits, and
redirects (or shows the form again with the reason).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..activity_models import ActivityKind
from ..city import choices, masterdata_admin
from ..effects import city_settings, funds
from ..extensions import db
from ..formatting import fiscal_year_label, fiscal_year_of, thousand_yen, today_in_tokyo
from ..models import Bureau, Category, Center, User, Ward
from ..safeguards import accounts, admin_log, mfa
from ..states import Role
from ..wording import N_
from ..workflow import WorkflowError
from .activity_forms import ActivityKindForm
from .common import form_errors, int_arg, paginate, roles_required
from .forms import CenterForm, NameForm, ResetPasswordForm, UserForm, WardForm, WardFundForm, options

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The bureaus, categories and activity kinds share one set of views: a name, an order and an
# active flag (and an activity kind's heading).
ENTRIES = {
    "bureaus": (Bureau, N_("局")),
    "categories": (Category, N_("分野")),
    "activity_kinds": (ActivityKind, N_("活動区分")),
}
SWITCHABLE = {"centers": Center, "bureaus": Bureau, "categories": Category, "activity_kinds": ActivityKind}
CENTER_FIELDS = ["ward_id", "name", "note", "sort_order", "active"]
ENTRY_FIELDS = ["name", "sort_order", "active"]
KIND_FIELDS = ["name", "group", "sort_order", "active"]


def _entry_form(kind: str, entry=None) -> NameForm:
    form_class = ActivityKindForm if kind == "activity_kinds" else NameForm
    return form_class(prefix=kind, obj=entry if request.method == "GET" else None)


def _entry_fields(kind: str) -> list[str]:
    return KIND_FIELDS if kind == "activity_kinds" else ENTRY_FIELDS


NONE_CHOSEN = (0, "—")


def _commit(change: Callable[[], object], success: str, labels: tuple[str, ...] = (), **params) -> bool:
    """Run one service call and commit it with its record in the admin change log
    (``tracker.safeguards.admin_log``); on a broken rule roll back and flash the reason.

    ``success`` is a marked Japanese template with ``%(name)s`` placeholders: the change log
    keeps it in Japanese (the city's record), the flash shows it in the user's language, with
    the params named in ``labels`` (marked labels, not data) translated too."""
    try:
        with admin_log.recording(db.session, current_user, success % params if params else success):
            change()
        db.session.commit()
    except WorkflowError as error:
        db.session.rollback()
        flash(error.message, "error")
        return False
    shown = {key: _(value) if key in labels else value for key, value in params.items()}
    flash(_(success, **shown), "success")
    return True


# --- users ---------------------------------------------------------------------------------


@bp.route("/users")
@roles_required(Role.ADMIN)
def users():
    role = request.args.get("role") or None
    if role not in Role._value2member_map_:
        role = None
    active = request.args.get("active") if request.args.get("active") in ("1", "0") else ""
    statement = accounts.users_statement(Role(role) if role else None, active == "1" if active else None)
    page = paginate(statement)
    return render_template("admin/users.html", page=page, role=role, active=active, roles=list(Role))


def _ward_choices() -> list[tuple[int, str]]:
    return [(w.id, w.name) for w in choices.wards(db.session)]


def _user_form(user: User | None = None) -> UserForm:
    """The user form with its choices: active centers and bureaus, and the user's own ones."""
    form = UserForm(obj=user) if user and request.method == "GET" else UserForm()
    places = accounts.assignable_places(db.session, user)
    form.ward_id.choices = options([NONE_CHOSEN, *_ward_choices()])
    form.center_id.choices = options(
        [NONE_CHOSEN, *((c.id, f"{c.ward.name} {c.name}") for c in places.centers)]
    )
    form.bureau_id.choices = options([NONE_CHOSEN, *((b.id, b.name) for b in places.bureaus)])
    if user:
        del form.login, form.password
        if request.method == "GET":
            form.ward_id.data = user.ward_id or 0
            form.center_id.data = user.center_id or 0
            form.bureau_id.data = user.bureau_id or 0
    return form


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_user():
    form = _user_form()
    if form.validate_on_submit() and _commit(
        lambda: accounts.create_user(db.session, form.data),
        N_("ユーザー「%(name)s」を登録しました。初期パスワードを本人に伝えてください。"),
        name=form.display_name.data.strip(),
    ):
        return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_user(user_id: int):
    user = db.get_or_404(User, user_id)
    form = _user_form(user)
    if form.validate_on_submit() and _commit(
        lambda: accounts.edit_user(db.session, current_user, user, form.data),
        N_("ユーザー「%(name)s」を更新しました。"),
        name=form.display_name.data.strip(),
    ):
        return redirect(url_for("admin.users"))
    return render_template(
        "admin/user_form.html",
        form=form,
        user=user,
        password_form=ResetPasswordForm(formdata=None),
        has_mfa=mfa.mfa_of(db.session, user) is not None,
        mfa_confirmed=mfa.is_confirmed(db.session, user),
    )


def _set_user_active(user_id: int, active: bool):
    user = db.get_or_404(User, user_id)
    done = (
        N_("「%(name)s」を有効にしました。")
        if active
        else N_("「%(name)s」を無効にしました。このユーザーはログインできません。")
    )
    _commit(lambda: accounts.set_active(current_user, user, active), done, name=user.display_name)
    return redirect(url_for("admin.edit_user", user_id=user_id))


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@roles_required(Role.ADMIN)
def deactivate_user(user_id: int):
    return _set_user_active(user_id, False)


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@roles_required(Role.ADMIN)
def reactivate_user(user_id: int):
    return _set_user_active(user_id, True)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@roles_required(Role.ADMIN)
def reset_password(user_id: int):
    user = db.get_or_404(User, user_id)
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        flash(form_errors(form) or _("入力内容を確認してください。"), "error")
    else:
        _commit(
            lambda: accounts.reset_password(user, form.password.data),
            N_("「%(name)s」のパスワードを再設定しました。次のログインで変更が求められます。"),
            name=user.display_name,
        )
    return redirect(url_for("admin.edit_user", user_id=user_id))


@bp.route("/users/<int:user_id>/mfa/reset", methods=["POST"])
@roles_required(Role.ADMIN)
def reset_mfa(user_id: int):
    user = db.get_or_404(User, user_id)
    _commit(
        lambda: mfa.admin_reset(db.session, user),
        N_("「%(name)s」の二段階認証をリセットしました。次のログインで設定し直します。"),
        name=user.display_name,
    )
    return redirect(url_for("admin.edit_user", user_id=user_id))


# --- master data ---------------------------------------------------------------------------


def _center_form(center: Center | None = None) -> CenterForm:
    """A center's ward is chosen when it is added and never changed afterwards."""
    form = CenterForm(prefix="center", obj=center if request.method == "GET" else None)
    if center:
        del form.ward_id
    else:
        form.ward_id.choices = options(_ward_choices())
        if request.method == "GET":
            form.ward_id.data = int_arg("ward_id")
    return form


def _fund_form() -> WardFundForm:
    """Shown filled in from the query string (a cell of the fund table), else for this fiscal year."""
    form = WardFundForm(prefix="fund")
    form.ward_id.choices = options(_ward_choices())
    if request.method == "GET":
        ward_id = int_arg("ward_id")
        year = int_arg("fiscal_year", 1989, 2099) or fiscal_year_of(today_in_tokyo())
        form.ward_id.data, form.fiscal_year.data = ward_id, year
        form.allocated_yen.data = funds.allocated_yen(db.session, ward_id, year)
    form.fiscal_year.offer(masterdata_admin.fund_years(today_in_tokyo()))
    return form


def _form_page(form, title: str, fields: list[str], submit: str):
    return render_template("admin/master_form.html", form=form, title=title, fields=fields, submit=submit)


@bp.route("/master")
@roles_required(Role.ADMIN)
def master():
    data = masterdata_admin.overview(db.session, {kind: model for kind, (model, _label) in ENTRIES.items()})
    return render_template(
        "admin/master.html",
        wards=data.wards,
        entries=data.entries,
        entry_labels={kind: label for kind, (_model, label) in ENTRIES.items()},
        funds=data.funds,
        center_form=_center_form(),
        entry_forms={kind: _entry_form(kind) for kind in ENTRIES},
        entry_fields={kind: _entry_fields(kind) for kind in ENTRIES},
        fund_form=_fund_form(),
    )


@bp.route("/master/wards/<int:ward_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_ward(ward_id: int):
    ward = db.get_or_404(Ward, ward_id)
    form = WardForm(obj=ward) if request.method == "GET" else WardForm()
    if form.validate_on_submit() and _commit(
        lambda: masterdata_admin.update_ward(db.session, ward, form.data),
        N_("%(name)sの情報を更新しました。"),
        name=form.name.data.strip(),
    ):
        return redirect(url_for("admin.master"))
    fields = ["name", "population", "households", "area_km2"]
    title = _("%(name)s (区コード %(code)s) を編集", name=ward.name, code=ward.code)
    return _form_page(form, title, fields, _("保存する"))


@bp.route("/master/centers/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_center():
    form = _center_form()
    if form.validate_on_submit() and _commit(
        lambda: masterdata_admin.add_center(db.session, form.data),
        N_("まちづくりセンター「%(name)s」を追加しました。"),
        name=form.name.data.strip(),
    ):
        return redirect(url_for("admin.master"))
    return _form_page(form, _("まちづくりセンターを追加"), CENTER_FIELDS, _("追加する"))


@bp.route("/master/centers/<int:center_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_center(center_id: int):
    center = db.get_or_404(Center, center_id)
    form = _center_form(center)
    if form.validate_on_submit() and _commit(
        lambda: masterdata_admin.update_center(db.session, center, form.data),
        N_("まちづくりセンター「%(name)s」を更新しました。"),
        name=form.name.data.strip(),
    ):
        return redirect(url_for("admin.master"))
    title = _("%(name)s を編集", name=f"{center.ward.name} {center.name}")
    return _form_page(form, title, CENTER_FIELDS[1:], _("保存する"))


@bp.route("/master/<any(bureaus, categories, activity_kinds):kind>/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_entry(kind: str):
    model, label = ENTRIES[kind]
    form = _entry_form(kind)
    if form.validate_on_submit() and _commit(
        lambda: masterdata_admin.add_entry(db.session, model, form.data),
        N_("%(kind)s「%(name)s」を追加しました。"),
        labels=("kind",),
        kind=label,
        name=form.name.data.strip(),
    ):
        return redirect(url_for("admin.master"))
    return _form_page(form, _("%(kind)sを追加", kind=_(label)), _entry_fields(kind), _("追加する"))


@bp.route(
    "/master/<any(bureaus, categories, activity_kinds):kind>/<int:entry_id>/edit", methods=["GET", "POST"]
)
@roles_required(Role.ADMIN)
def edit_entry(kind: str, entry_id: int):
    model, label = ENTRIES[kind]
    entry = db.get_or_404(model, entry_id)
    form = _entry_form(kind, entry)
    if form.validate_on_submit() and _commit(
        lambda: masterdata_admin.update_entry(db.session, entry, form.data),
        N_("%(kind)s「%(name)s」を更新しました。"),
        labels=("kind",),
        kind=label,
        name=form.name.data.strip(),
    ):
        return redirect(url_for("admin.master"))
    title = _("%(kind)s「%(name)s」を編集", kind=_(label), name=entry.name)
    return _form_page(form, title, _entry_fields(kind), _("保存する"))


@bp.route(
    "/master/<any(centers, bureaus, categories, activity_kinds):kind>/<int:entry_id>/active", methods=["POST"]
)
@roles_required(Role.ADMIN)
def set_entry_active(kind: str, entry_id: int):
    """Deactivate (``active=0``) or reactivate (``active=1``) a center, bureau or category."""
    entry = db.get_or_404(SWITCHABLE[kind], entry_id)
    active = request.form.get("active") == "1"
    _commit(
        lambda: masterdata_admin.set_active(db.session, entry, active),
        N_("「%(name)s」を有効にしました。") if active else N_("「%(name)s」を無効にしました。"),
        name=entry.name,
    )
    return redirect(url_for("admin.master"))


# --- the city's settings --------------------------------------------------------------------


@bp.route("/settings")
@roles_required(Role.ADMIN)
def settings():
    rows = [(s, city_settings.is_on(db.session, s)) for s in city_settings.SETTINGS.values()]
    return render_template("admin/settings.html", rows=rows)


@bp.route("/settings", methods=["POST"])
@roles_required(Role.ADMIN)
def set_setting():
    """Turn the city setting ``key`` on (``on=1``) or off (``on=0``); the change log keeps old
    and new."""
    setting = city_settings.SETTINGS.get(request.form.get("key", ""))
    if setting is None:
        flash(_("変更する設定を選んでください。"), "error")
        return redirect(url_for("admin.settings"))
    on = request.form.get("on") == "1"
    was_on = city_settings.is_on(db.session, setting)
    _commit(
        lambda: city_settings.set_on(db.session, setting, on),
        N_("「%(name)s」を%(old)sから%(new)sにしました。"),
        labels=("name", "old", "new"),
        name=setting.label,
        old=N_("オン") if was_on else N_("オフ"),
        new=N_("オン") if on else N_("オフ"),
    )
    return redirect(url_for("admin.settings"))


@bp.route("/master/funds", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def ward_fund():
    form = _fund_form()
    if form.validate_on_submit():
        ward = db.session.get(Ward, form.ward_id.data)
        if _commit(
            lambda: masterdata_admin.set_ward_fund(
                db.session, form.ward_id.data, form.fiscal_year.data, form.allocated_yen.data
            ),
            N_("%(ward)sの%(year)sのまちづくり推進経費を%(amount)sに設定しました。"),
            ward=ward.name,
            year=fiscal_year_label(form.fiscal_year.data),
            amount=thousand_yen(form.allocated_yen.data),
        ):
            return redirect(url_for("admin.master"))
    return _form_page(
        form, _("まちづくり推進経費を設定"), ["ward_id", "fiscal_year", "allocated_yen"], _("設定する")
    )
