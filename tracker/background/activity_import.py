"""活動記録の一括取込: a center's activity log (Excel or CSV), its columns, its rows checked, saved.

A row's cells are read into the values ``fieldwork.operations`` takes (dates, times, ids): the
kind, the center, the organisation and the liaison staff by the names the sheet uses. Each row
is then checked whole by ``operations.clean``, the one check every activity passes, and saved by
``operations.log_activity``, the one write of an activity, with its 'create' event: an import
logs exactly what the form would. Problems are reported by row and column, like the requests'.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import openpyxl
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..activity_models import ActivityKind, CommunityOrganisation
from ..fieldwork import operations
from ..models import Center, User
from ..states import Role
from ..wording import N_, translate
from ..workflow import WorkflowError
from .import_format import MAX_ROWS, parse_date
from .import_headers import Layout, cell_text, error, normalised

COLUMNS = (
    N_("活動日"),
    N_("開始時刻"),
    N_("終了時刻"),
    N_("活動区分"),
    N_("団体名"),
    N_("場所"),
    N_("参加者数"),
    N_("概要"),
    N_("地域担当職員"),
    N_("まちづくりセンター"),
)
LAYOUT = Layout(
    COLUMNS,
    ("活動日", "活動区分"),
    {
        "活動日": ("日付", "実施日", "開催日", "活動年月日"),
        "開始時刻": ("開始", "開始時間"),
        "終了時刻": ("終了", "終了時間"),
        "活動区分": ("区分", "種別", "活動の区分", "活動種別"),
        "団体名": ("団体", "相手先", "地域団体", "相手方"),
        "場所": ("会場", "開催場所", "活動場所"),
        "参加者数": ("参加者", "参加人数", "人数"),
        "概要": ("内容", "活動内容", "活動概要", "摘要"),
        "地域担当職員": ("担当職員", "職員", "担当者", "参加職員"),
        "まちづくりセンター": ("センター", "センター名"),
    },
)
# The column a refusal of ``operations.clean`` is about, by the field it names.
FIELD_COLUMNS = {
    "held_on": "活動日",
    "starts_at": "開始時刻",
    "ends_at": "終了時刻",
    "kind_id": "活動区分",
    "organisation_id": "団体名",
    "organisation_text": "団体名",
    "place": "場所",
    "attendees": "参加者数",
    "summary": "概要",
    "liaison_ids": "地域担当職員",
    "center_id": "まちづくりセンター",
}
_TIME = re.compile(r"(\d{1,2})(?::|時)(\d{2})?(?::\d{2})?分?")
_STAFF_SEPARATORS = re.compile(r"[、,\n]")
_ATTENDEES = re.compile(r"(\d+)(?:人|名)?")


@dataclass(frozen=True)
class ActivityRules:
    """The names a sheet may use, each → its id; loaded once for the batch's center and ward."""

    center_id: int  # the batch's center: a row naming no center belongs to it
    kinds: dict[str, int]
    centers: dict[str, int]
    organisations: dict[tuple[int, str], int]  # (center id, normalised name) → id
    staff: dict[str, list[int]]  # a liaison of the ward by login or by normalised display name
    today: dt.date


def load_rules(session: Session, center: Center, today: dt.date) -> ActivityRules:
    staff: dict[str, list[int]] = defaultdict(list)
    liaisons = session.execute(
        select(User.id, User.login, User.display_name).where(
            User.role == Role.LIAISON, User.ward_id == center.ward_id
        )
    )
    for user_id, login, display_name in liaisons:
        for name in {normalised(login), normalised(display_name)}:
            staff[name].append(user_id)
    organisations = session.execute(
        select(CommunityOrganisation.id, CommunityOrganisation.center_id, CommunityOrganisation.name)
    )
    return ActivityRules(
        center.id,
        {normalised(name): id_ for id_, name in session.execute(select(ActivityKind.id, ActivityKind.name))},
        {normalised(name): id_ for id_, name in session.execute(select(Center.id, Center.name))},
        {(center_id, normalised(name)): id_ for id_, center_id, name in organisations},
        dict(staff),
        today,
    )


def active_kind_names(session: Session) -> list[str]:
    """The activity kinds a sheet may name, in the order the admin keeps them."""
    statement = (
        select(ActivityKind.name)
        .where(ActivityKind.active)
        .order_by(ActivityKind.sort_order, ActivityKind.id)
    )
    return list(session.scalars(statement))


def parse_time(value: Any) -> dt.time | None:
    """A time cell or text (10:00, 10時, 10時30分); None if empty."""
    if isinstance(value, dt.datetime):
        return value.time()
    if isinstance(value, dt.time):
        return value
    text = normalised(value)
    if not text:
        return None
    found = _TIME.fullmatch(text)
    if found and int(found.group(1)) < 24 and int(found.group(2) or 0) < 60:
        return dt.time(int(found.group(1)), int(found.group(2) or 0))
    raise WorkflowError("時刻として読み取れません (例: 10:00、14時30分)。")


def _attendees(value: Any) -> int | None:
    text = normalised(value)
    if not text:
        return None
    found = _ATTENDEES.fullmatch(text)
    if not found:
        raise WorkflowError("参加者数は0以上の数で入力してください。")
    return int(found.group(1))


