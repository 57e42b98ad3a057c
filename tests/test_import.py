"""一括取込: Excel/CSV field logs imported as requests, every row or none, once per file."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time

import openpyxl
import pytest
from sqlalchemy import func, insert, select

from tracker.background import import_format, importer, jobs, reminders, request_writer
from tracker.background.import_format import COLUMNS
from tracker.formatting import today_in_tokyo
from tracker.models import HistoryEvent, ReferenceCounter, ServiceRequest
from tracker.ops_models import ImportBatch, OutboxJob
from tracker.reporting.dashboards import overdue_by_center
from tracker.safeguards import audit
from tracker.states import STAFF_SOURCES, AnswerKind, ImportState, JobState, RequestState, Source
from tracker.workflow import WorkflowError

CATEGORY = "防犯・街灯"
ROW = {
    "件名": "公園の街灯が切れている",
    "内容": "大江公園の入口の街灯が消えたまま",
    "分野": CATEGORY,
    "場所": "大江1丁目",
    "受付の経路": "町内自治会",
    "団体名": "大江町内自治会",
    "要望者氏名": "熊本 太郎",
    "連絡先": "096-000-0000",
    "受付日": "2024/5/7",
    "回答期限": None,
}


def row(**changes) -> dict:
    return {**ROW, **changes}


def xlsx(rows: list[dict], columns=COLUMNS) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(columns))
    for values in rows:
        sheet.append([values.get(column) for column in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_text(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for values in rows:
        writer.writerow(["" if values.get(column) is None else values[column] for column in COLUMNS])
    return buffer.getvalue()


def upload(client, content: bytes, name: str = "要望一覧.xlsx", **form):
    return client.post(
        "/imports/",
        data={"upload": (io.BytesIO(content), name), **form},
        content_type="multipart/form-data",
    )


def import_file(client, session, content: bytes, name: str = "要望一覧.xlsx", **form) -> ImportBatch:
    """Upload a file (the job runs inline after the commit) and return its finished batch."""
    response = upload(client, content, name, **form)
    assert response.status_code == 302, response.get_data(as_text=True)
    session.expire_all()  # the job wrote through a session of its own
    return session.get(ImportBatch, int(response.headers["Location"].rsplit("/", 1)[1]))


def requests_of(session, center) -> list[ServiceRequest]:
    statement = (
        select(ServiceRequest).where(ServiceRequest.center_id == center.id).order_by(ServiceRequest.id)
    )
    return list(session.scalars(statement))


# --- importing -------------------------------------------------------------------------------


def test_valid_xlsx_imports_every_row_with_its_fields_and_history(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    rows = [
        row(),
        row(
            件名="通学路の白線が消えている",
            分野="道路・交通安全",
            受付の経路="電話",
            受付日=dt.datetime(2024, 6, 3),
        ),
        row(
            件名="ごみステーションの移設",
            受付日="令和6年3月31日",
            回答期限="R6.4.30",
            要望者氏名=None,
            連絡先=None,
        ),
    ]
    batch = import_file(client, session, xlsx(rows))

    assert batch.state == ImportState.DONE
    assert (batch.row_count, batch.imported_count, batch.errors) == (3, 3, [])
    assert batch.center_id == liaison.center_id and batch.uploaded_by_id == liaison.id
    assert batch.outbox_job.state == JobState.DONE
    assert (batch.outbox_job.progress_done, batch.outbox_job.progress_total) == (3, 3)
    first, second, third = requests_of(session, liaison.center)
    assert first.reference == "CHUO-2024-00001" and second.reference == "CHUO-2024-00002"
    assert third.reference == "CHUO-2023-00001" and third.fiscal_year == 2023  # received in FY2023
    assert (first.title, first.description, first.category.name) == (ROW["件名"], ROW["内容"], CATEGORY)
    assert (first.location_text, first.organisation) == ("大江1丁目", "大江町内自治会")
    assert (first.requester_name, first.requester_contact) == ("熊本 太郎", "096-000-0000")
    assert first.source == Source.NEIGHBOURHOOD_ASSOCIATION and second.source == Source.PHONE
    assert first.received_on == dt.date(2024, 5, 7) and first.answer_due_on == dt.date(2024, 5, 21)
    assert second.received_on == dt.date(2024, 6, 3) and second.category.name == "道路・交通安全"
    assert (third.received_on, third.answer_due_on) == (dt.date(2024, 3, 31), dt.date(2024, 4, 30))
    assert third.requester_name == ""
    for request in (first, second, third):
        assert request.state == RequestState.RECEIVED
        assert request.ward_id == liaison.center.ward_id and request.logged_by_id == liaison.id
        [event] = request.events
        assert (event.action, event.to_state, event.actor_id) == ("create", "received", liaison.id)
        assert event.data["import_batch_id"] == batch.id

    page = client.get(f"/imports/{batch.id}").get_data(as_text=True)
    assert "3件を取り込みました" in page and "CHUO-2024-00001" in page and "http-equiv" not in page


def test_bad_rows_import_nothing_and_every_error_is_reported_by_row_and_column(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    future = today_in_tokyo() + dt.timedelta(days=30)
    rows = [
        row(),
        row(件名=None, 分野="道路"),
        row(受付の経路="メール", 受付日="2024/13/1"),
        row(受付日=f"{future:%Y/%m/%d}", 場所="あ" * 201),
        row(受付日="2024/5/7", 回答期限="2024/5/1"),
        row(),
    ]
    batch = import_file(client, session, xlsx(rows))

    assert batch.state == ImportState.INVALID and batch.imported_count == 0 and batch.row_count == 6
    assert [(e["row"], e["column"]) for e in batch.errors] == [
        (3, "件名"),
        (3, "分野"),
        (4, "受付の経路"),
        (4, "受付日"),
        (5, "場所"),
        (5, "受付日"),
        (6, "回答期限"),
    ]
    messages = [e["message"] for e in batch.errors]
    assert messages[0] == "件名を入力してください。"
    assert messages[1] == "この分野は登録されていません。登録されている分野の名前で入力してください。"
    assert messages[2].startswith("受付の経路は地域活動・")
    assert messages[3].startswith("日付として読み取れません")
    assert messages[4] == "入力が長すぎます (200文字まで)。"
    assert messages[5] == "受付日に未来の日付は指定できません。"
    assert messages[6] == "回答期限が受付日より前になっています。"
    assert requests_of(session, liaison.center) == []
    assert session.scalar(select(func.count()).select_from(ReferenceCounter)) == 0

    page = client.get(f"/imports/{batch.id}").get_data(as_text=True)
    assert "何も登録していません" in page
    assert '<th class="num">行</th><th>列</th><th>内容</th>' in page
    assert "この分野は登録されていません。" in page and "道路" not in page.split("取込")[-1]


def test_a_file_without_a_required_column_or_unreadable_is_refused(make, session, login_as):
    client = login_as(make.liaison())
    batch = import_file(client, session, xlsx([row()], columns=[c for c in COLUMNS if c != "受付日"]))
    assert batch.state == ImportState.INVALID
    assert batch.errors == [
        {"row": 1, "column": "受付日", "message": "列「受付日」がありません。1行目に列名を入れてください。"}
    ]

    broken = import_file(client, session, b"this is not a workbook")
    assert broken.state == ImportState.INVALID and broken.errors[0]["message"].startswith(
        "ファイルを読み取れません"
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("要望.txt", b"x", "Excel (.xlsx) か CSV (.csv) のファイルを選んでください。"),
        ("要望.csv", b"", "ファイル「要望.csv」が空です。"),
    ],
)
def test_upload_refuses_other_files_and_creates_nothing(make, session, login_as, name, content, message):
    client = login_as(make.liaison())
    response = upload(client, content, name)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_the_same_file_twice_imports_nothing_new(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    content = xlsx([row(), row(件名="通学路の白線")])
    first = import_file(client, session, content, "4月分.xlsx")
    second = import_file(client, session, content, "4月分 (コピー).xlsx")

    assert (first.state, second.state) == (ImportState.DONE, ImportState.DUPLICATE)
    assert second.imported_count == 0 and second.imported_key is None
    assert "取り込み済み" in second.errors[0]["message"]
    assert len(requests_of(session, liaison.center)) == 2
    page = client.get(f"/imports/{second.id}").get_data(as_text=True)
    assert "取り込み済み" in page and f"前回の取込 (#{first.id})" in page

    # the job of the finished batch run again (a worker that died after the commit): nothing new
    importer.import_requests(jobs.JobContext(first.outbox_job_id, session.get_bind()), batch_id=first.id)
    assert len(requests_of(session, liaison.center)) == 2


def test_the_same_file_imported_at_the_same_moment_twice_imports_it_once(
    make, session, login_as, monkeypatch
):
    liaison = make.liaison()
    client = login_as(liaison)
    content = xlsx([row()])
    first = import_file(client, session, content)
    # The second job checks before the first has committed: it sees no earlier import (twice).
    unseen = [None, None]
    real = importer.earlier_import
    monkeypatch.setattr(importer, "earlier_import", lambda s, b: unseen.pop() if unseen else real(s, b))
    second = import_file(client, session, content)
    assert (
        not unseen
        and second.state == ImportState.DUPLICATE
        and f"取込番号 {first.id}" in second.errors[0]["message"]
    )
    assert len(requests_of(session, liaison.center)) == 1


def test_a_job_that_crashed_half_way_imports_every_row_once_when_run_again(
    make, session, login_as, monkeypatch
):
    liaison = make.liaison()
    client = login_as(liaison)
    statements = []

    def crash_after_the_first_chunk(table):
        statements.append(table)
        if len(statements) == 3:  # requests and events of rows 1-2 written, then the worker dies
            raise RuntimeError("ワーカーが止まった")
        return insert(table)

    monkeypatch.setattr(request_writer, "CHUNK", 2)
    monkeypatch.setattr(request_writer, "insert", crash_after_the_first_chunk)
    batch = import_file(client, session, xlsx([row(件名=f"要望{n}") for n in range(5)]))
    assert batch.state == ImportState.RUNNING and batch.outbox_job.state == JobState.RETRYING
    assert requests_of(session, liaison.center) == []

    jobs.run_outbox_job(batch.outbox_job_id, bind=session.get_bind())
    session.expire_all()
    assert batch.state == ImportState.DONE and batch.imported_count == 5
    created = requests_of(session, liaison.center)
    assert [r.reference for r in created] == [f"CHUO-2024-{n:05d}" for n in range(1, 6)]


def test_a_ward_manager_imports_into_a_center_of_the_ward_once_per_center(make, session, login_as):
    manager = make.manager("東区")
    client = login_as(manager)
    content = xlsx([row()])
    response = upload(client, content)
    assert "まちづくりセンターを選んでください。" in response.get_data(as_text=True)
    takuma, akitsu = make.center("託麻"), make.center("秋津")
    assert import_file(client, session, content, center_id=takuma.id).state == ImportState.DONE
    assert import_file(client, session, content, center_id=akitsu.id).state == ImportState.DONE
    assert [r.reference for r in requests_of(session, akitsu)] == ["HIGASHI-2024-00002"]


def test_an_uploader_deactivated_before_the_job_runs_imports_nothing(app, make, session):
    liaison = make.liaison()
    batch = importer.accept_upload(
        session,
        liaison,
        None,
        io.BytesIO(xlsx([row()])),
        "要望.xlsx",
        directory=app.config["IMPORT_DIR"],
        max_bytes=app.config["IMPORT_MAX_BYTES"],
    )
    liaison.active = False
    session.commit()  # the job runs now
    session.expire_all()
    assert batch.state == ImportState.INVALID and "無効" in batch.errors[0]["message"]
    assert requests_of(session, liaison.center) == []


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("cp932", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-8", b"")],
)
def test_csv_in_shift_jis_or_utf8_imports_with_japanese_intact(make, session, login_as, encoding, bom):
    liaison = make.liaison()
    client = login_as(liaison)
    content = bom + csv_text([row(件名="髙橋さん宅前の側溝の蓋が破損", 受付日="令和6年5月7日")]).encode(
        encoding
    )
    batch = import_file(client, session, content, "要望.csv")
    assert batch.state == ImportState.DONE, batch.errors
    [request] = requests_of(session, liaison.center)
    assert request.title == "髙橋さん宅前の側溝の蓋が破損"
    assert (request.organisation, request.requester_name) == ("大江町内自治会", "熊本 太郎")
    assert request.received_on == dt.date(2024, 5, 7)


def test_csv_in_neither_encoding_is_reported():
    with pytest.raises(WorkflowError, match="文字コード"):
        import_format.decode_csv(b"\x81\x7f")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024/5/7", dt.date(2024, 5, 7)),
        ("2024-05-07", dt.date(2024, 5, 7)),
        ("2024年5月7日", dt.date(2024, 5, 7)),
        ("2024-05-07 00:00:00", dt.date(2024, 5, 7)),
        ("令和6年5月7日", dt.date(2024, 5, 7)),
        ("令和６年５月７日", dt.date(2024, 5, 7)),
        ("令和元年5月7日", dt.date(2019, 5, 7)),
        ("令和六年五月七日", dt.date(2024, 5, 7)),
        ("平成31年4月30日", dt.date(2019, 4, 30)),
        ("R6.5.7", dt.date(2024, 5, 7)),
        ("r6.5.7", dt.date(2024, 5, 7)),
        ("R6/5/7", dt.date(2024, 5, 7)),
        ("H1.1.8", dt.date(1989, 1, 8)),
        ("S64.1.7", dt.date(1989, 1, 7)),
        (dt.datetime(2024, 5, 7, 0, 0), dt.date(2024, 5, 7)),
        (dt.date(2024, 5, 7), dt.date(2024, 5, 7)),
        (None, None),
        ("", None),
    ],
)
def test_dates_western_excel_and_japanese_era(text, expected):
    assert import_format.parse_date(text) == expected


@pytest.mark.parametrize(
    "text", ["令和6年2月30日", "平成32年1月1日", "H31.5.1", "2024/13/1", "きのう", "45419"]
)
def test_dates_that_do_not_exist_are_refused(text):
    with pytest.raises(WorkflowError, match="日付として読み取れません"):
        import_format.parse_date(text)


def test_ten_thousand_rows_import_in_bounded_time_with_progress(make, session, login_as, count_queries):
    liaison = make.liaison()
    client = login_as(liaison)
    rows = [
        row(件名=f"街灯の不点灯 {n}", 受付日=dt.datetime(2024, 4, 1) + dt.timedelta(days=n % 300))
        for n in range(10_000)
    ]
    content = xlsx(rows)
    reported = []
    original = jobs.JobContext.progress

    def record(ctx, done, total=None):
        reported.append((done, total))
        original(ctx, done, total)

    count_queries.clear()
    started = time.perf_counter()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jobs.JobContext, "progress", record)
        batch = import_file(client, session, content)
    elapsed = time.perf_counter() - started
    print(f"\n10,000 rows imported in {elapsed:.1f} s on {session.get_bind().dialect.name}")

    assert batch.state == ImportState.DONE and batch.imported_count == 10_000
    job = session.get(OutboxJob, batch.outbox_job_id)
    assert (job.progress_total, job.progress_done) == (10_000, 10_000)
    assert reported[0] == (0, 10_000) and reported[-1] == (10_000, 10_000)
    if session.get_bind().dialect.name == "postgresql":  # SQLite has one writer: no progress mid-save
        assert (500, 10_000) in reported and (9_500, 10_000) in reported
    assert elapsed < 60
    assert len(count_queries) < 500  # no query per row
    assert session.scalar(select(func.count()).where(ServiceRequest.center_id == liaison.center_id)) == 10_000
    events = select(func.count()).where(HistoryEvent.action == "create", HistoryEvent.actor_id == liaison.id)
    assert session.scalar(events) == 10_000


# --- pages, access, templates ----------------------------------------------------------------


def test_upload_page_batch_page_and_status_render(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    page = client.get("/imports/").get_data(as_text=True)
    assert "<h1>要望・活動記録の一括取込</h1>" in page and 'href="/imports/template.xlsx"' in page
    assert "取込先: <strong>中央区まちづくりセンター</strong>" in page  # the liaison's own center
    assert '<a href="/imports/">一括取込</a>' in client.get("/field/").get_data(as_text=True)  # the menu
    batch = import_file(client, session, xlsx([row()]))
    assert batch.original_name in client.get("/imports/").get_data(as_text=True)
    status = client.get(f"/imports/{batch.id}/status").get_json()
    assert status == {
        "state": "done",
        "label": "取込完了",
        "phase_text": "要望・相談を登録しています…",
        "count_text": "1 / 1行",
        "finished": True,
        "failed": False,
        "done": 1,
        "total": 1,
    }
    manager_page = login_as(make.manager()).get("/imports/").get_data(as_text=True)
    assert '<select id="center_id" name="center_id">' in manager_page and "取込先:" not in manager_page
    assert batch.original_name in manager_page


def test_a_running_import_shows_progress_and_refreshes_itself(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    batch = import_file(client, session, xlsx([row()]))
    batch.state = ImportState.RUNNING
    batch.outbox_job.progress_done, batch.outbox_job.progress_total = 500, 2000
    session.commit()
    page = client.get(f"/imports/{batch.id}").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in page and "imports.js" in page
    assert 'max="2000" value="500"' in page
    assert client.get(f"/imports/{batch.id}/status").get_json()["finished"] is False
    assert client.get("/static/imports.js").status_code == 200


def test_a_liaison_cannot_import_into_or_see_another_center(make, session, login_as):
    other = make.liaison("東区")
    batch = import_file(login_as(other), session, xlsx([row()]))
    liaison = make.liaison()
    client = login_as(liaison)
    response = upload(client, xlsx([row(件名="他センターへ")]), center_id=other.center_id)
    assert "地域担当職員は自分のまちづくりセンターの要望だけを登録できます。" in response.get_data(
        as_text=True
    )
    assert session.scalar(select(func.count()).select_from(ImportBatch)) == 1
    assert requests_of(session, liaison.center) == []
    assert client.get(f"/imports/{batch.id}").status_code == 403
    assert client.get(f"/imports/{batch.id}/status").status_code == 403
    assert batch.original_name not in client.get("/imports/").get_data(as_text=True)
    assert login_as(make.staff()).get("/imports/").status_code == 403


def test_templates_download_and_the_filled_xlsx_template_imports_cleanly(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    response = client.get("/imports/template.xlsx")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet, choices = workbook.worksheets
    assert [cell.value for cell in sheet[1]] == list(COLUMNS)
    assert next(cell.value for cell in choices["A"][1:] if cell.value) == "道路・交通安全"
    assert [cell.value for cell in choices["B"][1:7]] == [source.label for source in STAFF_SOURCES]
    sheet["A2"] = "カーブミラーが曲がっている"
    sheet["I2"] = dt.datetime(2024, 5, 7)
    filled = io.BytesIO()
    workbook.save(filled)
    batch = import_file(client, session, filled.getvalue(), "ひな形.xlsx")
    assert batch.state == ImportState.DONE and batch.imported_count == 1, batch.errors
    assert requests_of(session, liaison.center)[0].title == "カーブミラーが曲がっている"

    csv_response = client.get("/imports/template.csv")
    assert csv_response.data.startswith(b"\xef\xbb\xbf" + ",".join(COLUMNS).encode() + b"\r\n")
    assert csv_response.data.count(b"\r\n") == 2
    example = import_file(client, session, csv_response.data, "ひな形.csv")
    assert example.state == ImportState.DONE, example.errors


# --- past logs brought in whole --------------------------------------------------------------


def test_past_answered_rows_land_answered_with_their_answer_and_history(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    rows = [
        row(
            件名="平成の街灯",
            受付日="平成2年4月2日",
            回答日="平成2年4月20日",
            回答区分="対応済み",
            回答内容="街灯を交換しました。",
        ),
        row(
            件名="回答の済んだ相談",
            受付日="2019/5/7",
            回答日="2019/5/7",
            回答区分="情報提供",
            回答内容="窓口を案内",
        ),
        row(件名="まだ回答していない要望", 受付日="2019/5/7"),
    ]
    batch = import_file(client, session, xlsx(rows))

    assert batch.state == ImportState.DONE and batch.imported_count == 3, batch.errors
    heisei, informed, open_request = requests_of(session, liaison.center)
    assert heisei.reference == "CHUO-1990-00001" and heisei.received_on == dt.date(1990, 4, 2)
    assert (heisei.state, heisei.answer_kind, heisei.answered_on, heisei.answer_text) == (
        RequestState.ANSWERED,
        AnswerKind.RESOLVED,
        dt.date(1990, 4, 20),
        "街灯を交換しました。",
    )
    assert (informed.state, informed.answer_kind, informed.answered_on) == (
        RequestState.ANSWERED,
        AnswerKind.INFORMATION,
        dt.date(2019, 5, 7),
    )
    assert (open_request.state, open_request.answer_kind, open_request.answered_on) == (
        RequestState.RECEIVED,
        None,
        None,
    )
    create, answer = heisei.events
    assert (create.action, create.to_state, create.data["import_batch_id"]) == (
        "create",
        "received",
        batch.id,
    )
    assert (answer.action, answer.from_state, answer.to_state) == ("answer", "received", "answered")
    assert answer.comment == "街灯を交換しました。" and answer.actor_id == liaison.id
    assert answer.data == {
        "import_batch_id": batch.id,
        "answer_kind": "resolved",
        "answered_on": "1990-04-20",
    }
    assert [event.action for event in open_request.events] == ["create"]
    assert audit.verify(session).ok


def test_imported_answered_rows_are_never_overdue_in_lists_dashboards_or_reminders(make, session, login_as):
    liaison = make.liaison()
    manager = make.manager()
    answered = row(
        件名="回答済みの古い要望",
        受付日="2019/5/7",
        回答日="2019/6/1",
        回答区分="対応困難",
        回答内容="予算化できず",
    )
    batch = import_file(
        login_as(liaison), session, xlsx([answered, row(件名="未回答の古い要望", 受付日="2019/5/7")])
    )
    done, waiting = requests_of(session, liaison.center)
    assert done.state == RequestState.ANSWERED and done.answer_due_on < today_in_tokyo()
    today = today_in_tokyo()

    assert [r.id for r in reminders.overdue_requests(session, today)] == [waiting.id]
    [center_row] = [r for r in overdue_by_center(session, today) if r.id == liaison.center_id]
    assert center_row.overdue == 1
    digest_lines = {
        template % values
        for digest in reminders.due_digests(session, today)
        for template, values in digest.requests
    }
    assert any(waiting.reference in line for line in digest_lines)
    assert not any(done.reference in line for line in digest_lines)
    overdue_page = login_as(manager).get("/requests/?overdue=1").get_data(as_text=True)
    assert waiting.reference in overdue_page and done.reference not in overdue_page
    assert batch.imported_count == 2


def test_partial_or_impossible_answers_are_row_errors(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    rows = [
        row(回答日="2024/5/20"),
        row(回答内容="回答しました"),
        row(受付日="2024/5/7", 回答日="2024/5/1", 回答区分="対応済み", 回答内容="回答"),
        row(回答日="2024/5/20", 回答区分="済み", 回答内容="回答"),
        row(受付日="1988/12/1"),
    ]
    batch = import_file(client, session, xlsx(rows))

    assert batch.state == ImportState.INVALID and requests_of(session, liaison.center) == []
    assert [(e["row"], e["column"]) for e in batch.errors] == [
        (2, "回答区分"),
        (2, "回答内容"),
        (3, "回答日"),
        (3, "回答区分"),
        (4, "回答日"),
        (5, "回答区分"),
        (6, "受付日"),
    ]
    messages = [e["message"] for e in batch.errors]
    assert messages[0] == "回答を取り込むには回答日・回答区分・回答内容をすべて入力してください。"
    assert messages[4] == "回答日が受付日より前になっています。"
    assert messages[5] == "回答区分は対応済み・情報提供・対応困難のいずれかで入力してください。"
    assert messages[6] == "受付日は平成元年 (1989年1月8日) 以降の日付で入力してください。"
