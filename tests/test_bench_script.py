"""``scripts/bench.py`` (``make bench``) is not run by ``make test``: its pure parts are tested here
(percentiles, the pairing order, ``results.json`` and its table, the export's record count), its
HTTP client against a real local server, its page parsing against the app's real list, and the
``X-SQL-Statements`` header the benchmark reads."""

from __future__ import annotations

import http.server
import threading
from collections import Counter

import pytest

from scripts.load.baseline_app import app as baseline_app
from scripts.load.bench_http import hammer
from scripts.load.bench_plan import (
    PAGES,
    BenchSettings,
    logins,
    middle_common,
    next_link,
    schedule,
    size_label,
)
from scripts.load.bench_results import (
    END_MARK,
    START_MARK,
    Cell,
    export_result,
    markdown,
    percentile,
    replace_section,
    results_document,
)
from scripts.load.bench_setup import csv_records, database_url, export_seconds
from scripts.load.settings import SetupError
from tracker.blueprints.statement_count import HEADER
from tracker.city.masterdata import DEMO_USERS

# --- percentiles, sizes, settings -------------------------------------------------------------------


def test_percentiles_interpolate_between_the_nearest_ranks():
    hundred = [float(n) for n in range(100, 0, -1)]  # 100 … 1, unsorted on purpose
    assert percentile(hundred, 50) == pytest.approx(50.5)
    assert percentile(hundred, 95) == pytest.approx(95.05)
    assert percentile(hundred, 100) == 100.0 and percentile(hundred, 0) == 1.0
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 95) is None


def test_sizes_are_labelled_as_people_say_them():
    assert [size_label(n) for n in (10_000, 1_000_000, 1_500, 300, 2_500_000)] == [
        "10k",
        "1M",
        "1.5k",
        "300",
        "2.5M",
    ]


def test_the_settings_come_from_the_environment_with_the_issues_defaults():
    default = BenchSettings.from_env({})
    assert (default.small, default.large, default.repeats) == (10_000, 1_000_000, 3)
    assert [name for _, _, name in default.sizes()] == ["tracker_bench_10k", "tracker_bench_1m"]
    small = BenchSettings.from_env(
        {
            "BENCH_SMALL": "300",
            "BENCH_LARGE": "1500",
            "BENCH_SECONDS": "1",
            "BENCH_REPEATS": "1",
            "BENCH_REUSE": "1",
        }
    )
    assert [label for label, _, _ in small.sizes()] == ["300", "1.5k"]
    assert small.reuse and small.measuring_seconds(10) == 10 * 2 * 1 * 1.0


def test_only_a_local_bench_database_may_be_dropped():
    url = database_url("postgresql://postgres@127.0.0.1:5432", "tracker_bench_10k")
    assert url == "postgresql://postgres@127.0.0.1:5432/tracker_bench_10k"
    with pytest.raises(SetupError, match="bench"):
        database_url("postgresql://postgres@127.0.0.1:5432", "tracker")
    with pytest.raises(SetupError, match="loopback"):
        database_url("postgresql://postgres@db.example.org:5432", "tracker_bench_10k")


# --- the pages and their order ------------------------------------------------------------------------


def test_pages_are_paired_small_then_large_page_by_page_in_every_repetition():
    three = PAGES[:3]
    order = schedule(three, ["10k", "1M"], 2)
    keys = [page.key for page in three]
    expected = [(rep, key, size) for rep in (0, 1) for key in keys for size in ("10k", "1M")]
    assert order == expected
    assert order[:4] == [
        (0, "baseline", "10k"),
        (0, "baseline", "1M"),
        (0, "login", "10k"),
        (0, "login", "1M"),
    ]


def test_every_page_is_seen_as_a_demo_account_and_every_role_has_its_dashboard():
    demo = {login: role for login, _, role, *_ in DEMO_USERS}
    assert set(logins()) <= set(demo)
    dashboards = {demo[page.who] for page in PAGES if page.path == "/dashboard/"}
    assert dashboards == set(demo.values())
    assert len({page.key for page in PAGES}) == len(PAGES)


