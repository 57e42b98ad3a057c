"""Finding the columns of an imported sheet by their header, as each center happens to name them.

The centers' own sheets differ (日付, 活動日 or 実施日; 団体, 団体名 or 相手先): a header is
compared after NFKC normalisation and with every space removed, against each field's name and
its synonyms. A header that matches nothing is *unknown*: the import stops and asks the user
which field it is (or that it is not to be imported); their answer, the *mapping* (normalised
header → field name, "" for 取り込まない), is kept in the job's arguments and applied here.
Pure functions, no database.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ..wording import N_, say, translate

SKIP = ""  # the mapping's value for a column not to be imported
_SPACES = re.compile(r"\s+")


def error(row: int | None, column: str, message: str) -> dict[str, Any]:
    """One problem of an import, by row and column. The message never repeats a cell's content:
    in a shifted or malformed row a resident's name or telephone number can sit in any column,
    and the problems are stored with the batch and shown to the center's staff; it says where
    the problem is and what the column takes instead."""
    return {"row": row, "column": column, "message": message}


def cell_text(value: Any) -> str:
    """A cell as text: a whole number without ``.0``, a date as ``2024-05-07``; stripped."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    return str(value).strip()


def normalised(value: Any) -> str:
    """A header as it is compared: NFKC (full-width letters and digits made plain), no spaces."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", cell_text(value)))


@dataclass(frozen=True)
class Layout:
    """The columns of one kind of import: each field's name (in the template's order), the other
    names it goes by, and the fields a sheet must have."""

    columns: tuple[str, ...]
    required: tuple[str, ...]
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def names(self) -> dict[str, str]:
        """Every name a header may have (normalised) → the field it is."""
        found = {normalised(column): column for column in self.columns}
        for column, others in self.synonyms.items():
            found.update({normalised(other): column for other in others})
        return found


@dataclass(frozen=True)
class Sheet:
    """A sheet read against a layout: its data rows as {field: cell}, the unknown headers, and
    what is wrong with the header (a field found twice, a required field missing)."""

    rows: list[tuple[int, dict[str, Any]]]
    unknown: list[str]
    problems: list[dict]


def clean_mapping(layout: Layout, unknown: list[str], chosen: dict[str, Any]) -> dict[str, str]:
    """The user's answer for each unknown header, checked: a field of the layout or 取り込まない.

    Raises ``ValueError`` (its message in Japanese) for a header left unanswered, a field that
    does not exist, or one field chosen for two headers.
    """
    mapping: dict[str, str] = {}
    for header in unknown:
        value = chosen.get(header)
        if value is None:
            raise ValueError(say("列「%(name)s」を何として取り込むか選んでください。", name=header))
        if value != SKIP and value not in layout.columns:
            raise ValueError(
                say("列「%(name)s」に選んだ項目「%(value)s」はありません。", name=header, value=value)
            )
        mapping[header] = value
    targets = [value for value in mapping.values() if value != SKIP]
    for target in sorted(set(targets)):
        if targets.count(target) > 1:
            raise ValueError(
                say(
                    "項目「%(name)s」が2つの列に選ばれています。1つの列だけにしてください。",
                    name=translate(target),
                )
            )
    return mapping


def read_sheet(rows: list[tuple[int, tuple]], layout: Layout, mapping: dict[str, str]) -> Sheet:
    """The table's first row read as its header (with ``mapping`` for unknown names), the rest as data."""
    if not rows:
        return Sheet([], [], [error(None, "", translate(N_("ファイルにデータがありません。")))])
    (number, header), *data = rows
    names = layout.names()
    positions: dict[str, int] = {}
    unknown: list[str] = []
    problems: list[dict] = []
    for index, value in enumerate(header):
        name = normalised(value)
        if not name:
            continue
        column = mapping[name] if name in mapping else names.get(name)
        if column is None:
            if name not in unknown:
                unknown.append(name)
        elif column == SKIP:
            continue
        elif column in positions:
            problems.append(
                error(number, name, say("列「%(name)s」にあたる列が2つあります。", name=translate(column)))
            )
        else:
            positions[column] = index
    if unknown:
        return Sheet([], unknown, [])
    for column in layout.required:
        if column not in positions:
            problems.append(
                error(
                    number,
                    column,
                    say("列「%(name)s」がありません。1行目に列名を入れてください。", name=translate(column)),
                )
            )
    if problems:
        return Sheet([], [], problems)
    if not data:
        return Sheet(
            [],
            [],
            [
                error(
                    None, "", translate(N_("取り込む行がありません。2行目から1行に1件ずつ入力してください。"))
                )
            ],
        )
    values = [
        (
            row_number,
            {column: cells[index] if index < len(cells) else None for column, index in positions.items()},
        )
        for row_number, cells in data
    ]
    return Sheet(values, [], [])
