"""Full-text search of requests and ward issues: normalised text, terms, and the WHERE clause.

Every request and ward issue keeps ``search_text``: its searchable fields (reference number,
title, description / situation and proposal, place, organisation) normalised by ``normalize``
(Unicode NFKC, so half-width katakana and full-width letters and digits become their usual
forms, then case-folded, whitespace collapsed). A ``before_flush`` listener (``register``)
keeps it current on every write path. Residents' names and contacts are personal data, never
searchable text, and are never in it.

A query is split into terms (``terms``) that must all match (AND), each as a substring of
``search_text``:

- PostgreSQL: ``search_text LIKE '%term%'`` (``%``, ``_`` and ``\\`` taken literally), served by
  a pg_trgm GIN index for terms of 3+ characters; a term of 1 or 2 characters (鉄塔, 灯), which
  has no trigram, is one gram of ``search_grams(search_text)`` (migration 0019: every character
  and every pair of neighbouring characters of the text, none with a space, in an expression GIN
  index), so it matches ``search_grams(search_text) @> ARRAY[term] AND strpos(search_text, term)
  <> 0``: found through that index, never by a scan, and exactly the rows the LIKE finds;
- SQLite: an FTS5 table with the trigram tokenizer (``requests_fts``, ``ward_issues_fts``, kept
  current by triggers made in migration 0009) for terms of 3+ characters, LIKE for shorter ones.

The clause is one SQL construct that compiles to either form (``matching``), so callers need
no dialect and no app context.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Text, and_, event
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import InternalTraversal

log = logging.getLogger(__name__)

MAX_TERMS = 8  # further words of a query are ignored
MAX_TERM_LENGTH = 100  # characters; a longer word is cut (no field is searched for more)
MIN_INDEXED_LENGTH = 3  # shorter terms have no trigram: one gram of ``search_grams`` on PostgreSQL

# The searchable fields of each table, in the order they are written into ``search_text``.
REQUEST_FIELDS = ("reference", "title", "description", "location_text", "organisation")
ISSUE_FIELDS = ("reference", "title", "situation", "proposal")

# SQLite FTS5 tables (and their shadow tables): not models; migrations and backups skip them.
FTS_TABLES = {"requests": "requests_fts", "ward_issues": "ward_issues_fts"}
_FTS_NAME = re.compile(r"^(requests|ward_issues)_fts(_(data|idx|content|docsize|config))?$")


def normalize(text: str | None) -> str:
    """NFKC, case-folded, whitespace runs (full-width spaces too) made one space, stripped."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(folded.split())


def terms(q: str | None) -> list[str]:
    """The words of a query, normalised: at most ``MAX_TERMS``, no empties, no repeats."""
    found: list[str] = []
    for word in normalize(q).split():
        word = word[:MAX_TERM_LENGTH]
        if word not in found:
            found.append(word)
        if len(found) == MAX_TERMS:
            break
    return found


def search_text_of(obj) -> str:
    """The ``search_text`` of a ServiceRequest or WardIssue, from its searchable fields."""
    fields = ISSUE_FIELDS if obj.__tablename__ == "ward_issues" else REQUEST_FIELDS
    return " ".join(part for part in (normalize(getattr(obj, name, "")) for name in fields) if part)


def request_search_text(values: Mapping[str, Any]) -> str:
    """The ``search_text`` of a request given as column values (for bulk INSERTs, which no
    flush listener sees: ``importer``)."""
    return " ".join(part for part in (normalize(values.get(name)) for name in REQUEST_FIELDS) if part)


def is_index_table(name: str | None) -> bool:
    """A SQLite FTS table of the search (or one of its shadow tables)."""
    return bool(name) and bool(_FTS_NAME.match(name))


# --- the WHERE clause ------------------------------------------------------------------------


