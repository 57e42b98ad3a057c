"""Test fixtures: one database per test run, a rolled-back transaction per test.

``TEST_DB=sqlite`` (the default) runs on a fresh SQLite file; ``TEST_DB=postgresql`` runs on
``TEST_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/tracker_test``), which is
created if missing. Under ``CI=true`` an unreachable PostgreSQL fails the run. The schema is
built by the Alembic migrations, so every run also proves that they work.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pyotp
import pytest
from redis import Redis, RedisError
from sqlalchemy import event
from sqlalchemy.orm import scoped_session, sessionmaker

from tracker.extensions import db
from tracker.ops_models import UserMfa

from .factories import Factory
from .support import build_app, database_url_for_tests, drop_database


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    return database_url_for_tests(tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    return build_app(database_url, tmp_path_factory.mktemp("instance"))


@pytest.fixture
def committing_app(request, tmp_path) -> Iterator:
    """An app on a database of its own, for tests whose threads or processes commit for real.

    Their rows cannot be rolled back, and deleting them afterwards would cut the hash chain of
    the history that every other test shares; so they get a database that is dropped instead.
    """
    url = database_url_for_tests(tmp_path, suffix=f"_{request.node.module.__name__.rsplit('_', 1)[-1]}")
    committing = build_app(url, tmp_path / "instance")
    yield committing
    with committing.app_context():
        db.engine.dispose()
    drop_database(url)


@pytest.fixture
def session(app) -> Iterator:
    """``db.session`` bound to one connection whose transaction is rolled back after the test.

    Views and services call ``commit()``; with ``create_savepoint`` that releases a savepoint
    inside the outer transaction, so nothing outlives the test.
    """
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        # A plain SQLAlchemy session: Flask-SQLAlchemy's own would pick the engine over this bind.
        db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        )
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def make(session) -> Factory:
    return Factory(session)


@pytest.fixture
def client(app, session):
    return app.test_client()


@pytest.fixture
def csrf_off(app):
    app.config["WTF_CSRF_ENABLED"] = False
    yield
    app.config["WTF_CSRF_ENABLED"] = True


@pytest.fixture
def login_as(client, csrf_off):
    """``login_as(user)`` logs the test client in as ``user`` (password from the factory), through
    the login form, and with a code of their second factor if they have one."""

    def do_login(user):
        client.post("/logout")
        response = client.post("/login", data={"login": user.login, "password": Factory.PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        if response.headers["Location"].endswith("/login/code"):
            response = client.post("/login/code", data={"code": unused_code(user)})
            assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return do_login


def unused_code(user) -> str:
    """A TOTP code of ``user``'s second factor that the login will accept (a step not used yet)."""
    second_factor = db.session.get(UserMfa, user.id)
    db.session.refresh(second_factor)
    step = max(int(time.time()) // 30, (second_factor.last_used_step or 0) + 1)
    return pyotp.TOTP(second_factor.secret).generate_otp(step)


@pytest.fixture
def count_queries(app, session):
    """A list that collects every SQL statement run while the test runs."""
    statements: list[str] = []

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    yield statements
    event.remove(engine, "before_cursor_execute", before_cursor_execute)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The real Redis the tests of the job queue, the login throttle and the API's rate limit use;
    missing, a skip, or under ``CI=true`` a failure."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        Redis.from_url(url, socket_connect_timeout=2).ping()
    except RedisError as error:
        message = f"Redis is not reachable at {url}: {error}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true requires Redis. {message}")
        pytest.skip(message)
    return url
