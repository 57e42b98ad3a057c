"""Authentication, sessions and security headers (the issue "Security and reliability").

Passwords are argon2id (legacy werkzeug hashes upgraded on login); failed logins are throttled
per (account, address) pair and per address; a session ends on logout, password change or
reset, deactivation and after ``IDLE_TIMEOUT_MINUTES`` without use; every page carries a CSP
that needs no inline script.
"""

from __future__ import annotations

import io
import re
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from tracker import PROJECT_ROOT, create_app
from tracker.blueprints.auth import LAST_SEEN_KEY
from tracker.config import load_config
from tracker.models import ServiceRequest, User
from tracker.safeguards import accounts, throttle
from tracker.states import IssueState, Role
from tracker.workflow import WorkflowError

from .factories import Factory, png_bytes

STRONG_KEY = "9f1c2b7e4d0a8c6f3e5b1d7a2c9e4f60b8d3a1c5e7f9b2d4"
AUDIT_KEY = "4e7a1f9c3b8d2e6a0c5f7b1d9e3a8c2f6b0d4e9a7c1f5b3d"

EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
THROTTLED = "ログインの失敗が続いたため"
IDLE_MESSAGE = "一定時間操作がなかったためログアウトしました。"


@contextmanager
def frozen_throttle_clock():
    """The throttle's clock stopped: a delay of a second cannot run out while a slow machine gets
    to the next request."""
    frozen = throttle.utcnow()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(throttle, "utcnow", lambda: frozen)
        yield


