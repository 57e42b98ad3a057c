"""Stored data never breaks a page: every value the ORM writes is bounded at the model boundary,
the formatting helpers are total, and an unexpected failure answers a page in Japanese.

Before this, a value a path let through (a control character, a date of year 9999, a number
past its column) was stored and made every page that later read it answer 500, or failed the
request with the database's own error on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from tracker import formatting
from tracker.model_types import StoredValueError
from tracker.models import ServiceRequest, Ward, WardFund


def test_control_characters_other_than_newline_and_tab_are_stripped_when_stored(make, session):
    request = make.request(description="一行目\r\n二行目\t続き\x07\x1b[31m\x7f")
    session.expire_all()
    stored = session.get(ServiceRequest, request.id)
    assert stored.description == "一行目\n二行目\t続き[31m"


def test_an_edit_is_bounded_too(make, session):
    request = make.request()
    request.location_text = "公園\x00前"
    session.commit()
    session.expire_all()
    assert session.get(ServiceRequest, request.id).location_text == "公園前"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "長" * 201),  # String(200)
        ("received_on", dt.date(9999, 12, 31)),
        ("answer_due_on", dt.date(1900, 1, 1)),
        ("fiscal_year", 10_000),
        ("fiscal_year", -1),
    ],
)
def test_a_value_past_its_column_or_the_pages_is_refused_and_nothing_changes(make, session, field, value):
    request = make.request()
    before = getattr(request, field)
    setattr(request, field, value)
    with pytest.raises(StoredValueError) as refused:
        session.flush()
    assert refused.value.column == field and "保存できない値" in refused.value.message
    session.rollback()
    session.expire_all()
    assert getattr(session.get(ServiceRequest, request.id), field) == before


def test_numbers_are_bounded_by_their_column_type(make, session):
    fund = session.scalars(select(WardFund)).first()
    fund.allocated_yen = 2**63  # BigInteger
    with pytest.raises(StoredValueError):
        session.flush()
    session.rollback()
    ward = session.scalars(select(Ward)).first()
    ward.area_km2 = Decimal("1000000.00")  # Numeric(8, 2): below a million
    with pytest.raises(StoredValueError):
        session.flush()
    session.rollback()


@pytest.mark.parametrize(
    "helper",
    [
        formatting.fiscal_year_label,
        formatting.date_label,
        formatting.datetime_label,
        formatting.era_date_label,
        formatting.thousand_yen,
        formatting.approximate_yen,
        formatting.yen,
        formatting.file_size,
    ],
)
@pytest.mark.parametrize("value", [None, "壊れた値", 10**30, -5, dt.date(1, 1, 1), Decimal("NaN"), object()])
def test_formatting_helpers_never_raise_on_a_stored_value(helper, value):
    assert isinstance(helper(value), str)


def test_a_fiscal_year_no_era_covers_is_written_plainly():
    assert formatting.fiscal_year_label(10**6) == "1000000年度"
    assert formatting.fiscal_year_label(2024) == "令和6年度 (2024)"


def test_an_unexpected_failure_answers_a_japanese_page_without_the_layout(app, make, login_as, monkeypatch):
    client = login_as(make.liaison())
    from tracker.blueprints import field

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(field, "render_template", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = client.get("/field/")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "予期しないエラーが発生した" in text and "boom" not in text and 'lang="ja"' in text


def test_an_unstorable_value_answers_422_in_japanese(app, make, login_as, monkeypatch):
    client = login_as(make.liaison())
    from tracker.blueprints import field

    def unstorable(*args, **kwargs):
        raise StoredValueError("requests", "title", "x" * 300)

    monkeypatch.setattr(field, "render_template", unstorable)
    response = client.get("/field/")
    assert response.status_code == 422
    assert "保存できない値が含まれていたため" in response.get_data(as_text=True)


def test_the_importers_bulk_insert_is_bounded_too(make, session, login_as):
    from .test_import import csv_text, import_file, requests_of, row

    liaison = make.liaison()
    content = csv_text([row(内容="一行目\x07\r\n二行目\x1b")]).encode("utf-8-sig")
    batch = import_file(login_as(liaison), session, content, "要望一覧.csv")
    assert batch.imported_count == 1
    [imported] = requests_of(session, liaison.center)
    assert imported.description == "一行目\n二行目"
