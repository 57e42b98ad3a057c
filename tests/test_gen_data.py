"""``flask gen-data`` (tracker/city/synthetic*.py): synthetic requests, issues and history at scale.

One database of its own is loaded once for the module (the load commits, and its history chain
must stay whole for ``flask audit verify``); the determinism test loads a second one.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import Counter

import pytest
from sqlalchemy import func, select, update

from tracker.activity_models import Activity
from tracker.city import synthetic
from tracker.city.synthetic_text import Vocabulary
from tracker.effects import counters
from tracker.extensions import db
from tracker.finding import search
from tracker.formatting import fiscal_year_of
from tracker.models import BudgetLine, Center, HistoryEvent, ServiceRequest, Ward, WardIssue
from tracker.states import OPEN_REQUEST_STATES, IssueState, RequestState
from tracker.summary_models import RequestStateCount

from .factories import Factory
from .support import build_app, database_url_for_tests, drop_database

COUNT, SEED = 1500, 7
TODAY = dt.date(2026, 11, 20)  # a Friday in fiscal year 2026


def _load(tmp_path, suffix: str, seed: int = SEED):
    url = database_url_for_tests(tmp_path, suffix=suffix)
    app = build_app(url, tmp_path / f"instance{suffix}")
    with app.app_context():
        summary = synthetic.generate(db.session, COUNT, seed, today=TODAY, answer_due_days=14)
        db.session.remove()
    return app, url, summary


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    app, url, summary = _load(tmp_path_factory.mktemp("gendata"), "_gendata")
    yield app, summary
    with app.app_context():
        db.engine.dispose()
    drop_database(url)


@pytest.fixture
def gen_app(loaded):
    app, _ = loaded
    with app.app_context():
        yield app
        db.session.rollback()
        db.session.remove()


def _requests():
    return db.session.execute(select(ServiceRequest.__table__)).mappings().all()


def test_every_request_is_stored_with_a_reference_in_the_products_format(gen_app, loaded):
    rows = _requests()
    assert len(rows) == COUNT == loaded[1].requests
    assert len({row["reference"] for row in rows}) == COUNT
    codes = dict(db.session.execute(select(Ward.id, Ward.code)).tuples().all())
    for row in rows:
        assert re.fullmatch(rf"{codes[row['ward_id']]}-{row['fiscal_year']}-\d{{5}}", row["reference"])
        assert row["fiscal_year"] == fiscal_year_of(row["received_on"])
        assert row["search_text"] == search.request_search_text(row)  # as the flush listener writes it
        assert row["answer_due_on"] >= row["received_on"]
    for issue in db.session.scalars(select(WardIssue)):
        assert re.fullmatch(rf"{codes[issue.ward_id]}-{issue.fiscal_year}-K\d{{3}}", issue.reference)
        assert issue.search_text == search.search_text_of(issue)


def test_requests_spread_over_ten_fiscal_years_and_the_wards_by_population(gen_app):
    rows = _requests()
    years = {row["fiscal_year"] for row in rows}
    assert years == set(range(fiscal_year_of(TODAY) - 9, fiscal_year_of(TODAY) + 1))
    assert max(row["received_on"] for row in rows) <= TODAY
    population = dict(db.session.execute(select(Ward.id, Ward.population)).tuples().all())
    per_ward = Counter(row["ward_id"] for row in rows)
    for ward_id, people in population.items():
        expected = people / sum(population.values())
        assert abs(per_ward[ward_id] / COUNT - expected) < 0.05, (ward_id, per_ward)
    sources = Counter(row["source"] for row in rows).most_common()
    assert sources[0][0] == "phone" and len(sources) == 7  # every way in, the telephone first
    weekdays = Counter(row["received_on"].weekday() < 5 for row in rows)
    assert weekdays[True] > 5 * weekdays[False]  # offices are busy on weekdays


def test_old_years_are_closed_and_the_current_year_has_open_and_overdue_requests(gen_app):
    rows = _requests()
    current = fiscal_year_of(TODAY)
    old = [row for row in rows if row["fiscal_year"] < current - 1]
    closed = sum(row["state"] in (RequestState.ANSWERED, RequestState.WITHDRAWN) for row in old)
    assert closed / len(old) > 0.95
    open_now = [row for row in rows if row["state"] in OPEN_REQUEST_STATES]
    assert any(row["fiscal_year"] == current for row in open_now)
    assert any(row["answer_due_on"] < TODAY for row in open_now)  # overdue
    for row in rows:
        answered = row["state"] == RequestState.ANSWERED
        assert answered == bool(row["answer_text"]) == (row["answer_kind"] is not None)
        assert answered == (row["answered_on"] is not None)
        if answered:
            assert row["received_on"] <= row["answered_on"] <= TODAY


def test_about_two_percent_are_escalated_into_issues_with_decisions_budgets_and_outcomes(gen_app):
    issues = list(db.session.scalars(select(WardIssue)))
    assert 0.01 * COUNT <= len(issues) <= 0.035 * COUNT
    states = Counter(issue.state for issue in issues)
    assert states[IssueState.COMPLETED] > 0 and states[IssueState.NOT_ADOPTED] > 0
    assert states[IssueState.WITHDRAWN] < 0.2 * len(issues)  # most issues go on to their bureau
    for issue in issues:
        linked = issue.requests
        if issue.state == IssueState.WITHDRAWN:
            assert linked == []
            continue
        assert len(linked) == 1 and linked[0].state in (RequestState.ESCALATED, RequestState.ANSWERED)
        if issue.state == IssueState.COMPLETED:
            assert issue.outcome and issue.decided_on is not None
            for line in issue.budget_lines:
                assert line.executed_yen is not None and line.executed_yen <= line.allocated_yen
        if issue.state in (IssueState.BUDGETED, IssueState.IMPLEMENTING, IssueState.COMPLETED):
            assert issue.within_existing_budget or len(issue.budget_lines) == 1
    assert db.session.scalar(select(func.count(BudgetLine.id))) > 0


def test_activities_exist_where_requests_were_heard_at_a_meeting(gen_app):
    linked = db.session.execute(
        select(ServiceRequest.ward_id, Activity.ward_id, ServiceRequest.received_on, Activity.held_on).join(
            Activity, ServiceRequest.activity_id == Activity.id
        )
    ).all()
    assert len(linked) > 0.05 * COUNT
    assert all(row[0] == row[1] and row[2] == row[3] for row in linked)


def test_history_tells_what_happened_and_the_chain_verifies(gen_app):
    request = db.session.scalars(
        select(ServiceRequest).where(ServiceRequest.state == RequestState.ANSWERED).limit(1)
    ).one()
    actions = [event.action for event in request.events]
    assert actions[0] == "create" and actions[-1] == "answer"
    assert request.events[-1].comment == request.answer_text
    escalated = db.session.scalars(
        select(HistoryEvent).where(HistoryEvent.action == "escalate").limit(1)
    ).one()
    issue = db.session.get(WardIssue, escalated.data["ward_issue_id"])
    assert [e.action for e in issue.events][:2] == ["create", "bundle"]
    result = gen_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    events = db.session.scalar(select(func.count(HistoryEvent.id)))
    assert result.output.startswith(f"OK {events} events")


def test_the_dashboards_summary_tables_count_the_generated_rows(gen_app):
    """The rows came past the ORM, so generate rebuilt the summaries: they equal a fresh count."""
    assert counters.differences(db.session) == []
    kept = db.session.scalar(select(func.sum(RequestStateCount.count)))
    assert kept == COUNT


def test_the_pages_work_on_the_data_and_the_search_finds_a_generated_word(gen_app, monkeypatch):
    monkeypatch.setitem(gen_app.config, "WTF_CSRF_ENABLED", False)
    admin = Factory(db.session).admin()
    client = gen_app.test_client()
    assert client.post("/login", data={"login": admin.login, "password": Factory.PASSWORD}).status_code == 302
    assert client.get("/requests/").status_code == 200
    titles = Counter(row["title"] for row in _requests())
    unique = next(row for row in _requests() if titles[row["title"]] == 1)
    assert client.get(f"/requests/{unique['id']}").status_code == 200
    issue_id = db.session.scalar(select(WardIssue.id).limit(1))
    assert client.get(f"/issues/{issue_id}").status_code == 200
    page = client.get(f"/search?q={unique['title']}").get_data(as_text=True)
    assert unique["reference"] in page


def test_the_same_seed_gives_the_same_data_and_the_app_inserts_afterwards(tmp_path, gen_app):
    first = [(row["reference"], row["title"], row["state"]) for row in _requests()]
    again, url, summary = _load(tmp_path, "_gendata2")
    try:
        with again.app_context():
            second = [(row["reference"], row["title"], row["state"]) for row in _requests()]
            assert sorted(second) == sorted(first)
            assert summary.accounts_created > 0
            logged = Factory(db.session).request()  # ids and reference numbers carry on after the load
            assert logged.id > max(row["id"] for row in _requests() if row["id"] != logged.id)
            db.session.remove()
    finally:
        with again.app_context():
            db.engine.dispose()
        drop_database(url)


def test_another_seed_draws_other_texts():
    vocabulary = Vocabulary.build(["道路・交通安全", "防犯・街灯", "その他"])

    def titles(seed: int) -> list[str]:
        rng = random.Random(seed)
        return [vocabulary.request_text(rng, vocabulary.category(rng), "CHUO")["title"] for _ in range(50)]

    assert titles(1) == titles(1)
    assert titles(1) != titles(2)


def test_gen_data_refuses_without_master_data(session):
    session.execute(update(Center).values(active=False))  # as if no center had been loaded
    with pytest.raises(synthetic.MissingMasterData, match="flask seed"):
        synthetic.generate(session, 10, 1, today=TODAY)
    assert session.scalar(select(func.count(ServiceRequest.id))) == 0