def test_a_page_url_is_percent_encoded_with_the_facts_of_its_database():
    by_key = {page.key: page for page in PAGES}
    facts = {"ward": "3", "request": "41", "issue": "7", "deep": "/requests/?after=abc%3D"}
    assert by_key["requests_ward_state"].url(facts) == "/requests/?ward=3&state=received"
    assert by_key["search_rare"].url(facts) == "/search?q=%E9%89%84%E5%A1%94"
    assert by_key["requests_deep"].url(facts) == "/requests/?after=abc%3D"
    assert by_key["issue_detail"].url(facts) == "/issues/7"


def test_the_middle_id_is_one_both_databases_have():
    assert middle_common([1, 2, 3, 4, 5, 9], {2, 3, 4, 9, 10}) == 4
    assert middle_common([1, 2], {5}) is None


def test_next_links_lead_through_the_real_list_to_its_last_page(make, login_as):
    admin = make.admin()
    liaison = make.liaison()
    for n in range(51):
        make.request(liaison, title=f"街灯の球切れ {n}")
    client = login_as(admin)
    first = client.get("/requests/").get_data(as_text=True)
    following = next_link(first)
    assert following and following.startswith("/requests/?") and "after=" in following
    second = client.get(following)
    assert second.status_code == 200
    assert next_link(second.get_data(as_text=True)) is None


# --- the HTTP client against a real server ---------------------------------------------------------


