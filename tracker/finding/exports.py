"""Exports of lists and reports: CSV that Excel opens with Japanese intact, and XLSX.

- CSV is UTF-8 with a BOM (Excel reads BOM-less UTF-8 as cp932 and garbles Japanese), lines end
  in CRLF, and every text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return is prefixed with ``'`` so a spreadsheet shows it as text instead of running it as a
  formula (OWASP "CSV injection"). Integers stay numbers.
- Rows are produced by a generator and sent as they come, ``CHUNK_ROWS`` at a time
  (``csv.writer.writerows``), so a list of any length is exported with flat memory; the XLSX is
  written by openpyxl's write-only workbook to a temporary file, then sent in chunks. A file made
  by a background job is written under a temporary name and renamed when complete (``write_file``).
- A list's export is recorded when its file is complete, with the rows actually written: one
  history event (who, which list, with which filters, how many rows, in which format),
  hash-chained like every other event (``record_export``). A streamed download calls its
  ``on_complete`` after the last chunk has been handed to the server, never when the client
  went away half-way (the generator is closed: ``GeneratorExit``). Residents' personal data
  is logged before it leaves (one ``PersonalDataAccess`` row per request,
  ``tracker.safeguards.personal_data``), by the caller, before the first byte.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import os
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any
from urllib.parse import quote

from flask import Response, stream_with_context
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


def plain_start(first: str) -> bool:
    """Whether a text starting with ``first`` can never read as a formula, whatever follows.

    NFKC never moves a starter, so the normalised text starts with what ``first`` normalises to
    (perhaps composed with marks that follow, which yields no prefix or space): when that is
    neither a formula prefix nor a space that a spreadsheet trims, the rest does not matter."""
    read_as = unicodedata.normalize("NFKC", first)
    return not first.startswith(FORMULA_PREFIXES) and read_as[:1] not in TRIMMED + FORMULA_PREFIXES


TRIMMED = (" ", "\u3000", "\n", "\x0b", "\x0c")
_PLAIN_STARTS: dict[str, bool] = {}  # first character -> plain_start (a few thousand at most)


def neutralise(value: Any) -> Any:
    """A cell value that a spreadsheet will not run as a formula; numbers are left as they are.

    The one neutraliser of every cell the product writes (exports, background reports). A text
    is defused when it would start a formula once a spreadsheet has trimmed it and read its
    full-width characters as half-width (``  =1+1``, ``＝HYPERLINK(…)``, ``＋``, ``－``, ``＠``).
    Most texts are settled by their first character alone (remembered), so a million rows do
    not normalise a million texts.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        return translate(N_("はい") if value else N_("いいえ"))
    elif isinstance(value, int | float):
        return value
    else:
        text = value.isoformat() if isinstance(value, dt.date) else str(value)
    if not text:
        return text
    first = text[0]
    plain = _PLAIN_STARTS.get(first)
    if plain is None:
        plain = _PLAIN_STARTS[first] = plain_start(first)
    if plain:
        return text
    read_as = unicodedata.normalize("NFKC", text).lstrip("".join(TRIMMED))
    risky = text.startswith(FORMULA_PREFIXES) or read_as.startswith(FORMULA_PREFIXES)
    return "'" + text if risky else text


def text_cell(text: str | None) -> str:
    """``neutralise`` of a value known to be a text or None: the hot path of a long export."""
    if not text:
        return ""
    if _PLAIN_STARTS.get(text[0]):
        return text
    return neutralise(text)


def cells(columns: Sequence[Column], row: Any) -> list[Any]:
    return [neutralise(column.value(row)) for column in columns]


def headers_of(columns: Sequence[Column]) -> list[Any]:
    """The header row in the user's language, neutralised like every cell."""
    return [neutralise(translate(column.header)) for column in columns]


def column_cells(columns: Sequence[Column], rows: Iterable[Any]) -> Iterator[list[Any]]:
    """Each row read through ``columns`` into its neutralised cells."""
    for row in rows:
        yield cells(columns, row)


class Tally:
    """How many rows have gone into a file so far (read when it is complete)."""

    def __init__(self) -> None:
        self.rows = 0


def _batches(cell_rows: Iterable[list[Any]], tally: Tally) -> Iterator[list[list[Any]]]:
    iterator = iter(cell_rows)
    while batch := list(islice(iterator, CHUNK_ROWS)):
        tally.rows += len(batch)
        yield batch


def csv_chunks(
    headers: Sequence[Any], cell_rows: Iterable[list[Any]], tally: Tally | None = None
) -> Iterator[bytes]:
    """The CSV file in chunks: BOM and header first, then ``CHUNK_ROWS`` rows at a time."""
    tally = tally or Tally()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    yield "\ufeff".encode() + buffer.getvalue().encode("utf-8")
    for batch in _batches(cell_rows, tally):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(batch)
        yield buffer.getvalue().encode("utf-8")


def write_csv(path: str, headers: Sequence[Any], cell_rows: Iterable[list[Any]], tally: Tally) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(headers)
        for batch in _batches(cell_rows, tally):
            writer.writerows(batch)


