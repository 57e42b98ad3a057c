"""A request export's CSV records from PostgreSQL's ``COPY ... TO STDOUT``, for files of any size.

Reading a million rows through a cursor costs about 14 µs a row in the driver alone (each value
made into a Python object: dates, aware datetimes, texts), more than the rest of the export.
``COPY`` streams the same SELECT (``request_rows.core_statement``, its dates and update time
already texts) as lines of tab-separated UTF-8 bytes while the database goes on producing the
next ones on the other core, and nothing is converted that need not be:

- most rows need no quoting and have no text that a spreadsheet could read as a formula; one
  look at the row's bytes tells (``_special``: a quote, a comma, a backslash (COPY's escapes for
  tabs, line breaks and backslashes) or a field starting with a character that is not plain
  (``exports.plain_start``)). For those, the record is the fields joined by
  commas, names and labels replaced by their finished cells (made once per export);
- the other rows are decoded, unescaped and made into cells by the very function the Python path
  uses (``request_rows.row_cells``), then written by the csv module.

So the file is byte for byte the one ``request_rows.cell_rows`` and ``exports.write_file`` make
(``tests/test_export_copy.py`` compares them on hostile values and filters). PostgreSQL only;
elsewhere (SQLite) the export reads the cells in Python.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Select, String, func, literal, select
from sqlalchemy.orm import Session

from ..formatting import TOKYO
from ..models import Category, Center, User, Ward
from ..states import AnswerKind, Priority, RequestState, Role, Source
from . import app_sources, exports, request_rows

DATES = (10, 11, 15)  # received, due, answered: in ``request_rows.columns_and_joins``'s order
UPDATED = 21
IDS = (4, 5, 6, 19, 20)  # ward, center, category, assignee, logged by
YEAR = 1
HANDOVER_WARD = 25
COPY_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
ESCAPED_BY_COPY = frozenset(value for value in COPY_ESCAPES.values())  # they arrive as a backslash


def available(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@functools.cache
def _not_plain_starts() -> tuple[re.Pattern[bytes], frozenset[bytes]]:
    """The UTF-8 of every character that is not plain at a text's start (``exports.plain_start``,
    the one test ``exports.neutralise`` uses, over every code point; computed once), but those
    COPY escapes (they arrive as a backslash); and a pattern that finds a field starting with
    one of their first bytes, which is cheap to search for and rarely more than a hint."""
    encoded = frozenset(
        chr(code).encode()
        for code in range(0x110000)
        if not 0xD800 <= code < 0xE000
        and not exports.plain_start(chr(code))
        and chr(code) not in ESCAPED_BY_COPY
    )
    first_bytes = b"".join(re.escape(bytes([byte])) for byte in sorted({char[0] for char in encoded}))
    return re.compile(b"\t[" + first_bytes + b"]"), encoded


def _special(line: bytes) -> bool:
    """Whether the row needs more than its fields as they are (see the module's docstring)."""
    if b'"' in line or b"," in line or b"\\" in line:
        return True
    hints, starts = _not_plain_starts()
    fields = b"\t" + line
    for hint in hints.finditer(fields):
        at = hint.start() + 1
        if any(fields[at : at + length] in starts for length in (1, 2, 3, 4)):
            return True
    return False


def _as_texts(columns: list) -> list:
    """``request_rows``'s columns with the dates as ISO texts, the fiscal year as a text and the
    update time as the minute in Tokyo, the text ``request_rows._moment`` makes of it."""
    columns = list(columns)
    for index in DATES:
        columns[index] = func.to_char(columns[index], literal("YYYY-MM-DD"))
    local = func.timezone(literal(TOKYO.key), columns[UPDATED])
    columns[UPDATED] = func.to_char(local, literal("YYYY-MM-DD HH24:MI"))
    columns[YEAR] = columns[YEAR].cast(String)
    return columns


def copy_statement(statement: Select, personal: bool) -> Select:
    return request_rows.core_statement(statement, personal, _as_texts)


def _sql_and_parameters(session: Session, statement: Select) -> tuple[str, dict[str, Any]]:
    """The SQL of ``statement`` for psycopg, with its parameters as the driver takes them (the
    types' bind processing applied, as an execution would)."""
    compiled = statement.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True}
    )
    processors = compiled._bind_processors
    parameters = {
        name: processors[name](value) if name in processors else value
        for name, value in compiled.construct_params().items()
    }
    return str(compiled), parameters


