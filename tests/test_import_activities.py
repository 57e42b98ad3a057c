"""一括取込 of activity logs: every row checked, every row or none, once per file, with history."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
from sqlalchemy import func, select

from tracker.activity_models import Activity
from tracker.background.activity_import import COLUMNS
from tracker.fieldwork.access import activity_filter
from tracker.models import Center, HistoryEvent
from tracker.safeguards import audit
from tracker.states import ImportState

from .test_import import import_file, upload, xlsx

KIND = "会議出席（町内自治会）"


def activity_row(**changes) -> dict:
    values = {
        "活動日": "2024/5/7",
        "開始時刻": "19:00",
        "終了時刻": "20:30",
        "活動区分": KIND,
        "団体名": "大江町内自治会",
        "場所": "大江公民館",
        "参加者数": 25,
        "概要": "定例会に出席し、防犯灯の要望を聞いた。",
        "地域担当職員": None,
        "まちづくりセンター": None,
    }
    return {**values, **changes}


def activity_xlsx(rows: list[dict], columns=COLUMNS) -> bytes:
    return xlsx(rows, columns)


def activity_csv(rows: list[dict], columns=COLUMNS) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for values in rows:
        writer.writerow(["" if values.get(column) is None else values[column] for column in columns])
    return buffer.getvalue().encode("utf-8-sig")


def import_activities(client, session, content: bytes, name: str = "活動記録.xlsx", **form):
    return import_file(client, session, content, name, kind="activities", **form)


def activities_of(session, batch) -> list[Activity]:
    statement = select(Activity).where(Activity.import_batch_id == batch.id).order_by(Activity.id)
    return list(session.scalars(statement))


def test_valid_activity_rows_are_logged_with_their_staff_organisation_and_history(make, session, login_as):
    liaison = make.liaison()
    colleague = make.liaison()
    organisation = make.organisation(name="大江校区自治協議会")
    client = login_as(liaison)
    rows = [
        activity_row(),
        activity_row(
            活動日=dt.datetime(2024, 6, 1),
            開始時刻=dt.time(10, 0),
            終了時刻="11時30分",
            活動区分="地域行事の支援",
            団体名="大江校区自治協議会",
            参加者数="120人",
            地域担当職員=f"{liaison.login}、{colleague.display_name.replace(' ', '')}",
        ),
    ]
    batch = import_activities(client, session, activity_xlsx(rows))

    assert batch.state == ImportState.DONE, batch.errors
    assert (batch.row_count, batch.imported_count) == (2, 2)
    assert batch.outbox_job.kwargs["kind"] == "activities"
    first, second = activities_of(session, batch)
    assert (first.held_on, first.starts_at, first.ends_at) == (
        dt.date(2024, 5, 7),
        dt.time(19),
        dt.time(20, 30),
    )
    assert (first.kind.name, first.organisation_id, first.organisation_text) == (KIND, None, "大江町内自治会")
    assert (first.place, first.attendees, first.center_id) == ("大江公民館", 25, liaison.center_id)
    assert first.liaisons == [liaison] and first.fiscal_year == 2024 and first.logged_by_id == liaison.id
    assert (second.held_on, second.starts_at, second.ends_at) == (
        dt.date(2024, 6, 1),
        dt.time(10),
        dt.time(11, 30),
    )
    assert (second.organisation_id, second.organisation_text) == (organisation.id, "")
    assert second.attendees == 120 and second.liaisons == [liaison, colleague]
    assert first.client_uuid and second.client_uuid and first.client_uuid != second.client_uuid
    for activity in (first, second):
        [event] = session.scalars(select(HistoryEvent).where(HistoryEvent.activity_id == activity.id))
        assert (event.action, event.actor_id) == ("create", liaison.id)
        assert event.data["values"]["held_on"] == activity.held_on.isoformat()
    assert audit.verify(session).ok

    page = client.get(f"/imports/{batch.id}").get_data(as_text=True)
    assert "2件の活動記録を取り込みました。" in page and "地域行事の支援" in page and "活動記録" in page


def test_bad_activity_rows_import_nothing_and_every_error_is_reported_by_row_and_column(
    make, session, login_as
):
    liaison = make.liaison()
    other_ward = make.liaison("東区")
    client = login_as(liaison)
    future = dt.date.today() + dt.timedelta(days=40)
    rows = [
        activity_row(),
        activity_row(活動日="2024/13/1", 活動区分="井戸端会議"),
        activity_row(開始時刻="夕方", 参加者数="多数"),
        activity_row(地域担当職員=f"{other_ward.login}"),
        activity_row(開始時刻="20:00", 終了時刻="19:00"),
        activity_row(活動日=f"{future:%Y/%m/%d}"),
        activity_row(活動日=None),
        activity_row(まちづくりセンター="どこにもないセンター"),
    ]
    batch = import_activities(client, session, activity_xlsx(rows))

    assert batch.state == ImportState.INVALID and batch.imported_count == 0 and batch.row_count == 8
    assert [(e["row"], e["column"]) for e in batch.errors] == [
        (3, "活動日"),
        (3, "活動区分"),
        (4, "開始時刻"),
        (4, "参加者数"),
        (5, "地域担当職員"),
        (6, "終了時刻"),
        (7, "活動日"),
        (8, "活動日"),
        (9, "まちづくりセンター"),
    ]
    messages = [e["message"] for e in batch.errors]
    assert messages[0].startswith("日付として読み取れません")
    assert messages[1] == "この活動区分は登録されていません。登録されている活動区分の名前で入力してください。"
    assert messages[2].startswith("時刻として読み取れません")
    assert messages[3].startswith("参加者数は0以上の数で入力してください")
    assert messages[4].startswith("1人目はこの区の地域担当職員にいません")
    assert messages[5] == "終了時刻は開始時刻より後にしてください。"
    assert messages[6].startswith("活動日は") and "までの日付で入力してください" in messages[6]
    assert messages[7] == "活動日を入力してください。"
    assert messages[8].startswith("このまちづくりセンターは登録されていません。")
    assert session.scalar(select(func.count()).select_from(Activity)) == 0
    assert session.scalar(select(func.count()).where(HistoryEvent.activity_id.is_not(None))) == 0
    page = client.get(f"/imports/{batch.id}").get_data(as_text=True)
    assert "何も登録していません" in page and "この活動区分は登録されていません。" in page


def test_a_liaison_cannot_import_activities_into_another_center_of_the_ward(make, session, login_as):
    liaison = make.liaison()
    other_center = Center(ward_id=liaison.center.ward_id, name="大江まちづくりセンター")
    session.add(other_center)
    session.commit()
    client = login_as(liaison)
    batch = import_activities(
        client, session, activity_xlsx([activity_row(まちづくりセンター=other_center.name)])
    )
    assert batch.state == ImportState.INVALID
    assert batch.errors == [
        {
            "row": 2,
            "column": "まちづくりセンター",
            "message": "このまちづくりセンターの活動は記録できません。",
        }
    ]

    manager = make.manager()
    manager_client = login_as(manager)
    rows = [activity_row(まちづくりセンター=other_center.name, 地域担当職員=liaison.display_name)]
    done = import_activities(manager_client, session, activity_xlsx(rows), center_id=liaison.center_id)
    assert done.state == ImportState.DONE, done.errors
    [activity] = activities_of(session, done)
    assert activity.center_id == other_center.id and activity.liaisons == [liaison]


def test_the_same_activity_file_twice_imports_nothing_new(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    content = activity_csv([activity_row(), activity_row(活動日="2024/5/8")])
    first = import_activities(client, session, content, "活動記録.csv")
    again = import_activities(client, session, content, "活動記録(コピー).csv")

    assert first.state == ImportState.DONE and first.imported_count == 2
    assert again.state == ImportState.DUPLICATE and again.imported_count == 0
    assert again.errors[0]["message"].startswith("同じ内容のファイルは")
    assert session.scalar(select(func.count()).select_from(Activity)) == 2
    assert session.scalar(select(func.count()).where(HistoryEvent.activity_id.is_not(None))) == 2


def test_imported_activities_are_in_the_scope_of_the_centers_liaison_only(make, session, login_as):
    liaison = make.liaison()
    colleague = make.liaison()
    elsewhere = make.liaison("東区")
    batch = import_activities(login_as(liaison), session, activity_xlsx([activity_row()]))
    [activity] = activities_of(session, batch)

    def visible(user) -> list[int]:
        return list(session.scalars(select(Activity.id).where(activity_filter(user))))

    assert visible(liaison) == [activity.id] and visible(colleague) == [activity.id]
    assert visible(make.manager()) == [activity.id]
    assert visible(elsewhere) == [] and visible(make.manager("東区")) == []


def test_synonym_headers_of_a_centers_own_activity_sheet_are_understood(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    headers = ("実施日", "開始", "終了", "区分", "相手先", "会場", "参加人数", "内容", "担当職員")
    values = ["R6.5.7", "9:30", "10:00", KIND, "大江町内自治会", "大江公民館", "8", "見回り", liaison.login]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerow(values)
    batch = import_activities(client, session, buffer.getvalue().encode("cp932"), "活動.csv")

    assert batch.state == ImportState.DONE, batch.errors
    [activity] = activities_of(session, batch)
    assert (activity.held_on, activity.starts_at, activity.attendees) == (
        dt.date(2024, 5, 7),
        dt.time(9, 30),
        8,
    )
    assert (activity.organisation_text, activity.place, activity.summary) == (
        "大江町内自治会",
        "大江公民館",
        "見回り",
    )


def test_the_activity_templates_download_and_import_cleanly(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    response = client.get("/imports/template.xlsx?kind=activities")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    sheet, choices = openpyxl.load_workbook(io.BytesIO(response.data)).worksheets
    assert [cell.value for cell in sheet[1]] == list(COLUMNS)
    assert choices["A"][1].value == "会議出席（校区自治協議会）"
    batch = import_activities(client, session, response.data, "ひな形.xlsx")
    assert batch.state == ImportState.DONE and batch.imported_count == 1, batch.errors

    csv_response = client.get("/imports/template.csv?kind=activities")
    assert csv_response.data.startswith(b"\xef\xbb\xbf" + ",".join(COLUMNS).encode() + b"\r\n")
    example = import_activities(client, session, csv_response.data, "ひな形.csv")
    assert example.state == ImportState.DONE, example.errors


def test_an_unknown_kind_of_import_is_refused_with_nothing_created(make, session, login_as):
    client = login_as(make.liaison())
    response = upload(client, activity_xlsx([activity_row()]), "活動記録.xlsx", kind="photos")
    assert response.status_code == 200 and "取り込むもの" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Activity)) == 0


def test_the_batch_page_and_the_list_cost_the_same_for_one_row_or_many(
    make, session, login_as, count_queries
):
    liaison = make.liaison()
    colleague = make.liaison()
    organisation = make.organisation(name="大江校区自治協議会")
    client = login_as(liaison)
    staff = f"{liaison.login},{colleague.login}"
    one = import_activities(
        client, session, activity_xlsx([activity_row(団体名=organisation.name, 地域担当職員=staff)])
    )
    rows = [
        activity_row(活動日=f"2024/5/{day}", 団体名=organisation.name, 地域担当職員=staff)
        for day in range(1, 9)
    ]
    many = import_activities(client, session, activity_xlsx(rows), "活動記録2.xlsx")
    assert many.imported_count == 8

    def cost(url: str) -> int:
        session.expire_all()  # what the test itself loaded is not there for the page to reuse
        count_queries.clear()
        assert client.get(url).status_code == 200
        return len(count_queries)

    assert cost(f"/imports/{one.id}") == cost(f"/imports/{many.id}")
    before = cost("/imports/")
    import_activities(client, session, activity_xlsx([activity_row(活動日="2024/4/1")]), "活動記録3.xlsx")
    assert cost("/imports/") == before
