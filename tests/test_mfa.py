"""The second factor (issue 11, "Passwords": MFA with TOTP for admin and ward managers, optional
for others, with recovery codes). On main there was none: a password alone logged anyone in.

Everything goes through the real forms of a test client: setup and confirmation, the two-step
login, wrong, replayed and throttled codes, recovery codes used once, the code step's expiry,
the required roles held on the setup page, the admin's reset in the admin change log.
"""

from __future__ import annotations

import datetime as dt
import re
import time

import pyotp
import pytest
from sqlalchemy import func, select

from tracker.blueprints import second_step
from tracker.models import HistoryEvent, User
from tracker.ops_models import RecoveryCode, UserMfa
from tracker.safeguards import admin_log, mfa
from tracker.safeguards.mfa import REQUIRED_ROLES
from tracker.states import Role

from .factories import Factory

SETUP_MARK = 'id="form-start-mfa"'
CODES = re.compile(r"<li><code>([a-z0-9-]{19})</code></li>")
SECRET = re.compile(r'id="mfa-secret">([A-Z2-7]+)<')
WRONG = "確認コードが正しくありません。"


@pytest.fixture
def mfa_required(app):
    """The product's rule (admin and ward managers), which the other tests' app leaves out."""
    app.config["MFA_REQUIRED_ROLES"] = REQUIRED_ROLES
    yield
    app.config["MFA_REQUIRED_ROLES"] = frozenset()


@pytest.fixture
def browser(app, session, csrf_off):
    return app.test_client()


def password_step(client, user: User, password: str = Factory.PASSWORD):
    return client.post("/login", data={"login": user.login, "password": password})


def code_for(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + offset_steps * mfa.STEP_SECONDS)


def set_up(client) -> tuple[str, list[str]]:
    """Set the second factor up through the pages: the secret shown, and the recovery codes."""
    assert client.post("/account/mfa/start").status_code == 302
    page = client.get("/account/mfa").get_data(as_text=True)
    secret = SECRET.search(page).group(1)
    assert 'src="data:image/svg+xml' in page and "otpauth://totp/" in page
    response = client.post("/account/mfa/confirm", data={"code": code_for(secret)})
    assert response.status_code == 200, response.get_data(as_text=True)
    codes = CODES.findall(response.get_data(as_text=True))
    return secret, codes


def with_mfa(session, user: User, *, used_step: int | None = None) -> str:
    """Give ``user`` a confirmed second factor directly; its secret."""
    secret = pyotp.random_base32()
    session.add(
        UserMfa(
            user_id=user.id, secret=secret, confirmed_at=dt.datetime.now(dt.UTC), last_used_step=used_step
        )
    )
    session.commit()
    return secret


def logged_in(client) -> bool:
    response = client.get("/")
    return response.status_code == 302 and not response.headers["Location"].startswith("/login")


# --- setting it up ---------------------------------------------------------------------------


