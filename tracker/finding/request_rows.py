"""The rows of a request export, read fast enough for a million: one Core SELECT of exactly the
columns the file has, streamed from a server-side cursor, no ORM object per row.

Names (wards, centers, categories, staff) come from small dicts loaded once per export and
neutralised once per name; the app key an app request arrived through is an outer join in the
same SELECT; an enum's label is translated once per value. So an export costs the same few
statements at ten rows as at a million, and a row costs a tuple and a list.

Residents' names and contacts are in it only when the caller says so (``personal``), and then
only for the requests ``user`` may see them on (``personal_data.may_reveal``, evaluated here on
the row's ward and handover ward); ``record_personal_export`` logs them before the first byte.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Select,
    String,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.orm import Session, aliased

from ..formatting import TOKYO
from ..models import Category, Center, ServiceRequest, User, UTCDateTime, Ward, WardIssue, utcnow
from ..open311_models import ApiKey, Open311Submission
from ..ops_models import PersonalDataAccess
from ..safeguards import personal_data
from ..states import AnswerKind, Priority, RequestState, Role, Source
from ..wording import N_, translate
from . import app_sources, exports

YIELD_PER = 2000  # rows fetched from the cursor at a time

HEADERS = (
    N_("受付番号"),
    N_("年度"),
    N_("件名"),
    N_("内容"),
    N_("区"),
    N_("センター"),
    N_("分野"),
    N_("要望元"),
    N_("団体・組織"),
    N_("場所"),
    N_("受付日"),
    N_("回答期限"),
    N_("状態"),
    N_("回付先"),
    N_("区重要課題"),
    N_("回答日"),
    N_("回答区分"),
    N_("回答内容"),
    N_("緊急度"),
    N_("担当者"),
    N_("登録者"),
    N_("更新日時"),
)


def headers(personal: bool) -> list[Any]:
    shown = [translate(header) for header in HEADERS]
    if personal:
        shown += [personal_data.FIELD_LABELS[name] for name in personal_data.FIELDS]
    return [exports.neutralise(header) for header in shown]


def may_export_personal(user: User) -> bool:
    """The roles that may take residents' personal data out of a list (never bureau staff)."""
    allowed = (Role.LIAISON, Role.WARD_MANAGER, Role.ADMIN)
    return user.is_authenticated and user.active and user.role in allowed


def columns_and_joins(personal: bool) -> tuple[list, tuple]:
    issue, submission, key = aliased(WardIssue), aliased(Open311Submission), aliased(ApiKey)
    r = ServiceRequest
    columns = [
        r.reference,
        r.fiscal_year,
        r.title,
        r.description,
        r.ward_id,
        r.center_id,
        r.category_id,
        type_coerce(r.source, String),
        r.organisation,
        r.location_text,
        r.received_on,
        r.answer_due_on,
        type_coerce(r.state, String),
        r.referred_to,
        issue.reference,
        r.answered_on,
        type_coerce(r.answer_kind, String),
        r.answer_text,
        type_coerce(r.priority, String),
        r.assignee_id,
        r.logged_by_id,
        type_coerce(r.updated_at, DateTime(timezone=True)),
        key.name,
    ]
    if personal:
        columns += [r.requester_name, r.requester_contact, r.handover_ward_id]
    joins = (
        (issue, issue.id == r.ward_issue_id),
        (submission, submission.service_request_id == r.id),
        (key, key.id == submission.api_key_id),
    )
    return columns, joins


def core_statement(
    statement: Select, personal: bool, as_read: Callable[[list], list] | None = None
) -> Select:
    """``statement`` (an ORM select of requests: its WHERE and ORDER BY) reading only the columns;
    ``as_read`` may change how they are read (``request_copy`` reads dates as texts)."""
    columns, joins = columns_and_joins(personal)
    core = select(*(as_read(columns) if as_read else columns)).select_from(ServiceRequest)
    for target, onclause in joins:
        core = core.outerjoin(target, onclause)
    if statement.whereclause is not None:
        core = core.where(statement.whereclause)
    return core.order_by(*statement._order_by_clauses)


def _names(session: Session, model, label) -> dict[int, str]:
    return {row_id: exports.neutralise(name) for row_id, name in session.execute(select(model.id, label))}


def _labels() -> dict[str | None, str]:
    """A stored enum value -> its label in the user's language, each translated once (the
    enums' values do not overlap)."""
    labels: dict[str | None, str] = {None: ""}
    for enum in (Source, RequestState, AnswerKind, Priority):
        labels.update({member.value: exports.neutralise(member.label) for member in enum})
    return labels


