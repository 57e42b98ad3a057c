"""What the user reads, in the user's language, without the rules importing Flask.

Japanese is the source language: every text the user reads is written in Japanese where it is
used, marked for the catalog (``N_`` in modules that cannot import Flask-Babel, ``_`` in the web
layer and the templates), and translated when it is shown. The web layer installs the
translator once (``install`` in ``create_app``); outside a request, and before it is installed,
a text stays Japanese. Enum labels (``states``) and ``WorkflowError`` messages translate
through here when they are read, so a rule can raise a Japanese message and an English user
still reads English.

A message with values is a template with named placeholders, ``say("「%(name)s」は既にあります。",
name=name)``: the catalog translates the template, the values go in afterwards (a value that
is itself a label should be translated by the caller, ``translate(label)``).
"""

from __future__ import annotations

from collections.abc import Callable


def N_(text: str) -> str:
    """Marks ``text`` for the catalog where it is written; ``translate`` shows it."""
    return text


def _untranslated(text: str) -> str:
    return text


def _japanese() -> str:
    return "ja"


_translator: Callable[[str], str] = _untranslated
_language: Callable[[], str] = _japanese


def install(translator: Callable[[str], str], current_language: Callable[[], str] | None = None) -> None:
    """Set the function that turns a Japanese source text into the current user's language, and
    the one that names that language (``"ja"``, ``"en"``: what ``tracker.formatting`` takes)."""
    global _translator, _language
    _translator = translator
    _language = current_language or _japanese


def language() -> str:
    """The current user's language (``"ja"`` outside a request): for ``tracker.formatting``."""
    return _language()


def translate(text: str) -> str:
    """``text`` (a marked Japanese source text) in the current user's language."""
    if not text:
        return text
    return _translator(text)


def say(template: str, **params: object) -> str:
    """``template`` translated, then filled with ``params`` (``%(name)s`` placeholders)."""
    translated = translate(template)
    return translated % params if params else translated
