"""The admin's Open311 pages: API keys, the town table (町名 → センター), the services' profiles
and extra questions. Routes of the ``admin`` blueprint (``/admin/open311/...``); the rules live in
``tracker.open311.keys`` and ``tracker.open311.service_admin``.

A new key's plain text is shown once, on the answer to the form that made it (201 Created, never
flashed into the session cookie); only its hash is stored.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..city import choices
from ..extensions import db
from ..models import Category
from ..open311 import keys, service_admin
from ..open311.changes import FieldError
from ..open311_models import ApiKey, ServiceAttribute, TownCenter
from ..states import Role
from ..wording import N_
from ..workflow import WorkflowError
from .admin import bp
from .common import roles_required
from .forms import options
from .open311_forms import ApiKeyForm, RateLimitForm, ServiceAttributeForm, ServiceProfileForm, TownForm

CITY_WIDE = (0, N_("市全体"))


def _center_options(first: tuple | None = None) -> list:
    centers = [(c.id, f"{c.ward.name} {c.name}") for c in choices.active_centers(db.session)]
    return options([first, *centers] if first else centers)


def _attempt(form, change: Callable[[], object]):
    """Run one service call and commit; on a refusal roll back and put the reason next to its
    field (or above the form). Returns what the call returned, or None when refused."""
    try:
        result = change()
        db.session.commit()
    except WorkflowError as error:
        db.session.rollback()
        field = getattr(form, error.field, None) if isinstance(error, FieldError) else None
        if field is not None:
            field.errors = [*field.errors, error.message]
        else:
            form.form_errors.append(error.message)
        return None
    return result if result is not None else True


def _post_and_back(change: Callable[[], object], success: str, target: str, **values):
    """A button without fields: run, commit, flash, back."""
    try:
        change()
        db.session.commit()
    except WorkflowError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(success, "success")
    return redirect(url_for(target, **values))


# --- API keys --------------------------------------------------------------------------------


def _key_form() -> ApiKeyForm:
    form = ApiKeyForm(prefix="key")
    form.center_id.choices = _center_options((CITY_WIDE[0], _(CITY_WIDE[1])))
    return form


def _keys_page(form: ApiKeyForm, limit_forms: dict | None = None):
    rows = keys.all_keys(db.session)
    limit_forms = limit_forms or {}
    for key in rows:
        if key.id not in limit_forms:
            limit_forms[key.id] = RateLimitForm(formdata=None, prefix=f"limit{key.id}", obj=key)
    return render_template("admin/open311_keys.html", rows=rows, form=form, limit_forms=limit_forms)


@bp.route("/open311/keys")
@roles_required(Role.ADMIN)
def api_keys():
    return _keys_page(_key_form())


@bp.route("/open311/keys", methods=["POST"])
@roles_required(Role.ADMIN)
def create_api_key():
    form = _key_form()
    if form.validate_on_submit():
        made = _attempt(
            form,
            lambda: keys.create_key(
                db.session,
                current_user,
                name=form.name.data,
                center_id=form.center_id.data or None,
                rate_limit_per_minute=form.rate_limit_per_minute.data,
            ),
        )
        if made:
            key, plain = made
            return render_template("admin/open311_key_created.html", key=key, plain=plain), 201
    return _keys_page(form)


@bp.route("/open311/keys/<int:key_id>/revoke", methods=["POST"])
@roles_required(Role.ADMIN)
def revoke_api_key(key_id: int):
    key = db.get_or_404(ApiKey, key_id)
    return _post_and_back(
        lambda: keys.revoke_key(db.session, current_user, key),
        _("APIキー「%(name)s」を無効化しました。このキーからの送信は受け付けません。", name=key.name),
        "admin.api_keys",
    )


@bp.route("/open311/keys/<int:key_id>/limit", methods=["POST"])
@roles_required(Role.ADMIN)
def set_api_key_limit(key_id: int):
    key = db.get_or_404(ApiKey, key_id)
    form = RateLimitForm(prefix=f"limit{key.id}")
    if form.validate_on_submit() and _attempt(
        form, lambda: keys.set_rate_limit(db.session, current_user, key, form.rate_limit_per_minute.data)
    ):
        flash(
            _(
                "APIキー「%(name)s」の上限を1分あたり%(limit)s回にしました。",
                name=key.name,
                limit=f"{key.rate_limit_per_minute:,}",
            ),
            "success",
        )
        return redirect(url_for("admin.api_keys"))
    return _keys_page(_key_form(), {key.id: form})


# --- the town table --------------------------------------------------------------------------


def _town_form() -> TownForm:
    form = TownForm(prefix="town")
    form.center_id.choices = _center_options()
    return form


def _towns_page(form: TownForm):
    return render_template("admin/open311_towns.html", rows=service_admin.town_rows(db.session), form=form)


@bp.route("/open311/towns")
@roles_required(Role.ADMIN)
def towns():
    return _towns_page(_town_form())


@bp.route("/open311/towns", methods=["POST"])
@roles_required(Role.ADMIN)
def add_town():
    form = _town_form()
    if form.validate_on_submit() and _attempt(
        form,
        lambda: service_admin.add_town(db.session, current_user, form.town_name.data, form.center_id.data),
    ):
        flash(_("町名「%(name)s」を登録しました。", name=form.town_name.data.strip()), "success")
        return redirect(url_for("admin.towns"))
    return _towns_page(form)


@bp.route("/open311/towns/<int:town_id>/delete", methods=["POST"])
@roles_required(Role.ADMIN)
def delete_town(town_id: int):
    town = db.get_or_404(TownCenter, town_id)
    name = town.town_name
    return _post_and_back(
        lambda: service_admin.delete_town(db.session, current_user, town),
        _("町名「%(name)s」を削除しました。", name=name),
        "admin.towns",
    )


# --- services ---------------------------------------------------------------------------------


@bp.route("/open311/services")
@roles_required(Role.ADMIN)
def services():
    return render_template("admin/open311_services.html", rows=service_admin.service_rows(db.session))


def _service_page(category: Category, profile_form=None, attribute_form=None):
    profile = service_admin.profile_of(db.session, category)
    return render_template(
        "admin/open311_service.html",
        category=category,
        profile_form=profile_form or ServiceProfileForm(formdata=None, prefix="profile", obj=profile),
        attribute_form=attribute_form or ServiceAttributeForm(formdata=None, prefix="attribute"),
        attributes=service_admin.attributes_of(db.session, category.id),
    )


@bp.route("/open311/services/<int:category_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_service(category_id: int):
    category = db.get_or_404(Category, category_id)
    if not category.active:
        flash(
            _("分野「%(name)s」は無効です。有効な分野だけがサービスとして公開されます。", name=category.name),
            "error",
        )
        return redirect(url_for("admin.services"))
    form = ServiceProfileForm(prefix="profile")
    if form.validate_on_submit() and _attempt(
        form, lambda: service_admin.save_profile(db.session, current_user, category, form.data)
    ):
        flash(_("サービス「%(name)s」の説明を保存しました。", name=category.name), "success")
        return redirect(url_for("admin.edit_service", category_id=category.id))
    return _service_page(category, profile_form=form if form.is_submitted() else None)


@bp.route("/open311/services/<int:category_id>/attributes", methods=["POST"])
@roles_required(Role.ADMIN)
def new_attribute(category_id: int):
    category = db.get_or_404(Category, category_id)
    form = ServiceAttributeForm(prefix="attribute")
    if form.validate_on_submit() and _attempt(
        form, lambda: service_admin.add_attribute(db.session, current_user, category, form.data)
    ):
        flash(_("質問「%(code)s」を追加しました。", code=form.code.data.strip()), "success")
        return redirect(url_for("admin.edit_service", category_id=category.id))
    return _service_page(category, attribute_form=form)


@bp.route("/open311/attributes/<int:attribute_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_attribute(attribute_id: int):
    attribute = db.get_or_404(ServiceAttribute, attribute_id)
    form = ServiceAttributeForm(prefix="attribute")
    if not form.is_submitted():
        form = ServiceAttributeForm(formdata=None, prefix="attribute", obj=attribute)
        form.values.data = service_admin.values_text(attribute.values)
    elif form.validate_on_submit() and _attempt(
        form, lambda: service_admin.update_attribute(db.session, current_user, attribute, form.data)
    ):
        flash(_("質問「%(code)s」を更新しました。", code=attribute.code), "success")
        return redirect(url_for("admin.edit_service", category_id=attribute.category_id))
    return render_template("admin/open311_attribute.html", attribute=attribute, form=form)


@bp.route("/open311/attributes/<int:attribute_id>/delete", methods=["POST"])
@roles_required(Role.ADMIN)
def delete_attribute(attribute_id: int):
    attribute = db.get_or_404(ServiceAttribute, attribute_id)
    code, category_id = attribute.code, attribute.category_id
    return _post_and_back(
        lambda: service_admin.delete_attribute(db.session, current_user, attribute),
        _("質問「%(code)s」を削除しました。", code=code),
        "admin.edit_service",
        category_id=category_id,
    )