def _named(names: dict[str, int], value: Any, label: str) -> int | None:
    text = normalised(value)
    if not text:
        return None
    if text not in names:
        raise WorkflowError(
            "この%(label)sは登録されていません。登録されている%(label)sの名前で入力してください。",
            label=translate(label),
        )
    return names[text]


def _staff(rules: ActivityRules, value: Any) -> list[int]:
    ids = []
    for position, part in enumerate(_STAFF_SEPARATORS.split(cell_text(value)), start=1):
        name = normalised(part)
        if not name:
            continue
        found = rules.staff.get(name, [])
        if not found:
            raise WorkflowError(
                "%(n)s人目はこの区の地域担当職員にいません (ログインIDか氏名で入力)。", n=position
            )
        if len(found) > 1:
            raise WorkflowError(
                "%(n)s人目と同じ氏名の職員が複数います。ログインIDで入力してください。", n=position
            )
        ids.append(found[0])
    return ids


def read_row(number: int, values: dict[str, Any], rules: ActivityRules) -> tuple[dict[str, Any], list[dict]]:
    """The values ``operations.clean`` takes, read from one row's cells; every problem, by column."""
    fields: dict[str, Any] = {}
    problems: list[dict] = []

    def take(column: str, key: str, read) -> None:
        try:
            fields[key] = read(values.get(column))
        except WorkflowError as failure:
            problems.append(error(number, column, failure.message))

    take("活動日", "held_on", parse_date)
    take("開始時刻", "starts_at", parse_time)
    take("終了時刻", "ends_at", parse_time)
    take("活動区分", "kind_id", lambda value: _named(rules.kinds, value, "活動区分"))
    take("まちづくりセンター", "center_id", lambda value: _named(rules.centers, value, "まちづくりセンター"))
    take("参加者数", "attendees", _attendees)
    take("地域担当職員", "liaison_ids", lambda value: _staff(rules, value))
    fields["center_id"] = fields.get("center_id") or rules.center_id
    organisation = cell_text(values.get("団体名"))
    fields["organisation_id"] = rules.organisations.get((fields["center_id"], normalised(organisation)))
    fields["organisation_text"] = "" if fields["organisation_id"] else organisation
    fields["place"] = cell_text(values.get("場所"))
    fields["summary"] = cell_text(values.get("概要"))
    return fields, problems


def check_rows(
    session: Session, actor: User, rows: list[tuple[int, dict[str, Any]]], rules: ActivityRules
) -> tuple[list[tuple[int, dict]], list[dict]]:
    """Every row read and checked by ``operations.clean``: ((row number, values) each, every problem)."""
    checked, problems = [], []
    for number, values in rows:
        fields, row_problems = read_row(number, values, rules)
        if not row_problems:
            try:
                operations.clean(session, actor, fields, today=rules.today)
            except operations.ActivityError as failure:
                row_problems.append(
                    error(number, FIELD_COLUMNS.get(failure.field or "", ""), failure.message)
                )
        checked.append((number, fields))
        problems.extend(row_problems)
    return checked, problems


def save(
    session: Session,
    actor: User,
    batch_key: str,
    batch_id: int,
    rows: list[tuple[int, dict]],
    today: dt.date,
    report,
) -> int:
    """Log every checked row through ``operations.log_activity`` in the caller's transaction.

    Each activity's ``client_uuid`` is derived from the file, the center and the row: a row
    saved twice (the job run again) is stored once.
    """
    for done, (number, fields) in enumerate(rows, start=1):
        client_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"tracker-import:{batch_key}:{number}"))
        operations.log_activity(
            session, actor, fields, today=today, client_uuid=client_uuid, import_batch_id=batch_id
        )
        if report is not None and (done % 500 == 0 or done == len(rows)):
            report(done, len(rows))
    return len(rows)


# --- templates -------------------------------------------------------------------------------


def example_row(kind: str, center: str, staff: str, today: dt.date) -> list[Any]:
    return [
        today,
        "19:00",
        "20:30",
        kind,
        "大江町内自治会",
        "大江公民館",
        25,
        "町内自治会の定例会に出席し、防犯灯の要望を聞いた。",
        staff,
        center,
    ]


def template_xlsx(kinds: list[str], center: str, staff: str, today: dt.date) -> bytes:
    """A workbook to fill in: the header, one example row, and a sheet of the activity kinds."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "活動記録"
    sheet.append(COLUMNS)
    sheet.append(example_row(kinds[0] if kinds else "", center, staff, today))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFGHIJ", (12, 10, 10, 28, 20, 20, 10, 40, 20, 24), strict=True):
        sheet.column_dimensions[letter].width = width
    for cell in sheet["A"][1:]:
        cell.number_format = "yyyy/m/d"
    choices = workbook.create_sheet("選択肢")
    choices.append(["活動区分"])
    for kind in kinds:
        choices.append([kind])
    rule = DataValidation(type="list", formula1=f"'選択肢'!$A$2:$A${len(kinds) + 1}")
    rule.add(f"D2:D{MAX_ROWS + 1}")
    sheet.add_data_validation(rule)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_csv(kinds: list[str], center: str, staff: str, today: dt.date) -> bytes:
    """The same as CSV: UTF-8 with a BOM, CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    example = example_row(kinds[0] if kinds else "", center, staff, today)
    writer.writerow([f"{value:%Y/%m/%d}" if isinstance(value, dt.date) else value for value in example])
    return buffer.getvalue().encode("utf-8-sig")
