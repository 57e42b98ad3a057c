"""Import errors never echo a cell's content. In a shifted row a resident's name or telephone
number can sit in any column; the problems are stored with the batch and shown to the center's
staff, so a message says where the problem is and what the column takes, never what it held.
Before this, 「熊本 花子」という分野は登録されていません。 repeated the name into the batch."""

from __future__ import annotations

from .test_import import import_file, row, xlsx
from .test_import_activities import activity_row, activity_xlsx, import_activities

NAME, PHONE, MAIL = "熊本 花子", "090-1234-5678", "hanako@example.jp"


def test_a_shifted_request_row_reports_its_problems_without_the_residents_data(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    shifted = row(
        分野=NAME, 受付の経路=PHONE, 受付日=MAIL, 回答期限=NAME, 回答日=PHONE, 回答区分=NAME, 回答内容="x"
    )
    batch = import_file(client, session, xlsx([shifted]))
    assert batch.errors, "the shifted row is refused"
    stored = repr(batch.errors)
    page = client.get(f"/imports/{batch.id}").get_data(as_text=True)
    for secret in (NAME, PHONE, MAIL):
        assert secret not in stored and secret not in page
    assert {error["column"] for error in batch.errors} >= {"分野", "受付の経路", "受付日"}


def test_a_shifted_activity_row_reports_its_problems_without_the_data(make, session, login_as):
    liaison = make.liaison()
    client = login_as(liaison)
    shifted = activity_row(活動区分=NAME, 開始時刻=PHONE, 参加者数=MAIL, 地域担当職員=NAME, 活動日=PHONE)
    batch = import_activities(client, session, activity_xlsx([shifted]))
    assert batch.errors
    stored = repr(batch.errors)
    page = client.get(f"/imports/{batch.id}").get_data(as_text=True)
    for secret in (NAME, PHONE, MAIL):
        assert secret not in stored and secret not in page