def test_setup_confirm_shows_ten_recovery_codes_once_and_stores_only_hashes(make, session, login_as):
    user = make.liaison()
    session.commit()
    client = login_as(user)
    assert SETUP_MARK in client.get("/account/mfa").get_data(as_text=True)
    secret, codes = set_up(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    row = session.get(UserMfa, user.id)
    assert row.secret == secret and row.confirmed_at is not None
    hashes = session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert len(hashes) == 10 and not any(code.replace("-", "") in h for code in codes for h in hashes)
    page = client.get("/account/mfa").get_data(as_text=True)
    assert "設定済み" in page and secret not in page and codes[0] not in page


def test_a_wrong_first_code_sets_nothing_up(make, session, login_as):
    user = make.liaison()
    session.commit()
    client = login_as(user)
    client.post("/account/mfa/start")
    response = client.post("/account/mfa/confirm", data={"code": "000000"})
    assert response.status_code == 422 and "確認コードが正しくありません" in response.get_data(as_text=True)
    assert session.get(UserMfa, user.id).confirmed_at is None
    assert session.scalar(select(func.count(RecoveryCode.id)).where(RecoveryCode.user_id == user.id)) == 0


def test_an_optional_user_may_turn_it_off_with_password_and_code(make, session, login_as):
    user = make.staff()
    session.commit()
    client = login_as(user)
    secret, _ = set_up(client)
    data = {"disable-password": "wrong-password", "disable-code": code_for(secret, 1)}
    assert client.post("/account/mfa/disable", data=data).status_code == 422
    assert session.get(UserMfa, user.id) is not None
    data["disable-password"] = Factory.PASSWORD
    assert client.post("/account/mfa/disable", data=data).status_code == 302
    session.expire_all()
    assert session.get(UserMfa, user.id) is None


def test_a_required_user_cannot_turn_it_off(make, session, login_as, mfa_required):
    user = make.manager()
    session.commit()
    client = login_as(user)
    secret, _ = set_up(client)
    data = {"disable-password": Factory.PASSWORD, "disable-code": code_for(secret, 1)}
    response = client.post("/account/mfa/disable", data=data)
    assert response.status_code == 422 and "解除できません" in response.get_data(as_text=True)
    assert session.get(UserMfa, user.id).confirmed_at is not None


def test_regenerated_recovery_codes_replace_the_old_ones(make, session, login_as, browser):
    user = make.liaison()
    session.commit()
    client = login_as(user)
    _, old_codes = set_up(client)
    response = client.post("/account/mfa/recovery-codes", data={"codes-password": Factory.PASSWORD})
    new_codes = CODES.findall(response.get_data(as_text=True))
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    client.post("/logout")
    password_step(browser, user)
    assert browser.post("/login/code", data={"code": old_codes[0]}).status_code == 422
    assert browser.post("/login/code", data={"code": new_codes[0]}).status_code == 302


# --- logging in ------------------------------------------------------------------------------


def test_login_is_password_then_code(make, session, browser):
    user = make.manager()
    secret = with_mfa(session, user)
    response = password_step(browser, user)
    assert response.headers["Location"].endswith("/login/code")
    assert not logged_in(browser)  # half logged in: nothing but the code page
    assert browser.get("/ward/").headers["Location"].startswith("/login")
    assert browser.get("/login/code").status_code == 200
    response = browser.post("/login/code", data={"code": code_for(secret)})
    assert response.status_code == 302 and logged_in(browser)
    assert browser.get("/ward/").status_code == 200


def test_the_next_page_survives_the_code_step(make, session, browser):
    user = make.manager()
    secret = with_mfa(session, user)
    browser.post("/login", data={"login": user.login, "password": Factory.PASSWORD, "next": "/ward/"})
    response = browser.post("/login/code", data={"code": code_for(secret)})
    assert response.headers["Location"] == "/ward/"


def test_a_wrong_code_is_refused(make, session, browser):
    user = make.manager()
    secret = with_mfa(session, user)
    password_step(browser, user)
    right = code_for(secret)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = browser.post("/login/code", data={"code": wrong})
    assert response.status_code == 422 and WRONG in response.get_data(as_text=True)
    assert not logged_in(browser)


def test_wrong_codes_are_throttled_like_passwords(app, make, session, browser):
    user = make.manager()
    secret = with_mfa(session, user)
    password_step(browser, user)
    allowed = app.config["LOGIN_THROTTLE_FREE_FAILURES"]
    for _ in range(allowed):
        assert browser.post("/login/code", data={"code": "abcdefghjkmnpqrs"}).status_code == 422
    response = browser.post("/login/code", data={"code": code_for(secret)})
    assert response.status_code == 429 and "Retry-After" in response.headers
    assert not logged_in(browser)


def test_a_code_is_accepted_once(make, session, browser, app):
    user = make.manager()
    secret = with_mfa(session, user)
    code = code_for(secret)
    password_step(browser, user)
    assert browser.post("/login/code", data={"code": code}).status_code == 302
    browser.post("/logout")
    again = app.test_client()
    password_step(again, user)
    response = again.post("/login/code", data={"code": code})
    assert response.status_code == 422 and WRONG in response.get_data(as_text=True)


def test_codes_of_the_neighbouring_steps_are_accepted_and_older_ones_not(make, session):
    user = make.manager()
    secret = with_mfa(session, user)
    row = session.get(UserMfa, user.id)
    now = dt.datetime.now(dt.UTC)
    totp, step = pyotp.TOTP(secret), mfa.step_at(now)
    assert not mfa.check_second_factor(session, user, totp.generate_otp(step - 2), now)
    assert mfa.check_second_factor(session, user, totp.generate_otp(step - 1), now)
    assert row.last_used_step == step - 1
    assert mfa.check_second_factor(session, user, totp.generate_otp(step + 1), now)
    assert not mfa.check_second_factor(
        session, user, totp.generate_otp(step), now
    )  # earlier than the last used


def test_a_recovery_code_logs_in_once(make, session, browser, app):
    user = make.manager()
    with_mfa(session, user)
    codes = mfa.replace_recovery_codes(session, user, dt.datetime.now(dt.UTC))
    session.commit()
    password_step(browser, user)
    assert browser.post("/login/code", data={"code": codes[3].upper().replace("-", " ")}).status_code == 302
    assert session.scalar(select(func.count(RecoveryCode.id)).where(RecoveryCode.used_at.is_not(None))) == 1
    again = app.test_client()
    password_step(again, user)
    assert again.post("/login/code", data={"code": codes[3]}).status_code == 422


def test_the_code_step_expires_after_five_minutes(make, session, browser, monkeypatch):
    user = make.manager()
    secret = with_mfa(session, user)
    password_step(browser, user)
    started = time.time()
    monkeypatch.setattr(time, "time", lambda: started + second_step.CODE_STEP_SECONDS + 1)
    response = browser.post("/login/code", data={"code": pyotp.TOTP(secret).at(started)})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    monkeypatch.undo()
    assert not logged_in(browser)
    assert session.get(UserMfa, user.id).last_used_step is None  # the code was not even tried


def test_the_code_page_without_a_password_step_sends_to_login(browser):
    response = browser.get("/login/code")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# --- required for the admin and ward managers ------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_required_roles_cannot_skip_setup(app, make, session, login_as, mfa_required, role):
    from .test_forced_change import every_get_url

    user = getattr(make, role)()
    session.commit()
    client = login_as(user)
    for url in every_get_url(app):
        if url.startswith(("/account/mfa", "/password")):
            continue
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"] == "/account/mfa", url
    response = client.post("/admin/settings", data={"key": "x", "value": "y"})
    assert response.status_code == 403 and SETUP_MARK in response.get_data(as_text=True)
    set_up(client)
    assert client.get("/").headers["Location"] != "/account/mfa"


def test_optional_roles_are_not_held(make, session, login_as, mfa_required):
    client = login_as(make.liaison())
    assert client.get("/field/").status_code == 200


# --- the admin's reset -----------------------------------------------------------------------


def test_the_admin_resets_a_lost_second_factor_and_the_log_records_it(make, session, login_as, browser):
    manager = make.manager()
    old_secret = with_mfa(session, manager)
    mfa.replace_recovery_codes(session, manager, dt.datetime.now(dt.UTC))
    session.commit()
    admin_client = login_as(make.admin())
    page = admin_client.get(f"/admin/users/{manager.id}/edit").get_data(as_text=True)
    assert "二段階認証をリセットする" in page
    response = admin_client.post(f"/admin/users/{manager.id}/mfa/reset", follow_redirects=True)
    assert "二段階認証をリセットしました" in response.get_data(as_text=True)
    session.expire_all()
    row = session.get(UserMfa, manager.id)
    assert row.confirmed_at is None and row.secret != old_secret
    assert session.scalar(select(func.count(RecoveryCode.id)).where(RecoveryCode.user_id == manager.id)) == 0
    event = session.scalars(admin_log.action_events(admin_log.ACTION)).first()
    change = next(c for c in event.data["changes"] if c["table"] == "user_mfa")
    assert change["fields"]["secret"] == ["(変更)", "(変更)"]
    assert change["fields"]["confirmed_at"][1] is None
    assert old_secret not in str(event.data) and row.secret not in str(event.data)
    # no confirmed second factor now: the password step alone (where required, the setup follows)
    assert password_step(browser, manager).headers["Location"] != "/login/code"


def test_history_of_the_reset_names_who_did_it(make, session, login_as):
    manager = make.manager()
    with_mfa(session, manager)
    admin = make.admin()
    session.commit()
    login_as(admin).post(f"/admin/users/{manager.id}/mfa/reset")
    event = session.scalars(select(HistoryEvent).order_by(HistoryEvent.id.desc())).first()
    assert event.action == admin_log.ACTION and event.actor_id == admin.id


def test_login_as_completes_the_code_step_for_a_user_with_a_second_factor(make, session, login_as):
    user = make.admin()
    with_mfa(session, user)
    client = login_as(user)
    assert client.get("/admin/users").status_code == 200
    assert session.get(UserMfa, user.id).last_used_step is not None


def test_full_width_digits_from_a_japanese_input_method_are_accepted(make, session, browser):
    user = make.manager()
    secret = with_mfa(session, user)
    password_step(browser, user)
    full_width = code_for(secret).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert browser.post("/login/code", data={"code": full_width}).status_code == 302


def test_a_user_made_ward_manager_is_held_at_once(make, session, login_as, mfa_required):
    user = make.liaison()
    session.commit()
    client = login_as(user)
    assert client.get("/field/").status_code == 200
    user.role, user.center, user.ward_id = Role.WARD_MANAGER, None, user.ward_id
    session.commit()
    assert client.get("/ward/").headers["Location"] == "/account/mfa"
