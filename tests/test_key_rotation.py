"""SECRET_KEY rotation: ``SECRET_KEY_FALLBACKS`` (Flask 3.1) keeps open sessions through it."""

from __future__ import annotations

import re

import pytest
from flask import g

from tracker.config import load_config

from .factories import Factory


def test_fallbacks_are_read_from_a_comma_separated_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", " old-key-2 , old-key-1,, ")
    assert load_config(str(tmp_path), {"TESTING": True})["SECRET_KEY_FALLBACKS"] == ["old-key-2", "old-key-1"]
    monkeypatch.delenv("SECRET_KEY_FALLBACKS")
    assert load_config(str(tmp_path), {"TESTING": True})["SECRET_KEY_FALLBACKS"] == []


@pytest.fixture
def rotate(app):
    """``rotate(key, fallbacks)`` changes the app's keys for the rest of the test."""
    saved = app.config["SECRET_KEY"], app.config["SECRET_KEY_FALLBACKS"]

    def set_keys(key: str, fallbacks: list[str]) -> None:
        app.config["SECRET_KEY"], app.config["SECRET_KEY_FALLBACKS"] = key, fallbacks

    yield set_keys
    app.config["SECRET_KEY"], app.config["SECRET_KEY_FALLBACKS"] = saved


def form_token(client, path: str) -> str:
    """The CSRF token of the form on ``path``, as this client's browser would get it."""
    g.pop("csrf_token", None)  # Flask-WTF caches it in g, which the tests' app context shares
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def logged_in(app, user):
    """A client of its own, logged in through the real form (with its CSRF token)."""
    client = app.test_client()
    token = form_token(client, "/login")
    response = client.post(
        "/login", data={"login": user.login, "password": Factory.PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def is_logged_in(client) -> bool:
    response = client.get("/")
    return response.status_code == 302 and "/login" not in response.headers["Location"]


def test_sessions_survive_a_rotation_and_move_to_the_new_key(app, make, rotate):
    rotate("old-key", [])
    user = make.liaison()
    active, idle = logged_in(app, user), logged_in(app, user)

    rotate("new-key", ["old-key"])  # deploy the new key, the old one as a fallback
    assert is_logged_in(active)  # verified with the fallback, and re-signed with the new key

    rotate("new-key", [])  # later: the fallback is dropped
    assert is_logged_in(active)
    assert not is_logged_in(idle)  # a session not used during the rotation ends: log in again


def test_without_the_fallback_every_session_ends(app, make, rotate):
    rotate("old-key", [])
    client = logged_in(app, make.liaison())
    rotate("new-key", [])
    assert not is_logged_in(client)


def test_a_form_opened_before_the_rotation_asks_to_reload(app, make, rotate):
    """Flask-WTF 1.3 signs a form's CSRF token with SECRET_KEY only: a page opened before the
    rotation is refused once with 「ページを読み込み直してください」; the reloaded page works."""
    rotate("old-key", [])
    client = logged_in(app, make.liaison())
    old_token = form_token(client, "/password")
    rotate("new-key", ["old-key"])
    refused = client.post("/password", data={"csrf_token": old_token})
    assert refused.status_code == 400
    assert "読み込み直してください" in refused.get_data(as_text=True)
    new_token = form_token(client, "/password")
    assert client.post("/password", data={"csrf_token": new_token}).status_code == 200  # form errors
