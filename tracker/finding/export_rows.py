"""The cells of every list export, for a view that streams it and a job that writes its file.

``rows_of`` reads a plan (``export_plans.Plan``) into its header and its rows of neutralised
cells: requests through one Core SELECT (``request_rows``), ward issues and activities through
the ORM, ``STREAM_BATCH`` at a time with their relations eager-loaded per batch (an issue's
budget lines and bureaus, an activity's liaisons; the count of requests heard in an activity by
a correlated subquery in the same SELECT), so the number of statements does not grow with the
rows and memory stays flat. Issues and activities hold no resident's personal data. A CSV file of
requests on PostgreSQL comes as finished records instead (``csv_records_of``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..activity_models import Activity
from ..formatting import TOKYO
from ..models import ServiceRequest, User, WardIssue
from ..wording import N_
from ..wording import translate as _t
from . import exports, request_copy, request_rows
from .export_plans import Plan

STREAM_BATCH = 500  # ORM rows fetched (and eager-loaded) at a time


def _moment(value: dt.datetime | None) -> str:
    return value.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M") if value else ""


def _label(value) -> str:
    return value.label if value is not None else ""


def _time(value: dt.time | None) -> str:
    return value.strftime("%H:%M") if value else ""


def issue_columns() -> list[exports.Column]:
    Column = exports.Column
    return [
        Column(_t(N_("番号")), lambda i: i.reference),
        Column(_t(N_("年度")), lambda i: i.fiscal_year),
        Column(_t(N_("区")), lambda i: i.ward.name),
        Column(_t(N_("件名")), lambda i: i.title),
        Column(_t(N_("現状と課題")), lambda i: i.situation),
        Column(_t(N_("対応案")), lambda i: i.proposal),
        Column(_t(N_("状態")), lambda i: _label(i.state)),
        Column(_t(N_("主管局")), lambda i: i.lead_bureau.name if i.lead_bureau else ""),
        Column(_t(N_("関係局")), lambda i: "、".join(b.name for b in i.related_bureaus)),
        Column(_t(N_("区の担当者")), lambda i: i.ward_owner.display_name if i.ward_owner else ""),
        Column(_t(N_("局の担当者")), lambda i: i.bureau_owner.display_name if i.bureau_owner else ""),
        Column(_t(N_("協議結果")), lambda i: _label(i.decision)),
        Column(_t(N_("協議結果の理由")), lambda i: i.decision_reason),
        Column(_t(N_("協議結果の日")), lambda i: i.decided_on),
        Column(_t(N_("次回協議予定日")), lambda i: i.next_review_on),
        Column(_t(N_("予算額 (円)")), lambda i: sum(line.allocated_yen for line in i.current_budget_lines)),
        Column(
            _t(N_("決算額 (円)")), lambda i: sum(line.executed_yen or 0 for line in i.current_budget_lines)
        ),
        Column(_t(N_("既存予算内")), lambda i: i.within_existing_budget),
        Column(_t(N_("成果")), lambda i: i.outcome),
        Column(_t(N_("公開")), lambda i: i.is_public),
        Column(_t(N_("局へ送付")), lambda i: _moment(i.sent_at)),
        Column(_t(N_("更新日時")), lambda i: _moment(i.updated_at)),
    ]


def activity_columns() -> list[exports.Column]:
    """The activity export's columns; a row is ``(activity, requests heard)``."""
    Column = exports.Column
    return [
        Column(N_("活動日"), lambda row: row[0].held_on),
        Column(N_("年度"), lambda row: row[0].fiscal_year),
        Column(N_("開始"), lambda row: _time(row[0].starts_at)),
        Column(N_("終了"), lambda row: _time(row[0].ends_at)),
        Column(N_("センター"), lambda row: row[0].center.name),
        Column(N_("活動区分"), lambda row: row[0].kind.name),
        Column(N_("団体"), lambda row: row[0].organisation_name),
        Column(N_("場所"), lambda row: row[0].place),
        Column(N_("参加者数"), lambda row: row[0].attendees),
        Column(N_("内容"), lambda row: row[0].summary),
        Column(N_("地域担当職員"), lambda row: "、".join(user.display_name for user in row[0].liaisons)),
        Column(N_("聞いた要望の件数"), lambda row: row[1]),
        Column(N_("更新日時"), lambda row: _moment(row[0].updated_at)),
    ]


def _streamed(session: Session, statement: Select, *, tuples: bool = False) -> Iterator[Any]:
    """The statement's rows, fetched ``STREAM_BATCH`` at a time (server-side cursor on PostgreSQL)."""
    result = session.execute(statement.execution_options(yield_per=STREAM_BATCH))
    try:
        yield from (result.tuples() if tuples else result.scalars())
    finally:
        result.close()


def _with_heard(statement: Select) -> Select:
    heard = (
        select(func.count(ServiceRequest.id))
        .where(ServiceRequest.activity_id == Activity.id)
        .correlate(Activity)
        .scalar_subquery()
    )
    return statement.add_columns(heard)


def rows_of(
    session: Session, user: User, plan: Plan, personal: bool
) -> tuple[list[Any], Iterator[list[Any]]]:
    """The header and the rows (cells) of ``plan``'s export; ``personal`` only for requests."""
    if plan.model is ServiceRequest:
        return request_rows.headers(personal), request_rows.cell_rows(session, user, plan.statement, personal)
    if plan.model is WardIssue:
        columns = issue_columns()
        return exports.headers_of(columns), exports.column_cells(columns, _streamed(session, plan.statement))
    if plan.model is Activity:
        columns = activity_columns()
        rows = _streamed(session, _with_heard(plan.statement), tuples=True)
        return exports.headers_of(columns), exports.column_cells(columns, rows)
    raise ValueError(f"no export of {plan.model!r}")


def csv_records_of(
    session: Session, user: User, plan: Plan, personal: bool
) -> tuple[list[Any], Iterator[bytes]] | None:
    """The header and the finished CSV records of ``plan``'s export, streamed by the database's
    COPY (``request_copy``): for requests on PostgreSQL; None where the cells are built in Python."""
    if plan.model is not ServiceRequest or not request_copy.available(session):
        return None
    return request_rows.headers(personal), request_copy.csv_records(session, user, plan.statement, personal)
