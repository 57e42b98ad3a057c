"""まちづくり推進経費: a ward manager draws on the ward's own fund, never beyond what is left."""

import datetime as dt
import re
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker import workflow
from tracker.effects import funds
from tracker.extensions import db
from tracker.models import BudgetLine, HistoryEvent, ServiceRequest, User, WardFund
from tracker.states import Funding
from tracker.workflow import WorkflowError

from .factories import TODAY, Factory


@pytest.fixture
def fund(make, session):
    row = WardFund(ward=make.ward("中央区"), fiscal_year=2024, allocated_yen=1_000_000)
    session.add(row)
    session.commit()
    return row


def spend(session, actor, request, amount, year=2024):
    payload = {"fiscal_year": year, "project_name": "カーブミラー修繕", "allocated_yen": amount}
    return workflow.apply(session, actor, request, "fund_from_ward", payload, today=TODAY)


def test_manager_draws_on_the_fund_and_the_event_records_it(make, session, fund):
    request, manager = make.request(), make.manager()
    event = spend(session, manager, request, 600_000)
    assert event.action == "fund_from_ward" and event.data["allocated_yen"] == 600_000
    line = request.budget_lines[0]
    assert (line.funding, line.ward_id, line.allocated_yen) == (Funding.WARD_FUND, request.ward_id, 600_000)


def test_more_than_what_is_left_is_refused_and_nothing_changes(make, session, fund):
    request, manager, second = make.request(), make.manager(), make.request()
    spend(session, manager, request, 600_000)
    lines = session.execute(select(func.count(BudgetLine.id))).scalar_one()
    events = session.execute(select(func.count(HistoryEvent.id))).scalar_one()
    with pytest.raises(WorkflowError, match=r"残額 \(400千円\) を超えています"):
        spend(session, manager, second, 500_000)
    assert session.execute(select(func.count(BudgetLine.id))).scalar_one() == lines
    assert session.execute(select(func.count(HistoryEvent.id))).scalar_one() == events


@pytest.mark.parametrize(
    "actor, year, message",
    [
        ("liaison", 2024, "区役所 管理職だけ"),
        ("other_manager", 2024, "他の区の要望"),
        ("manager", 2023, "令和5年度 (2023)のまちづくり推進経費が設定されていません"),
    ],
)
def test_refusals(make, session, fund, actor, year, message):
    request = make.request()
    users = {"liaison": make.liaison, "manager": make.manager, "other_manager": lambda: make.manager("東区")}
    with pytest.raises(WorkflowError, match=re.escape(message)):
        spend(session, users[actor](), request, 1_000, year)
    assert request.budget_lines == []


def test_funds_page_shows_allocated_used_and_remaining(make, session, fund, login_as):
    manager = make.manager()
    spend(session, manager, make.request(), 250_000)
    session.commit()
    text = login_as(manager).get("/funds").get_data(as_text=True)
    assert "<h1>中央区 まちづくり推進経費</h1>" in text
    rows = {
        cells[0]: cells[1:]
        for row in re.findall(r"<tr>(.*?)</tr>", text, re.S)
        if (cells := re.findall(r"<td[^>]*>(.*?)</td>", row))
    }
    assert rows["令和6年度 (2024)"] == ["1,000千円", "250千円", "750千円"]  # allocated, used, remaining


CONCURRENT_YEAR = 2005


def _draw_in_thread(app, engine, manager_id, request_id, barrier, outcomes):
    try:
        with app.app_context(), Session(engine) as session:
            manager, request = session.get(User, manager_id), session.get(ServiceRequest, request_id)
            session.commit()  # hold no transaction at the barrier: SQLite takes the write lock
            barrier.wait()
            try:
                spend(session, manager, request, 20_000_000, CONCURRENT_YEAR)
                session.commit()
                outcomes.append("drawn")
            except WorkflowError as error:
                session.rollback()
                outcomes.append(error.message)
    except BaseException as error:  # report it in the main thread; free the other thread
        outcomes.append(error)
        barrier.abort()


def test_two_draws_at_the_same_moment_cannot_overspend(committing_app):
    """Two managers draw 20,000千円 each from a 30,000千円 fund at once: exactly one succeeds."""
    app = committing_app
    with app.app_context():
        engine = db.engine
        with Session(engine) as session:
            make = Factory(session)
            liaison, managers = make.liaison(), [make.manager(), make.manager()]
            received = dt.date(CONCURRENT_YEAR, 6, 1)
            requests = [make.request(liaison, received_on=received) for _ in managers]
            session.add(WardFund(ward=make.ward(), fiscal_year=CONCURRENT_YEAR, allocated_yen=30_000_000))
            session.commit()
            user_ids = [liaison.id, *(m.id for m in managers)]
            request_ids = [r.id for r in requests]
    outcomes: list = []
    barrier = threading.Barrier(2, timeout=60)
    threads = [
        threading.Thread(target=_draw_in_thread, args=(app, engine, m_id, r_id, barrier, outcomes))
        for m_id, r_id in zip(user_ids[1:], request_ids, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(map(str, outcomes)) == sorted(
        ["drawn", "まちづくり推進経費の残額 (10,000千円) を超えています。"]
    )
    with Session(engine) as session:
        ward_id = session.get(ServiceRequest, request_ids[0]).ward_id
        assert funds.used_yen(session, ward_id, CONCURRENT_YEAR) == 20_000_000
