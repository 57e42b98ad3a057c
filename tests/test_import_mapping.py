"""一括取込: columns found by their header (with the names the centers use), and the mapping step
that asks what an unknown header is before anything is imported."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import func, select

from tracker.activity_models import Activity
from tracker.background import import_headers
from tracker.background.import_format import LAYOUT
from tracker.models import ServiceRequest
from tracker.ops_models import ImportBatch
from tracker.states import AnswerKind, ImportState, JobState, RequestState

from .test_import import CATEGORY, import_file, requests_of


def sheet(headers: list[str], *rows: list) -> bytes:
    workbook = openpyxl.Workbook()
    page = workbook.active
    page.append(headers)
    for values in rows:
        page.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def confirm(client, session, batch, **choices):
    response = client.post(f"/imports/{batch.id}/mapping", data=choices)
    session.expire_all()
    return response


def test_headers_are_matched_by_name_and_synonym_after_nfkc_and_without_spaces(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    headers = ["要望件名", "要望内容", "分　野", "経路", " 受付年月日 ", "回答年月日", "回答区分", "回答"]
    content = sheet(
        headers,
        [
            "街灯の不点灯",
            "公園の街灯",
            CATEGORY,
            "電話",
            "2023/4/3",
            "2023/4/10",
            "対応済み",
            "交換しました。",
        ],
    )
    batch = import_file(client, session, content)

    assert batch.state == ImportState.DONE, batch.errors
    [request] = requests_of(session, liaison.center)
    assert (request.title, request.description, request.received_on) == (
        "街灯の不点灯",
        "公園の街灯",
        dt.date(2023, 4, 3),
    )
    assert (request.state, request.answer_kind, request.answer_text) == (
        RequestState.ANSWERED,
        AnswerKind.RESOLVED,
        "交換しました。",
    )
    assert import_headers.normalised("ＡＢＣ　回答 日") == "ABC回答日"


def test_an_unknown_header_waits_for_the_mapping_then_imports_with_it(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    content = sheet(
        ["件名", "分野", "受付の経路", "受付日", "備考", "整理番号"],
        ["街灯の不点灯", CATEGORY, "電話", "2024/5/7", "公園の入口", "A-1"],
        ["白線が薄い", CATEGORY, "窓口", "2024/5/8", "通学路", "A-2"],
    )
    batch = import_file(client, session, content)

    assert batch.state == ImportState.PENDING and batch.imported_count == 0
    assert [e["column"] for e in batch.errors] == ["備考", "整理番号"]
    assert requests_of(session, liaison.center) == []
    status = client.get(f"/imports/{batch.id}/status").get_json()
    assert (status["label"], status["finished"]) == ("列の対応づけ待ち", True)
    page = client.get(f"/imports/{batch.id}").get_data(as_text=True)
    assert 'id="import-mapping"' in page and "列「備考」" in page and "列「整理番号」" in page
    assert '<option value="内容">内容</option>' in page and "取り込まない" in page
    assert "http-equiv" not in page  # nothing runs while it waits: no refreshing
    assert "列の対応づけ待ち" in client.get("/imports/").get_data(as_text=True)

    response = confirm(client, session, batch, column_0="内容", column_1="")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/imports/{batch.id}")
    batch = session.get(ImportBatch, batch.id)
    assert batch.state == ImportState.DONE and batch.imported_count == 2, batch.errors
    assert batch.outbox_job.kwargs == {
        "batch_id": batch.id,
        "kind": "requests",
        "mapping": {"備考": "内容", "整理番号": ""},
    }
    assert batch.outbox_job.state == JobState.DONE
    assert [r.description for r in requests_of(session, liaison.center)] == ["公園の入口", "通学路"]


def test_a_mapping_that_chooses_one_field_twice_is_refused_and_changes_nothing(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    content = sheet(
        ["件名", "分野", "受付の経路", "受付日", "備考", "メモ"],
        ["街灯", CATEGORY, "電話", "2024/5/7", "a", "b"],
    )
    batch = import_file(client, session, content)
    job_id = batch.outbox_job_id

    response = confirm(client, session, batch, column_0="内容", column_1="内容")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "項目「内容」が2つの列に選ばれています。" in text and 'id="import-mapping"' in text
    assert '<option selected value="内容">' in text  # what the user chose is kept
    batch = session.get(ImportBatch, batch.id)
    assert batch.state == ImportState.PENDING and batch.outbox_job_id == job_id
    assert [e["column"] for e in batch.errors] == ["備考", "メモ"]

    unknown_field = confirm(client, session, batch, column_0="存在しない項目", column_1="")
    assert unknown_field.status_code == 422 and requests_of(session, liaison.center) == []


def test_a_required_field_still_missing_after_the_mapping_is_a_clear_error(make, session, login_as):
    client = login_as(make.liaison())
    batch = import_file(
        client, session, sheet(["件名", "分野", "受付の経路", "受理した"], ["街灯", CATEGORY, "電話", "x"])
    )
    assert [e["column"] for e in batch.errors] == ["受理した"]

    confirm(client, session, batch, column_0="")
    batch = session.get(ImportBatch, batch.id)
    assert batch.state == ImportState.INVALID
    assert batch.errors == [
        {"row": 1, "column": "受付日", "message": "列「受付日」がありません。1行目に列名を入れてください。"}
    ]


def test_two_headers_for_one_field_are_reported(make, session, login_as):
    client = login_as(make.liaison())
    content = sheet(
        ["件名", "表題", "分野", "受付の経路", "受付日"], ["a", "b", CATEGORY, "電話", "2024/5/7"]
    )
    batch = import_file(client, session, content)
    assert batch.state == ImportState.INVALID
    assert batch.errors == [{"row": 1, "column": "表題", "message": "列「件名」にあたる列が2つあります。"}]


def test_an_activity_sheet_with_an_unknown_header_is_mapped_to_activity_fields(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    content = sheet(["活動日", "活動区分", "出席者"], ["2024/5/7", "相談対応", liaison.login])
    batch = import_file(client, session, content, "活動.xlsx", kind="activities")
    assert batch.state == ImportState.PENDING and [e["column"] for e in batch.errors] == ["出席者"]
    page = client.get(f"/imports/{batch.id}").get_data(as_text=True)
    assert (
        '<option value="地域担当職員">地域担当職員</option>' in page and '<option value="件名">' not in page
    )

    confirm(client, session, batch, column_0="地域担当職員")
    batch = session.get(ImportBatch, batch.id)
    assert batch.state == ImportState.DONE, batch.errors
    [activity] = session.scalars(select(Activity).where(Activity.import_batch_id == batch.id))
    assert activity.kind.name == "相談対応" and activity.liaisons == [liaison]


def test_only_a_batch_waiting_for_its_mapping_takes_one_and_only_its_centers_staff(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    waiting = import_file(
        client,
        session,
        sheet(["件名", "分野", "受付の経路", "受付日", "備考"], ["a", CATEGORY, "電話", "2024/5/7", "b"]),
    )
    done = import_file(
        client, session, sheet(["件名", "分野", "受付の経路", "受付日"], ["a", CATEGORY, "電話", "2024/5/7"])
    )
    assert done.state == ImportState.DONE

    refused = confirm(client, session, done, column_0="内容")
    assert refused.status_code == 302
    assert "この取込は列の対応づけを待っていません。" in client.get(refused.headers["Location"]).get_data(
        as_text=True
    )
    assert confirm(login_as(make.liaison("東区")), session, waiting, column_0="内容").status_code == 403
    assert session.get(ImportBatch, waiting.id).state == ImportState.PENDING
    assert session.scalar(select(func.count()).select_from(ServiceRequest)) == 1


@pytest.mark.parametrize(
    ("chosen", "message"),
    [
        ({}, "列「備考」を何として取り込むか選んでください。"),
        ({"備考": "色"}, "列「備考」に選んだ項目「色」はありません。"),
    ],
)
def test_clean_mapping_refuses_an_unanswered_header_or_an_unknown_field(chosen, message):
    assert import_headers.clean_mapping(LAYOUT, ["備考"], {"備考": "内容"}) == {"備考": "内容"}
    with pytest.raises(ValueError, match=message):
        import_headers.clean_mapping(LAYOUT, ["備考"], chosen)
