"""Log in, log out, change password; the home page sends each role to its own start page.

Sessions: a login starts a new session; every request checks that the session is still valid
(not ended by a logout elsewhere, a password change or reset, or deactivation: see
``accounts.load_session_user``) and not idle for longer than ``IDLE_TIMEOUT_MINUTES``.
Failed logins are throttled per (login ID, client address) pair and per address, and every
login, failure, logout and password change goes to the security event log
(``safeguards.throttle``, ``safeguards.security_log``). A user with a second factor is logged
in only after its code (``account.login_code``).
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db
from ..safeguards import accounts, mfa, security_log, throttle
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
        return _login_again(_("一定時間操作がなかったためログアウトしました。"))
    if not current_user.is_authenticated:
        return _login_again(_("このセッションは終了しています。もう一度ログインしてください。"))
    session[LAST_SEEN_KEY] = now
    return None


@bp.route("/")
@login_required
def home():
    return redirect(url_for(HOME_BY_ROLE[current_user.role]))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("auth.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        outcome = throttle.attempt_login(
            db.session, current_app.config, form.login.data, form.password.data, request.remote_addr
        )
        # then logged in only after the code; looked up before the commit that ends this transaction
        needs_code = outcome.user is not None and mfa.is_confirmed(db.session, outcome.user)
        db.session.commit()  # the count and the log, and a legacy password hash upgraded to argon2id
        if outcome.retry_after:
            abort(429, retry_after=outcome.retry_after)  # the password was not even checked
        user = outcome.user
        if user is None:
            flash(_("ログインIDまたはパスワードが正しくありません。"), "error")
        elif needs_code:
            second_step.begin(user, _safe_next(form.next.data), KEPT_ACROSS_LOGIN)
            return redirect(url_for("account.login_code"))
        else:
            return finish_login(user, form.next.data)
    return render_template("auth/login.html", form=form)


def finish_login(user, next_target: str | None):
    """Log ``user`` in (all factors are right) and send them on: to the password change first
    if an admin set their password."""
    _start_session(user)
    flash(_("%(name)sさん、ようこそ。", name=user.display_name), "success")
    if user.must_change_password:
        flash(_("初期パスワードを変更してください。"), "warning")
        return redirect(url_for("auth.password"))
    return redirect(_safe_next(next_target) or url_for("auth.home"))


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    accounts.end_sessions(current_user)  # this and every other session of the user
    security_log.record(db.session, security_log.LOGOUT, user=current_user)
    db.session.commit()
    _end_session()
    flash(_("ログアウトしました。"), "success")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        if form.new.data != form.confirm.data:
            flash(_("新しいパスワードが確認用と一致しません。"), "error")
        else:
            try:
                accounts.change_password(current_user, form.current.data, form.new.data)
                security_log.record(db.session, security_log.PASSWORD_CHANGED, user=current_user)
                db.session.commit()
            except WorkflowError as error:
                db.session.rollback()
                flash(error.message, "error")
            else:
                _start_session(current_user._get_current_object())  # other sessions have ended
                flash(_("パスワードを変更しました。"), "success")
                return redirect(url_for("auth.home"))
    return render_template("auth/password.html", form=form)
