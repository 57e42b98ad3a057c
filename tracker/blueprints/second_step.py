"""The half-logged-in state between a right password and a right second-factor code.

It lives in the session under ``PENDING_KEY`` and logs nobody in (Flask-Login's ``login_user``
runs only after the code): the user's id and session version (so a logout elsewhere, a password
change or a deactivation ends it too, see ``accounts.load_session_user``), when the password was
right, and where to go afterwards. It expires after ``CODE_STEP_SECONDS``.
"""

from __future__ import annotations

import time

from flask import session

from ..extensions import db
from ..models import User
from ..safeguards import accounts

PENDING_KEY = "_second_step"
CODE_STEP_SECONDS = 5 * 60


def begin(user: User, next_target: str | None, kept: tuple[str, ...]) -> None:
    """A fresh session holding only the pending step (and the ``kept`` keys, e.g. the language)."""
    carried = {key: session[key] for key in kept if key in session}
    session.clear()
    session.update(carried)
    session[PENDING_KEY] = {
        "user": f"{user.id}:{user.session_version}",
        "at": int(time.time()),
        "next": next_target or "",
    }


def pending() -> dict | None:
    value = session.get(PENDING_KEY)
    return value if isinstance(value, dict) and isinstance(value.get("at"), int) else None


def pending_user() -> User | None:
    """The user whose password was right less than ``CODE_STEP_SECONDS`` ago, or None."""
    step = pending()
    if step is None or int(time.time()) - step["at"] > CODE_STEP_SECONDS:
        return None
    return accounts.load_session_user(db.session, str(step.get("user", "")))


def clear() -> None:
    session.pop(PENDING_KEY, None)
