"""The fiscal-year report of ward issues: its figures, its XLSX file made in the background, its pages.

The fixture is built through the real workflow for two wards and two bureaus; the expected
figures below were counted by hand from it.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from tracker import workflow
from tracker.background import jobs
from tracker.ops_models import OutboxJob
from tracker.reporting import reports
from tracker.reporting.reports import Figures
from tracker.states import IssueState, JobState

from .factories import TODAY

FY = 2024

# ward: registered, adopt, partial, reject, budgeted, allocated yen (bureau lines of FY2024)
EXPECTED_WARDS = {
    "中央区": (4, 1, 1, 1, 2, 4_200_000),
    "東区": (2, 1, 0, 0, 1, 800_000),
}
EXPECTED_BUREAUS = {
    "環境局": (4, 2, 0, 1, 2, 5_000_000),
    "消防局": (2, 0, 1, 0, 1, 0),
}
EXPECTED_TOTAL = (6, 2, 1, 1, 3, 5_000_000)
EXPECTED_PROJECTS = [
    ("街灯LED化事業", "環境局", "中央区", 3_000_000, None),
    ("公園照明整備事業", "環境局", "中央区", 1_200_000, None),
    ("防犯灯設置事業", "環境局", "東区", 800_000, 750_000),
]


def _apply(session, actor, issue, action, payload):
    workflow.apply(session, actor, issue, action, payload, today=TODAY)
    session.commit()


@pytest.fixture
def report_fixture(make, session):
    """Issues of FY2024 in 中央区 and 東区, led by 環境局 and 消防局; see the expected figures."""
    chuo, higashi = make.manager("中央区"), make.manager("東区")
    env, fire = make.staff("環境局"), make.staff("消防局")
    in_chuo = {"ward": "中央区", "manager": chuo}
    in_higashi = {"ward": "東区", "manager": higashi}

    adopted = make.issue(IssueState.DECIDED, **in_chuo, lead="環境局", staff=env)
    budget = {"fiscal_year": FY, "project_name": "街灯LED化事業", "allocated_yen": 3_000_000}
    _apply(session, env, adopted, "budget", budget)
    later = {"fiscal_year": FY + 1, "project_name": "街灯LED化事業 (2期)", "allocated_yen": 1_000_000}
    _apply(session, env, adopted, "add_budget_line", later)  # another fiscal year: not in the sum
    make.issue(IssueState.NOT_ADOPTED, **in_chuo, lead="環境局", staff=env)
    continued = make.issue(IssueState.CONSULTING, **in_chuo, lead="環境局", staff=env)
    review = {"decision": "continue", "next_review_on": TODAY + dt.timedelta(days=30)}
    _apply(session, env, continued, "decide", review)
    make.issue(IssueState.DRAFT, **in_chuo, lead="環境局", staff=env)
    make.issue(IssueState.WITHDRAWN, **in_chuo, lead="環境局", staff=env)
    partial = make.issue(IssueState.CONSULTING, **in_chuo, lead="消防局", staff=fire)
    _apply(session, fire, partial, "decide", {"decision": "partial", "decision_reason": "一部のみ"})
    _apply(session, fire, partial, "budget", {"within_existing_budget": True})
    # An issue of FY2023 budgeted in FY2024: its money is in this report, the issue is not.
    older = make.issue(IssueState.DECIDED, **in_chuo, lead="環境局", staff=env)
    older.fiscal_year = FY - 1
    budget = {"fiscal_year": FY, "project_name": "公園照明整備事業", "allocated_yen": 1_200_000}
    _apply(session, env, older, "budget", budget)

    done = make.issue(IssueState.DECIDED, **in_higashi, lead="環境局", staff=env)
    budget = {"fiscal_year": FY, "project_name": "防犯灯設置事業", "allocated_yen": 800_000}
    _apply(session, env, done, "budget", budget)
    _apply(session, env, done, "start", {})
    executed = {"outcome": "設置した", "executed": {done.budget_lines[0].id: 750_000}}
    _apply(session, env, done, "complete", executed)
    make.issue(IssueState.REGISTERED, **in_higashi, lead="消防局", staff=fire)
    return {"adopted": adopted, "older": older, "done": done}


def _by_name(rows: list[Figures]) -> dict[str, tuple[int, ...]]:
    return {row.name: row.counts() for row in rows}


def test_the_figures_equal_the_hand_counted_totals(report_fixture, session):
    report = reports.fiscal_year_report(session, FY)
    wards = _by_name(report.wards)
    assert list(wards) == ["中央区", "東区", "西区", "南区", "北区"]
    for name, expected in EXPECTED_WARDS.items():
        assert wards[name] == expected, name
    assert wards["西区"] == wards["南区"] == wards["北区"] == (0,) * 6
    bureaus = _by_name(report.bureaus)
    for name, expected in EXPECTED_BUREAUS.items():
        assert bureaus[name] == expected, name
    assert all(counts == (0,) * 6 for name, counts in bureaus.items() if name not in EXPECTED_BUREAUS)
    assert report.total.counts() == EXPECTED_TOTAL
    assert [(p.project_name, p.bureau, p.ward, p.allocated_yen, p.executed_yen) for p in report.projects] == (
        EXPECTED_PROJECTS
    )
    assert report.projects[0].issue_reference == report_fixture["adopted"].reference
    assert report.label == "令和6年度 (2024)"


def test_a_year_without_issues_has_only_zeros(report_fixture, session):
    report = reports.fiscal_year_report(session, 2019)
    assert report.total.counts() == (0,) * 6
    assert report.projects == []
    assert reports.fiscal_year_report(session, FY + 1).total.allocated_yen == 1_000_000


def test_a_draft_awaiting_approval_is_not_yet_registered(make, session):
    """決裁待ち is still the ward's draft: the report counts an issue once a second manager approved it."""
    awaiting = make.issue(IssueState.AWAITING_APPROVAL)
    before = reports.fiscal_year_report(session, awaiting.fiscal_year).total.registered
    assert before == 0
    workflow.apply(session, make.second_manager(), awaiting, "approve", {}, today=TODAY)
    assert reports.fiscal_year_report(session, awaiting.fiscal_year).total.registered == 1


