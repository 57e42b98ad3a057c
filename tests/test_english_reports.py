"""Reports, dashboards, indicators, charts and exports read in English with ``?lang=en`` (or the
language kept on the account, for the report made in the background), and stay Japanese by
default. Names from the data (wards, bureaus, indicators) stay as they are stored."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

import pytest
from openpyxl import load_workbook

from tracker.background import jobs
from tracker.effects import budget_calendar
from tracker.effects import indicators as writes
from tracker.ops_models import OutboxJob
from tracker.reporting import reports
from tracker.states import IssueState, JobState

RANGE = {"from": "2024", "to": "2024"}


def page(client, url: str, **args) -> str:
    response = client.get(url, query_string=args)
    assert response.status_code == 200, response.status_code
    return html.unescape(response.get_data(as_text=True))


def svg_of(html: str, key: str) -> str:
    match = re.search(rf'<svg class="chart"[^>]*aria-labelledby="{key}-title.*?</svg>', html, re.S)
    assert match, f"no chart {key}"
    return match.group(0)


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


@pytest.fixture
def manager(make):
    """A ward manager of 中央区 with an issue in consultation and an activity of the ward."""
    manager = make.manager("中央区")
    make.issue(IssueState.CONSULTING, manager=manager)
    make.activity()
    return manager


def test_the_ward_managers_dashboard_reads_in_english_and_stays_japanese_by_default(make, login_as, manager):
    client = login_as(manager)
    english = page(client, "/dashboard/", lang="en")
    assert "The ward's field work" in english and "Ward issues by state" in english
    assert "区の地域活動" not in english and "区重要課題 (状態別)" not in english
    japanese = page(client, "/dashboard/", lang="ja")
    assert "区の地域活動" in japanese and "The ward's field work" not in japanese


def test_the_bureau_dashboard_names_its_tabs_and_budget_calendar_in_english(make, login_as, manager):
    client = login_as(make.staff("環境局"))
    english = page(client, "/dashboard/", lang="en")
    assert "In consultation" in english and "Awaiting budget" in english
    assert "Awaiting our decision (lead bureau)" in english
    assert "予算化待ち" not in english and "協議結果の登録待ち" not in english


def test_the_city_dashboards_chart_svg_has_english_title_ticks_and_description(make, login_as, manager):
    client = login_as(make.admin())
    english = svg_of(page(client, "/dashboard/city", year="2024", lang="en"), "monthly")
    assert '<title id="monthly-title">Requests received per month (by ward)</title>' in english
    assert ">Apr</text>" in english and ">Mar</text>" in english
    assert "Stacked column chart" in english
    assert "月別の要望受付件数" not in english and ">4月</text>" not in english
    japanese = svg_of(page(client, "/dashboard/city", year="2024", lang="ja"), "monthly")
    assert "月別の要望受付件数 (区別)" in japanese and ">4月</text>" in japanese


def test_the_city_dashboards_published_figures_read_in_english(make, login_as, manager):
    client = login_as(make.admin())
    english = page(client, "/dashboard/city", lang="en")
    assert "ward issues were adopted in consultation" in english
    assert "Liaisons' field work (cumulative)" in english
    assert "との協議結果となり" not in english and "地域担当職員の活動 (累計)" not in english


def test_a_dashboard_tables_csv_has_english_headers_for_an_english_reader(make, login_as, manager):
    client = login_as(make.admin())
    args = {"year": "2024", "table": "budget-bureaus", "format": "csv"}
    english = csv_rows(client.get("/dashboard/city", query_string={**args, "lang": "en"}))
    assert english[0] == ["Item", "Budget", "Executed"]
    assert "環境局" in [row[0] for row in english[1:]]  # the data stays as stored
    japanese = csv_rows(client.get("/dashboard/city", query_string={**args, "lang": "ja"}))
    assert japanese[0] == ["項目", "予算額", "決算額"]


def test_the_fiscal_year_report_and_its_csv_read_in_english(make, login_as, manager):
    client = login_as(make.admin())
    english = page(client, "/reports/fiscal-year", year="2024", lang="en")
    assert "Total budget" in english and "Budgeted projects" in english and ">Total<" in english
    assert "予算額合計" not in english and ">合計<" not in english
    rows = csv_rows(client.get("/reports/fiscal-year", query_string={"year": "2024", "format": "csv"}))
    assert rows[0][:4] == ["Part", "Ward / bureau", "Registered", "Adopted"]  # the session's language
    assert rows[1][0] == "By ward" and "中央区" in [row[1] for row in rows]
    japanese = csv_rows(
        client.get("/reports/fiscal-year", query_string={"year": "2024", "format": "csv", "lang": "ja"})
    )
    assert japanese[0][:4] == ["区分", "区・局", "登録", "対応する"] and japanese[1][0] == "区別"


def test_the_reports_index_reads_in_english(make, login_as, manager):
    english = page(login_as(make.admin()), "/reports/", lang="en")
    assert "Fiscal-year report of ward issues (Excel)" in english and "Create the report" in english
    assert "報告書を作成する" not in english and "最近の作成依頼" not in english


def test_the_field_work_counts_read_in_english_with_english_headers(make, login_as, manager):
    client = login_as(manager)
    english = page(client, "/reports/activities", lang="en", period="month")
    assert "Requests per activity" in english and "Whole period" in english
    assert "1活動あたりの要望相談件数" not in english and "期間全体" not in english
    rows = csv_rows(client.get("/reports/activities", query_string={"format": "csv", "lang": "en"}))
    assert rows[0] == [
        "Community center",
        "Ward",
        "Period",
        "Activities",
        "Requests gathered",
        "Requests per activity",
    ]


@pytest.fixture
def surveyed(make, session):
    """住民満足度 2024 for 中央区: 60 against a target of 70 (not met)."""
    admin, indicator = make.admin(), make.indicator()
    ward_id = make.ward("中央区").id
    writes.enter_value(session, admin, indicator, ward_id, 2024, "60", "市民アンケート", dt.date(2025, 1, 31))
    writes.set_target(session, admin, indicator, ward_id, 2024, "70")
    session.commit()
    return indicator


def test_an_indicator_page_reads_in_english_and_keeps_the_indicators_own_name(make, login_as, surveyed):
    client = login_as(make.admin())
    english = page(client, f"/indicators/{surveyed.id}", lang="en", **RANGE)
    assert "Set a target" in english and "Higher is better" in english and "Not met" in english
    assert "Target (line)" in english and ">FY2024</text>" in english
    assert surveyed.name in english  # the city's own name of the indicator
    assert "目標値を設定" not in english and "未達成" not in english and "高いほど良い" not in english
    japanese = page(client, f"/indicators/{surveyed.id}", lang="ja", **RANGE)
    assert "目標値を設定" in japanese and "未達成" in japanese and "Set a target" not in japanese


def test_the_indicators_xlsx_has_english_headers_and_statuses(make, login_as, surveyed):
    client = login_as(make.admin())
    response = client.get("/indicators/", query_string={**RANGE, "format": "xlsx", "lang": "en"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Indicators", "Unit", "Direction", "Ward", "Fiscal year", "Actual", "Target", "Status")
    assert (surveyed.name, "中央区", "Not met") in {(row[0], row[3], row[7]) for row in rows[1:]}
    assert sheet.title == "Indicators (city and wards)"


def test_a_refused_target_says_why_in_english_next_to_its_field(make, login_as, surveyed):
    client = login_as(make.admin())
    response = client.post(
        f"/indicators/{surveyed.id}/target?lang=en",
        data={"target-ward_id": "", "target-fiscal_year": "2024", "target-target": "abc"},
    )
    assert response.status_code == 422
    text = html.unescape(response.get_data(as_text=True))
    assert "Target must be a number (e.g. 75.5)." in text
    assert "目標値は数値で入力してください" not in text


def test_the_budget_calendars_problems_read_in_the_users_language(app):
    dates = {"send_by": None, "results_by": dt.date(2027, 1, 10), "decided_on": dt.date(2027, 1, 5)}
    with app.test_request_context("/?lang=en"):
        english = budget_calendar.problems(2027, dates)
    assert english == {"send_by": "Please fill in “Send to bureaus by”."}
    with app.test_request_context("/?lang=ja"):
        assert budget_calendar.problems(2027, dates) == {"send_by": "局への送付期限を入力してください。"}


def test_the_background_report_is_written_in_the_language_kept_on_the_requesters_account(
    make, session, manager
):
    admin = make.admin()
    admin.locale = "en"
    session.commit()
    row = jobs.request_job(session, reports.JOB_NAME, {"fiscal_year": 2024}, requested_by_id=admin.id)
    session.commit()  # no REDIS_URL: the job runs right after the commit, outside any request
    session.expire_all()
    row = session.get(OutboxJob, row.id)
    assert row.state == JobState.DONE, row.last_error
    book = load_workbook(reports.report_dir() / row.result["file"])
    assert book.sheetnames == ["By ward", "By bureau", "Budgeted projects"]
    wards = [list(r) for r in book["By ward"].iter_rows(values_only=True)]
    assert wards[1][0].startswith("Created: ")
    assert wards[3][:3] == ["Ward", "Registered", "Adopted"] and wards[-1][0] == "Total"
    assert "中央区" in [r[0] for r in wards]
