"""The indicator pages: 達成 / 未達成 in words, SVG with its table, CSV/XLSX, who sees which ward,
the admin's and ward manager's forms (refusals 422 keeping what was typed), the history shown,
and a city page whose query count does not grow with the data."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tracker.effects import indicators as writes
from tracker.models import HistoryEvent
from tracker.monitoring_models import Indicator, IndicatorTarget, IndicatorValue

from .factories import TODAY

RANGE = {"from": "2024", "to": "2024"}


@pytest.fixture
def surveyed(make, session):
    """住民満足度 2024: 中央区 60 against 70 (未達成), 東区 75 against 70 (達成), 西区 no target."""
    admin, indicator = make.admin(), make.indicator()
    for ward, value, target in (("中央区", "60", "70"), ("東区", "75", "70"), ("西区", "50", None)):
        ward_id = make.ward(ward).id
        writes.enter_value(
            session, admin, indicator, ward_id, 2024, value, "市民アンケート", dt.date(2025, 1, 31)
        )
        if target:
            writes.set_target(session, admin, indicator, ward_id, 2024, target)
    session.commit()
    return indicator


def row_of(html: str, indicator: Indicator, area: str) -> str:
    section = html.split(f'id="indicator-{indicator.id}"', 1)[1].split("</section>", 1)[0]
    match = re.search(rf'<th scope="row">{area}</th>(.*?)</tr>', section, re.S)
    assert match, f"no row for {area}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1)))


def test_city_page_says_met_and_not_met_in_words_beside_an_svg(make, login_as, surveyed):
    client = login_as(make.liaison("中央区"))
    response = client.get("/indicators/", query_string=RANGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "実績 60% 目標 70% 未達成" in row_of(html, surveyed, "中央区")
    assert "実績 75% 目標 70% 達成" in row_of(html, surveyed, "東区")
    assert "目標なし" in row_of(html, surveyed, "西区")
    assert "実績なし" not in row_of(html, surveyed, "西区")
    section = html.split(f'id="indicator-{surveyed.id}"', 1)[1].split("</section>", 1)[0]
    assert '<svg class="chart"' in section and "目標" in section and "<table" in section


def test_ward_page_shows_the_wards_figures(make, login_as, surveyed):
    client = login_as(make.staff())
    html = client.get(f"/indicators/ward/{make.ward('東区').id}", query_string=RANGE).get_data(as_text=True)
    assert "達成" in row_of(html, surveyed, "東区")
    assert "中央区</th>" not in html


def test_a_liaison_sees_their_own_wards_page_only(make, login_as):
    client = login_as(make.liaison("中央区"))
    assert client.get(f"/indicators/ward/{make.ward('中央区').id}").status_code == 200
    denied = client.get(f"/indicators/ward/{make.ward('東区').id}")
    assert denied.status_code == 403 and "権限" in denied.get_data(as_text=True)


def test_csv_holds_one_row_per_indicator_area_and_year(make, login_as, surveyed, session):
    client = login_as(make.manager("中央区"))
    response = client.get("/indicators/", query_string={**RANGE, "format": "csv"})
    assert response.status_code == 200
    text = response.get_data().decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == "指標,単位,方向,区,年度,実績,目標,達成状況"
    assert "住民満足度,%,高いほど良い,中央区,令和6年度 (2024),60,70,未達成" in lines
    assert "住民満足度,%,高いほど良い,東区,令和6年度 (2024),75,70,達成" in lines
    active = session.scalar(select(func.count(Indicator.id)).where(Indicator.active.is_(True)))
    assert len(lines) == 1 + active * 6  # five wards and the city, one year
    assert session.scalars(select(HistoryEvent).where(HistoryEvent.action == "export")).all()


def test_xlsx_of_a_ward_page(make, login_as, surveyed):
    client = login_as(make.admin())
    ward = make.ward("中央区")
    response = client.get(f"/indicators/ward/{ward.id}", query_string={**RANGE, "format": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    rows = [tuple(row) for row in sheet.iter_rows(values_only=True)]
    assert ("住民満足度", "%", "高いほど良い", "中央区", "令和6年度 (2024)", 60, 70, "未達成") in rows
    assert {row[3] for row in rows[1:]} == {"中央区"}


def test_admin_sets_a_target_and_the_history_shows_old_and_new(make, login_as, session, surveyed):
    admin = make.admin()
    client = login_as(admin)
    ward = make.ward("中央区")
    form = {"target-ward_id": str(ward.id), "target-fiscal_year": "2024", "target-target": "65"}
    response = client.post(f"/indicators/{surveyed.id}/target", data=form, query_string=RANGE)
    assert response.status_code == 302
    target = session.scalars(
        select(IndicatorTarget).filter_by(indicator_id=surveyed.id, ward_id=ward.id)
    ).one()
    assert target.target == Decimal("65.00")
    html = client.get(f"/indicators/{surveyed.id}").get_data(as_text=True)
    history = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.split('id="indicator-history"')[1]))
    assert "目標値を設定" in history and "70.00 → 65.00" in history and admin.display_name in history


def test_a_refused_target_is_shown_again_with_the_reason_and_what_was_typed(
    make, login_as, session, surveyed
):
    client = login_as(make.admin())
    before = session.scalar(select(func.count(IndicatorTarget.id)))
    form = {"target-ward_id": "", "target-fiscal_year": "2024", "target-target": "七十"}
    response = client.post(f"/indicators/{surveyed.id}/target", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "目標値は数値で入力してください" in html and 'value="七十"' in html
    assert session.scalar(select(func.count(IndicatorTarget.id))) == before


def test_a_ward_manager_enters_their_wards_value_and_no_other(make, login_as, session):
    manager = make.manager("東区")
    client = login_as(manager)
    indicator = make.indicator()
    own = {
        "value-ward_id": str(make.ward("東区").id),
        "value-fiscal_year": "2024",
        "value-value": "66.5",
        "value-source": "区民アンケート",
        "value-measured_on": "2025/1/31",
    }
    assert client.post(f"/indicators/{indicator.id}/value", data=own).status_code == 302
    row = session.scalars(select(IndicatorValue).filter_by(indicator_id=indicator.id)).one()
    assert (row.value, row.entered_by_id) == (Decimal("66.50"), manager.id)
    other = {**own, "value-ward_id": str(make.ward("中央区").id), "value-value": "10"}
    refused = client.post(f"/indicators/{indicator.id}/value", data=other)
    assert refused.status_code == 422
    assert session.scalar(select(func.count(IndicatorValue.id))) == 1
    again = client.post(f"/indicators/{indicator.id}/value", data=own)
    assert again.status_code == 422 and "同じ" in again.get_data(as_text=True)
    assert client.post(f"/indicators/{indicator.id}/target", data={}).status_code == 403
    page = client.get(f"/indicators/{indicator.id}").get_data(as_text=True)
    history = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.split('id="indicator-history"')[1]))
    assert "実績値を入力" in history and "(なし) → 66.50" in history and "区民アンケート" in history


def test_admin_defines_an_indicator(make, login_as, session):
    client = login_as(make.admin())
    form = {
        "code": "volunteers",
        "name": "ボランティア登録者数",
        "kind": "entered",
        "metric": "",
        "unit": "人",
    }
    response = client.post("/indicators/new", data={**form, "higher_is_better": "1", "active": "y"})
    assert response.status_code == 302
    indicator = session.scalars(select(Indicator).filter_by(code="volunteers")).one()
    assert indicator.active and indicator.unit == "人"
    duplicate = client.post("/indicators/new", data={**form, "higher_is_better": "1"})
    assert duplicate.status_code == 422 and "既にあります" in duplicate.get_data(as_text=True)
    listed = client.get("/indicators/admin").get_data(as_text=True)
    assert "ボランティア登録者数" in listed


def test_admin_edits_a_definition_and_the_history_says_what_changed(make, login_as, session):
    client = login_as(make.admin())
    indicator = make.indicator("issues_sent")
    form = {
        "code": "issues_sent",
        "name": "局へ送付した課題",
        "description": indicator.description,
        "kind": "computed",
        "metric": "issues_sent",
        "unit": "件",
        "higher_is_better": "1",
        "active": "y",
    }
    assert client.post(f"/indicators/{indicator.id}/edit", data=form).status_code == 302
    event = session.scalars(select(HistoryEvent).filter_by(indicator_id=indicator.id)).one()
    assert event.action == "edit_indicator" and event.data["new"] == {"name": "局へ送付した課題"}
    page = client.get(f"/indicators/{indicator.id}").get_data(as_text=True)
    assert "指標名: 局へ送付した区重要課題の件数 → 局へ送付した課題" in page
    exported = client.get(f"/indicators/{indicator.id}", query_string={**RANGE, "format": "csv"})
    assert (
        "局へ送付した課題,件,高いほど良い,中央区,令和6年度 (2024),0,,目標なし"
        in exported.get_data().decode("utf-8-sig")
    )
    unchanged = client.post(f"/indicators/{indicator.id}/edit", data=form)
    assert unchanged.status_code == 422 and "変更された項目がありません" in unchanged.get_data(as_text=True)
    no_metric = client.post(f"/indicators/{indicator.id}/edit", data={**form, "metric": ""})
    assert no_metric.status_code == 422 and "算出方法を選んでください" in no_metric.get_data(as_text=True)


@pytest.mark.parametrize("page", ["/indicators/", "/indicators/ward/{ward}"])
def test_pages_cost_the_same_queries_with_more_data(make, login_as, session, count_queries, page):
    client = login_as(make.manager("中央区"))
    url = page.format(ward=make.ward("東区").id)

    def selects() -> int:
        session.expunge_all()  # each page starts from an empty session, as a request does
        count_queries.clear()
        assert client.get(url).status_code == 200
        return len([s for s in count_queries if s.lstrip().startswith("SELECT")])

    few = selects()
    liaison = make.liaison("東区")
    for _ in range(3):
        make.activity(liaison, ward="東区")
        make.request(liaison)
    admin = make.admin()
    indicator = make.indicator()
    for ward in ("中央区", "東区", "南区"):
        writes.enter_value(session, admin, indicator, make.ward(ward).id, TODAY.year, "50", "調査", TODAY)
        writes.set_target(session, admin, indicator, make.ward(ward).id, TODAY.year, "55")
    session.commit()
    assert selects() == few <= 16
