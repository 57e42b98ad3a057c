"""The CSV file written from PostgreSQL's COPY (``request_copy``) is byte for byte the file the
Python path builds (``request_rows.cell_rows`` + ``exports.write_file``), hostile values and
filters included."""

from __future__ import annotations

import datetime as dt

import pytest

from tracker.background import export_job
from tracker.finding import export_plans, export_rows, exports, request_copy
from tracker.states import AnswerKind, Priority, RequestState, Role

from .factories import TODAY
from .test_open311_display import app_request

HOSTILE = [
    "=1+1",
    "+81 96",
    "-5",
    "@SUM(A1)",
    "\tx",
    "\rx",
    "  =2",
    "\u3000＋1",
    '＝HYPERLINK("http://x")',
    "⁼x",
    "゛x",
    "a,b",
    'say "hi"',
    "line\nbreak",
    "cr\rx",
    " leading space",
    "\x01=x",
    "back\\slash",
    "\\N",
    "tab\tinside",
    "\x0bv",
    "\\.",
    "x\x01=y",
    "",
    "普通の要望",
]


@pytest.fixture
def postgresql(session):
    if not request_copy.available(session):
        pytest.skip("COPY is PostgreSQL's")
    return session


def _files(session, user, tmp_path, personal: bool, pairs=()) -> tuple[bytes, bytes, int, int]:
    plan = export_plans.plan_for(session, user, export_job.REQUESTS_LIST, list(pairs), TODAY)
    headers, records = export_rows.csv_records_of(session, user, plan, personal)
    by_lines = exports.write_records_file(str(tmp_path / "lines.csv"), headers, records)
    headers, cells = export_rows.rows_of(session, user, plan, personal)
    by_cells = exports.write_file(str(tmp_path / "cells.csv"), "csv", headers, cells, "要望一覧")
    return (tmp_path / "lines.csv").read_bytes(), (tmp_path / "cells.csv").read_bytes(), by_lines, by_cells


@pytest.fixture
def hostile_requests(postgresql, make):
    session = postgresql
    liaison = make.liaison()
    liaison.display_name = "=担当,者"
    made = []
    for i, value in enumerate(HOSTILE):
        other = HOSTILE[-1 - i]
        request = make.request(
            liaison,
            title=value or "件名",
            description=other,
            organisation=value,
            location_text=other,
            requester_name=value,
            requester_contact=other,
        )
        request.referred_to = value
        request.assignee = liaison if i % 2 else None
        if i % 3 == 0:
            request.state, request.answer_kind = RequestState.ANSWERED, AnswerKind.RESOLVED
            request.answered_on, request.answer_text = TODAY, value
        request.priority = Priority.HIGH if i % 4 == 0 else request.priority
        request.updated_at = dt.datetime(2024, 3, 31, 15, 30 + i % 30, tzinfo=dt.UTC)
        made.append(request)
    app_request(session, make, key_name='アプリ "x",y')
    app_request(session, make, key_name="=アプリ")
    other_ward = make.request(make.liaison("東区"), ward="東区", requester_name="=他区", title="-他区")
    other_ward.handover_ward_id = made[0].ward_id if len(made) > 5 else None
    session.commit()
    return made


@pytest.mark.parametrize("personal", [False, True])
def test_the_database_writes_the_same_file_as_python_for_the_admin(
    postgresql, make, hostile_requests, tmp_path, personal
):
    admin = make.admin()
    by_lines, by_cells, rows_lines, rows_cells = _files(postgresql, admin, tmp_path, personal)
    assert rows_lines == rows_cells == len(hostile_requests) + 3
    assert by_lines == by_cells
    text = by_lines.decode("utf-8-sig")
    assert "'=1+1" in text and "'\u3000＋1" in text and '"say ""hi"""' in text and "'⁼x" in text


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([("state", "answered")], 9),  # every third of the 25 hostile requests
        ([("q", "普通"), ("priority", "high")], 2),  # the first (its description) and the last (its title)
        ([("source", "app")], 2),
    ],
)
def test_the_filtered_exports_are_the_same_too(postgresql, make, hostile_requests, tmp_path, pairs, expected):
    by_lines, by_cells, rows_lines, rows_cells = _files(postgresql, make.admin(), tmp_path, False, pairs)
    assert rows_lines == rows_cells == expected
    assert by_lines == by_cells


def test_the_database_shows_personal_data_only_where_python_does(
    postgresql, make, hostile_requests, tmp_path
):
    manager = make.user(Role.WARD_MANAGER, ward="東区")
    by_lines, by_cells, rows_lines, rows_cells = _files(postgresql, manager, tmp_path, personal=True)
    assert rows_lines == rows_cells > 0
    assert by_lines == by_cells
    assert "熊本 太郎" not in by_lines.decode("utf-8-sig")  # the central ward's residents stay hidden


def test_a_job_writes_its_csv_from_the_database_lines(postgresql, make, hostile_requests, tmp_path):
    admin = make.admin()
    path = tmp_path / "job.csv"
    done = []
    written = export_job.run_export(
        postgresql,
        admin,
        endpoint=export_job.REQUESTS_LIST,
        pairs=[],
        fmt="csv",
        what="要望一覧",
        personal=False,
        ip="",
        path=path,
        today=TODAY,
        progress=lambda rows, total=None: done.append((rows, total)),
    )
    assert written == len(hostile_requests) + 3
    assert path.read_bytes() == _files(postgresql, admin, tmp_path, False)[1]
    assert done[0] == (0, written)


def test_where_the_database_cannot_build_lines_python_builds_the_cells(session, make):
    plan = export_plans.plan_for(session, make.admin(), export_job.REQUESTS_LIST, [], TODAY)
    lines = export_rows.csv_records_of(session, make.admin(), plan, False)
    assert (lines is None) == (session.get_bind().dialect.name != "postgresql")