def like_pattern(term: str) -> str:
    """``%term%`` with LIKE's wildcards and the escape character (``\\``) taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def fts_phrase(term: str) -> str:
    """An FTS5 query matching ``term`` as one string: a phrase in double quotes (doubled inside)."""
    return '"' + term.replace('"', '""') + '"'


class TermMatch(ColumnElement[bool]):
    """One search term against one table: compiles to LIKE (``like``), on PostgreSQL to the
    grams index and a substring test for a short term (``postgresql``), or on SQLite to an FTS5
    lookup for a long one (``fts``)."""

    type = sa.Boolean()
    inherit_cache = True
    _traverse_internals = [
        ("like", InternalTraversal.dp_clauseelement),
        ("fts", InternalTraversal.dp_clauseelement),
        ("postgresql", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, like: ColumnElement[bool], fts: ColumnElement[bool], postgresql: ColumnElement[bool]):
        self.like = like
        self.fts = fts
        self.postgresql = postgresql


@compiles(TermMatch)
def _compile_like(element: TermMatch, compiler, **kw) -> str:
    return compiler.process(element.like, **kw)


@compiles(TermMatch, "sqlite")
def _compile_sqlite(element: TermMatch, compiler, **kw) -> str:
    return compiler.process(element.fts, **kw)


@compiles(TermMatch, "postgresql")
def _compile_postgresql(element: TermMatch, compiler, **kw) -> str:
    return compiler.process(element.postgresql, **kw)


def _fts_table(name: str) -> sa.TableClause:
    return sa.table(name, sa.column("rowid"), sa.column("search_text"))


def grams_of(column) -> ColumnElement:
    """``search_grams(column)``: the expression of the grams GIN index (PostgreSQL only)."""
    return sa.func.search_grams(column, type_=ARRAY(Text))


def _inline(value: str) -> ColumnElement[str]:
    """``value`` written into the SQL as a quoted literal at execution, not sent as a parameter.

    With parameters every query of a search has the same text, and after five runs PostgreSQL
    may plan it once for any value (psycopg prepares it; the plan cache goes generic): a plan
    that cannot know a word's frequency, that ANDed both GIN indexes for 灯 and read all of
    pg_trgm's index (3 s at 300,000 rows, against 2 ms planned for the word itself).
    """
    return sa.literal(value, Text, literal_execute=True)


def term_clause(model, term: str) -> ColumnElement[bool]:
    like = model.search_text.like(_inline(like_pattern(term)), escape="\\")
    if len(term) >= MIN_INDEXED_LENGTH:
        fts = _fts_table(FTS_TABLES[model.__tablename__])
        indexed = model.id.in_(sa.select(fts.c.rowid).where(fts.c.search_text.match(fts_phrase(term))))
        return TermMatch(like, indexed, like)
    # Containing the gram already means containing the term (one character, or two neighbours;
    # a term has no space). A substring test stays beside it all the same: PostgreSQL evaluates
    # the cheaper condition first, so where the planner walks an index in the list's order and
    # filters, each row costs a strpos (about a microsecond), not a call of search_grams (tens).
    # strpos, not the LIKE: the planner multiplies the estimates of the two conditions as if
    # independent, and LIKE's ~4% times the gram's 4% made a frequent word look 25 times rarer
    # than it is (and sorted all its rows); "strpos(...) <> 0" is estimated at 99.5%.
    gram = grams_of(model.search_text).contains(sa.cast(array([_inline(term)]), ARRAY(Text)))
    return TermMatch(like, like, and_(gram, sa.func.strpos(model.search_text, _inline(term)) != 0))


def has_short_term(q: str | None) -> bool:
    """Whether ``q`` has a word too short for trigrams (found through the grams index)."""
    return any(len(term) < MIN_INDEXED_LENGTH for term in terms(q))


def matching(model, q: str | None) -> ColumnElement[bool] | None:
    """The WHERE clause finding ``q`` (all its words) in ``model`` (ServiceRequest or WardIssue);
    None when the query has no words (search nothing: the caller lists everything)."""
    found = terms(q)
    if not found:
        return None
    if model.__tablename__ not in FTS_TABLES:
        raise ValueError(f"{model.__name__} is not searchable")
    return and_(*(term_clause(model, term) for term in found))


# --- keeping search_text current --------------------------------------------------------------


def _refresh(objects: Iterable) -> None:
    for obj in objects:
        if getattr(obj, "__tablename__", None) in FTS_TABLES:
            text = search_text_of(obj)
            if obj.search_text != text:
                obj.search_text = text


def _before_flush(session: Session, flush_context, instances) -> None:
    _refresh(session.new)
    _refresh(session.dirty)


def register() -> None:
    """Keep ``search_text`` current on every flush of every session (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)