def write_xlsx_file(
    path: str, headers: Sequence[Any], cell_rows: Iterable[list[Any]], sheet_title: str, tally: Tally
) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=translate(sheet_title)[:31])
    sheet.append(list(headers))
    for batch in _batches(cell_rows, tally):
        for cells_of_row in batch:
            sheet.append(cells_of_row)
    workbook.save(path)


@contextlib.contextmanager
def _complete_or_absent(path: str) -> Iterator[str]:
    """A temporary name beside ``path`` to write to, renamed to ``path`` when the block ends
    without an error: the file is there complete or not at all."""
    partial = f"{path}.part"
    try:
        yield partial
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def write_file(
    path: str, fmt: str, headers: Sequence[Any], cell_rows: Iterable[list[Any]], sheet_title: str
) -> int:
    """Write the whole file (``_complete_or_absent``). The number of rows written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    tally = Tally()
    with _complete_or_absent(path) as partial:
        if fmt == "csv":
            write_csv(partial, headers, cell_rows, tally)
        else:
            write_xlsx_file(partial, headers, cell_rows, sheet_title, tally)
    return tally.rows


def write_records_file(path: str, headers: Sequence[Any], records: Iterable[bytes]) -> int:
    """``write_file`` of a CSV whose records come finished as UTF-8 (``request_copy``): the same
    BOM and header, then the records as they are. The number of rows written."""
    tally = Tally()
    header = io.StringIO()
    csv.writer(header, lineterminator="\r\n").writerow(headers)
    with _complete_or_absent(path) as partial, open(partial, "wb") as handle:
        handle.write(codecs.BOM_UTF8 + header.getvalue().encode())
        for batch in _batches(records, tally):
            handle.writelines(batch)
    return tally.rows


def write_xlsx(columns: Sequence[Column], rows: Iterable[Any], sheet_title: str) -> str:
    """Write the rows into a write-only workbook in a temporary file; return the file's path."""
    return _temporary_xlsx(headers_of(columns), column_cells(columns, rows), sheet_title, Tally())


def _temporary_xlsx(
    headers: Sequence[Any], cell_rows: Iterable[list[Any]], sheet_title: str, tally: Tally
) -> str:
    handle = tempfile.NamedTemporaryFile(prefix="export-", suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    try:
        write_xlsx_file(handle.name, headers, cell_rows, sheet_title, tally)
    except BaseException:
        os.unlink(handle.name)
        raise
    return handle.name


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987)."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def response(
    fmt: str, filename: str, columns: Sequence[Column], rows: Iterable[Any], sheet_title: str
) -> Response:
    """The download of ``rows`` as CSV (streamed) or XLSX; ``filename`` without its extension."""
    return delivery(fmt, filename, headers_of(columns), column_cells(columns, rows), sheet_title)


def _completed(
    chunks: Iterator[bytes], tally: Tally, on_complete: Callable[[int], None] | None
) -> Iterator[bytes]:
    """The chunks, then ``on_complete(rows)`` once the last one has been handed to the server.

    A client that goes away closes this generator at a ``yield`` (``GeneratorExit``): then
    nothing is called, and no record claims rows that were not delivered."""
    yield from chunks
    if on_complete is not None:
        on_complete(tally.rows)


def _file_chunks(path: str, size: int = 256 * 1024) -> Iterator[bytes]:
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(size):
                yield chunk
    finally:
        if os.path.exists(path):
            os.unlink(path)


def delivery(
    fmt: str,
    filename: str,
    headers: Sequence[Any],
    cell_rows: Iterable[list[Any]],
    sheet_title: str,
    on_complete: Callable[[int], None] | None = None,
) -> Response:
    """The download of rows already read into cells, as CSV (streamed as the rows come) or XLSX
    (written to a temporary file first, then sent in chunks); ``on_complete(rows)`` is called
    after the last byte has been handed over (see ``_completed``)."""
    tally = Tally()
    if fmt == "csv":
        chunks: Iterator[bytes] = csv_chunks(headers, cell_rows, tally)
        mimetype, name = CSV_MIMETYPE, f"{filename}.csv"
    elif fmt == "xlsx":
        path = _temporary_xlsx(headers, cell_rows, sheet_title, tally)
        chunks = _file_chunks(path)
        mimetype, name = XLSX_MIMETYPE, f"{filename}.xlsx"
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    sent = Response(stream_with_context(_completed(chunks, tally, on_complete)), mimetype=mimetype)
    sent.headers["Content-Disposition"] = content_disposition(name)
    if fmt == "xlsx":  # also when the response is closed before its first chunk was read
        sent.call_on_close(lambda: os.path.exists(path) and os.unlink(path))
    return sent


def record_export(
    session: Session, user: User, what: str, fmt: str, row_count: int, filters: dict | None = None
) -> HistoryEvent:
    """The history event of one export, in the caller's transaction, once its file is complete:
    ``row_count`` is the number of rows written."""
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
