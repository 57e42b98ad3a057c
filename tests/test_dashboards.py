"""Dashboards: the city figures against hand-counted numbers, the SVG charts, the personal pages.

The fixture is built through the real services in FY2024 (令和6年度) for 中央区 and 東区; the
expected figures below were counted by hand from it, with "today" 2025-04-01.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from flask import current_app
from markupsafe import Markup

from tracker import workflow
from tracker.effects import intake
from tracker.formatting import today_in_tokyo
from tracker.models import BudgetLine, HistoryEvent, WardFund
from tracker.ops_models import OutboxJob
from tracker.reporting import charts, dashboards, personal_dashboard
from tracker.reporting.charts import Chart, Series
from tracker.states import Funding, IssueState, JobState, Role

from .factories import TODAY

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)")  # a script element with its code in the page
FY = 2024
NOW = dt.date(2025, 4, 1)


def _request(make, liaison, received: dt.date, **fields):
    """A request logged through the real intake, on a day after the factory's fixed TODAY."""
    values = {
        "title": "街灯が切れている",
        "category_id": make.category().id,
        "source": "neighbourhood_association",
        "requester_name": "熊本 太郎",
        "requester_contact": "096-000-0000",
        "received_on": received,
        **fields,
    }
    config = current_app.config
    request = intake.log_request(
        make.session,
        liaison,
        values,
        [],
        photo_dir=config["PHOTO_DIR"],
        photo_max_bytes=config["PHOTO_MAX_BYTES"],
        photo_max_count=config["PHOTO_MAX_COUNT"],
        answer_due_days=14,
        today=max(received, NOW),
    )
    make.session.commit()
    return request


def _answer(session, user, request, day: dt.date) -> None:
    payload = {"answer_text": "対応しました", "answer_kind": "resolved", "answered_on": day}
    workflow.apply(session, user, request, "answer", payload, today=day)
    session.commit()


@pytest.fixture
def city(make, session):
    """Requests, issues, budget lines and ward funds of FY2024 in 中央区 and 東区."""
    chuo, higashi = make.liaison("中央区"), make.liaison("東区")
    people = {"chuo": chuo, "higashi": higashi}
    # 中央区: answered after 3, 10 and 7 days (median 7); one open since March (overdue).
    for received, answered in (
        (dt.date(2024, 4, 10), 3),
        (dt.date(2024, 5, 1), 10),
        (dt.date(2024, 5, 20), 7),
    ):
        request = _request(make, chuo, received)
        _answer(session, chuo, request, received + dt.timedelta(days=answered))
    _request(make, chuo, dt.date(2025, 3, 5), title="開いたまま")
    old = _request(make, chuo, dt.date(2024, 3, 31))  # FY2023: in no FY2024 figure
    _answer(session, chuo, old, dt.date(2024, 4, 2))
    # 東区: answered after 1 and 5 days (median 3.0); one open (overdue), one withdrawn.
    for received, answered in ((dt.date(2024, 6, 3), 1), (dt.date(2024, 6, 5), 5)):
        request = _request(make, higashi, received)
        _answer(session, higashi, request, received + dt.timedelta(days=answered))
    _request(make, higashi, dt.date(2024, 12, 1))
    withdrawn = _request(make, higashi, dt.date(2025, 1, 10))
    workflow.apply(session, make.manager("東区"), withdrawn, "withdraw", {"comment": "重複"}, today=NOW)
    session.commit()

    env, fire = make.staff("環境局"), make.staff("消防局")
    adopted = make.issue(IssueState.DECIDED, ward="中央区", lead="環境局", staff=env, with_request=False)
    for action, payload in (
        ("budget", {"fiscal_year": FY, "project_name": "街灯LED化事業", "allocated_yen": 3_000_000}),
        ("start", {}),
    ):
        workflow.apply(session, env, adopted, action, payload, today=TODAY)
    line = adopted.budget_lines[0]
    workflow.apply(
        session, env, adopted, "complete", {"outcome": "済", "executed": {line.id: 2_500_000}}, today=TODAY
    )
    make.issue(IssueState.NOT_ADOPTED, ward="中央区", lead="環境局", staff=env, with_request=False)
    fire_issue = make.issue(IssueState.DECIDED, ward="東区", lead="消防局", staff=fire, with_request=False)
    budget = {"fiscal_year": FY, "project_name": "消防倉庫建替え", "allocated_yen": 1_000_000}
    workflow.apply(session, fire, fire_issue, "budget", budget, today=TODAY)
    make.issue(IssueState.REGISTERED, ward="東区", lead="消防局", staff=fire, with_request=False)
    make.issue(IssueState.DRAFT, ward="東区", lead="消防局", staff=fire, with_request=False)  # not counted

    session.add_all(
        [
            WardFund(ward_id=make.ward("中央区").id, fiscal_year=FY, allocated_yen=10_000_000),
            WardFund(ward_id=make.ward("東区").id, fiscal_year=FY, allocated_yen=8_000_000),
            BudgetLine(
                funding=Funding.WARD_FUND,
                fiscal_year=FY,
                project_name="花壇整備",
                allocated_yen=1_500_000,
                ward_id=make.ward("中央区").id,
                created_by_id=chuo.id,
            ),
        ]
    )
    session.commit()
    return people


