"""Exports of lists and reports: CSV that Excel opens with Japanese intact, and XLSX.

- CSV is UTF-8 with a BOM (Excel reads BOM-less UTF-8 as cp932 and garbles Japanese), lines end
  in CRLF, and every text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return is prefixed with ``'`` so a spreadsheet shows it as text instead of running it as a
  formula (OWASP "CSV injection"). Integers stay numbers.
- Rows are produced by a generator and sent as they come, so a list of any length is exported
  with flat memory; the XLSX is written by openpyxl's write-only workbook to a temporary file.
- Every export is recorded before its first byte leaves: one history event (who, which list,
  with which filters, how many rows, in which format), hash-chained like every other event; and
  when personal data is in it, one ``PersonalDataAccess`` row per request
  (``tracker.safeguards.personal_data``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import Response, after_this_request, send_file, stream_with_context
from openpyxl import Workbook
from sqlalchemy.orm import Session

from ..models import HistoryEvent, User
from ..safeguards import security_log
from ..wording import N_, translate

CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")
EXPORT_ACTION = "export"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 500  # CSV rows sent per chunk


@dataclass(frozen=True)
class Column:
    """One column of an export: its header (a marked Japanese text, written in the user's
    language; a name from the data stays as it is) and how to read the cell from a row."""

    header: str
    value: Callable[[Any], Any]


def neutralise(value: Any) -> Any:
    """A cell value that a spreadsheet will not run as a formula; numbers are left as they are.

    The one neutraliser of every cell the product writes (exports, background reports). A text
    is defused when it would start a formula once a spreadsheet has trimmed it and read its
    full-width characters as half-width (``  =1+1``, ``＝HYPERLINK(…)``, ``＋``, ``－``, ``＠``).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return translate(N_("はい") if value else N_("いいえ"))
    if isinstance(value, int | float):
        return value
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    read_as = unicodedata.normalize("NFKC", text).lstrip(" \u3000\n\x0b\x0c")
    risky = text.startswith(FORMULA_PREFIXES) or read_as.startswith(FORMULA_PREFIXES)
    return "'" + text if risky else text


def cells(columns: Sequence[Column], row: Any) -> list[Any]:
    return [neutralise(column.value(row)) for column in columns]


def csv_chunks(columns: Sequence[Column], rows: Iterable[Any]) -> Iterator[bytes]:
    """The CSV file in chunks: BOM and header first, then ``CHUNK_ROWS`` rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(translate(column.header)) for column in columns])
    yield "\ufeff".encode() + buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    for count, row in enumerate(rows, start=1):
        writer.writerow(cells(columns, row))
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def write_xlsx(columns: Sequence[Column], rows: Iterable[Any], sheet_title: str) -> str:
    """Write the rows into a write-only workbook in a temporary file; return the file's path."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=translate(sheet_title)[:31])
    sheet.append([neutralise(translate(column.header)) for column in columns])
    for row in rows:
        sheet.append(cells(columns, row))
    handle = tempfile.NamedTemporaryFile(prefix="export-", suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    workbook.save(handle.name)
    return handle.name


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987)."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def response(
    fmt: str, filename: str, columns: Sequence[Column], rows: Iterable[Any], sheet_title: str
) -> Response:
    """The download of ``rows`` as CSV (streamed) or XLSX; ``filename`` without its extension."""
    if fmt == "csv":
        streamed = Response(stream_with_context(csv_chunks(columns, rows)), mimetype=CSV_MIMETYPE)
        streamed.headers["Content-Disposition"] = content_disposition(f"{filename}.csv")
        return streamed
    if fmt != "xlsx":
        raise ValueError(f"unknown export format {fmt!r}")
    path = write_xlsx(columns, rows, sheet_title)

    @after_this_request
    def _remove(answer: Response) -> Response:
        answer.call_on_close(lambda: os.unlink(path))
        return answer

    sent = send_file(path, mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=f"{filename}.xlsx")
    sent.headers["Content-Disposition"] = content_disposition(f"{filename}.xlsx")
    return sent


def record_export(
    session: Session, user: User, what: str, fmt: str, row_count: int, filters: dict | None = None
) -> HistoryEvent:
    """The history event of one export, in the caller's transaction (commit before streaming)."""
    event = HistoryEvent(
        actor=user,
        actor_role=user.role.value,
        action=EXPORT_ACTION,
        comment=what,
        data={"what": what, "format": fmt, "rows": row_count, "filters": filters or {}},
        created_at=dt.datetime.now(dt.UTC),
    )
    session.add(event)
    session.flush()
    security_log.record(
        session,
        security_log.EXPORT,
        user=user,
        detail={"history_event_id": event.id, "format": fmt, "rows": row_count},
    )
    return event