def test_the_figures_take_a_constant_number_of_queries(report_fixture, make, session, count_queries):
    reports.fiscal_year_report(session, FY)
    before = len(count_queries)
    staff = make.staff("消防局")
    for ward in ("西区", "南区"):
        issue = make.issue(IssueState.DECIDED, ward=ward, lead="消防局", staff=staff)
        _apply(
            session,
            staff,
            issue,
            "budget",
            {"fiscal_year": FY, "project_name": "事業", "allocated_yen": 1000},
        )
    count_queries.clear()
    report = reports.fiscal_year_report(session, FY)
    assert len(count_queries) == before <= 8
    assert report.total.budgeted == EXPECTED_TOTAL[4] + 2


def _cells(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _request_report(session, user) -> OutboxJob:
    row = jobs.request_job(session, "report_xlsx", {"fiscal_year": FY}, requested_by_id=user.id)
    session.commit()  # no REDIS_URL: the job runs inline right after the commit
    session.expire_all()
    return session.get(OutboxJob, row.id)


def test_the_job_writes_an_xlsx_with_the_figures_and_the_reiwa_title(report_fixture, make, session, app):
    row = _request_report(session, make.admin())
    assert row.state == JobState.DONE, row.last_error
    assert row.result["fiscal_year"] == FY
    assert (row.progress_done, row.progress_total) == (2, 2)
    book = load_workbook(reports.report_dir() / row.result["file"])
    assert book.sheetnames == ["区別", "局別", "予算化事業"]

    wards = _cells(book["区別"])
    assert "令和6年度 (2024)" in wards[0][0]
    assert wards[3] == ["区", "登録", "対応する", "一部対応", "対応しない", "予算化", "予算額合計 (千円)"]
    by_ward = {row[0]: tuple(row[1:]) for row in wards[4:]}
    assert by_ward["中央区"] == (4, 1, 1, 1, 2, 4_200)
    assert by_ward["東区"] == (2, 1, 0, 0, 1, 800)
    assert by_ward["合計"] == (6, 2, 1, 1, 3, 5_000)

    bureaus = _cells(book["局別"])
    assert "令和6年度 (2024)" in bureaus[0][0]
    by_bureau = {row[0]: tuple(row[1:]) for row in bureaus[4:]}
    assert by_bureau["環境局"] == (4, 2, 0, 1, 2, 5_000)
    assert by_bureau["消防局"] == (2, 0, 1, 0, 1, 0)
    assert by_bureau["合計"] == (6, 2, 1, 1, 3, 5_000)

    projects = _cells(book["予算化事業"])
    assert "令和6年度 (2024)" in projects[0][0]
    assert projects[3] == ["事業名", "局", "区", "区重要課題番号", "予算額 (円)", "決算額 (円)"]
    assert [(p[0], p[1], p[2], p[4], p[5]) for p in projects[4:]] == EXPECTED_PROJECTS
    assert projects[6][3] == report_fixture["done"].reference


def test_an_amount_that_is_not_whole_thousands_keeps_its_decimals(tmp_path):
    rows = [Figures("中央区", 1, 1, 0, 0, 1, 20_900_500)]
    report = reports.FiscalYearReport(FY, rows, rows, [], 0)
    reports.write_workbook(report, tmp_path / "r.xlsx")
    sheet = load_workbook(tmp_path / "r.xlsx")["区別"]
    assert sheet.cell(5, 7).value == 20_900.5
    assert sheet.cell(6, 7).value == 20_900.5  # the total
    assert reports.download_name(2019) == "区重要課題報告書_令和元年度.xlsx"


def test_a_project_name_that_looks_like_a_formula_is_written_as_text(tmp_path):
    project = reports.BudgetedProject('=HYPERLINK("http://x")', "環境局", "中央区", "CHUO-2024-1", 1000, None)
    report = reports.FiscalYearReport(FY, [], [], [project], 1)
    reports.write_workbook(report, tmp_path / "r.xlsx")
    cell = load_workbook(tmp_path / "r.xlsx")["予算化事業"].cell(5, 1)
    assert cell.data_type == "s"
    assert cell.value == '\'=HYPERLINK("http://x")'


# --- pages ----------------------------------------------------------------------------------


def test_the_report_page_requests_the_file_and_the_job_page_offers_the_download(
    report_fixture, make, session, login_as
):
    manager = make.manager("中央区")
    client = login_as(manager)
    page = client.get("/reports/")
    assert page.status_code == 200
    assert "令和6年度 (2024)" in page.get_data(as_text=True)

    response = client.post("/reports/", data={"fiscal_year": str(FY)})
    assert response.status_code == 302
    row = session.query(OutboxJob).filter_by(requested_by_id=manager.id).one()
    assert response.headers["Location"].endswith(f"/reports/jobs/{row.id}")
    assert row.kwargs == {"fiscal_year": FY}

    job_page = client.get(f"/reports/jobs/{row.id}").get_data(as_text=True)
    assert "報告書をダウンロード" in job_page
    assert 'http-equiv="refresh"' not in job_page  # finished: no more reloading

    download = client.get(f"/reports/jobs/{row.id}/download")
    assert download.status_code == 200
    assert download.mimetype == reports.XLSX_MIMETYPE
    disposition = download.headers["Content-Disposition"]
    assert "filename*=UTF-8''%E5%8C%BA%E9%87%8D%E8%A6%81" in disposition  # 区重要…
    assert disposition.endswith(".xlsx")
    book = load_workbook(io.BytesIO(download.data))
    assert "令和6年度 (2024)" in book["区別"]["A1"].value
    assert client.get("/reports/").get_data(as_text=True).count(f"/reports/jobs/{row.id}") == 1


def test_a_waiting_job_page_reloads_itself_and_offers_no_download(make, session, login_as):
    staff = make.staff()
    waiting = OutboxJob(name="report_xlsx", kwargs={"fiscal_year": FY}, requested_by_id=staff.id)
    session.add(waiting)
    session.commit()
    client = login_as(staff)
    page = client.get(f"/reports/jobs/{waiting.id}").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in page
    assert "作成しています" in page
    assert client.get(f"/reports/jobs/{waiting.id}/download").status_code == 404


def test_only_the_requester_and_the_admin_may_see_and_download_a_report(
    report_fixture, make, session, login_as
):
    requester = make.staff("環境局")
    row = _request_report(session, requester)
    other_manager, other_staff = make.manager("中央区"), make.staff("環境局")
    for user in (other_manager, other_staff):
        client = login_as(user)
        assert client.get(f"/reports/jobs/{row.id}").status_code == 403
        assert client.get(f"/reports/jobs/{row.id}/download").status_code == 403
    for user in (requester, make.admin()):
        client = login_as(user)
        assert client.get(f"/reports/jobs/{row.id}/download").status_code == 200


def test_liaisons_may_not_use_the_report_pages(make, login_as):
    client = login_as(make.liaison())
    assert client.get("/reports/").status_code == 403
    assert client.post("/reports/", data={"fiscal_year": str(FY)}).status_code == 403


def test_an_unknown_fiscal_year_is_refused_and_nothing_is_requested(make, session, login_as):
    client = login_as(make.admin())
    response = client.post("/reports/", data={"fiscal_year": "1900"})
    assert response.status_code == 200
    assert "年度を選んでください" in response.get_data(as_text=True)
    assert session.query(OutboxJob).filter_by(name="report_xlsx").count() == 0


def test_the_nav_shows_the_report_link_to_the_roles_that_may_use_it(make, login_as):
    for user, shown in (
        (make.admin(), True),
        (make.manager(), True),
        (make.staff(), True),
        (make.liaison(), False),
    ):
        page = login_as(user).get("/", follow_redirects=True).get_data(as_text=True)
        assert ('href="/reports/"' in page) == shown, user.role