def _by_name(figures, mapping):
    return {ward.name: mapping.get(ward.id) for ward in figures.wards}


def test_the_city_figures_equal_the_hand_counted_numbers(city, session):
    figures = dashboards.city_figures(session, FY, NOW)
    monthly = _by_name(figures, figures.monthly)
    assert figures.months[0] == "4月" and figures.months[-1] == "3月"
    assert monthly["中央区"] == [1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    assert monthly["東区"] == [0, 0, 2, 0, 0, 0, 0, 0, 1, 1, 0, 0]
    assert monthly["西区"] is None

    medians = _by_name(figures, figures.median_days)
    assert medians == {"中央区": 7.0, "東区": 3.0, "西区": None, "南区": None, "北区": None}
    assert _by_name(figures, figures.answered)["中央区"] == 3

    open_states = _by_name(figures, figures.open_by_state)
    assert {state.value: n for state, n in open_states["中央区"].items()} == {"received": 1}
    assert {state.value: n for state, n in open_states["東区"].items()} == {"received": 1}

    overdue = {row.name: row.overdue for row in figures.overdue_by_center}
    assert overdue["中央区まちづくりセンター"] == 1
    assert overdue[city["higashi"].center.name] == 1
    assert sum(overdue.values()) == 2
    assert len(figures.overdue_by_center) == 17  # every center, with its zero

    decisions = _by_name(figures, figures.decisions)
    assert decisions["中央区"] == {"adopt": 1, "reject": 1}
    assert decisions["東区"] == {"adopt": 1, None: 1}

    bureaus = {row.name: (row.allocated_yen, row.executed_yen) for row in figures.budget_by_bureau}
    assert bureaus["環境局"] == (3_000_000, 2_500_000)
    assert bureaus["消防局"] == (1_000_000, 0)
    assert bureaus["政策局"] == (0, 0)
    wards = {row.name: (row.allocated_yen, row.executed_yen) for row in figures.budget_by_ward}
    assert wards["中央区"] == (3_000_000, 2_500_000) and wards["東区"] == (1_000_000, 0)

    funds = {
        row.ward: (row.fund.allocated_yen, row.fund.used_yen, row.fund.remaining_yen)
        for row in figures.ward_funds
    }
    assert funds["中央区"] == (10_000_000, 1_500_000, 8_500_000)
    assert funds["東区"] == (8_000_000, 0, 8_000_000)
    assert funds["西区"] == (0, 0, 0)


def test_the_weighted_median():
    assert dashboards.weighted_median({}) is None
    assert dashboards.weighted_median({5: 1}) == 5
    assert dashboards.weighted_median({1: 1, 5: 1}) == 3
    assert dashboards.weighted_median({1: 2, 9: 1}) == 1
    assert dashboards.weighted_median({0: 1, 2: 2, 10: 1}) == 2


def test_the_city_figures_take_a_constant_number_of_queries(city, make, session, count_queries):
    count_queries.clear()
    dashboards.city_figures(session, FY, NOW)
    few = len(count_queries)
    liaison = make.liaison("西区")
    for day in range(27):
        request = _request(make, liaison, dt.date(2024, 4, 1) + dt.timedelta(days=day * 10))
        if day % 2:
            _answer(session, liaison, request, request.received_on + dt.timedelta(days=day))
    count_queries.clear()
    figures = dashboards.city_figures(session, FY, NOW)
    assert len(count_queries) == few <= 12
    assert sum(_by_name(figures, figures.monthly)["西区"]) == 27


# --- the SVG charts ----------------------------------------------------------------------------


def _bar_widths(svg: str) -> list[float]:
    return [float(w) for w in re.findall(r'<rect class="bar[^"]*" x="[^"]*" y="[^"]*" width="([^"]*)"', svg)]


def _bar_heights(svg: str) -> list[float]:
    return [float(h) for h in re.findall(r'<rect class="bar[^"]*"[^>]* height="([^"]*)"', svg)]


def test_bars_are_proportional_to_their_values():
    chart = Chart("c", "件数", ["中央区", "東区", "西区"], [Series("件数", [10, 25, 5])], unit="件")
    svg = str(charts.horizontal_bars(chart))
    widths = _bar_widths(svg)
    assert len(widths) == 3
    assert widths[1] / widths[0] == pytest.approx(2.5, rel=1e-3)
    assert widths[2] / widths[0] == pytest.approx(0.5, rel=1e-3)
    assert 'role="img"' in svg and 'aria-labelledby="c-title c-desc"' in svg
    assert '<title id="c-title">件数</title>' in svg and "<desc" in svg
    assert "東区 件数: 25件" in svg  # every bar's tooltip

    columns = str(charts.vertical_bars(chart))
    heights = _bar_heights(columns)
    assert heights[1] / heights[0] == pytest.approx(2.5, rel=1e-3)


def test_stacked_and_grouped_bars_share_one_scale():
    chart = Chart("s", "積み上げ", ["A", "B"], [Series("x", [1, 3]), Series("y", [1, 0])])
    stacked = _bar_widths(str(charts.horizontal_bars(chart, stacked=True)))
    # A's x and y (1 and 1), then B's x and y (3 and 0), on one scale
    assert stacked[0] == stacked[1] > 0
    assert stacked[2] == pytest.approx(3 * stacked[0], rel=1e-3) and stacked[3] == 0
    grouped = _bar_widths(str(charts.horizontal_bars(chart)))
    assert grouped[1] == grouped[0] and grouped[2] == pytest.approx(3 * grouped[0], rel=1e-3)
    assert grouped[3] == 0
    assert 'class="swatch series-1"' in str(charts.horizontal_bars(chart))  # a legend for two series


def test_zero_and_empty_data_draw_a_frame_and_say_so():
    zeros = Chart("z", "ゼロ", ["中央区"], [Series("件数", [0])])
    for draw in (charts.horizontal_bars, charts.vertical_bars, charts.line_chart):
        svg = str(draw(zeros))
        assert "すべて0です" in svg
        assert "NaN" not in svg and "inf" not in svg
    assert _bar_widths(str(charts.horizontal_bars(zeros))) == [0]
    assert _bar_heights(str(charts.vertical_bars(zeros))) == [0]
    empty = Chart("e", "空", [], [])
    for draw in (charts.horizontal_bars, charts.vertical_bars, charts.line_chart):
        svg = str(draw(empty))
        assert svg.startswith("<svg") and charts.NO_DATA in svg
    none_values = Chart("n", "中央値", ["中央区"], [Series("日", [None])])
    assert "—" in str(charts.horizontal_bars(none_values))


def test_every_text_is_escaped():
    hostile = '<script>alert("x")</script>&'
    chart = Chart('k"><x', hostile, [hostile], [Series(hostile, [1]), Series("b", [2])], hostile)
    for draw in (charts.horizontal_bars, charts.vertical_bars, charts.line_chart):
        svg = draw(chart)
        assert isinstance(svg, Markup)
        assert "<script>" not in svg and 'k"><x' not in svg
        assert "&lt;script&gt;" in svg


def test_a_line_chart_has_a_point_per_value():
    chart = Chart(
        "l", "月別", ["4月", "5月", "6月"], [Series("中央区", [1, 2, 0]), Series("東区", [0, 0, 3])]
    )
    svg = str(charts.line_chart(chart))
    assert svg.count("<circle") == 6 and svg.count("<polyline") == 2


# --- the pages ---------------------------------------------------------------------------------


def test_the_city_page_shows_charts_and_tables_to_every_role(city, make, login_as):
    for user in (make.liaison(), make.manager(), make.staff(), make.admin()):
        page = login_as(user).get(f"/dashboard/city?year={FY}")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert text.count('<svg class="chart"') == 8
        assert "<h1>市全体のダッシュボード</h1>" in text
        # the year asked for (the year picker lists every year whichever is shown)
        assert '<option value="2024" selected>令和6年度 (2024)</option>' in text
        assert '<p class="lead">令和6年度 (2024) の集計です。' in text
        assert "3,000千円" in text and "2,500千円" in text  # the budget table beside the chart
        assert "熊本 太郎" not in text and "096-000-0000" not in text
        assert 'style="' not in text and not INLINE_SCRIPT.search(text)  # charts drawn without script
        assert "charts.css" in text


def test_a_dashboard_table_downloads_as_csv_and_the_export_is_recorded(city, make, session, login_as):
    admin = make.admin()
    response = login_as(admin).get(f"/dashboard/city?year={FY}&table=monthly&format=csv")
    assert response.status_code == 200
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["項目", "中央区", "東区", "西区", "南区", "北区"]
    assert rows[1] == ["4月", "1", "0", "0", "0", "0"]
    assert rows[12] == ["3月", "1", "0", "0", "0", "0"]
    event = session.query(HistoryEvent).filter_by(actor_id=admin.id, action="export").one()
    assert event.data["filters"] == {"year": FY, "table": "monthly"}
    assert login_as(admin).get("/dashboard/city?table=nothing&format=csv").status_code == 404


def test_the_liaison_dashboard_shows_the_center_overdue_first_and_nothing_of_other_wards(
    city, make, login_as
):
    other = make.request(city["higashi"], ward="東区", received_on=TODAY, title="東区の要望")
    _request(make, city["chuo"], today_in_tokyo(), title="期限前の要望")  # open, due in 14 days
    text = login_as(city["chuo"]).get("/dashboard/").get_data(as_text=True)
    assert other.reference not in text and "東区の要望" not in text
    # the stat card counts the one overdue request (the label alone is always there)
    card = '<li class="stat stat-alert"><span class="stat-label">期限超過</span>'
    card += '<span class="stat-value">1</span>'
    assert card in text
    queue = text.split("<h2>センターの未回答の要望 (期限超過が先)</h2>", 1)[1].split("<h2>", 1)[0]
    assert queue.count('<tr class="overdue" ') == 1 and queue.count('<span class="badge overdue-badge">') == 1
    assert (
        queue.index("開いたまま")
        < queue.index('<span class="badge overdue-badge">')
        < queue.index("期限前の要望")
    )


def test_due_this_week_and_recent_requests_of_a_liaison(make, session):
    liaison = make.liaison()
    today = dt.date.today()
    soon = _request(make, liaison, today - dt.timedelta(days=10))  # due in 4 days
    board = personal_dashboard.dashboard_for(session, liaison, today)
    assert [r.id for r in board.lists["due_this_week"]] == [soon.id]
    assert [r.id for r in board.lists["logged"]] == [soon.id]
    assert board.counts == {"open": 1, "overdue": 0}


def test_the_ward_manager_dashboard(city, make, session, login_as):
    manager = make.manager("中央区")
    board = personal_dashboard.dashboard_for(session, manager, NOW)
    assert board.counts["triage"] == 1 and board.counts["overdue"] == 1
    assert {row.name for row in board.tables["overdue_by_center"]} == {"中央区まちづくりセンター"}
    states = dict(board.tables["issues_by_state"])
    assert states[IssueState.COMPLETED] == 1 and states[IssueState.NOT_ADOPTED] == 1
    assert states[IssueState.REGISTERED] == 0  # 東区's registered issue is not counted here
    fund = personal_dashboard.dashboard_for(session, manager, dt.date(2024, 6, 1)).tables["fund"]
    assert (fund.allocated_yen, fund.used_yen) == (10_000_000, 1_500_000)
    text = login_as(manager).get("/dashboard/").get_data(as_text=True)
    assert "中央区まちづくりセンター" in text and city["higashi"].center.name not in text


def test_the_bureau_dashboard(city, make, session, login_as):
    fire = make.staff("消防局")
    board = personal_dashboard.dashboard_for(session, fire, NOW)
    inbox = dict(board.tables["inbox"])
    assert inbox["consulting"] == 0 and inbox["decided"] == 0 and inbox["budgeted"] == 1
    assert board.tables["budget"] == [(FY, 1_000_000, 0)]
    env = personal_dashboard.dashboard_for(session, make.staff("環境局"), NOW)
    assert env.tables["budget"] == [(FY, 3_000_000, 2_500_000)]
    consulting = make.issue(IssueState.CONSULTING, ward="西区", lead="消防局", staff=fire, with_request=False)
    board = personal_dashboard.dashboard_for(session, fire, NOW)
    assert [i.id for i in board.lists["decisions_due"]] == [consulting.id]
    text = login_as(fire).get("/dashboard/").get_data(as_text=True)
    assert consulting.reference in text and "消防倉庫" not in text


def test_the_admin_dashboard_counts_the_city_and_the_failed_jobs(city, make, session, login_as):
    session.add(OutboxJob(name="report_xlsx", kwargs={}, state=JobState.FAILED, last_error="boom"))
    session.commit()
    admin = make.admin()
    board = personal_dashboard.dashboard_for(session, admin, NOW)
    assert board.counts["failed_jobs"] == 1 and board.counts["overdue"] == 2
    text = login_as(admin).get("/dashboard/").get_data(as_text=True)
    assert "report_xlsx" in text


@pytest.mark.parametrize("role", list(Role))
def test_each_personal_dashboard_takes_a_constant_number_of_queries(
    role, make, session, login_as, count_queries
):
    ward = "中央区"
    user = make.user(role, ward=ward)
    liaison = user if role == Role.LIAISON else make.liaison(ward)
    staff = user if role == Role.BUREAU_STAFF else make.staff()

    def add(n):
        for _ in range(n):
            make.request(liaison, received_on=TODAY - dt.timedelta(days=30))
            make.issue(IssueState.IMPLEMENTING, ward=ward, staff=staff, with_request=False)

    client = login_as(user)

    def queries_of_the_page() -> int:
        session.expire_all()
        count_queries.clear()
        assert client.get("/dashboard/").status_code == 200
        return len(count_queries)

    add(3)
    few = queries_of_the_page()
    add(27)
    assert queries_of_the_page() == few
