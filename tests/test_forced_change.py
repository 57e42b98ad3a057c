"""A password set by an admin is changed before anything else (issue 11, "Admin-set passwords are
changed before anything else").

Until its owner changes it, every route but the password change and logout answers with the
password change form (403: what was asked was not done), for GET and for anything else, and a
POST elsewhere changes nothing. On main, such a user was only sent to the form once after login
and could then open any page and act.
"""

from __future__ import annotations

from sqlalchemy import func, select
from werkzeug.routing.converters import AnyConverter

from tracker.models import HistoryEvent, ServiceRequest, User
from tracker.ops_models import UserMfa
from tracker.states import RequestState

from .factories import Factory

FORM_MARK = 'id="form-password-change"'
HELD_MARK = 'id="password-change-required"'
OPEN_ROUTES = {"static", "auth.password", "auth.logout"}
NEW_PASSWORD = "riverstone-lantern-47"


def every_get_url(app) -> list[str]:
    """One URL for every GET route, with dummy ids (1) and the first value of a fixed choice."""
    adapter = app.url_map.bind("localhost")
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in OPEN_ROUTES or "GET" not in (rule.methods or ()):
            continue
        values = {}
        for name in rule.arguments:
            converter = rule._converters[name]
            values[name] = sorted(converter.items)[0] if isinstance(converter, AnyConverter) else 1
        urls.append(adapter.build(rule.endpoint, values, method="GET"))
    return urls


def held_user(make, session, login_as, role: str = "liaison") -> tuple[User, object]:
    user = getattr(make, role)()
    user.must_change_password = True
    session.commit()
    client = login_as(user)
    return user, client


def test_every_get_route_answers_the_password_change_form(app, make, session, login_as):
    _, client = held_user(make, session, login_as)
    urls = every_get_url(app)
    assert len(urls) > 50  # the whole app, not a handful of pages
    for url in urls:
        response = client.get(url)
        text = response.get_data(as_text=True)
        assert response.status_code == 403, url
        assert FORM_MARK in text and HELD_MARK in text, url


def test_the_password_page_itself_answers_normally(make, session, login_as):
    _, client = held_user(make, session, login_as)
    response = client.get("/password")
    assert response.status_code == 200 and FORM_MARK in response.get_data(as_text=True)
    assert HELD_MARK not in response.get_data(as_text=True)


def test_a_post_elsewhere_changes_nothing_and_answers_the_form(make, session, login_as):
    user, client = held_user(make, session, login_as)
    request = make.request(user)
    session.commit()
    events = session.scalar(select(func.count(HistoryEvent.id)))
    response = client.post(f"/requests/{request.id}/withdraw", data={"withdraw-comment": "取り下げ"})
    assert response.status_code == 403 and FORM_MARK in response.get_data(as_text=True)
    response = client.post("/account/mfa/start")
    assert response.status_code == 403 and FORM_MARK in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(ServiceRequest, request.id).state == RequestState.RECEIVED
    assert session.scalar(select(func.count(HistoryEvent.id))) == events
    assert session.get(UserMfa, user.id) is None


def test_after_the_change_every_page_opens_again(make, session, login_as):
    user, client = held_user(make, session, login_as)
    assert client.get("/field/").status_code == 403
    response = client.post(
        "/password", data={"current": Factory.PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302
    session.refresh(user)
    assert not user.must_change_password
    response = client.get("/field/")
    assert response.status_code == 200 and FORM_MARK not in response.get_data(as_text=True)


def test_logout_still_works_while_held(make, session, login_as):
    _, client = held_user(make, session, login_as)
    response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert client.get("/").headers["Location"].startswith("/login")


def test_users_the_admin_creates_or_resets_are_held(make, session, login_as):
    admin = make.admin()
    staff = make.staff()
    session.commit()
    client = login_as(admin)
    data = {"login": "new.user", "display_name": "熊本 花子", "role": "admin", "password": NEW_PASSWORD}
    for key in ("ward_id", "center_id", "bureau_id"):
        data[key] = "0"
    assert client.post("/admin/users/new", data=data).status_code == 302
    assert (
        client.post(f"/admin/users/{staff.id}/password", data={"password": NEW_PASSWORD}).status_code == 302
    )
    created = session.scalar(select(User).where(User.login == "new.user"))
    session.refresh(staff)
    assert created.must_change_password and staff.must_change_password
