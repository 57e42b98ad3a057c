"""The user's language: chosen with ``?lang=``, kept on the account, installed for the rules.

Japanese is the source language and the default. A signed-in user's choice is stored on the
account (``User.locale``), so it holds on every device and after every sign-in; before sign-in
the session keeps it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import flask_babel
from flask import Flask, has_request_context, request, session
from flask_login import current_user

from .. import wording
from ..extensions import db

LANGUAGES = ("ja", "en")


def init_language(app: Flask, babel: flask_babel.Babel, directory: Path) -> None:
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=str(directory))
    app.before_request(flask_babel.refresh)  # the language is chosen per request, never cached
    wording.install(_translate, current_language)


def select_locale() -> str:
    """``?lang=`` for this request on; else the signed-in user's choice, else the session's."""
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    return session.get("lang") or "ja"


ADOPTED_KEY = "_lang_adopted"  # the session's choice has been kept on the account (once a sign-in)


def remember_language() -> None:
    """A signed-in user's ``?lang=`` choice is kept on the account, for every later sign-in.

    A choice made before signing in (the session's, which the login keeps) is the account's from
    the first request after it; later, only a new ``?lang=`` changes the account.
    """
    if not current_user.is_authenticated:
        return
    chosen = request.args.get("lang")
    if chosen not in LANGUAGES and not session.get(ADOPTED_KEY):
        chosen = session.get("lang")
    session[ADOPTED_KEY] = True
    if chosen in LANGUAGES and current_user.locale != chosen:
        current_user.locale = chosen
        db.session.commit()


def _translate(text: str) -> str:
    return flask_babel.gettext(text) if has_request_context() else text


def current_language() -> str:
    """``"ja"`` or ``"en"``: the language of this request (Japanese outside one)."""
    if not has_request_context():
        return "ja"
    locale = flask_babel.get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else "ja"


def in_current_language(helper: Callable[..., str]) -> Callable[[object], str]:
    """A ``tracker.formatting`` helper as a template filter: it writes in the current language."""

    def written(value) -> str:
        return helper(value, current_language())

    written.__name__ = helper.__name__
    written.__doc__ = helper.__doc__
    return written
