"""What every Open311 route shares: the format from the path, the key, the answer, the error array.

The routes themselves are in ``open311_read`` and ``open311_write`` (of the ``api`` blueprint).
A route raises ``Open311Error`` for a refusal; the handler below answers the spec's error array
in the format the path asked for, after rolling back whatever the request had written.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request

from ..extensions import db
from ..open311 import keys, render
from ..open311.errors import Open311Error
from ..open311_models import ApiKey
from ..safeguards.api_limits import ApiLimits
from .api import bp

PREFIX = "/open311/v2/"


def is_open311_request() -> bool:
    return request.path.startswith(PREFIX)


def requested_format() -> str:
    """``xml`` when the path ends in ``.xml``, else ``json`` (the spec's default)."""
    return "xml" if request.path.endswith(".xml") else "json"


def answer(root: str, item: str | None, value: Any, status: int = 200):
    body, content_type = render.render(requested_format(), root, item, value)
    return current_app.response_class(body, status=status, content_type=content_type)


def problem(status: int, description: str):
    body, content_type = render.errors(requested_format(), [(status, description)])
    return current_app.response_class(body, status=status, content_type=content_type)


def parameter(name: str) -> str:
    """A parameter from the form (POST) or the query string, stripped."""
    value = request.form.get(name) if request.method == "POST" else None
    if value is None:
        value = request.args.get(name, "")
    return value.strip()


def current_key() -> ApiKey | None:
    """The key this request came with, checked by ``check_key_and_jurisdiction``."""
    return g.get("open311_key")


@bp.before_request
def check_key_and_jurisdiction():
    """Under /open311/v2/: a given ``api_key`` must be a live key (403), ``jurisdiction_id`` ours (404)."""
    if not is_open311_request():
        return None
    jurisdiction = parameter("jurisdiction_id")
    if jurisdiction and jurisdiction != current_app.config["OPEN311_JURISDICTION_ID"]:
        return problem(404, f"jurisdiction_id not found: {jurisdiction[:80]}")
    given = parameter("api_key")
    g.open311_key = None
    if given:
        key = keys.find_active_key(db.session, given)
        if key is None:
            return problem(403, "api_key is not valid (APIキーが正しくないか、無効にされています)")
        g.open311_key = key
        wait = api_limits().hit(key.key_hash, key.rate_limit_per_minute)
        if wait:
            db.session.rollback()
            limit = key.rate_limit_per_minute
            response = problem(
                429,
                f"rate limit exceeded: {limit} a minute (リクエストが多すぎます。{wait}秒後にお試しください)",
            )
            response.headers["Retry-After"] = str(wait)
            return response
    return None


def api_limits() -> ApiLimits:
    """The app's rate limit counts (Redis with ``REDIS_URL``, else this process's memory)."""
    limits = current_app.extensions.get("open311_limits")
    if limits is None:
        limits = current_app.extensions["open311_limits"] = ApiLimits(current_app.config.get("REDIS_URL"))
    return limits


@bp.errorhandler(Open311Error)
def refused(error: Open311Error):
    db.session.rollback()
    return problem(error.status, error.description)
