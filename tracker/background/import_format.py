"""The spreadsheet of a center's request log: its columns, reading it, checking its rows, templates.

Pure functions, no database: ``importer`` loads what the checks need (the categories) and saves
what they return. A row is checked with the rules of ``intake`` (the same limits, the same
dates), and every problem is reported with the row number the spreadsheet shows and the column.
A past log comes in whole: a row that carries its answer (回答日, 回答区分, 回答内容) is imported
as answered, and its dates may go back to 平成元年.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
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
from ..states import STAFF_SOURCES, AnswerKind, Source
from ..wording import N_, say, translate
from ..workflow import WorkflowError
from .import_headers import Layout, cell_text, error

COLUMNS = (
    N_("件名"),
    N_("内容"),
    N_("分野"),
    N_("場所"),
    N_("受付の経路"),
    N_("団体名"),
    N_("要望者氏名"),
    N_("連絡先"),
    N_("受付日"),
    N_("回答期限"),
    N_("回答日"),
    N_("回答区分"),
    N_("回答内容"),
)
REQUIRED_COLUMNS = ("件名", "分野", "受付の経路", "受付日")
ANSWER_COLUMNS = ("回答日", "回答区分", "回答内容")
LAYOUT = Layout(
    COLUMNS,
    REQUIRED_COLUMNS,
    {
        "件名": ("表題", "題名", "要望件名", "要望事項", "案件名"),
        "内容": ("要望内容", "相談内容", "要望・相談内容", "詳細", "概要"),
        "分野": ("分類", "要望分野"),
        "場所": ("所在地", "住所", "箇所"),
        "受付の経路": ("経路", "受付経路", "受付方法"),
        "団体名": ("団体", "相手先", "要望団体", "要望団体名"),
        "要望者氏名": ("氏名", "要望者", "相談者", "要望者名"),
        "連絡先": ("電話", "電話番号", "要望者連絡先"),
        "受付日": ("日付", "受付年月日", "受理日", "要望日"),
        "回答期限": ("期限", "回答期限日", "回答予定日"),
        "回答日": ("回答年月日", "回答した日"),
        "回答区分": ("回答の区分", "対応区分"),
        "回答内容": ("回答", "対応内容", "回答の内容"),
    },
)
ANSWER_KINDS = {kind.source_label: kind for kind in AnswerKind}  # as the file holds them, in Japanese
ANSWER_LIMIT = 5000  # as the answer form takes it
TEXT_COLUMNS = {
    "内容": "description",
    "場所": "location_text",
    "団体名": "organisation",
    "要望者氏名": "requester_name",
    "連絡先": "requester_contact",
}
SOURCES = {source.source_label: source for source in STAFF_SOURCES}  # in Japanese; never アプリ (API only)
MAX_ROWS = 50_000
EXTENSIONS = (".xlsx", ".csv")


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
                raise WorkflowError(
                    "行数が多すぎます (%(max)s行まで)。ファイルを分けてください。", max=f"{MAX_ROWS:,}"
                )
    return rows


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
            raise WorkflowError("この分野は登録されていません。登録されている分野の名前で入力してください。")
        category_id, active = self.categories[name]
        if not active:
            raise WorkflowError("この分野は現在使われていません。")
        return category_id


def _listed(columns: tuple[str, ...]) -> str:
    """Column names in a sentence, in the current language."""
    return translate(N_("・")).join(translate(column) for column in columns)


def source_of(value: Any) -> Source:
    label = cell_text(value)
    if not label:
        raise WorkflowError("受付の経路を入力してください。")
    if label not in SOURCES:
        raise WorkflowError(
            "受付の経路は%(choices)sのいずれかで入力してください。", choices="・".join(SOURCES)
        )
    return SOURCES[label]


def parse_date(value: Any) -> dt.date | None:
    """A date cell as ``tracker.parsing`` reads it (None if empty), refused as a row problem."""
    try:
        return parsing.parse_date(value if isinstance(value, dt.date) else cell_text(value))
    except parsing.UnreadableDate:  # its message would repeat the cell
        raise WorkflowError(
            "日付として読み取れません (%(examples)s)。", examples=parsing.DATE_EXAMPLES
        ) from None
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
    problems.extend(_check_answer(number, values, fields, rules.today))
    return fields, problems


def _received_on(value: Any, today: dt.date) -> dt.date:
    day = parse_date(value)
    if day is None:
        raise WorkflowError("受付日を入力してください。")
    return _within_range(intake.check_received_on(day, today), "受付日", today)


def _within_range(day: dt.date, label: str, today: dt.date) -> dt.date:
    try:
        return parsing.check_date(day, label, latest=today)
    except parsing.DateError as failure:
        raise WorkflowError(failure.message) from None


def _check_answer(number: int, values: dict[str, Any], fields: dict[str, Any], today: dt.date) -> list[dict]:
    """A past row's answer: all of 回答日, 回答区分 and 回答内容, or none of them.

    A complete answer sets ``answer_kind``, ``answered_on`` and ``answer_text`` in ``fields``
    (the importer then saves the request as answered); one left half-filled is a problem of each
    missing column, so a past log never comes in as open work it no longer is.
    """
    given = {column: cell_text(values.get(column)) for column in ANSWER_COLUMNS}
    if not any(given.values()):
        return []
    problems = [
        error(
            number,
            column,
            say("回答を取り込むには%(columns)sをすべて入力してください。", columns=_listed(ANSWER_COLUMNS)),
        )
        for column, text in given.items()
        if not text
    ]
    try:
        answered_on = parse_date(values.get("回答日"))
        if answered_on is not None:
            if answered_on > today:
                raise WorkflowError("回答日に未来の日付は指定できません。")
            answered_on = _within_range(answered_on, "回答日", today)
            if "received_on" in fields and answered_on < fields["received_on"]:
                raise WorkflowError("回答日が受付日より前になっています。")
            fields["answered_on"] = answered_on
    except WorkflowError as failure:
        problems.append(error(number, "回答日", failure.message))
    kind = given["回答区分"]
    if kind and kind not in ANSWER_KINDS:
        problems.append(
            error(
                number,
                "回答区分",
                say("回答区分は%(choices)sのいずれかで入力してください。", choices="・".join(ANSWER_KINDS)),
            )
        )
    elif kind:
        fields["answer_kind"] = ANSWER_KINDS[kind]
    if len(given["回答内容"]) > ANSWER_LIMIT:
        problems.append(
            error(number, "回答内容", say("入力が長すぎます (%(max)s文字まで)。", max=f"{ANSWER_LIMIT:,}"))
        )
    fields["answer_text"] = given["回答内容"]
    return problems


def check_rows(rows: list[tuple[int, dict[str, Any]]], rules: Rules) -> tuple[list[dict], list[dict]]:
    """Every data row ({column: cell}, from ``import_headers.read_sheet``) checked: (the fields of
    each row, every problem)."""
    checked, problems = [], []
    for number, values in rows:
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
        None,
        None,
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
    widths = (30, 40, 16, 24, 16, 20, 14, 16, 12, 12, 12, 12, 40)
    for letter, width in zip("ABCDEFGHIJKLM", widths, strict=True):
        sheet.column_dimensions[letter].width = width
    for letter in "IJK":
        for cell in sheet[letter][1:]:
            cell.number_format = "yyyy/m/d"
    choices = workbook.create_sheet("選択肢")
    choices.append(["分野", "受付の経路", "回答区分"])
    for category, source, kind in zip_longest(categories, SOURCES, ANSWER_KINDS):
        choices.append([category, source, kind])
    lists = (("C", "A", len(categories)), ("E", "B", len(SOURCES)), ("L", "C", len(ANSWER_KINDS)))
    for letter, column, count in lists:
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