def _cell(text: str) -> bytes:
    """A finished CSV cell (neutralised, quoted if it must be) as UTF-8."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([exports.neutralise(text)])
    return buffer.getvalue().encode()


def _name_cells(session: Session, model, label) -> dict[bytes, bytes]:
    cells = {
        str(row_id).encode(): _cell(name or "") for row_id, name in session.execute(select(model.id, label))
    }
    cells[b""] = b""
    return cells


def _label_cells() -> dict[bytes, bytes]:
    cells = {b"": b""}
    for enum in (Source, RequestState, AnswerKind, Priority):
        cells.update({member.value.encode(): _cell(member.label) for member in enum})
    return cells


def _unescaped(field: str) -> str:
    return re.sub(r"\\(.)", lambda match: COPY_ESCAPES.get(match.group(1), match.group(1)), field)


def _careful(fields: Sequence[bytes], cells_of: Callable[[Sequence[Any]], list[Any]]) -> bytes:
    """The record of a row with quotes, escapes or formula-like texts, by the Python path's cells."""
    values: list[Any] = [_unescaped(field.decode()) or None for field in fields]
    for index in (*IDS, HANDOVER_WARD):
        if index < len(values) and values[index] is not None:
            values[index] = int(values[index])
    values[YEAR] = int(values[YEAR])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells_of(values))
    return buffer.getvalue().encode()


def csv_records(session: Session, user: User, statement: Select, personal: bool) -> Iterator[bytes]:
    """Every row of ``statement`` as its CSV record (UTF-8, ending in CRLF), in its order."""
    cells_of = request_rows.row_cells(session, user, personal)
    wards = _name_cells(session, Ward, Ward.name)
    centers = _name_cells(session, Center, Center.name)
    categories = _name_cells(session, Category, Category.name)
    staff = _name_cells(session, User, User.display_name)
    labels = _label_cells()
    special = _special
    app = Source.APP.value.encode()
    apps: dict[bytes, bytes] = {}
    may_see_all = user.role == Role.ADMIN
    own_ward = str(user.ward_id).encode() if user.role in (Role.LIAISON, Role.WARD_MANAGER) else None
    sql, parameters = _sql_and_parameters(session, copy_statement(statement, personal))
    cursor = session.connection().connection.dbapi_connection.cursor()
    try:
        with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT text, NULL '')", parameters) as copy:
            for data in copy:  # one message per row (PostgreSQL's protocol), ending in a newline
                line = bytes(data)[:-1]
                fields = line.split(b"\t")
                if special(line):
                    yield _careful(fields, cells_of)
                    continue
                (reference, year, title, description, ward, center, category, source, organisation, place,
                 received, due, state, referred_to, issue, answered, kind, answer, priority, assignee,
                 logged_by, updated, key_name) = fields[:23]  # fmt: skip
                if source == app or not logged_by:
                    app_label = apps.get(key_name)
                    if app_label is None:
                        app_label = apps[key_name] = _cell(app_sources.app_label(key_name.decode() or None))
                cells = [
                    reference,
                    year,
                    title,
                    description,
                    wards.get(ward, b""),
                    centers.get(center, b""),
                    categories.get(category, b""),
                    app_label if source == app else labels[source],
                    organisation,
                    place,
                    received,
                    due,
                    labels[state],
                    referred_to,
                    issue,
                    answered,
                    labels[kind],
                    answer,
                    labels[priority],
                    staff.get(assignee, b""),
                    staff.get(logged_by, b"") if logged_by else app_label,
                    updated,
                ]
                if personal:
                    shown = may_see_all or (
                        own_ward is not None and own_ward in (ward, fields[HANDOVER_WARD])
                    )
                    cells += [fields[23], fields[24]] if shown else [b"", b""]
                yield b",".join(cells) + b"\r\n"
    finally:
        cursor.close()
