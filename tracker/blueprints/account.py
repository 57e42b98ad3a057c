"""The account's own security: the second factor (setup, login step, recovery codes, turning it
off) and the gate that keeps a user on the password change or the second factor's setup.

The gate (``hold_until_secured``): a user whose password an admin set answers every route but
the password change and logout with the password change form (403: whatever was asked was not
done); then an admin or ward manager (``mfa.REQUIRED_ROLES``, or the app's
``MFA_REQUIRED_ROLES``) without a confirmed second factor is sent to its setup page (GET) or
answered with it (403, anything else). The rules are in ``tracker.safeguards.mfa``.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..model_types import utcnow
from ..safeguards import mfa, throttle
from ..wording import N_
from ..workflow import WorkflowError
from . import second_step
from .auth import finish_login
from .forms import DisableMfaForm, PasswordCheckForm, PasswordForm, SecondFactorForm

bp = Blueprint("account", __name__)

PASSWORD_GATE_OPEN = frozenset({"static", "auth.logout", "auth.password"})
SETUP_GATE_OPEN = frozenset(
    {"static", "auth.logout", "auth.password", "account.mfa", "account.start_mfa", "account.confirm_mfa"}
)
WRONG_CODE = N_("確認コードが正しくありません。")


def _required_roles():
    return current_app.config.get("MFA_REQUIRED_ROLES", mfa.REQUIRED_ROLES)


@bp.before_app_request
def hold_until_secured():
    """Runs after ``auth.check_login_session`` (auth's blueprint is registered first)."""
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static" or not current_user.is_authenticated:
        return None
    user = current_user._get_current_object()
    if user.must_change_password:
        if endpoint in PASSWORD_GATE_OPEN:
            return None
        return render_template("auth/password.html", form=PasswordForm(formdata=None), held=True), 403
    # asked on each request (one lookup by key): a reset or a change of role takes effect at once
    if not mfa.is_required(user, _required_roles()) or mfa.is_confirmed(db.session, user):
        return None
    if endpoint in SETUP_GATE_OPEN:
        return None
    if request.method == "GET":
        flash(_("二段階認証を設定するまで、ほかの画面は使えません。"), "warning")
        return redirect(url_for("account.mfa"))
    return _setup_page(user, status=403, held=True)


# --- the login's second step ---------------------------------------------------------------


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    if current_user.is_authenticated:
        return redirect(url_for("auth.home"))
    user = second_step.pending_user()
    if user is None:
        second_step.clear()
        flash(
            _("確認コードの入力時間が過ぎたか、ログインが中断されました。もう一度ログインしてください。"),
            "warning",
        )
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        outcome = throttle.attempt_second_factor(
            db.session,
            current_app.config,
            user,
            request.remote_addr,
            lambda: mfa.check_second_factor(db.session, user, form.code.data, utcnow()),
        )
        db.session.commit()  # the code used up, or the failure counted and logged
        if outcome.retry_after:
            abort(429, retry_after=outcome.retry_after)  # the code was not even checked
        if outcome.user is not None:
            return finish_login(user, second_step.pending()["next"])
        form.code.errors.append(_(WRONG_CODE))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login_code.html", form=form), status


# --- setting it up and managing it ---------------------------------------------------------


def _setup_page(user, *, status: int = 200, held: bool = False, **forms):
    secret = mfa.pending_secret(db.session, user)
    uri = mfa.provisioning_uri(user, secret) if secret else None
    return render_template(
        "account/mfa.html",
        confirmed=mfa.is_confirmed(db.session, user),
        required=mfa.is_required(user, _required_roles()),
        held=held,
        secret=secret,
        uri=uri,
        qr=mfa.qr_data_uri(uri) if uri else None,
        unused_codes=mfa.unused_recovery_code_count(db.session, user),
        confirm_form=forms.get("confirm_form") or SecondFactorForm(formdata=None),
        codes_form=forms.get("codes_form") or PasswordCheckForm(formdata=None, prefix="codes"),
        disable_form=forms.get("disable_form") or DisableMfaForm(formdata=None, prefix="disable"),
    ), status


def _codes_page(codes: list[str]):
    """New recovery codes, shown once as the POST's own answer: never put in a cookie or a URL
    on the way to a redirect."""
    return render_template("account/recovery_codes.html", codes=codes)


@bp.route("/account/mfa", endpoint="mfa")
@login_required
def mfa_page():
    return _setup_page(current_user)


@bp.route("/account/mfa/start", methods=["POST"])
@login_required
def start_mfa():
    try:
        mfa.start_setup(db.session, current_user)
        db.session.commit()
    except WorkflowError as error:
        db.session.rollback()
        flash(error.message, "error")
    return redirect(url_for("account.mfa"))


@bp.route("/account/mfa/confirm", methods=["POST"])
@login_required
def confirm_mfa():
    form = SecondFactorForm()
    if form.validate_on_submit():
        try:
            codes = mfa.confirm_setup(db.session, current_user, form.code.data, utcnow())
            db.session.commit()
        except WorkflowError as error:
            db.session.rollback()
            form.code.errors.append(error.message)
        else:
            flash(_("二段階認証を設定しました。次回からログイン時に確認コードを入力します。"), "success")
            return _codes_page(codes)
    return _setup_page(current_user, status=422, confirm_form=form)


@bp.route("/account/mfa/recovery-codes", methods=["POST"])
@login_required
def regenerate_recovery_codes():
    form = PasswordCheckForm(prefix="codes")
    if form.validate_on_submit():
        try:
            codes = mfa.regenerate_recovery_codes(db.session, current_user, form.password.data, utcnow())
            db.session.commit()
        except WorkflowError as error:
            db.session.rollback()
            form.password.errors.append(error.message)
        else:
            flash(_("リカバリーコードを作り直しました。以前のコードは使えません。"), "success")
            return _codes_page(codes)
    return _setup_page(current_user, status=422, codes_form=form)


@bp.route("/account/mfa/disable", methods=["POST"])
@login_required
def disable_mfa():
    form = DisableMfaForm(prefix="disable")
    if form.validate_on_submit():
        try:
            mfa.disable(db.session, current_user, form.password.data, form.code.data, utcnow())
            db.session.commit()
        except WorkflowError as error:
            db.session.rollback()
            (form.password if "パスワード" in error.template else form.code).errors.append(error.message)
            flash(error.message, "error")  # also where the page offers no such form (required roles)
        else:
            flash(_("二段階認証を解除しました。"), "success")
            return redirect(url_for("account.mfa"))
    return _setup_page(current_user, status=422, disable_form=form)