class _Counted(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<p>ok</p>"
        self.send_response(200 if self.path == "/" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.send_header(HEADER, "7")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_hammer_records_every_answer_its_latency_and_its_statement_count(local_server):
    cell = hammer(local_server, "/", {"session": "x"}, 0.3, 2)
    assert cell.statuses[200] == len(cell.latencies_ms) > 0
    assert set(cell.statuses) == {200}
    assert cell.statements == Counter({7: len(cell.latencies_ms)})
    assert cell.seconds > 0 and all(ms > 0 for ms in cell.latencies_ms)
    missing = hammer(local_server, "/nothing", None, 0.2, 1)
    assert missing.latencies_ms == [] and set(missing.statuses) == {404}


def test_the_baseline_app_is_one_small_page():
    answer = baseline_app.test_client().get("/")
    assert answer.status_code == 200 and len(answer.data) < 200


# --- results.json and its table ---------------------------------------------------------------------


def _cell(latencies, statements, seconds=1.0, errors=0):
    statuses = Counter({200: len(latencies)})
    if errors:
        statuses[500] = errors
    return Cell(
        list(latencies), statuses, Counter({statements: len(latencies)}) if statements else Counter(), seconds
    )


def _measured():
    """Three pages, two repetitions: a flat list, a dashboard that grows, and the baseline."""
    pages = [page for page in PAGES if page.key in ("baseline", "requests_list", "city_dashboard")]
    cells = {}
    for rep in (0, 1):
        cells[(rep, "baseline", "10k")] = _cell([1.0] * 100, None)
        cells[(rep, "baseline", "1M")] = _cell([1.0] * 100, None)
        cells[(rep, "requests_list", "10k")] = _cell([10.0] * 19 + [20.0], 12)
        cells[(rep, "requests_list", "1M")] = _cell([10.0] * 19 + [22.0], 12)
        cells[(rep, "city_dashboard", "10k")] = _cell([20.0] * 10, 9)
        cells[(rep, "city_dashboard", "1M")] = _cell([200.0] * 2, 11, errors=1)
    return pages, cells


def test_results_hold_each_pages_figures_growth_and_targets():
    pages, cells = _measured()
    exports = {
        "10k": export_result(10_030, 10_030, 0.5, 90_000, 0),
        "1M": export_result(1_000_030, 1_000_030, 16.0, 120 * 1024, 0),
    }
    document = results_document(cells, {"10k": 10_000, "1M": 1_000_000}, exports, {"seconds": 1}, pages)
    listing = document["pages"]["requests_list"]
    assert listing["10k"]["throughput"] == 20.0 and listing["1M"]["p50_ms"] == 10.0
    assert listing["10k"]["p95_ms"] == pytest.approx(10.5) and listing["1M"]["p95_ms"] == pytest.approx(10.6)
    assert listing["growth"] == pytest.approx(10.6 / 10.5, abs=1e-3)
    assert listing["statements"] == {"10k": 12, "1M": 12}
    assert listing["ratio_to_baseline"] == pytest.approx(20 / 100)
    assert listing["meets_targets"]
    city = document["pages"]["city_dashboard"]
    assert city["growth"] == 10.0 and city["statements"] == {"10k": 9, "1M": 11}
    assert city["share_of_list"] == {"10k": 0.5, "1M": 0.1}
    assert city["1M"]["errors"] == 2 and city["1M"]["statuses"] == {"200": 4, "500": 2}
    assert city["targets"] == {
        "growth": False,
        "statements": False,
        "share_of_list": False,
        "no_errors": False,
    }
    assert document["pages"]["baseline"]["statements"] == {"10k": None, "1M": None}
    assert (
        document["export"]["1M"]["rows_per_second"] == 62_502
        and document["export"]["1M"]["peak_rss_mb"] == 120.0
    )
    assert document["export"]["1M"]["targets"] == {
        "complete": True,
        "rows_per_second": True,
        "peak_rss": True,
    }
    assert document["targets_missed"] == {
        "growth": ["city_dashboard"],
        "statements": ["city_dashboard"],
        "share_of_list": ["city_dashboard"],
        "errors": ["city_dashboard"],
        "export": [],
    }
    assert not document["all_targets_met"]


def test_an_export_short_of_rows_or_failed_is_not_complete():
    assert not export_result(999, 1_000, 1.0, 1024, 0)["complete"]
    assert not export_result(1_000, 1_000, 1.0, 1024, 1)["complete"]
    assert export_result(1_000, 1_000, 0.02, 200 * 1024, 0)["rows_per_second"] == 50_000


def test_the_markdown_table_has_a_row_per_page_and_says_what_is_missed():
    pages, cells = _measured()
    exports = {"1M": export_result(900, 1_000, 1.0, 200 * 1024, 0)}
    document = results_document(cells, {"10k": 10_000, "1M": 1_000_000}, exports, {}, pages)
    table = markdown(document)
    lines = table.splitlines()
    assert lines[0].startswith("| page | as | req/s 10k | req/s 1M |")
    assert "| requests list, first page | admin | 20.0 | 20.0 | 10.0 | 10.0 | 10.5 | 10.6 | 1.01 |" in table
    assert "| 12/12 | – |" in table
    assert "| city dashboard | admin |" in table and "growth, statements, share_of_list, no_errors" in table
    assert "| 1M | 900 of 1,000 | no | 1.0 | 900 | 200.0 | complete, rows_per_second, peak_rss |" in table
    assert "targets missed: growth: city_dashboard" in table


def test_the_docs_section_is_replaced_between_its_marks_only():
    text = f"# Performance\n\nintro\n\n{START_MARK}\nold table\n{END_MARK}\n\nafter\n"
    replaced = replace_section(text, "| new |\n")
    assert replaced == f"# Performance\n\nintro\n\n{START_MARK}\n| new |\n{END_MARK}\n\nafter\n"
    assert replace_section(replaced, "| new |\n") == replaced
    with pytest.raises(ValueError):
        replace_section("no marks here", "| new |\n")


def test_the_export_file_is_counted_in_csv_records(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text('\ufeff受付番号,件名\nR-1,"街灯\n二行目"\nR-2,公園\n', encoding="utf-8")
    assert csv_records(path) == 3


def test_the_export_time_is_the_one_the_command_prints():
    assert export_seconds("rows=1000 seconds=16.25 rows_per_second=61538 peak_rss_mb=97\n") == 16.25
    assert export_seconds("Traceback (most recent call last):") is None


# --- the statement header -----------------------------------------------------------------------------


def test_no_statement_header_unless_the_flag_is_on(app, make, login_as):
    assert app.config["SQL_STATEMENT_HEADER"] is False
    client = login_as(make.admin())
    assert HEADER not in client.get("/dashboard/").headers


@pytest.fixture
def statement_header(app):
    app.config["SQL_STATEMENT_HEADER"] = True
    yield
    app.config["SQL_STATEMENT_HEADER"] = False


def test_the_statement_header_counts_every_statement_of_the_request(
    statement_header, make, session, login_as, count_queries
):
    admin = make.admin()
    make.request(make.liaison())
    client = login_as(admin)
    for path in ("/dashboard/", "/requests/", "/login"):  # /login: a redirect home, logged in
        session.expire_all()
        count_queries.clear()
        answer = client.get(path)
        assert answer.status_code == (302 if path == "/login" else 200)
        assert int(answer.headers[HEADER]) == len(count_queries)
        assert len(count_queries) > (0 if path == "/login" else 2)
