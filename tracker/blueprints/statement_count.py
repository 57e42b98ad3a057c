"""The SQL statements one request ran, in an ``X-SQL-Statements`` response header.

Off unless the config flag ``SQL_STATEMENT_HEADER`` is true (env ``SQL_STATEMENT_HEADER=1``):
``make bench`` turns it on to show that a page runs as many statements at a million requests as at
ten thousand. The count is kept in ``flask.g`` from the first hook of the request (registered
before every other one) to the response; statements run outside a request (a command, a job) are
never counted. The flag is read on each request, so a test can turn it on for one app.
"""

from __future__ import annotations

from flask import Flask, current_app, g, has_app_context
from sqlalchemy import event
from sqlalchemy.engine import Engine

HEADER = "X-SQL-Statements"
_COUNTER = "sql_statements"


@event.listens_for(Engine, "before_cursor_execute")
def _count_statement(conn, cursor, statement, parameters, context, executemany):
    """One more statement for the request being counted (nothing when none is)."""
    if has_app_context() and _COUNTER in g:
        g.sql_statements += 1


def _start_counting() -> None:
    if current_app.config.get("SQL_STATEMENT_HEADER"):
        g.sql_statements = 0


def _add_header(response):
    count = g.pop(_COUNTER, None)
    if count is not None:
        response.headers[HEADER] = str(count)
    return response


def init_app(app: Flask) -> None:
    """Register the hooks; call it before any other ``before_request`` so every statement counts."""
    app.before_request(_start_counting)
    app.after_request(_add_header)