def _moment(value: dt.datetime | str | None) -> str:
    if not value:
        return ""
    if isinstance(value, str):  # already the minute in Tokyo
        return value
    if value.tzinfo is None:  # SQLite keeps no time zone: the value is UTC (``UTCDateTime``)
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(TOKYO).isoformat(" ", "minutes")[:16]  # "2024-05-01 09:30", 3x strftime's speed


def _day(value: dt.date | str | None) -> str:
    if not value:
        return ""
    return value if isinstance(value, str) else value.isoformat()


def row_cells(session: Session, user: User, personal: bool) -> Callable[[Sequence[Any]], list[Any]]:
    """A function from one row of ``core_statement`` to the export's neutralised cells; the
    names and labels it needs are read once, here. The dates of a row may be ``date`` objects
    or their ISO texts, its update time an aware datetime or the minute text ``_moment`` makes
    (``request_copy`` hands over texts)."""
    wards = _names(session, Ward, Ward.name)
    centers = _names(session, Center, Center.name)
    categories = _names(session, Category, Category.name)
    staff = _names(session, User, User.display_name)
    labels = _labels()
    app, text, moment, day = Source.APP.value, exports.text_cell, _moment, _day
    may_see_all = user.role == Role.ADMIN
    own_ward = user.ward_id if user.role in (Role.LIAISON, Role.WARD_MANAGER) else None
    apps: dict[str | None, str] = {}  # key name -> its 「アプリ (name)」, neutralised

    def cells_of(row: Sequence[Any]) -> list[Any]:
        (reference, year, title, description, ward, center, category, source, organisation, place,
         received, due, state, referred_to, issue, answered, kind, answer, priority, assignee,
         logged_by, updated, key_name) = row[:23]  # fmt: skip
        if source == app or logged_by is None:
            app_label = apps.get(key_name)
            if app_label is None:
                app_label = apps[key_name] = exports.neutralise(app_sources.app_label(key_name))
        cells = [
            text(reference),
            year,
            text(title),
            text(description),
            wards.get(ward, ""),
            centers.get(center, ""),
            categories.get(category, ""),
            app_label if source == app else labels[source],
            text(organisation),
            text(place),
            day(received),
            day(due),
            labels[state],
            text(referred_to),
            text(issue),
            day(answered),
            labels[kind],
            text(answer),
            labels[priority],
            staff.get(assignee, ""),
            app_label if logged_by is None else staff.get(logged_by, ""),
            moment(updated),
        ]
        if personal:
            shown = may_see_all or (own_ward is not None and own_ward in (ward, row[25]))
            cells += [text(row[23]), text(row[24])] if shown else ["", ""]
        return cells

    return cells_of


def cell_rows(session: Session, user: User, statement: Select, personal: bool) -> Iterator[list[Any]]:
    """Every row of ``statement`` as the export's neutralised cells, in its order."""
    cells_of = row_cells(session, user, personal)
    query = core_statement(statement, personal).execution_options(yield_per=YIELD_PER, stream_results=True)
    # On the session's connection, as Core: no ORM row processing (a third of the time)
    result = session.connection().execute(query)
    try:
        for row in result:
            yield cells_of(row)
    finally:
        result.close()


def record_personal_export(
    session: Session, user: User, where: Sequence[ColumnElement[bool]], ip: str | None
) -> int:
    """One ``PersonalDataAccess`` ("export") per matching request that carries personal data,
    inserted by the database itself (INSERT ... SELECT); how many rows were written."""
    # the same requests as ``personal_data.may_reveal``: the user's ward's, and those handed to it
    own_ward = (
        or_(ServiceRequest.ward_id == user.ward_id, ServiceRequest.handover_ward_id == user.ward_id)
        if user.role in (Role.LIAISON, Role.WARD_MANAGER)
        else true()
    )
    source = select(
        literal(user.id, Integer),
        literal(user.role.value, String),
        ServiceRequest.id,
        literal(personal_data.EXPORT, String),
        literal(utcnow(), UTCDateTime()),
        literal((ip or "")[:45], String),
    ).where(
        *where,
        own_ward,
        or_(*(getattr(ServiceRequest, name) != "" for name in personal_data.FIELDS)),
    )
    names = ["user_id", "role", "request_id", "action", "created_at", "ip"]
    # The Core table, not the ORM entity: the ORM's bulk INSERT would not report a row count.
    result = session.execute(insert(PersonalDataAccess.__table__).from_select(names, source))
    if result.rowcount is not None and result.rowcount >= 0:
        return result.rowcount
    return session.execute(select(func.count()).select_from(source.subquery())).scalar_one()
