"""Exports past ``EXPORT_INLINE_MAX_ROWS``: a background job writes the file (inline here: the
test app has no Redis), its page shows the progress and the download, only the one who asked
and the admin see it, the record says the rows written, old files are deleted."""

from __future__ import annotations

import io
import os
import re
import time

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tracker.background import export_job, jobs
from tracker.ops_models import OutboxJob
from tracker.states import IssueState, JobState

from .test_exports import accesses, csv_rows, export_events
from .test_lists import bulk_requests, selects

THRESHOLD = 5


@pytest.fixture(autouse=True)
def small_threshold(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_INLINE_MAX_ROWS", THRESHOLD)
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "exports"))


def job_id(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    found = re.fullmatch(r"/exports/jobs/(\d+)", response.headers["Location"])
    assert found, response.headers["Location"]
    return int(found.group(1))


def test_at_the_threshold_the_export_still_streams(make, session, login_as):
    liaison = make.liaison()
    bulk_requests(session, liaison, THRESHOLD)
    rows = csv_rows(login_as(liaison).get("/requests/?format=csv"))
    assert len(rows) == THRESHOLD + 1
    assert session.scalars(select(OutboxJob).where(OutboxJob.name == export_job.JOB_NAME)).all() == []


def test_past_the_threshold_a_job_writes_every_row_and_the_page_offers_it(make, session, login_as):
    liaison = make.liaison()
    bulk_requests(session, liaison, 7, title=lambda n: "=1+1" if n == 0 else f"街灯 {n}")
    bulk_requests(session, liaison, 2, state=lambda n: "answered")
    client = login_as(liaison)
    outbox_id = job_id(client.get("/requests/?format=csv&state=received&sort=reference&direction=asc"))
    page = client.get(f"/exports/jobs/{outbox_id}")
    text = page.get_data(as_text=True)
    assert "件数が多いため、バックグラウンドで作成します" in text
    assert "ファイルができました (7件)" in text
    assert f'href="/exports/jobs/{outbox_id}/download"' in text
    assert '<progress id="export-bar" max="7" value="7">' in text
    download = client.get(f"/exports/jobs/{outbox_id}/download")
    assert "filename*=UTF-8''" in download.headers["Content-Disposition"]
    rows = csv_rows(download)
    assert rows[0][:3] == ["受付番号", "年度", "件名"] and len(rows) == 8
    assert rows[1][2] == "'=1+1"  # still defused
    event = export_events(session)[-1]
    assert event.data["rows"] == 7 and event.data["format"] == "csv" and event.actor_id == liaison.id
    assert event.data["filters"]["state"] == ["received"] and event.data["what"] == "要望一覧"
    row = session.get(OutboxJob, outbox_id)
    assert row.state == JobState.DONE and (row.progress_done, row.progress_total) == (7, 7)
    assert row.result["rows"] == 7 and not list(export_job.export_dir().glob("*.part"))
    assert client.get(f"/exports/jobs/{outbox_id}/status").get_json() == {
        "state": "done",
        "done": 7,
        "total": 7,
        "finished": True,
    }


def test_the_job_logs_the_personal_data_it_writes(make, session, login_as):
    manager = make.manager()
    carrying = bulk_requests(session, make.liaison(), 6)
    bulk_requests(session, make.liaison("東区"), 3)  # another ward's: not in the manager's list
    client = login_as(manager)
    outbox_id = job_id(client.get("/requests/?format=csv&personal=1"))
    rows = csv_rows(client.get(f"/exports/jobs/{outbox_id}/download"))
    assert rows[0][-2:] == ["要望者氏名", "連絡先"] and all(row[-2] == "熊本 太郎" for row in rows[1:])
    assert sorted(a.request_id for a in accesses(session)) == sorted(r.id for r in carrying)
    event = export_events(session)[-1]
    assert event.data["filters"]["personal"] is True and event.data["filters"]["personal_rows"] == 6


def test_an_xlsx_issue_list_and_the_activity_list_become_jobs_too(make, session, login_as):
    manager = make.manager()
    for _ in range(THRESHOLD + 1):
        make.issue(IssueState.BUDGETED, manager=manager)
    client = login_as(manager)
    outbox_id = job_id(client.get("/issues/?format=xlsx"))
    sheet = load_workbook(
        io.BytesIO(client.get(f"/exports/jobs/{outbox_id}/download").get_data())
    ).worksheets[0]
    assert sheet.max_row == THRESHOLD + 2 and sheet.cell(1, 1).value == "番号"
    liaison = make.liaison()
    for _ in range(THRESHOLD + 1):
        make.activity(liaison)
    client = login_as(liaison)
    outbox_id = job_id(client.get("/activities/?format=csv"))
    rows = csv_rows(client.get(f"/exports/jobs/{outbox_id}/download"))
    assert len(rows) == THRESHOLD + 2 and rows[0][0] == "活動日"
    assert [e.data["what"] for e in export_events(session)][-2:] == ["区重要課題一覧", "活動記録一覧"]


def test_only_whoever_asked_and_the_admin_see_the_job_and_its_file(make, session, login_as):
    liaison = make.liaison()
    bulk_requests(session, liaison, THRESHOLD + 1)
    outbox_id = job_id(login_as(liaison).get("/requests/?format=csv"))
    paths = [
        f"/exports/jobs/{outbox_id}",
        f"/exports/jobs/{outbox_id}/status",
        f"/exports/jobs/{outbox_id}/download",
    ]
    for other in (make.liaison(), make.manager(), make.staff()):
        client = login_as(other)
        assert [client.get(path).status_code for path in paths] == [403, 403, 403]
    admin = login_as(make.admin())
    assert [admin.get(path).status_code for path in paths] == [200, 200, 200]
    assert admin.get("/exports/jobs/999999").status_code == 404


def test_the_page_shows_the_progress_of_a_running_job(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    row = export_job.request_export(
        session,
        liaison,
        endpoint="field.ward_requests",
        pairs=[],
        fmt="csv",
        what="要望一覧",
        filename="要望一覧",
        personal=False,
        ip="",
    )
    session.info.pop(jobs.PENDING_KEY)  # not started: a worker elsewhere has it
    session.flush()
    jobs.JobContext(row.id, session.get_bind()).progress(3, 8)
    session.expire(row)  # written beside this session, as a worker would
    text = client.get(f"/exports/jobs/{row.id}").get_data(as_text=True)
    assert '<progress id="export-bar" max="8" value="3">' in text and "3 / 8 件" in text
    assert "ファイルを作成しています" in text and "/download" not in text
    assert 'src="/static/js/export-job.js"' in text and 'http-equiv="refresh"' in text
    status = client.get(f"/exports/jobs/{row.id}/status").get_json()
    assert status == {"state": "pending", "done": 3, "total": 8, "finished": False}
    assert client.get(f"/exports/jobs/{row.id}/download").status_code == 404


def test_the_job_runs_a_constant_number_of_queries(make, session, login_as, count_queries):
    liaison = make.liaison()
    client = login_as(liaison)

    def queries() -> int:
        count_queries.clear()
        outbox_id = job_id(client.get("/requests/?format=csv"))
        assert session.get(OutboxJob, outbox_id).state == JobState.DONE
        return len(selects(count_queries))

    bulk_requests(session, liaison, THRESHOLD + 1)
    queries()
    few = queries()
    bulk_requests(session, liaison, 40)
    assert queries() == few


def test_the_command_runs_the_job_and_records_it(make, session, app, tmp_path):
    liaison = make.liaison()
    bulk_requests(session, liaison, 4)
    out = tmp_path / "all.csv"
    result = app.test_cli_runner().invoke(
        args=["export-requests", "--user", liaison.login, "--format", "csv", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("rows=4 seconds=") and "peak_rss_mb=" in result.output
    text = out.read_bytes().decode("utf-8-sig")
    assert text.startswith("受付番号,") and text.count("\r\n") == 5
    assert export_events(session)[-1].data["rows"] == 4


def test_files_past_the_retention_period_are_deleted(tmp_path):
    old, new, other = tmp_path / "export-1.csv", tmp_path / "export-2.xlsx", tmp_path / "keep.txt"
    for path in (old, new, other):
        path.write_text("x")
    long_ago = time.time() - 8 * 86400
    os.utime(old, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    assert export_job.purge_files_older_than(tmp_path, 7) == 1
    assert not old.exists() and new.exists() and other.exists()


def test_the_job_rebuilds_the_work_queues_and_the_bureau_tab_as_their_pages_export_them(
    make, session, login_as, app, monkeypatch
):
    liaison, manager, staff = make.liaison(), make.manager(), make.staff("環境局")
    bulk_requests(session, liaison, THRESHOLD + 1)
    bulk_requests(session, liaison, 2, state="answered")
    for _ in range(THRESHOLD + 1):
        make.issue(IssueState.CONSULTING, manager=manager, staff=staff)
    make.issue(IssueState.DECIDED, manager=manager, staff=staff)
    for user, path in (
        (liaison, "/field/?format=csv"),
        (manager, "/ward/?format=csv"),
        (staff, "/bureau/?tab=consulting&format=csv"),
    ):
        client = login_as(user)
        monkeypatch.setitem(app.config, "EXPORT_INLINE_MAX_ROWS", 1000)
        streamed = csv_rows(client.get(path))
        monkeypatch.setitem(app.config, "EXPORT_INLINE_MAX_ROWS", THRESHOLD)
        outbox_id = job_id(client.get(path))
        assert csv_rows(client.get(f"/exports/jobs/{outbox_id}/download")) == streamed, path
        assert len(streamed) > THRESHOLD + 1
        assert export_events(session)[-1].data == export_events(session)[-2].data
