"""The spreadsheet of a center's field log: its columns, reading it, checking its rows, templates.

Pure functions, no database: ``importer`` loads what the checks need (the categories) and saves
what they return. A row is checked with the rules of ``intake`` (the same limits, the same
dates), and every problem is reported with the row number the spreadsheet shows and the column.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation

from .. import parsing
from ..effects import intake
from ..states import Source
from ..workflow import WorkflowError

COLUMNS = (
    "件名",
    "内容",
    "分野",
    "場所",
    "受付の経路",
    "団体名",
    "要望者氏名",
    "連絡先",
    "受付日",
    "回答期限",
)
REQUIRED_COLUMNS = ("件名", "分野", "受付の経路", "受付日")
TEXT_COLUMNS = {
    "内容": "description",
    "場所": "location_text",
    "団体名": "organisation",
    "要望者氏名": "requester_name",
    "連絡先": "requester_contact",
}
SOURCES = {source.label: source for source in Source}
MAX_ROWS = 50_000
EXTENSIONS = (".xlsx", ".csv")


def error(row: int | None, column: str, message: str) -> dict[str, Any]:
    return {"row": row, "column": column, "message": message}


# --- reading a file --------------------------------------------------------------------------


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM) if the bytes are strictly that, else Shift_JIS (cp932)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932")
    except UnicodeDecodeError:
        raise WorkflowError(
            "CSVファイルの文字コードを読み取れません。UTF-8 か Shift_JIS で保存してください。"
        ) from None


def read_table(path: Path) -> list[tuple[int, tuple]]:
    """The non-empty rows of a .csv, or of the first sheet of an .xlsx, with their row numbers."""
    try:
        if path.suffix == ".csv":
            records = csv.reader(io.StringIO(decode_csv(path.read_bytes()), newline=""))
            return _non_empty(enumerate(records, start=1))
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            return _non_empty(enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1))
        finally:
            workbook.close()
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, csv.Error):
        raise WorkflowError(
            "ファイルを読み取れません。Excel (.xlsx) か CSV の形式で保存してください。"
        ) from None


def _non_empty(numbered: Iterator[tuple[int, Any]]) -> list[tuple[int, tuple]]:
    rows = []
    for number, values in numbered:
        if any(cell_text(value) for value in values):
            rows.append((number, tuple(values)))
            if len(rows) > MAX_ROWS + 1:
                raise WorkflowError(f"行数が多すぎます ({MAX_ROWS:,}行まで)。ファイルを分けてください。")
    return rows


def cell_text(value: Any) -> str:
    """A cell as text: a whole number without ``.0``, a date as ``2024-05-07``; stripped."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    return str(value).strip()


def header_positions(number: int, header: tuple) -> tuple[dict[str, int], list[dict]]:
    """Where each known column is (unknown columns are ignored), and what is wrong with the header."""
    positions: dict[str, int] = {}
    problems = []
    for index, value in enumerate(header):
        name = unicodedata.normalize("NFKC", cell_text(value))
        if name in positions:
            problems.append(error(number, name, f"列「{name}」が2つあります。"))
        elif name in COLUMNS:
            positions[name] = index
    for name in REQUIRED_COLUMNS:
        if name not in positions:
            problems.append(error(number, name, f"列「{name}」がありません。1行目に列名を入れてください。"))
    return positions, problems


# --- checking a row --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    """What a row is checked against: the categories by name (id, active) and today's date."""

    categories: dict[str, tuple[int, bool]]
    today: dt.date
    answer_due_days: int

    def category_id(self, value: Any) -> int:
        name = cell_text(value)
        if not name:
            raise WorkflowError("分野を入力してください。")
        if name not in self.categories:
            raise WorkflowError(f"「{name}」という分野は登録されていません。")
        category_id, active = self.categories[name]
        if not active:
            raise WorkflowError(f"分野「{name}」は現在使われていません。")
        return category_id


def source_of(value: Any) -> Source:
    label = cell_text(value)
    if not label:
        raise WorkflowError("受付の経路を入力してください。")
    if label not in SOURCES:
        raise WorkflowError(f"「{label}」は受付の経路にありません。{'・'.join(SOURCES)}のいずれかです。")
    return SOURCES[label]


