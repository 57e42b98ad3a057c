"""Log in, log out, change password; the home page sends each role to its own start page.

Sessions: a login starts a new session; every request checks that the session is still valid
(not ended by a logout elsewhere, a password change or reset, or deactivation: see
``accounts.load_session_user``) and not idle for longer than ``IDLE_TIMEOUT_MINUTES``.
Failed logins are throttled per login ID and per client IP (``LOGIN_LIMIT_PER_*``).
A user with a second factor is logged in only after its code (``account.login_code``).
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db, limiter
from ..safeguards import accounts, mfa
from ..states import Role
from ..workflow import WorkflowError
from . import second_step
from .forms import LoginForm, PasswordForm

bp = Blueprint("auth", __name__)

HOME_BY_ROLE = {
    Role.LIAISON: "field.queue",
    Role.WARD_MANAGER: "ward.triage",
    Role.BUREAU_STAFF: "bureau.inbox",
    Role.ADMIN: "admin.users",
}


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, not protocol-relative."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


LAST_SEEN_KEY = "_last_seen"  # epoch seconds of the session's latest request
KEPT_ACROSS_LOGIN = ("lang",)  # a new session on login keeps only the chosen language


def _start_session(user) -> None:
    """A fresh session for ``user``: nothing of the previous one (CSRF token included) survives."""
    kept = {key: session[key] for key in KEPT_ACROSS_LOGIN if key in session}
    session.clear()
    session.update(kept)
    login_user(user)
    session[LAST_SEEN_KEY] = int(time.time())


def _end_session() -> None:
    kept = {key: session[key] for key in KEPT_ACROSS_LOGIN if key in session}
    logout_user()
    session.clear()
    session.update(kept)


def _login_again(message: str):
    """End this session; GET requests come back to the same page after logging in."""
    _end_session()
    flash(message, "warning")
    if request.endpoint == "auth.login":
        return None
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target))


@bp.before_app_request
def check_login_session():
    """Each request decides its user from its own session, and ends a session that was ended
    elsewhere or left idle. (Flask-Login caches the user in ``g``; it is dropped here so a
    shared app context, as in the tests, cannot carry one request's user into the next.)"""
    g.pop("_login_user", None)
    if request.endpoint == "static" or "_user_id" not in session:
        return None
    now = int(time.time())
    last_seen = session.get(LAST_SEEN_KEY)
    if not isinstance(last_seen, int) or now - last_seen > current_app.config["IDLE_TIMEOUT_MINUTES"] * 60:
        return _login_again("一定時間操作がなかったためログアウトしました。")
    if not current_user.is_authenticated:
        return _login_again("このセッションは終了しています。もう一度ログインしてください。")
    session[LAST_SEEN_KEY] = now
    return None


def _account_key() -> str:
    """The login ID being tried, normalised as ``authenticate`` does, so each account has one count."""
    return "login-account:" + (request.form.get("login") or "").strip().lower()


def _login_failed(response) -> bool:
    """Only failed attempts count: a login that fails shows the form again (200); a success
    redirects (302); a refused CSRF token (400) tried no password."""
    return response.status_code == 200


@bp.route("/")
@login_required
def home():
    return redirect(url_for(HOME_BY_ROLE[current_user.role]))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_IP"],
    key_func=get_remote_address,
    methods=["POST"],
    deduct_when=_login_failed,
    scope="login-ip",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_login_failed,
    scope="login-account",
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("auth.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = accounts.authenticate(db.session, form.login.data, form.password.data)
        if user is None:
            flash("ログインIDまたはパスワードが正しくありません。", "error")
        else:
            needs_code = mfa.is_confirmed(db.session, user)  # then logged in only after the code
            db.session.commit()  # a legacy password hash was upgraded to argon2id
            if needs_code:
                second_step.begin(user, _safe_next(form.next.data), KEPT_ACROSS_LOGIN)
                return redirect(url_for("account.login_code"))
            return finish_login(user, form.next.data)
    return render_template("auth/login.html", form=form)


def finish_login(user, next_target: str | None):
    """Log ``user`` in (all factors are right) and send them on: to the password change first
    if an admin set their password."""
    _start_session(user)
    flash(f"{user.display_name}さん、ようこそ。", "success")
    if user.must_change_password:
        flash("初期パスワードを変更してください。", "warning")
        return redirect(url_for("auth.password"))
    return redirect(_safe_next(next_target) or url_for("auth.home"))


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    accounts.end_sessions(current_user)  # this and every other session of the user
    db.session.commit()
    _end_session()
    flash("ログアウトしました。", "success")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        if form.new.data != form.confirm.data:
            flash("新しいパスワードが確認用と一致しません。", "error")
        else:
            try:
                accounts.change_password(current_user, form.current.data, form.new.data)
                db.session.commit()
            except WorkflowError as error:
                db.session.rollback()
                flash(error.message, "error")
            else:
                _start_session(current_user._get_current_object())  # other sessions have ended
                flash("パスワードを変更しました。", "success")
                return redirect(url_for("auth.home"))
    return render_template("auth/password.html", form=form)
