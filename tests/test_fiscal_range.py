"""The city's published figures over a range of fiscal years: the report, its page, its exports, the
city dashboard, and the 「約」 amounts of the sentence.

The fixture has issues of three fiscal years (2023–2025) whose budget lines fall in other years,
one line cancelled. Counted by hand (counts by the issue's year, budget by the line's year):

    year  登録 対応する 一部対応 対応しない 継続協議  budget of lines of that year
    2023   2     1        0        1         0      10,000,000 (a)
    2024   2     0        1        0         1       3,000,000 (a's second line; its 900,000 cancelled)
    2025   2     1        0        0         0      36,537,000 (c's 20,000,000 + e's 16,537,000)
    total  6     2        1        1         1      49,537,000 → 約4,954万円
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook

from tracker.formatting import approximate_yen
from tracker.models import HistoryEvent
from tracker.reporting import fiscal_range, reports
from tracker.states import IssueState

from .factories import TODAY

SENTENCE = (
    "令和5年度から令和7年度までに2件の区重要課題について「対応する」との協議結果となり、"
    "約4,954万円を予算化した。"
)


@pytest.fixture
def three_years(make, session):
    manager, staff = make.manager("中央区"), make.staff("環境局")

    def act(issue, action, payload):
        make.act(staff, issue, action, payload)

    def issue(state, year):
        return make.issue(state, manager=manager, staff=staff, with_request=False, fiscal_year=year)

    def line(year, name, amount):
        return {"fiscal_year": year, "project_name": name, "allocated_yen": amount}

    a = issue(IssueState.DECIDED, 2023)
    act(a, "budget", line(2023, "街灯LED化事業", 10_000_000))
    act(a, "add_budget_line", line(2024, "街灯LED化事業 (2期)", 3_000_000))
    act(a, "add_budget_line", line(2024, "二重登録", 900_000))
    act(a, "cancel_budget_line", {"budget_line": a.budget_lines[-1].id, "comment": "二重登録"})
    issue(IssueState.NOT_ADOPTED, 2023)
    c = issue(IssueState.CONSULTING, 2024)
    act(c, "decide", {"decision": "partial", "decision_reason": "一部のみ"})
    act(c, "budget", line(2025, "消防倉庫建替え", 20_000_000))
    d = issue(IssueState.CONSULTING, 2024)
    review_on = TODAY + dt.timedelta(days=30)
    act(d, "decide", {"decision": "continue", "next_review_on": review_on.isoformat()})
    e = issue(IssueState.DECIDED, 2025)
    act(e, "budget", line(2025, "ごみステーション補助", 16_537_000))
    issue(IssueState.REGISTERED, 2025)
    issue(IssueState.DRAFT, 2025)  # not registered: not counted
    return {"a": a, "c": c, "e": e}


@pytest.mark.parametrize(
    ("amount", "written"),
    [
        (1_004_000_000, "約10億円"),
        (49_537_000, "約4,954万円"),
        (49_534_999, "約4,953万円"),
        (49_535_000, "約4,954万円"),  # half up
        (1_250_000_000, "約12.5億円"),
        (1_249_999_999, "約12.5億円"),
        (1_244_999_999, "約12.4億円"),
        (99_994_999, "約9,999万円"),
        (99_995_000, "約1億円"),  # 10,000万 is written in 億
        (100_000_000, "約1億円"),
        (123_456_789_000, "約1,234.6億円"),
        (10_000, "約1万円"),
        (5_000, "5,000円"),  # below 1万円: exact
        (0, "0円"),
        (None, ""),
    ],
)
def test_amounts_are_written_as_the_city_writes_them(amount, written):
    assert approximate_yen(amount) == written


def test_each_year_counts_issues_by_their_year_and_budget_by_the_lines_year(three_years, session):
    report = fiscal_range.range_report(session, 2025, 2023)  # either order
    rows = [(row.fiscal_year, *row.counts(), row.allocated_yen) for row in report.years]
    assert rows == [
        (2023, 2, 1, 0, 1, 0, 10_000_000),
        (2024, 2, 0, 1, 0, 1, 3_000_000),
        (2025, 2, 1, 0, 0, 0, 36_537_000),
    ]
    total = report.total
    assert (total.label, *total.counts(), total.allocated_yen) == ("合計", 6, 2, 1, 1, 1, 49_537_000)
    assert report.sentence == SENTENCE


def test_a_range_of_one_year_is_the_single_year_report(three_years, session):
    for year in (2022, 2023, 2024, 2025, 2026):
        (row,) = fiscal_range.range_report(session, year, year).years
        total = reports.fiscal_year_report(session, year).total
        assert (row.registered, row.adopted, row.partial, row.rejected, row.allocated_yen) == (
            total.registered,
            total.adopted,
            total.partial,
            total.rejected,
            total.allocated_yen,
        )
    one = fiscal_range.range_report(session, 2025, 2025)
    assert one.period == "令和7年度"
    assert (
        one.sentence
        == "令和7年度に1件の区重要課題について「対応する」との協議結果となり、約3,654万円を予算化した。"
    )


def test_the_queries_do_not_grow_with_the_range(three_years, session, count_queries):
    def selects() -> int:
        return sum(statement.lstrip().upper().startswith("SELECT") for statement in count_queries)

    fiscal_range.range_report(session, 2024, 2024)
    one_year = selects()
    fiscal_range.range_report(session, 2021, 2025)
    assert selects() - one_year == one_year == 2


def test_the_pages_cost_the_same_for_one_year_and_five(three_years, make, session, login_as, count_queries):
    old = make.issue(IssueState.REGISTERED, with_request=False)
    old.fiscal_year = 2021
    session.commit()
    client = login_as(make.manager())
    for page in ("/reports/fiscal-years", "/dashboard/city"):
        client.get(page)  # the first request of the session loads more than the page
        counts = []
        for first in (2025, 2021):
            count_queries.clear()
            html = client.get(f"{page}?from={first}&to=2025").get_data(as_text=True)
            assert len(_table(html)) == 2026 - first + 1  # the years and the total
            counts.append(len(count_queries))
        assert counts[0] == counts[1]


def _table(html: str) -> dict[str, list[str]]:
    body = html.split('id="range-figures"', 1)[1].split("</table>", 1)[0]
    body = body.split("</thead>", 1)[1]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        rows[cells[0]] = cells[1:]
    return rows


def test_the_page_shows_the_years_the_total_and_the_sentence(three_years, make, login_as):
    html = login_as(make.manager()).get("/reports/fiscal-years?from=2023&to=2025").get_data(as_text=True)
    assert "課題の年度で数えた件数" in html and "予算の年度で合計した予算額" in html
    assert _table(html) == {
        "令和5年度 (2023)": ["2", "1", "0", "1", "0", "10,000千円"],
        "令和6年度 (2024)": ["2", "0", "1", "0", "1", "3,000千円"],
        "令和7年度 (2025)": ["2", "1", "0", "0", "0", "36,537千円"],
        "合計": ["6", "2", "1", "1", "1", "49,537千円"],
    }
    assert SENTENCE in html
    one = login_as(make.staff()).get("/reports/fiscal-years?from=2024&to=2024").get_data(as_text=True)
    assert list(_table(one)) == ["令和6年度 (2024)", "合計"]


def test_the_default_range_is_every_year_with_data(three_years, make, login_as):
    html = login_as(make.admin()).get("/reports/fiscal-years?from=1900").get_data(as_text=True)
    assert list(_table(html)) == ["令和5年度 (2023)", "令和6年度 (2024)", "令和7年度 (2025)", "合計"]


def test_the_csv_export_round_trips_and_is_recorded(three_years, make, session, login_as):
    admin = make.admin()
    response = login_as(admin).get("/reports/fiscal-years?from=2023&to=2025&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["年度", *fiscal_range.COUNT_HEADERS, "予算の年度で合計した予算額 (円)"]
    assert rows[1:] == [
        ["令和5年度 (2023)", "2", "1", "0", "1", "0", "10000000"],
        ["令和6年度 (2024)", "2", "0", "1", "0", "1", "3000000"],
        ["令和7年度 (2025)", "2", "1", "0", "0", "0", "36537000"],
        ["合計", "6", "2", "1", "1", "1", "49537000"],
    ]
    event = session.query(HistoryEvent).filter_by(actor_id=admin.id, action="export").one()
    assert event.data == {
        "what": "複数年度 区重要課題の実績",
        "format": "csv",
        "rows": 4,
        "filters": {"from": 2023, "to": 2025},
    }


def test_the_xlsx_export_opens_with_the_figures(three_years, make, session, login_as):
    staff = make.staff()
    response = login_as(staff).get("/reports/fiscal-years?from=2024&to=2025&format=xlsx")
    assert response.status_code == 200
    rows = [list(row) for row in load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True)]
    assert rows[-1] == ["合計", 4, 1, 1, 0, 1, 39_537_000]
    assert (
        session.query(HistoryEvent).filter_by(actor_id=staff.id, action="export").one().data["format"]
        == "xlsx"
    )


def test_liaisons_may_not_see_the_report_and_unknown_formats_are_404(make, login_as):
    assert login_as(make.liaison()).get("/reports/fiscal-years").status_code == 403
    assert login_as(make.admin()).get("/reports/fiscal-years?format=pdf").status_code == 404


def test_the_city_dashboard_shows_the_cumulative_figures_without_script(three_years, make, login_as):
    client = login_as(make.liaison())
    html = client.get("/dashboard/city").get_data(as_text=True)
    assert SENTENCE in html  # by default: every year with data
    assert _table(html)["合計"] == ["6", "2", "1", "1", "1", "49,537千円"]
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # the page's only scripts are its files
    html = client.get("/dashboard/city?from=2025&to=2024").get_data(as_text=True)
    assert "令和6年度から令和7年度までに1件の区重要課題について" in html
    assert "約3,954万円を予算化した" in html