def browser(app, remote_addr: str = "127.0.0.1"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = remote_addr
    return client


def log_in(app, user: User, password: str = Factory.PASSWORD, remote_addr: str = "127.0.0.1"):
    """A new browser (test client) logged in as ``user``."""
    client = browser(app, remote_addr)
    response = client.post("/login", data={"login": user.login, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def fail_login(client, login: str, **options):
    return client.post("/login", data={"login": login, "password": "wrong-password!"}, **options)


def is_logged_in(client) -> bool:
    response = client.get("/")
    return response.status_code == 302 and not response.headers["Location"].startswith("/login")


# --- passwords ---------------------------------------------------------------------------------


def test_new_passwords_are_hashed_with_argon2id(session):
    hashed = accounts.hash_password("a-long-password")
    assert hashed.startswith("$argon2id$")
    user = accounts.create_user(
        session,
        {"login": "new.user", "display_name": "新規 利用者", "password": "a-long-password", "role": "admin"},
    )
    assert user.password_hash.startswith("$argon2id$")
    assert accounts.check_password(user, "a-long-password")
    assert not accounts.check_password(user, "a-long-passwort")
    assert accounts.authenticate(session, "NEW.USER ", "a-long-password") is user


@pytest.mark.parametrize("method", ["scrypt", "pbkdf2:sha256"])
def test_a_legacy_werkzeug_hash_still_works_and_is_rehashed_on_login(make, app, session, csrf_off, method):
    user = make.liaison()
    user.password_hash = generate_password_hash("legacy-password", method=method)
    session.commit()
    client = app.test_client()
    assert fail_login(client, user.login).status_code == 200
    assert not session.get(User, user.id).password_hash.startswith("$argon2")  # unchanged by a failure
    log_in(app, user, "legacy-password")
    session.refresh(user)
    assert user.password_hash.startswith("$argon2id$")
    assert accounts.check_password(user, "legacy-password")
    log_in(app, user, "legacy-password")  # and the new hash works at the next login


def test_garbage_in_the_hash_column_is_a_failed_login_not_an_error(make, session):
    user = make.liaison()
    for stored in ("", "not-a-hash", "$argon2id$broken"):
        user.password_hash = stored
        assert not accounts.check_password(user, "correct-horse-battery")
        assert accounts.needs_rehash(stored)


def test_an_unknown_login_is_refused(session):
    assert accounts.authenticate(session, "nobody-here", "correct-horse-battery") is None


def test_passwords_shorter_than_the_minimum_are_refused(make, session):
    assert accounts.MIN_PASSWORD_LENGTH == 10
    short = "x" * (accounts.MIN_PASSWORD_LENGTH - 1)
    with pytest.raises(WorkflowError, match="10文字以上"):
        accounts.create_user(
            session, {"login": "short.pw", "display_name": "短い", "password": short, "role": "admin"}
        )
    user = make.liaison()
    with pytest.raises(WorkflowError, match="10文字以上"):
        accounts.change_password(user, Factory.PASSWORD, short)
    with pytest.raises(WorkflowError, match="10文字以上"):
        accounts.reset_password(user, short)
    accounts.reset_password(user, "Tk9#mQ2v-l")  # exactly the minimum is fine when not guessable


# --- login throttling --------------------------------------------------------------------------


def test_failed_logins_are_throttled_per_account_and_address(make, app, session, csrf_off):
    user, other = make.liaison(), make.liaison()
    client = app.test_client()
    with frozen_throttle_clock():
        for _ in range(5):  # LOGIN_THROTTLE_FREE_FAILURES: then a delay of 1 s, doubling
            response = fail_login(client, user.login)
            assert response.status_code == 200
            assert "正しくありません" in response.get_data(as_text=True)
        response = client.post("/login", data={"login": user.login.upper(), "password": Factory.PASSWORD})
        assert response.status_code == 429  # even with the right password, in any letter case
        text = response.get_data(as_text=True)
        assert THROTTLED in text and "しばらくお待ちください" in text and "以降" in text
        assert response.headers["Retry-After"] == "1"
        assert response.headers["Content-Security-Policy"] == EXPECTED_CSP
        assert not is_logged_in(client)  # nothing changed
        throttled = app.test_client().post("/login", data={"login": user.login, "password": Factory.PASSWORD})
        assert throttled.status_code == 429  # another browser at the same address too
        log_in(app, user, remote_addr="192.0.2.50")  # the owner elsewhere is not locked out
        log_in(app, other)  # another account is not affected


def test_successful_logins_are_not_counted(make, app, csrf_off):
    user = make.liaison()
    for _ in range(12):
        log_in(app, user)


def test_get_and_csrf_refusals_are_not_counted(make, app, session):
    user = make.liaison()
    client = app.test_client()
    for _ in range(12):
        assert client.get("/login").status_code == 200
        assert client.post("/login", data={"login": user.login, "password": "x"}).status_code == 400
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        log_in(app, user)
    finally:
        app.config["WTF_CSRF_ENABLED"] = True


def test_failed_logins_are_throttled_per_address(make, app, csrf_off, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_THROTTLE_ADDRESS_FAILURES", 3)
    users = [make.liaison() for _ in range(4)]
    client = browser(app, "192.0.2.10")
    with frozen_throttle_clock():
        for user in users[:3]:  # one failure each: no pair reaches its own limit
            assert fail_login(client, user.login).status_code == 200
        response = client.post("/login", data={"login": users[3].login, "password": Factory.PASSWORD})
        assert response.status_code == 429
        assert THROTTLED in response.get_data(as_text=True)
        log_in(app, users[3], remote_addr="192.0.2.11")  # another address may


# --- sessions ----------------------------------------------------------------------------------


def test_login_starts_a_new_session(make, app, csrf_off):
    user = make.liaison()
    client = app.test_client()
    client.get("/login?lang=en")
    with client.session_transaction() as before:
        before["planted"] = "by someone else"
        before["csrf_token"] = "a-token-known-to-an-attacker"
    assert client.post("/login", data={"login": user.login, "password": Factory.PASSWORD}).status_code == 302
    with client.session_transaction() as after:
        assert "planted" not in after
        assert after.get("csrf_token") != "a-token-known-to-an-attacker"
        assert after["_user_id"] == f"{user.id}:1"
        assert after["lang"] == "en"  # the chosen language is kept
        assert isinstance(after[LAST_SEEN_KEY], int)


def test_logout_ends_the_sessions_of_the_user_in_every_browser(make, app, session, csrf_off):
    user, other = make.manager(), make.manager()
    first, second = log_in(app, user), log_in(app, user)
    bystander = log_in(app, other)
    assert second.get("/ward/").status_code == 200
    assert first.post("/logout").status_code == 302
    assert first.get("/ward/").status_code == 302
    response = second.get("/ward/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/ward/")
    assert "このセッションは終了しています" in second.get(response.headers["Location"]).get_data(as_text=True)
    with second.session_transaction() as stale:
        assert "_user_id" not in stale  # the ended session was cleared
    assert bystander.get("/ward/").status_code == 200  # another user's session is untouched
    log_in(app, user)  # logging in again works


def test_changing_the_password_ends_other_sessions_but_keeps_this_one(make, app, session, csrf_off):
    user = make.liaison()
    here, elsewhere = log_in(app, user), log_in(app, user)
    response = here.post(
        "/password",
        data={"current": Factory.PASSWORD, "new": "a-new-long-pass", "confirm": "a-new-long-pass"},
    )
    assert response.status_code == 302
    assert here.get("/field/").status_code == 200
    assert elsewhere.get("/field/").status_code == 302
    assert is_logged_in(here) and not is_logged_in(elsewhere)
    log_in(app, user, "a-new-long-pass")


def test_a_refused_password_change_ends_nothing(make, app, session, csrf_off):
    user = make.liaison()
    here, elsewhere = log_in(app, user), log_in(app, user)
    response = here.post(
        "/password", data={"current": "wrong-password!", "new": "x" * 12, "confirm": "x" * 12}
    )
    assert "現在のパスワードが正しくありません" in response.get_data(as_text=True)
    assert is_logged_in(here) and is_logged_in(elsewhere)


def test_deactivation_by_an_admin_ends_the_users_sessions(make, app, session, csrf_off):
    admin, user = make.admin(), make.liaison()
    victim = log_in(app, user)
    assert victim.get("/field/").status_code == 200
    assert log_in(app, admin).post(f"/admin/users/{user.id}/deactivate").status_code == 302
    assert session.get(User, user.id).active is False
    assert victim.get("/field/").status_code == 302
    assert (
        app.test_client().post("/login", data={"login": user.login, "password": Factory.PASSWORD}).status_code
        == 200
    )  # and cannot log in again


def test_a_deactivated_user_is_logged_out_even_without_a_version_change(make, app, session, csrf_off):
    user = make.liaison()
    client = log_in(app, user)
    user.active = False
    session.commit()
    assert client.get("/field/").status_code == 302


def test_a_password_reset_by_an_admin_ends_the_users_sessions(make, app, session, csrf_off):
    admin, user = make.admin(), make.liaison()
    victim = log_in(app, user)
    response = log_in(app, admin).post(
        f"/admin/users/{user.id}/password", data={"password": "reset-by-admin"}
    )
    assert response.status_code == 302
    assert not is_logged_in(victim)
    log_in(app, user, "reset-by-admin")


def test_a_session_user_id_must_carry_the_current_version(make, session):
    user = make.liaison()
    assert user.get_id() == f"{user.id}:1"
    assert accounts.load_session_user(session, f"{user.id}:1") is user
    for stale in (str(user.id), f"{user.id}:0", f"{user.id}:2", f"{user.id}:x", "", ":", "abc"):
        assert accounts.load_session_user(session, stale) is None
    accounts.end_sessions(user)
    assert accounts.load_session_user(session, f"{user.id}:1") is None
    assert accounts.load_session_user(session, f"{user.id}:2") is user


def test_an_idle_session_is_logged_out(make, app, csrf_off):
    user = make.liaison()
    client = log_in(app, user)
    idle = app.config["IDLE_TIMEOUT_MINUTES"] * 60
    assert idle == 30 * 60
    with client.session_transaction() as stored:
        stored[LAST_SEEN_KEY] = int(time.time()) - idle + 60  # used 29 minutes ago: still fine
    assert client.get("/field/").status_code == 200
    with client.session_transaction() as stored:
        assert stored[LAST_SEEN_KEY] >= int(time.time()) - 5  # each request counts as use
        stored[LAST_SEEN_KEY] = int(time.time()) - idle - 60
    response = client.get("/field/?page=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/field/?page%3D1"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert IDLE_MESSAGE in page
    assert not is_logged_in(client)
    with client.session_transaction() as stored:
        assert "_user_id" not in stored


def test_an_idle_session_cannot_post(make, app, session, csrf_off):
    request = make.request()
    client = log_in(app, make.liaison())
    with client.session_transaction() as stored:
        stored[LAST_SEEN_KEY] = int(time.time()) - 31 * 60
    response = client.post(f"/requests/{request.id}/withdraw", data={"comment": "取り下げ"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert session.get(ServiceRequest, request.id).state == request.state


def test_session_cookie_flags(make, app, csrf_off):
    response = app.test_client().post(
        "/login", data={"login": make.liaison().login, "password": Factory.PASSWORD}
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # tests (and development) run over plain http


def test_production_sends_secure_cookies_forces_https_and_sets_hsts(tmp_path, monkeypatch, database_url):
    config = load_config(
        str(tmp_path), {"APP_ENV": "production", "SECRET_KEY": STRONG_KEY, "AUDIT_KEY": AUDIT_KEY}
    )
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True and config["SESSION_COOKIE_SAMESITE"] == "Lax"
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    production = create_app(
        {
            "APP_ENV": "production",
            "SECRET_KEY": STRONG_KEY,
            "AUDIT_KEY": AUDIT_KEY,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "MAP_TILE_URL": "https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png",
        }
    )
    client = production.test_client()
    plain = client.get("/login")
    assert plain.status_code == 302 and plain.headers["Location"] == "https://localhost/login"
    secure = client.get("/login", base_url="https://localhost")
    assert secure.status_code == 200
    cookie = secure.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    # the maps' tile host, and only it, is added to img-src
    with_tiles = EXPECTED_CSP.replace(
        "img-src 'self' data:;", "img-src 'self' data: https://cyberjapandata.gsi.go.jp;"
    )
    assert secure.headers["Content-Security-Policy"] == with_tiles


# --- headers and pages -------------------------------------------------------------------------


def test_security_headers_are_on_every_page(make, app, login_as):
    anonymous = app.test_client()
    for response in (
        anonymous.get("/login"),
        anonymous.get("/no-such-page"),
        login_as(make.liaison()).get("/field/"),
    ):
        assert response.headers["Content-Security-Policy"] == EXPECTED_CSP
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in response.headers  # only in production, over https


def test_the_photo_keeps_its_own_sandbox_policy(make, login_as, session):
    client = login_as(make.liaison())
    response = client.post(
        "/requests/new",
        data={
            "title": "ガードレールの破損",
            "category_id": make.category().id,
            "source": "counter",
            "received_on": "2024-06-03",
            "photos": [(io.BytesIO(png_bytes()), "rail.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    created = session.execute(select(ServiceRequest).filter_by(title="ガードレールの破損")).scalar_one()
    served = client.get(f"/photos/{created.photos[0].id}")
    assert served.status_code == 200
    assert served.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert served.headers["X-Content-Type-Options"] == "nosniff"


INLINE_PATTERNS = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "style element": re.compile(r"<style\b", re.IGNORECASE),
    "style attribute": re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE),
    "event handler attribute": re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def inline_code(html: str) -> list[str]:
    return [name for name, pattern in INLINE_PATTERNS.items() if pattern.search(html)]


def test_no_template_has_inline_script_style_or_handlers():
    templates = Path(PROJECT_ROOT) / "templates"
    found = {
        str(path.relative_to(templates)): inline_code(path.read_text(encoding="utf-8"))
        for path in templates.rglob("*.html")
    }
    assert {name: kinds for name, kinds in found.items() if kinds} == {}


def _pages_without_arguments(app) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static"
    )


def test_no_rendered_page_of_any_role_has_inline_script(make, app, login_as):
    issue = make.issue(IssueState.BUDGETED)
    request = issue.requests[0]
    draft = make.issue(IssueState.DRAFT, with_request=False)
    users = {Role.LIAISON: make.liaison(), Role.WARD_MANAGER: make.manager(), Role.BUREAU_STAFF: make.staff()}
    users[Role.ADMIN] = make.admin()
    pages = [
        *_pages_without_arguments(app),
        f"/requests/{request.id}",
        f"/issues/{issue.id}",
        f"/issues/{draft.id}/edit",
        f"/admin/users/{users[Role.LIAISON].id}/edit",
        "/no-such-page",
    ]
    anonymous = app.test_client()
    rendered = {("anonymous", "/login"): anonymous.get("/login")}
    for role, user in users.items():
        client = login_as(user)
        for path in pages:
            rendered[(role.value, path)] = client.get(path)
    checked = 0
    for (who, path), response in rendered.items():
        if response.mimetype != "text/html":
            continue
        checked += 1
        assert inline_code(response.get_data(as_text=True)) == [], (who, path, response.status_code)
        assert response.headers["Content-Security-Policy"] == EXPECTED_CSP, (who, path)
    assert checked > 4 * 10


def test_csrf_is_still_enforced(make, app, session):
    user = make.liaison()
    client = app.test_client()
    assert client.post("/login", data={"login": user.login, "password": Factory.PASSWORD}).status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', page
    )
    assert token, "the login form carries a CSRF token"
    data = {"login": user.login, "password": Factory.PASSWORD, "csrf_token": token.group(1) or token.group(2)}
    assert client.post("/login", data=data).status_code == 302
    assert client.post("/logout").status_code == 400  # no token: refused, and the session stays
    assert is_logged_in(client)


def test_demo_accounts_are_refused_in_production(app, session, monkeypatch):
    """The demo accounts share the password printed in the README: never in production."""
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    result = app.test_cli_runner().invoke(args=["seed", "--demo"])
    assert result.exit_code != 0
    assert "--demo is refused in production" in result.output
    assert session.scalar(select(func.count(User.id)).where(User.login == "chuo.liaison")) == 0


def test_staff_pages_are_never_cached_and_static_files_keep_their_own_caching(make, login_as):
    client = login_as(make.liaison("中央区"))
    assert client.get("/field/").headers["Cache-Control"] == "private, no-store"
    assert "no-store" not in client.get("/static/app.css").headers.get("Cache-Control", "")
