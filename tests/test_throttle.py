"""Login throttling: per (login ID, address) pair and per address, a growing delay, shared.

On main, Flask-Limiter counted failures per login ID alone (a stranger anywhere could lock
the owner out for 15 minutes) and, without Redis, in each process's memory (every gunicorn
worker had its own count): ``test_owner_is_not_locked_out_by_a_stranger_at_another_address``
and ``test_two_app_instances_share_the_count_through_the_database`` would have failed there.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker import create_app
from tracker.extensions import db
from tracker.ops_models import LoginThrottle, SecurityEvent
from tracker.safeguards import accounts, throttle
from tracker.safeguards.throttle import LoginThrottles, Policy

from .factories import Factory
from .test_auth_security import browser, fail_login, frozen_throttle_clock

T0 = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
OWNER_ADDRESS, STRANGER_ADDRESS = "192.0.2.20", "198.51.100.7"


def waits_after_each_failure(throttles: LoginThrottles, login: str, ip: str, count: int) -> list[int]:
    """The wait reported right after each of ``count`` failures, all at T0."""
    waits = []
    for _ in range(count):
        throttles.failed(login, ip, now=T0)
        waits.append(throttles.wait_seconds(login, ip, now=T0))
    return waits


def test_the_delay_grows_from_the_sixth_attempt_and_is_capped(session):
    throttles = LoginThrottles(session, Policy())
    waits = waits_after_each_failure(throttles, "owner", OWNER_ADDRESS, 16)
    assert waits == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    assert throttles.wait_seconds("owner", OWNER_ADDRESS, now=T0 + dt.timedelta(seconds=899)) == 1
    assert throttles.wait_seconds("owner", OWNER_ADDRESS, now=T0 + dt.timedelta(seconds=900)) == 0


def test_a_success_resets_the_pair(session):
    throttles = LoginThrottles(session, Policy())
    waits_after_each_failure(throttles, " Owner ", OWNER_ADDRESS, 7)
    assert throttles.wait_seconds("owner", OWNER_ADDRESS, now=T0) == 4  # same login in any case
    throttles.succeeded("OWNER", OWNER_ADDRESS)
    assert throttles.wait_seconds("owner", OWNER_ADDRESS, now=T0) == 0
    assert waits_after_each_failure(throttles, "owner", OWNER_ADDRESS, 5) == [0, 0, 0, 0, 1]  # from 1 again


def test_a_pair_is_forgotten_a_day_after_its_last_failure(session):
    throttles = LoginThrottles(session, Policy())
    waits_after_each_failure(throttles, "owner", OWNER_ADDRESS, 10)
    a_day_later = T0 + throttle.PAIR_FORGET + dt.timedelta(seconds=1)
    throttles.failed("owner", OWNER_ADDRESS, now=a_day_later)
    (row,) = session.scalars(select(LoginThrottle).where(LoginThrottle.key.startswith("pair:"))).all()
    assert row.failures == 1 and row.next_attempt_at is None


def test_the_address_count_is_not_cleared_by_a_success(session):
    throttles = LoginThrottles(session, Policy(address_failures=3))
    for login in ("a", "b", "c"):
        throttles.failed(login, STRANGER_ADDRESS, now=T0)
    throttles.succeeded("c", STRANGER_ADDRESS)
    assert throttles.wait_seconds("d", STRANGER_ADDRESS, now=T0) == 1  # any login from that address
    assert throttles.wait_seconds("d", OWNER_ADDRESS, now=T0) == 0
    keys = set(session.scalars(select(LoginThrottle.key)))
    assert f"ip:{STRANGER_ADDRESS}" in keys and len(keys) == 3  # pairs a and b, and the address


def test_owner_is_not_locked_out_by_a_stranger_at_another_address(make, app, session, csrf_off, monkeypatch):
    owner = make.liaison()
    stranger = browser(app, STRANGER_ADDRESS)
    with frozen_throttle_clock():
        for _ in range(throttle.Policy().free_failures):
            assert fail_login(stranger, owner.login).status_code == 200
        checked = []
        with monkeypatch.context() as patch:
            patch.setattr(accounts, "check_password", lambda *args: checked.append(args) or True)
            refused = stranger.post("/login", data={"login": owner.login, "password": Factory.PASSWORD})
        assert (
            refused.status_code == 429 and checked == []
        )  # the stranger is slowed down, not even checked...
        at_home = browser(app, OWNER_ADDRESS)
        answer = at_home.post("/login", data={"login": owner.login, "password": Factory.PASSWORD})
        assert answer.status_code == 302  # ...the owner at the owner's own address is not
    session.expire_all()
    kinds = list(session.scalars(select(SecurityEvent.kind).order_by(SecurityEvent.id)))
    assert kinds == ["login_failed"] * 5 + ["login_throttled", "login_ok"]


@pytest.fixture
def second_app(committing_app, tmp_path):
    """Another app (another web process) on the same database as ``committing_app``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INSTANCE_PATH", str(tmp_path / "second"))
        other = create_app(
            {
                "APP_ENV": "testing",
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": committing_app.config["SQLALCHEMY_DATABASE_URI"],
                "SECRET_KEY": "test-secret",
                "WTF_CSRF_ENABLED": False,
            }
        )
    yield other
    with other.app_context():
        db.engine.dispose()


