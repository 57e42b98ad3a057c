"""The fiscal-year report page: the city's table by ward and by bureau, and its CSV/XLSX exports.

The fixture has issues in two wards (中央区, 東区), led by two bureaus (環境局, 消防局), in two
fiscal years (2024 and 2025); the expected rows below were counted by hand.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from tracker.blueprints import reports as reports_views
from tracker.formatting import fiscal_year_label, fiscal_year_of, today_in_tokyo
from tracker.models import HistoryEvent
from tracker.states import IssueState


@pytest.fixture
def two_years(make):
    chuo, higashi = make.manager("中央区"), make.manager("東区")
    env, fire = make.staff("環境局"), make.staff("消防局")

    def issue(state, ward, manager, lead, staff, year):
        return make.issue(
            state, ward=ward, manager=manager, lead=lead, staff=staff, with_request=False, fiscal_year=year
        )

    def line(year, name, amount):
        return {"fiscal_year": year, "project_name": name, "allocated_yen": amount}

    # FY2024
    a = issue(IssueState.DECIDED, "中央区", chuo, "環境局", env, 2024)
    make.act(env, a, "budget", line(2024, "街灯LED化事業", 20_900_000))
    issue(IssueState.NOT_ADOPTED, "中央区", chuo, "消防局", fire, 2024)
    b = issue(IssueState.CONSULTING, "東区", higashi, "消防局", fire, 2024)
    make.act(fire, b, "decide", {"decision": "partial", "decision_reason": "一部のみ"})
    make.act(fire, b, "budget", line(2024, "消防倉庫建替え", 47_537_000))
    issue(IssueState.DRAFT, "東区", higashi, "消防局", fire, 2024)  # not registered: not counted
    # FY2025
    c = issue(IssueState.DECIDED, "東区", higashi, "環境局", env, 2025)
    make.act(env, c, "budget", line(2025, "ごみステーション補助", 2_000_500))
    issue(IssueState.REGISTERED, "中央区", chuo, "環境局", env, 2025)
    return {"a": a, "b": b, "c": c}


def _table(html: str, table_id: str) -> dict[str, list[str]]:
    """{row heading: [cells]} of one table of the page (tbody and tfoot)."""
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        rows[cells[0]] = cells[1:]
    return rows


def test_the_page_shows_the_hand_counted_table_of_each_year(two_years, make, login_as):
    client = login_as(make.manager())
    html = client.get("/reports/fiscal-year?year=2024").get_data(as_text=True)
    assert "<h1>年度別 区重要課題報告 令和6年度 (2024)</h1>" in html  # not just the year picker
    wards = _table(html, "by-ward")
    assert wards["中央区"] == ["2", "1", "0", "1", "1", "20,900千円"]
    assert wards["東区"] == ["1", "0", "1", "0", "1", "47,537千円"]
    assert wards["西区"] == ["0", "0", "0", "0", "0", "0千円"]
    assert wards["合計"] == ["3", "1", "1", "1", "2", "68,437千円"]
    bureaus = _table(html, "by-bureau")
    assert bureaus["環境局"] == ["1", "1", "0", "0", "1", "20,900千円"]
    assert bureaus["消防局"] == ["2", "0", "1", "1", "1", "47,537千円"]
    assert bureaus["合計"] == wards["合計"]
    projects = html.split('id="projects"', 1)[1]
    assert "街灯LED化事業" in projects and "消防倉庫建替え" in projects and "ごみステーション" not in projects

    html = client.get("/reports/fiscal-year?year=2025").get_data(as_text=True)
    assert "<h1>年度別 区重要課題報告 令和7年度 (2025)</h1>" in html
    wards = _table(html, "by-ward")
    assert wards["中央区"] == ["1", "0", "0", "0", "0", "0千円"]
    assert wards["東区"] == ["1", "1", "0", "0", "1", "2,000.5千円"]
    assert wards["合計"] == ["2", "1", "0", "0", "1", "2,000.5千円"]


def test_an_unknown_year_shows_the_current_one(make, login_as):
    page = login_as(make.admin()).get("/reports/fiscal-year?year=1900")
    assert page.status_code == 200
    current = fiscal_year_label(fiscal_year_of(today_in_tokyo()))
    assert f"<h1>年度別 区重要課題報告 {current}</h1>" in page.get_data(as_text=True)


def test_the_report_index_links_to_the_table(make, login_as):
    assert 'href="/reports/fiscal-year"' in login_as(make.staff()).get("/reports/").get_data(as_text=True)


def test_the_csv_export_round_trips_and_is_recorded(two_years, make, session, login_as):
    admin = make.admin()
    response = login_as(admin).get("/reports/fiscal-year?year=2024&format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    text = response.data.decode("utf-8-sig")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0][:8] == [
        "区分",
        "区・局",
        "登録",
        "対応する",
        "一部対応",
        "対応しない",
        "予算化",
        "予算額 (円)",
    ]
    by_key = {(row[0], row[1]): row for row in rows[1:]}
    assert by_key[("区別", "中央区")][2:8] == ["2", "1", "0", "1", "1", "20900000"]
    assert by_key[("区別", "合計")][2:8] == ["3", "1", "1", "1", "2", "68437000"]
    assert by_key[("局別", "消防局")][2:8] == ["2", "0", "1", "1", "1", "47537000"]
    projects = [row for row in rows if row[0] == "予算化事業"]
    assert {(row[1], row[7], row[8], row[9]) for row in projects} == {
        ("中央区", "20900000", "街灯LED化事業", "環境局"),
        ("東区", "47537000", "消防倉庫建替え", "消防局"),
    }
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and disposition.endswith(".csv")
    event = session.query(HistoryEvent).filter_by(actor_id=admin.id, action="export").one()
    assert event.data == {
        "what": "年度別 区重要課題報告",
        "format": "csv",
        "rows": len(rows) - 1,
        "filters": {"year": 2024},
    }


def test_the_page_lists_the_first_projects_and_the_files_hold_them_all(
    two_years, make, session, login_as, monkeypatch
):
    monkeypatch.setattr(reports_views, "PAGE_PROJECTS", 1)
    client = login_as(make.admin())
    html = client.get("/reports/fiscal-year?year=2024").get_data(as_text=True)
    assert list(_table(html, "projects"))[1:] == ["街灯LED化事業"]  # the first one only: 中央区's
    assert "予算化された事業2件のうち、最初の1件を表示しています。" in html
    text = client.get("/reports/fiscal-year?year=2024&format=csv").data.decode("utf-8-sig")
    assert sum(row[0] == "予算化事業" for row in csv.reader(io.StringIO(text, newline=""))) == 2


def test_the_xlsx_export_opens_with_the_figures(two_years, make, session, login_as):
    manager = make.manager("東区")
    response = login_as(manager).get("/reports/fiscal-year?year=2024&format=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][:3] == ["区分", "区・局", "登録"]
    total = next(row for row in rows if row[:2] == ["区別", "合計"])
    assert total[2:8] == [3, 1, 1, 1, 2, 68_437_000]
    event = session.query(HistoryEvent).filter_by(actor_id=manager.id, action="export").one()
    assert event.data["format"] == "xlsx"


def test_liaisons_may_not_see_the_table_and_unknown_formats_are_404(make, login_as):
    assert login_as(make.liaison()).get("/reports/fiscal-year").status_code == 403
    assert login_as(make.admin()).get("/reports/fiscal-year?format=pdf").status_code == 404
