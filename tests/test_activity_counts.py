"""Counts of the liaisons' field work, the report page and its exports, and the published figures.

The fixture: liaisons L1 and L2 of 中央区まちづくりセンター (center A, 中央区), L3 of 東区's first
center (center B), and an inactive liaison of center A who logged nothing. Activities (and the
requests linked to each, received on the activity's day):

    a0  L1       A  2023-03-10  FY2022  1 request   (outside the range 2023..2024)
    a1  L1       A  2023-05-10  FY2023  0
    a2  L1 + L2  A  2023-05-20  FY2023  2
    a3  L3       B  2024-02-15  FY2023  1
    a4  L2       A  2024-04-20  FY2024  1
    a5  L3       B  2024-05-01  FY2024  0
    a6  L3       B  2024-05-30  FY2024  3

plus one request of center A received on 2024-06-03 (FY2024) and linked to no activity.

Counted by hand over 2023..2024 (activities / requests gathered / per activity):

    by ward      中央区 FY2023 2/2/1.0   FY2024 1/1/1.0   東区 FY2023 1/1/1.0   FY2024 2/3/1.5
    by liaison   L1 FY2023 2/2/1.0  FY2024 0/0/—   L2 FY2023 1/2/2.0  FY2024 1/1/1.0
                 L3 FY2023 1/1/1.0  FY2024 2/3/1.5   (7 liaison-activities, but 6 activities)
    totals       FY2023 3/3/1.0   FY2024 3/4/1.3   range 6/7/1.2
    by center and month: A 2023年5月 2/2, 2024年4月 1/1; B 2024年2月 1/1, 2024年5月 2/3

Published for 2023..2024: 地域担当職員 3人 (active liaisons; the inactive one is not counted),
地域での活動件数 6件, 収集した要望相談件数 7件; requests received in those years: 8 (the 7
gathered plus the unlinked one; a0's request is of FY2022).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tracker.fieldwork import operations
from tracker.models import HistoryEvent, User
from tracker.reporting import activity_counts
from tracker.states import Role

from .factories import TODAY

CENTER_A = "中央区まちづくりセンター"


def _baseline_liaisons(session) -> int:
    """Liaison accounts that exist before the fixture (the test database's own, if any)."""
    return len(session.scalars(select(User).where(User.role == Role.LIAISON, User.active)).all())


@pytest.fixture
def world(make, session):
    baseline = _baseline_liaisons(session)
    l1 = make.liaison("中央区")
    l2 = make.liaison("中央区")
    l3 = make.liaison("東区")
    make.liaison("中央区", active=False)
    l1.display_name, l2.display_name, l3.display_name = "職員一", "職員二", "職員三"
    session.commit()

    def activity(liaisons, day, requests):
        made = make.activity(liaisons[0], held_on=day, liaison_ids=[user.id for user in liaisons])
        for _ in range(requests):
            heard = make.request(liaisons[0], received_on=day)
            operations.link_request(session, liaisons[0], made, heard)
        session.commit()
        return made

    activity([l1], dt.date(2023, 3, 10), 1)
    activity([l1], dt.date(2023, 5, 10), 0)
    activity([l1, l2], dt.date(2023, 5, 20), 2)
    activity([l3], dt.date(2024, 2, 15), 1)
    activity([l2], dt.date(2024, 4, 20), 1)
    activity([l3], dt.date(2024, 5, 1), 0)
    activity([l3], dt.date(2024, 5, 30), 3)
    make.request(l1, received_on=TODAY)
    return {"l1": l1, "l2": l2, "l3": l3, "center_b": l3.center.name, "baseline": baseline}


def _figures(rows, name) -> dict[str, tuple[int, int, str]]:
    return {
        row.period_label: (row.figures.activities, row.figures.requests, row.figures.per_activity)
        for row in rows
        if row.name == name
    }


def _totals(counts) -> dict[str, tuple[int, int, str]]:
    return _figures(counts.totals, activity_counts.TOTAL)


def test_counts_per_ward_and_fiscal_year(world, make, session):
    counts = activity_counts.activity_counts(session, make.admin(), 2023, 2024, "ward", "year")
    assert _figures(counts.rows, "中央区") == {
        "令和5年度 (2023)": (2, 2, "1.0"),
        "令和6年度 (2024)": (1, 1, "1.0"),
    }
    assert _figures(counts.rows, "東区") == {
        "令和5年度 (2023)": (1, 1, "1.0"),
        "令和6年度 (2024)": (2, 3, "1.5"),
    }
    assert _figures(counts.rows, "西区") == {"令和5年度 (2023)": (0, 0, "—"), "令和6年度 (2024)": (0, 0, "—")}
    assert _totals(counts) == {
        "令和5年度 (2023)": (3, 3, "1.0"),
        "令和6年度 (2024)": (3, 4, "1.3"),
        "期間全体": (6, 7, "1.2"),
    }
    assert counts.liaison_staff == world["baseline"] + 3
    assert counts.active_liaisons == 3


def test_an_activity_with_two_liaisons_counts_for_each_but_once_in_the_total(world, make, session):
    counts = activity_counts.activity_counts(session, make.admin(), 2023, 2024, "liaison", "year")
    assert _figures(counts.rows, "職員一") == {
        "令和5年度 (2023)": (2, 2, "1.0"),
        "令和6年度 (2024)": (0, 0, "—"),
    }
    assert _figures(counts.rows, "職員二") == {
        "令和5年度 (2023)": (1, 2, "2.0"),
        "令和6年度 (2024)": (1, 1, "1.0"),
    }
    assert _figures(counts.rows, "職員三") == {
        "令和5年度 (2023)": (1, 1, "1.0"),
        "令和6年度 (2024)": (2, 3, "1.5"),
    }
    assert sum(row.figures.activities for row in counts.rows) == 7
    assert _totals(counts)["期間全体"] == (6, 7, "1.2")
    assert {row.within for row in counts.rows if row.name == "職員三"} == {world["center_b"]}


def test_counts_per_center_and_month(world, make, session):
    counts = activity_counts.activity_counts(session, make.admin(), 2023, 2024, "center", "month")
    center_a = _figures(counts.rows, CENTER_A)
    assert len(center_a) == 24  # every month of both fiscal years, April 2023 to March 2025
    assert {label: value for label, value in center_a.items() if value[0]} == {
        "2023年5月": (2, 2, "1.0"),
        "2024年4月": (1, 1, "1.0"),
    }
    center_b = _figures(counts.rows, world["center_b"])
    assert {label: value for label, value in center_b.items() if value[0]} == {
        "2024年2月": (1, 1, "1.0"),
        "2024年5月": (2, 3, "1.5"),
    }
    assert "2023年3月" not in center_a and center_a["2025年3月"] == (0, 0, "—")  # a0: FY2022
    totals = _totals(counts)
    assert totals["2023年5月"] == (2, 2, "1.0") and totals["2024年5月"] == (2, 3, "1.5")
    assert totals["期間全体"] == (6, 7, "1.2")


def test_one_fiscal_year_alone(world, make, session):
    counts = activity_counts.activity_counts(session, make.admin(), 2022, 2022, "center", "year")
    assert _figures(counts.rows, CENTER_A) == {"令和4年度 (2022)": (1, 1, "1.0")}
    assert _totals(counts)["期間全体"] == (1, 1, "1.0")


def test_the_published_figures_count_gathered_and_received_requests_apart(world, session):
    figures = activity_counts.published_figures(session, 2024, 2023)
    assert (figures.first, figures.last) == (2023, 2024)
    assert figures.liaison_staff == world["baseline"] + 3
    assert (figures.activities, figures.requests_gathered, figures.requests_received) == (6, 7, 8)


# --- scope ------------------------------------------------------------------------------------


def test_a_liaison_sees_only_the_own_center(world, session):
    counts = activity_counts.activity_counts(session, world["l1"], 2023, 2024, "center", "year")
    assert {row.name for row in counts.rows} == {CENTER_A}
    assert _totals(counts) == {
        "令和5年度 (2023)": (2, 2, "1.0"),
        "令和6年度 (2024)": (1, 1, "1.0"),
        "期間全体": (3, 3, "1.0"),
    }
    assert (counts.liaison_staff, counts.active_liaisons) == (2, 2)
    assert activity_counts.groupings_for(world["l1"]) == ["center", "liaison"]


def test_a_liaison_sees_only_the_own_counts_per_liaison(world, session):
    counts = activity_counts.activity_counts(session, world["l2"], 2023, 2024, "liaison", "year")
    assert {row.name for row in counts.rows} == {"職員二"}
    assert _totals(counts)["期間全体"] == (2, 3, "1.5")
    assert counts.active_liaisons == 1


def test_a_ward_manager_sees_the_ward_and_the_city_totals_as_numbers(world, make, login_as):
    html = login_as(make.manager("中央区")).get("/reports/activities?from=2023&to=2024&group=ward")
    assert html.status_code == 200
    table = _table(html.get_data(as_text=True))
    assert [row[0] for row in table] == ["中央区", "中央区", "合計", "合計", "合計"]
    assert table[-1] == ["合計", "期間全体", "3", "3", "1.0"]
    city = _element_text(html.get_data(as_text=True), "city-totals", "</p>")
    assert "地域での活動件数 6件" in city and "収集した要望相談件数 7件" in city


def test_a_liaison_asking_for_wards_gets_the_own_center(world, login_as):
    html = (
        login_as(world["l1"]).get("/reports/activities?from=2023&to=2024&group=ward").get_data(as_text=True)
    )
    assert [row[0] for row in _table(html)] == [CENTER_A, CENTER_A, "合計", "合計", "合計"]
    assert 'id="city-totals"' not in html


def test_what_is_not_offered_falls_back_to_the_defaults(world, make):
    assert activity_counts.chosen(world["l1"], "ward", "decade") == ("center", "year")
    assert activity_counts.chosen(make.admin(), "", "month") == ("ward", "month")
    assert activity_counts.chosen(make.manager(), "liaison", "month") == ("liaison", "month")
    assert activity_counts.groupings_for(make.staff()) == []


def test_bureau_staff_may_not_see_the_field_work(world, make, login_as):
    response = login_as(make.staff()).get("/reports/activities")
    assert response.status_code == 403
    assert "この画面はあなたの役割では使えません" in response.get_data(as_text=True)
    index = login_as(make.staff()).get("/reports/").get_data(as_text=True)
    assert "/reports/activities" not in index


def test_the_reports_index_links_the_counts(make, login_as):
    assert "/reports/activities" in login_as(make.manager()).get("/reports/").get_data(as_text=True)


# --- the page and its downloads -----------------------------------------------------------------


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def _element_text(html: str, element_id: str, end: str) -> str:
    """The text of the element with ``element_id``, up to the first ``end`` tag after it."""
    return _text(html.split(f'id="{element_id}"', 1)[1].split(">", 1)[1].split(end, 1)[0])


def _table(html: str) -> list[list[str]]:
    body = html.split('id="activity-counts"', 1)[1].split("</table>", 1)[0].split("</thead>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_the_csv_and_xlsx_hold_exactly_the_table(world, make, session, login_as):
    admin = make.admin()
    client = login_as(admin)
    query = "from=2023&to=2024&group=liaison&period=year"
    table = _table(client.get(f"/reports/activities?{query}").get_data(as_text=True))
    assert ["職員二", CENTER_A, "令和5年度 (2023)", "1", "2", "2.0"] in table
    response = client.get(f"/reports/activities?{query}&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    assert rows[0] == [
        "地域担当職員",
        "まちづくりセンター",
        "期間",
        "活動件数",
        "収集した要望相談件数",
        "1活動あたりの要望相談件数",
    ]
    assert rows[1:] == table
    response = client.get(f"/reports/activities?{query}&format=xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    cells = [["" if cell is None else str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert cells == rows
    events = session.scalars(select(HistoryEvent).filter_by(actor_id=admin.id, action="export")).all()
    assert [event.data["format"] for event in events] == ["csv", "xlsx"]
    assert events[0].data["filters"] == {"from": 2023, "to": 2024, "group": "liaison", "period": "year"}
    assert events[0].data["rows"] == len(table)
    assert client.get(f"/reports/activities?{query}&format=pdf").status_code == 404


def test_the_page_offers_the_fiscal_years_with_their_labels(world, make, login_as):
    html = login_as(make.admin()).get("/reports/activities").get_data(as_text=True)
    assert "令和4年度 (2022)" in html and "令和6年度 (2024)" in html
    assert _table(html)[-1] == ["合計", "期間全体", "7", "8", "1.1"]  # default: every year with activities


def test_the_queries_do_not_grow_with_the_activities(make, session, count_queries, login_as):
    liaison, admin = make.liaison(), make.admin()
    client = login_as(admin)
    client.get("/reports/activities")  # the first request of the session loads more than the page

    def selects() -> int:
        return sum(statement.lstrip().upper().startswith("SELECT") for statement in count_queries)

    def statements() -> list[int]:
        counted = []
        for grouping in ("ward", "center", "liaison"):
            count_queries.clear()
            activity_counts.activity_counts(session, admin, 2024, 2024, grouping, "month")
            counted.append(selects())
        count_queries.clear()
        activity_counts.published_figures(session, 2024, 2024)
        counted.append(selects())
        count_queries.clear()
        client.get("/reports/activities?from=2024&to=2024&group=liaison&period=month")
        return [*counted, len(count_queries)]

    for _ in range(3):
        make.activity(liaison)
    few = statements()
    for _ in range(27):
        make.activity(liaison)
    assert statements() == few
    assert few[:4] == [5, 5, 5, 4]  # the published figures: staff, activities, gathered, received


# --- the dashboards and the fiscal-years report -------------------------------------------------


@pytest.mark.parametrize("page", ["/dashboard/city", "/reports/fiscal-years"])
def test_the_published_figures_appear_for_a_range(world, make, login_as, page):
    html = login_as(make.admin()).get(f"{page}?from=2023&to=2024").get_data(as_text=True)
    figures = _element_text(html, "published-activities", "</ul>")
    assert figures == f"地域担当職員 {world['baseline'] + 3}人 地域での活動件数 6件 収集した要望相談件数 7件"
    received = _element_text(html, "requests-received", "</p>")
    assert "受け付けた要望の総数" in received and received.endswith("8件")
    one_year = login_as(make.admin()).get(f"{page}?from=2024&to=2024").get_data(as_text=True)
    assert "地域での活動件数 3件" in _text(one_year)


def test_the_ward_dashboard_shows_the_ward_s_field_work_this_year(world, make, login_as, monkeypatch):
    monkeypatch.setattr("tracker.blueprints.dashboard.today_in_tokyo", lambda: TODAY)
    html = login_as(make.manager("東区")).get("/dashboard/").get_data(as_text=True)
    figures = _element_text(html, "ward-field-work", "</ul>")
    assert figures == "地域での活動件数 2件 収集した要望相談件数 3件"