def test_two_app_instances_share_the_count_through_the_database(committing_app, second_app):
    committing_app.config["WTF_CSRF_ENABLED"] = False
    with committing_app.app_context():
        user = Factory(db.session).liaison()
        db.session.commit()
        login = user.login
    with frozen_throttle_clock():
        for number in range(5):
            serving = (committing_app, second_app)[number % 2]  # the failures alternate between them
            assert fail_login(browser(serving, OWNER_ADDRESS), login).status_code == 200
        for serving in (committing_app, second_app):
            answer = browser(serving, OWNER_ADDRESS).post(
                "/login", data={"login": login, "password": Factory.PASSWORD}
            )
            assert answer.status_code == 429
    with committing_app.app_context(), Session(db.engine) as check:
        failures = check.scalars(select(LoginThrottle.failures).where(LoginThrottle.key.startswith("pair:")))
        assert list(failures) == [5]


def test_two_processes_share_the_count_through_redis(session, redis_url):
    first, second = Redis.from_url(redis_url), Redis.from_url(redis_url)  # one connection each
    login = f"owner-{uuid.uuid4().hex}"
    address = f"203.0.113.{uuid.uuid4().int % 250}"
    names = [
        throttle.REDIS_PREFIX + throttle.pair_key(login, address),
        throttle.REDIS_PREFIX + throttle.address_key(address),
    ]
    try:
        one, other = LoginThrottles(session, Policy(), first), LoginThrottles(session, Policy(), second)
        for number in range(5):
            (one, other)[number % 2].failed(login, address, now=T0)
        assert one.wait_seconds(login, address, now=T0) == other.wait_seconds(login, address, now=T0) == 1
        assert 0 < first.ttl(names[0]) <= throttle.PAIR_FORGET.total_seconds()
        assert session.scalars(select(LoginThrottle)).all() == []  # nothing in the database
        other.succeeded(login, address)
        assert one.wait_seconds(login, address, now=T0) == 0
    finally:
        first.delete(*names)


def test_an_attempt_that_finds_redis_down_is_counted_in_the_database(session):
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    for _ in range(5):
        LoginThrottles(session, Policy(), unreachable).failed("owner", OWNER_ADDRESS, now=T0)
    assert LoginThrottles(session, Policy(), unreachable).wait_seconds("owner", OWNER_ADDRESS, now=T0) == 1
    failures = session.scalars(select(LoginThrottle.failures).where(LoginThrottle.key.startswith("pair:")))
    assert list(failures) == [5]
