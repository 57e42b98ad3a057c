"""Login throttling that a stranger cannot turn against the owner of an account.

Failures are counted per (login ID, client address) pair: a stranger failing the owner's login
from elsewhere slows down only that stranger, never the owner at the owner's own address. After
``LOGIN_THROTTLE_FREE_FAILURES`` failures of a pair (default 5) the next attempt waits
2^(n - free) seconds after the n-th failure, capped at ``LOGIN_THROTTLE_MAX_DELAY_SECONDS``
(default 900): a growing delay, never a hard lock. A success clears the pair; a pair without a
failure for a day is forgotten.

A coarse count per address (key ``ip:<addr>``) slows down one address spraying many logins:
the same delay after ``LOGIN_THROTTLE_ADDRESS_FAILURES`` failures (default 100, high, since a
ward office's staff may share one address); a success does not clear it (a sprayer with one
account of their own could), it is forgotten an hour after its last failure.

The counts are shared by every web process: in Redis when ``REDIS_URL`` is set (a hash per key
with a TTL), else in the ``login_throttles`` table, written in the login's own transaction; an
attempt that finds Redis down is counted in the table. Never in one process's memory.
A throttled attempt is not a failure: it checks no password.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..background import jobs
from ..model_types import utcnow
from ..models import User
from ..ops_models import LoginThrottle
from . import accounts, security_log

PAIR_FORGET = dt.timedelta(days=1)
ADDRESS_FORGET = dt.timedelta(hours=1)
REDIS_PREFIX = "tracker:login-throttle:"


@dataclass(frozen=True)
class Policy:
    free_failures: int = 5
    address_failures: int = 100
    max_delay_seconds: int = 900

    @classmethod
    def from_config(cls, config) -> Policy:
        return cls(
            free_failures=config["LOGIN_THROTTLE_FREE_FAILURES"],
            address_failures=config["LOGIN_THROTTLE_ADDRESS_FAILURES"],
            max_delay_seconds=config["LOGIN_THROTTLE_MAX_DELAY_SECONDS"],
        )

    def delay(self, failures: int, free: int) -> dt.timedelta:
        """The wait after the ``failures``-th failure of a key that has ``free`` failures free."""
        if failures < free:
            return dt.timedelta(0)
        exponent = failures - free
        seconds = self.max_delay_seconds if exponent >= 20 else min(2**exponent, self.max_delay_seconds)
        return dt.timedelta(seconds=seconds)


def normalised_login(login: str | None) -> str:
    """The login ID as ``accounts.authenticate`` reads it: one count per account, any letter case."""
    return (login or "").strip().lower()


def pair_key(login: str | None, ip: str | None) -> str:
    """A fixed-length key of the pair (a login ID as typed can be any length)."""
    digest = hashlib.sha256(f"{normalised_login(login)}\x00{ip or ''}".encode()).hexdigest()
    return "pair:" + digest


def address_key(ip: str | None) -> str:
    return "ip:" + (ip or "")[:45]


@dataclass
class LoginThrottles:
    """The throttle of one login attempt; ``redis`` None: the database store."""

    session: Session
    policy: Policy
    redis: Redis | None = None

    def _keys(self, login: str | None, ip: str | None) -> tuple[tuple[str, int, dt.timedelta], ...]:
        return (
            (pair_key(login, ip), self.policy.free_failures, PAIR_FORGET),
            (address_key(ip), self.policy.address_failures, ADDRESS_FORGET),
        )

    def wait_seconds(self, login: str | None, ip: str | None, now: dt.datetime | None = None) -> int:
        """Seconds before this pair (or address) may try again; 0: it may now."""
        now = now or utcnow()
        waits = [0]
        for key, _free, forget in self._keys(login, ip):
            allowed_at = self._allowed_at(key, forget, now)
            if allowed_at is not None and allowed_at > now:
                waits.append(math.ceil((allowed_at - now).total_seconds()))
        return max(waits)

    def failed(self, login: str | None, ip: str | None, now: dt.datetime | None = None) -> None:
        """Count one failed attempt of the pair and of the address."""
        now = now or utcnow()
        for key, free, forget in self._keys(login, ip):
            self._count_failure(key, free, forget, now)

    def succeeded(self, login: str | None, ip: str | None) -> None:
        """The pair's owner is in: its count starts again (the address's stays)."""
        key = pair_key(login, ip)
        if self.redis is not None:
            try:
                self.redis.delete(REDIS_PREFIX + key)
                return
            except RedisError:
                self.redis = None
        self.session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))

    # --- the stores: Redis, or the database (also for the rest of an attempt that lost Redis) ---

    def _allowed_at(self, key: str, forget: dt.timedelta, now: dt.datetime) -> dt.datetime | None:
        if self.redis is not None:
            try:
                stored = self.redis.hget(REDIS_PREFIX + key, "next_attempt_at")
                return dt.datetime.fromtimestamp(float(stored), dt.UTC) if stored else None
            except RedisError:
                self.redis = None  # still shared: the database counts until Redis is back
        row = self.session.execute(
            select(LoginThrottle.next_attempt_at, LoginThrottle.updated_at).where(LoginThrottle.key == key)
        ).first()
        if row is None or row.updated_at < now - forget:
            return None
        return row.next_attempt_at

    def _count_failure(self, key: str, free: int, forget: dt.timedelta, now: dt.datetime) -> None:
        if self.redis is not None:
            name = REDIS_PREFIX + key
            try:
                failures, _ = (
                    self.redis.pipeline().hincrby(name, "failures", 1).expire(name, forget).execute()
                )
                delay = self.policy.delay(int(failures), free)
                if delay:
                    self.redis.hset(name, "next_attempt_at", str((now + delay).timestamp()))
                return
            except RedisError:
                self.redis = None
        failures = self._count_in_database(key, forget, now)
        allowed_at = now + self.policy.delay(failures, free)
        self.session.execute(
            LoginThrottle.__table__.update()
            .where(LoginThrottle.key == key)
            .values(next_attempt_at=allowed_at if allowed_at > now else None, updated_at=now)
        )

    def _count_in_database(self, key: str, forget: dt.timedelta, now: dt.datetime) -> int:
        """One atomic upsert: a new row, one more failure, or 1 again when the row was forgotten."""
        table = LoginThrottle.__table__
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        inserted = dialect.insert(table).values(key=key, failures=1, next_attempt_at=None, updated_at=now)
        forgotten = table.c.updated_at < now - forget
        upsert = inserted.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={"failures": case((forgotten, 1), else_=table.c.failures + 1), "updated_at": now},
        ).returning(table.c.failures)
        return int(self.session.execute(upsert).scalar_one())


@dataclass(frozen=True)
class LoginOutcome:
    """``user`` when the password was right; ``retry_after`` seconds when the attempt was refused
    unchecked (throttled); neither: a failed login."""

    user: User | None = None
    retry_after: int = 0


def attempt_login(session: Session, config, login: str, password: str, ip: str | None) -> LoginOutcome:
    """One login attempt: throttled, failed or succeeded, counted and logged in ``session``'s
    transaction (the caller commits in every case)."""
    throttles = LoginThrottles(session, Policy.from_config(config), jobs.redis_connection())
    wait = throttles.wait_seconds(login, ip)
    if wait:
        logged, detail = _loggable_login(session, login)
        detail["retry_after"] = wait
        security_log.record(session, security_log.LOGIN_THROTTLED, login=logged, ip=ip, detail=detail)
        return LoginOutcome(retry_after=wait)
    user = accounts.authenticate(session, login, password)
    if user is None:
        throttles.failed(login, ip)
        logged, detail = _loggable_login(session, login)
        security_log.record(session, security_log.LOGIN_FAILED, login=logged, ip=ip, detail=detail)
        return LoginOutcome()
    throttles.succeeded(login, ip)
    security_log.record(session, security_log.LOGIN_OK, user=user, login=login, ip=ip)
    return LoginOutcome(user=user)


SECOND_FACTOR = "second-factor:"  # the code step's pairs, apart from the password's


def attempt_second_factor(
    session: Session, config, user: User, ip: str | None, code_is_right: Callable[[], bool]
) -> LoginOutcome:
    """The login's second step, throttled like the first: per (user, address) pair with the
    same growing delay, and in the same per-address count. ``code_is_right`` is called only
    when the pair may try; counted and logged in ``session``'s transaction."""
    throttles = LoginThrottles(session, Policy.from_config(config), jobs.redis_connection())
    login = SECOND_FACTOR + user.login
    wait = throttles.wait_seconds(login, ip)
    detail = {"step": "second_factor"}
    if wait:
        security_log.record(
            session,
            security_log.LOGIN_THROTTLED,
            user=user,
            login=user.login,
            ip=ip,
            detail=detail | {"retry_after": wait},
        )
        return LoginOutcome(retry_after=wait)
    if not code_is_right():
        throttles.failed(login, ip)
        security_log.record(
            session, security_log.LOGIN_FAILED, user=user, login=user.login, ip=ip, detail=detail
        )
        return LoginOutcome()
    throttles.succeeded(login, ip)
    return LoginOutcome(user=user)


def _loggable_login(session: Session, login: str) -> tuple[str, dict]:
    """The login ID to log for a refused attempt: as typed when it names an account; else none,
    since what was typed into the login field may be a password typed in the wrong box."""
    known = session.scalar(select(User.id).where(func.lower(User.login) == normalised_login(login)))
    return (login, {}) if known is not None else ("", {"unknown_login": True})
