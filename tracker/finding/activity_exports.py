"""The export of the activity list (CSV/XLSX): every activity matching the filters, in the list's
order, with the count of requests heard in each.

As the request export (``tracker.finding.list_pages.export``): recorded before its first byte
leaves (``exports.record_export``: who, which list, the filters, the row count, the format) and
committed; rows streamed ``STREAM_BATCH`` at a time, each batch's liaisons eager-loaded, and the
count of requests read by a correlated subquery in the same SELECT, so the number of queries does
not grow with the rows. Activities hold no resident's personal data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from ..activity_models import Activity
from ..formatting import TOKYO, today_in_tokyo
from ..models import ServiceRequest, User
from ..wording import N_, translate
from . import activities, exports, keyset

WHAT = N_("活動記録一覧")  # recorded in Japanese; the file is named in the user's language
STREAM_BATCH = 500


def _time(value: dt.time | None) -> str:
    return value.strftime("%H:%M") if value else ""


def columns() -> list[exports.Column]:
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
        Column(N_("更新日時"), lambda row: row[0].updated_at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")),
    ]


def _rows(session: Session, user: User, flt: activities.ActivityFilter) -> Iterator[tuple]:
    heard = (
        select(func.count(ServiceRequest.id))
        .where(ServiceRequest.activity_id == Activity.id)
        .correlate(Activity)
        .scalar_subquery()
    )
    base = activities.base_statement(user, flt).add_columns(heard)
    statement = keyset.ordered(base, activities.keyset_filter(flt), today_in_tokyo())
    result = session.execute(statement.execution_options(yield_per=STREAM_BATCH))
    try:
        yield from result.tuples()
    finally:
        result.close()


def export(session: Session, user: User, flt: activities.ActivityFilter, fmt: str):
    """Record the export, commit, then send every matching activity as ``fmt``."""
    base = activities.base_statement(user, flt)
    scope = base.whereclause if base.whereclause is not None else true()
    conditions = keyset.conditions(activities.keyset_filter(flt))
    total = session.execute(select(func.count(Activity.id)).where(scope, *conditions)).scalar_one()
    exports.record_export(session, user, WHAT, fmt, total, flt.as_record())
    session.commit()
    name = f"{translate(WHAT)}_{today_in_tokyo():%Y%m%d}"
    return exports.response(fmt, name, columns(), _rows(session, user, flt), translate(WHAT))