def parse_date(value: Any) -> dt.date | None:
    """A date cell as ``tracker.parsing`` reads it (None if empty), refused as a row problem."""
    try:
        return parsing.parse_date(value if isinstance(value, dt.date) else cell_text(value))
    except parsing.DateError as failure:
        raise WorkflowError(failure.message) from None


def check_row(number: int, values: dict[str, Any], rules: Rules) -> tuple[dict[str, Any], list[dict]]:
    """The request fields of one row, and the problems found (all of them, column by column)."""
    fields: dict[str, Any] = {}
    problems: list[dict] = []

    def take(column: str, key: str, clean) -> None:
        try:
            fields[key] = clean(values.get(column))
        except WorkflowError as failure:
            problems.append(error(number, column, failure.message))

    take("件名", "title", lambda value: intake.clean_title(cell_text(value)))
    for column, key in TEXT_COLUMNS.items():
        take(column, key, lambda value, key=key: intake.clean_text(cell_text(value), key))
    take("分野", "category_id", rules.category_id)
    take("受付の経路", "source", source_of)
    take("受付日", "received_on", lambda value: _received_on(value, rules.today))
    take("回答期限", "answer_due_on", parse_date)
    if "received_on" in fields and "answer_due_on" in fields:
        take(
            "回答期限",
            "answer_due_on",
            lambda _: intake.answer_due_on(
                fields["received_on"], fields["answer_due_on"], rules.answer_due_days
            ),
        )
    return fields, problems


def _received_on(value: Any, today: dt.date) -> dt.date:
    day = parse_date(value)
    if day is None:
        raise WorkflowError("受付日を入力してください。")
    return intake.check_received_on(day, today)


def check_table(rows: list[tuple[int, tuple]], rules: Rules) -> tuple[list[dict], list[dict]]:
    """Every data row checked: (the fields of each row, every problem). The first row is the header."""
    if not rows:
        return [], [error(None, "", "ファイルにデータがありません。")]
    (header_number, header), *data = rows
    positions, problems = header_positions(header_number, header)
    if problems:
        return [], problems
    if not data:
        return [], [error(None, "", "取り込む行がありません。2行目から要望を入力してください。")]
    checked = []
    for number, cells in data:
        values = {column: cells[index] if index < len(cells) else None for column, index in positions.items()}
        fields, row_problems = check_row(number, values, rules)
        checked.append(fields)
        problems.extend(row_problems)
    return checked, problems


# --- templates -------------------------------------------------------------------------------


def example_row(category: str, today: dt.date) -> list[Any]:
    return [
        "公園の街灯が切れている",
        "大江公園の入口の街灯が1週間ほど消えたまま",
        category,
        "大江1丁目 大江公園入口",
        "町内自治会",
        "大江町内自治会",
        "熊本 太郎",
        "096-000-0000",
        today,
        None,
    ]


def template_xlsx(categories: list[str], today: dt.date) -> bytes:
    """A workbook to fill in: the header, one example row, and a sheet of the allowed values."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "要望"
    sheet.append(COLUMNS)
    sheet.append(example_row(categories[0] if categories else "", today))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFGHIJ", (30, 40, 16, 24, 16, 20, 14, 16, 12, 12), strict=True):
        sheet.column_dimensions[letter].width = width
    for letter in "IJ":
        for cell in sheet[letter][1:]:
            cell.number_format = "yyyy/m/d"
    choices = workbook.create_sheet("選択肢")
    choices.append(["分野", "受付の経路"])
    for category, source in zip_longest(categories, SOURCES):
        choices.append([category, source])
    for letter, column, count in (("C", "A", len(categories)), ("E", "B", len(SOURCES))):
        rule = DataValidation(type="list", formula1=f"'選択肢'!${column}$2:${column}${count + 1}")
        rule.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
        sheet.add_data_validation(rule)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_csv(categories: list[str], today: dt.date) -> bytes:
    """The same as CSV: UTF-8 with a BOM (so Excel reads the Japanese), CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    example = example_row(categories[0] if categories else "", today)
    writer.writerow([f"{value:%Y/%m/%d}" if isinstance(value, dt.date) else value or "" for value in example])
    return buffer.getvalue().encode("utf-8-sig")