# --- start-up check --------------------------------------------------------------------------

_UTF8 = re.compile(r"\.utf-?8(@.*)?$", re.IGNORECASE)


def ctype_problem(ctype: str | None) -> str | None:
    """Why a PostgreSQL database with this LC_CTYPE cannot index Japanese text; None if it can.

    pg_trgm makes trigrams only of characters the ctype calls alphanumeric: under ``C`` or
    ``POSIX`` (or any non-UTF-8 locale) Japanese text yields none, and every search scans.
    """
    if ctype and _UTF8.search(ctype.strip()):
        return None
    return (
        f"The database's LC_CTYPE is {ctype!r}, not a UTF-8 locale: pg_trgm cannot index Japanese "
        "text, so search would scan every row. Create the database with a UTF-8 locale, e.g. "
        "CREATE DATABASE tracker ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0, "
        "and restore a backup into it (flask backup / flask restore)."
    )


def database_problems(connection: sa.Connection) -> tuple[list[str], list[str]]:
    """(fatal, warnings) about the search on this database; cheap (a query or two)."""
    fatal: list[str] = []
    warnings: list[str] = []
    if connection.dialect.name == "postgresql":
        ctype = connection.exec_driver_sql(
            "SELECT datctype FROM pg_database WHERE datname = current_database()"
        ).scalar()
        problem = ctype_problem(ctype)
        if problem:
            fatal.append(problem)
        installed = connection.exec_driver_sql(
            "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"
        ).scalar()
        if not installed:
            warnings.append(
                "The PostgreSQL extension pg_trgm is not installed: run 'flask db upgrade' "
                "(migration 0009 creates it; it needs the postgresql-contrib package)."
            )
        elif not problem:
            trigrams = connection.exec_driver_sql("SELECT cardinality(show_trgm('防犯灯'))").scalar()
            if not trigrams:
                fatal.append(
                    f"pg_trgm makes no trigrams of Japanese text under LC_CTYPE {ctype!r}: "
                    "use a UTF-8 locale that classifies Japanese characters."
                )
    elif connection.dialect.name == "sqlite" and sqlite3.sqlite_version_info < (3, 34, 0):
        fatal.append(
            f"SQLite {sqlite3.sqlite_version} has no FTS5 trigram tokenizer (3.34 or newer is needed)."
        )
    return fatal, warnings


def check_database(engine: sa.Engine, *, production: bool) -> None:
    """At start-up: refuse to start in production when search cannot work; warn otherwise.

    An unreachable database is left to the first request to report.
    """
    try:
        with engine.connect() as connection:
            fatal, warnings = database_problems(connection)
    except sa.exc.OperationalError as error:
        log.warning("search check skipped: the database is not reachable (%s)", error.__class__.__name__)
        return
    for message in warnings:
        log.warning("search: %s", message)
    for message in fatal:
        if production:
            raise RuntimeError(f"Refusing to start: {message}")
        log.warning("search: %s", message)


# --- autogenerate (migrations/env.py, tests/test_migrations.py) ------------------------------

TRIGRAM_INDEXES = frozenset({"ix_requests_search_text_trgm", "ix_ward_issues_search_text_trgm"})
# Expression indexes of migration 0019 (PostgreSQL), over a function the models do not know.
GRAM_INDEXES = frozenset({"ix_requests_search_grams", "ix_ward_issues_search_grams"})


def autogenerate_filters(dialect_name: str) -> dict:
    """``include_name`` / ``include_object`` for Alembic's comparison on ``dialect_name``: the
    FTS tables and the grams indexes are not models, and the trigram GIN indexes exist on
    PostgreSQL only."""

    def include_name(name, type_, parent_names) -> bool:
        if type_ == "table" and is_index_table(name):
            return False
        if type_ == "index" and name in GRAM_INDEXES:
            return False
        return not (type_ == "index" and name in TRIGRAM_INDEXES and dialect_name != "postgresql")

    def include_object(obj, name, type_, reflected, compare_to) -> bool:
        return include_name(name, type_, {})

    return {"include_name": include_name, "include_object": include_object}
