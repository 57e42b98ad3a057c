"""Keeping the summary tables (``tracker.summary_models``) exactly right, and rebuilding them.

Every flush of every session is watched (``register``): for each request or ward issue
inserted, changed or deleted, the keys it counted under before the flush lose one and the keys
it counts under now gain one (old values from the attributes' committed state; one that was
set without being loaded is read from the database before the flush writes over it). The
deltas of a flush are summed and written with one UPSERT per table (``count = count +
delta``, keys sorted so that two transactions take the rows' locks in the same order) in the
flush's own transaction: a rollback takes them back with the change, and concurrent
transactions add up instead of overwriting each other.

A write that bypasses the ORM (a bulk INSERT of an import, ``request_writer``) calls
``apply_request_rows`` with the rows it wrote. ``rebuild`` recomputes every table from scratch
(``flask counts rebuild``; also after loading data by COPY), ``differences`` compares them with a
fresh computation (``flask counts check``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Date, delete, event, inspect, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import NO_VALUE

from ..models import ServiceRequest, WardIssue
from ..states import OPEN_REQUEST_STATES, RequestState
from ..summary_models import (
    SUMMARY_TABLES,
    AnswerDays,
    IssueCount,
    OpenRequestDue,
    RequestMonthCount,
    RequestStateCount,
)
from . import activity_counters, bureau_counters, report_counters

REQUEST_COLUMNS = (
    "ward_id",
    "center_id",
    "state",
    "fiscal_year",
    "received_on",
    "answer_due_on",
    "answered_on",
    "activity_id",  # not a key of the request tables: the gathered counts (``activity_counters``)
)
ISSUE_COLUMNS = ("ward_id", "fiscal_year", "state", "decision")
OPEN_VALUES = tuple(state.value for state in OPEN_REQUEST_STATES)
UNLOADED = "counters_unloaded"  # session.info: id(obj) -> old values read in ``_before_flush``
Deltas = dict[type, Counter]


def _value(value: Any) -> Any:
    return getattr(value, "value", value)  # an enum member as the string its column stores


def request_keys(values: Mapping[str, Any]) -> list[tuple[type, tuple]]:
    """The summary rows one request with these column values counts in."""
    state = _value(values["state"])
    received: dt.date = values["received_on"]
    keys: list[tuple[type, tuple]] = [
        (RequestStateCount, (values["ward_id"], values["center_id"], state)),
        (RequestMonthCount, (values["ward_id"], values["fiscal_year"], received.replace(day=1))),
    ]
    if state in OPEN_VALUES:
        keys.append(
            (OpenRequestDue, (values["center_id"], values["answer_due_on"], state, values["ward_id"]))
        )
    if state == RequestState.ANSWERED.value and values["answered_on"] is not None:
        days = max((values["answered_on"] - received).days, 0)
        keys.append((AnswerDays, (values["ward_id"], values["fiscal_year"], days)))
    return keys


def issue_keys(values: Mapping[str, Any]) -> list[tuple[type, tuple]]:
    decision = _value(values["decision"]) or ""
    return [(IssueCount, (values["ward_id"], values["fiscal_year"], _value(values["state"]), decision))]


KEYS = {ServiceRequest: (REQUEST_COLUMNS, request_keys), WardIssue: (ISSUE_COLUMNS, issue_keys)}


def _old_values(obj, columns, unloaded: Mapping) -> dict[str, Any]:
    """The values ``obj`` had in the database before this flush: the committed value of each
    changed attribute (read in ``_before_flush`` when it was not loaded), else the current one."""
    committed = inspect(obj).committed_state
    old = {}
    for name in columns:
        if name not in committed:
            old[name] = getattr(obj, name)
        elif committed[name] is NO_VALUE:
            old[name] = unloaded[id(obj)][name]
        else:
            old[name] = committed[name]
    return old


def _changed(obj, columns) -> bool:
    committed = inspect(obj).committed_state
    return any(name in committed for name in columns)


def _not_loaded(obj, columns) -> bool:
    """Whether an old value of ``obj`` could be missing after the flush: a column not loaded
    (a foreign key the flush may set from a relationship) or set without being loaded."""
    state = inspect(obj)
    return state.persistent and any(
        name not in state.dict or state.committed_state.get(name) is NO_VALUE for name in columns
    )


def _before_flush(session: Session, flush_context, instances) -> None:
    """Read from the database the old values of the rows whose old values may be missing (the
    UPDATE of the flush is about to overwrite them); one query per table, only when needed."""
    unloaded = session.info[UNLOADED] = {}
    activity_counters.before_flush(session)
    bureau_counters.before_flush(session)
    report_counters.before_flush(session)
    for model, (columns, _) in KEYS.items():
        objects = [
            obj
            for obj in (*session.dirty, *session.deleted)
            if type(obj) is model and _not_loaded(obj, columns)
        ]
        if objects:
            by_id = {obj.id: obj for obj in objects}
            rows = session.execute(
                select(model.id, *(getattr(model, name) for name in columns)).where(model.id.in_(by_id))
            )
            for id_, *values in rows:
                unloaded[id(by_id[id_])] = dict(zip(columns, values, strict=True))


def _add(deltas: Deltas, keys: Iterable[tuple[type, tuple]], sign: int) -> None:
    for table, key in keys:
        deltas.setdefault(table, Counter())[key] += sign


def _flush_deltas(session: Session) -> Deltas:
    deltas: Deltas = {}
    unloaded = session.info.pop(UNLOADED, {})
    activity_counters.add_deltas(
        session, deltas, lambda obj: _old_values(obj, REQUEST_COLUMNS, unloaded)["activity_id"]
    )
    bureau_counters.add_deltas(session, deltas)
    report_counters.add_deltas(session, deltas)
    for obj in session.new:
        if type(obj) in KEYS:
            columns, keys = KEYS[type(obj)]
            _add(deltas, keys({name: getattr(obj, name) for name in columns}), +1)
    for obj in session.deleted:
        if type(obj) in KEYS:
            columns, keys = KEYS[type(obj)]
            _add(deltas, keys(_old_values(obj, columns, unloaded)), -1)
    for obj in session.dirty:
        if type(obj) in KEYS and obj not in session.deleted:
            columns, keys = KEYS[type(obj)]
            if not _changed(obj, columns):
                continue
            _add(deltas, keys(_old_values(obj, columns, unloaded)), -1)
            _add(deltas, keys({name: getattr(obj, name) for name in columns}), +1)
    return deltas


def _after_flush(session: Session, flush_context) -> None:
    deltas = _flush_deltas(session)
    if any(counter[key] for counter in deltas.values() for key in counter):
        apply(session.connection(), deltas)


def _upsert(dialect: str, table):
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def apply(connection: Connection, deltas: Deltas) -> None:
    """Add ``deltas`` ({summary model: Counter of key -> change}) to the summary tables."""
    for model, counter in deltas.items():
        changes = sorted((key, change) for key, change in counter.items() if change)
        if not changes:
            continue
        table = model.__table__
        keys = [column.name for column in table.primary_key.columns]
        measure = getattr(model, "MEASURE", "count")  # a count, or a sum such as yen
        statement = _upsert(connection.dialect.name, table)
        statement = statement.on_conflict_do_update(
            index_elements=keys, set_={measure: table.c[measure] + statement.excluded[measure]}
        )
        rows = [{**dict(zip(keys, key, strict=True)), measure: change} for key, change in changes]
        connection.execute(statement, rows)
        emptied = [key for key, change in changes if change < 0]
        if emptied:
            columns = tuple_(*(table.c[name] for name in keys))
            connection.execute(delete(table).where(table.c[measure] == 0, columns.in_(emptied)))


def apply_request_rows(session: Session, rows: Iterable[Mapping[str, Any]]) -> None:
    """Count requests written without the ORM (bulk INSERT), given as their column values."""
    deltas: Deltas = {}
    for values in rows:
        _add(deltas, request_keys(values), +1)
    apply(session.connection(), deltas)


def register() -> None:
    """Keep the summary tables current on every flush of every session (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


# --- from scratch ------------------------------------------------------------------------------


def _fresh_queries(dialect: str) -> dict[type, str]:
    """The GROUP BY that computes each summary table from its source, in the table's columns."""
    if dialect == "sqlite":
        month = "date(received_on, 'start of month')"
        raw_days = "CAST(julianday(answered_on) - julianday(received_on) AS INTEGER)"
    else:
        month = "CAST(date_trunc('month', received_on) AS DATE)"
        raw_days = "(answered_on - received_on)"
    days = f"CASE WHEN {raw_days} < 0 THEN 0 ELSE {raw_days} END"
    open_states = ", ".join(f"'{value}'" for value in OPEN_VALUES)
    return {
        RequestStateCount: "SELECT ward_id, center_id, state, COUNT(*) FROM requests "
        "GROUP BY ward_id, center_id, state",
        RequestMonthCount: f"SELECT ward_id, fiscal_year, {month}, COUNT(*) FROM requests "
        f"GROUP BY ward_id, fiscal_year, {month}",
        OpenRequestDue: "SELECT center_id, answer_due_on, state, ward_id, COUNT(*) FROM requests "
        f"WHERE state IN ({open_states}) GROUP BY center_id, answer_due_on, state, ward_id",
        AnswerDays: f"SELECT ward_id, fiscal_year, {days}, COUNT(*) FROM requests "
        f"WHERE state = '{RequestState.ANSWERED.value}' AND answered_on IS NOT NULL "
        f"GROUP BY ward_id, fiscal_year, {days}",
        IssueCount: "SELECT ward_id, fiscal_year, state, COALESCE(decision, ''), COUNT(*) FROM ward_issues "
        "GROUP BY ward_id, fiscal_year, state, COALESCE(decision, '')",
        **activity_counters.fresh_queries(),
        **bureau_counters.fresh_queries(),
        **report_counters.fresh_queries(),
    }


def _columns(model) -> str:
    return ", ".join(column.name for column in model.__table__.columns)


def rebuild(session: Session) -> None:
    """Recompute every summary table from the requests and ward issues (one INSERT ... SELECT each)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":  # writers wait; those already in flight are counted or add after
        names = ", ".join(model.__tablename__ for model in SUMMARY_TABLES)
        session.execute(text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))
    for model, query in _fresh_queries(dialect).items():
        session.execute(delete(model))
        session.execute(text(f"INSERT INTO {model.__tablename__} ({_columns(model)}) {query}"))


def _as_key(model, row) -> tuple:
    """A row's key as the ORM reads it (SQLite gives a date computed or read by ``text`` as a string)."""
    *key, count = row
    columns = list(model.__table__.primary_key.columns)
    key = [
        dt.date.fromisoformat(value) if isinstance(value, str) and isinstance(column.type, Date) else value
        for column, value in zip(columns, key, strict=True)
    ]
    return tuple(key), int(count)


def differences(session: Session) -> list[tuple[str, tuple, int, int]]:
    """(table, key, count kept, count computed now) for every row where the two disagree."""
    found = []
    for model, query in _fresh_queries(session.get_bind().dialect.name).items():
        fresh = dict(_as_key(model, row) for row in session.execute(text(query)))
        table = model.__table__
        kept = dict(_as_key(model, row) for row in session.execute(select(*table.columns)))
        for key in sorted(set(fresh) | set(kept), key=repr):
            if fresh.get(key, 0) != kept.get(key, 0):
                found.append((model.__tablename__, key, kept.get(key, 0), fresh.get(key, 0)))
    return found
