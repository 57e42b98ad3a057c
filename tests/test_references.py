"""Reference numbers: their format, their sequences, and uniqueness under concurrent logging."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker import workflow
from tracker.effects import intake
from tracker.extensions import db
from tracker.models import Category, HistoryEvent, ReferenceCounter, ServiceRequest, User
from tracker.states import Source

from .factories import TODAY, committed_liaisons


def counter(session, key: str) -> int:
    """The last number handed out for ``key`` (0 when none yet)."""
    return session.scalar(select(ReferenceCounter.value).where(ReferenceCounter.key == key)) or 0


# --- format and sequences ------------------------------------------------------------------
# Every test runs in a rolled-back transaction on a fresh database, so each sequence starts at 1.


def test_request_reference_format_and_sequence(make, session):
    assert counter(session, "R-CHUO-2024") == 0
    first, second = make.request(), make.request()
    assert (first.reference, second.reference) == ("CHUO-2024-00001", "CHUO-2024-00002")
    assert first.fiscal_year == second.fiscal_year == 2024
    assert counter(session, "R-CHUO-2024") == 2


def test_issue_reference_format_and_its_own_sequence(make, session):
    manager = make.manager()
    first = workflow.create_issue(session, manager, {"title": "街灯の老朽化"}, today=TODAY)
    second = workflow.create_issue(session, manager, {"title": "通学路の安全"}, today=TODAY)
    assert (first.reference, second.reference) == ("CHUO-2024-K001", "CHUO-2024-K002")
    # issues take no number from the requests' sequence, nor requests from the issues'
    assert make.request().reference == "CHUO-2024-00001"
    escalated = make.issue()  # logs request 00002 and escalates it into a new issue
    assert escalated.reference == "CHUO-2024-K003"
    assert escalated.requests[0].reference == "CHUO-2024-00002"


def test_sequences_are_per_ward_and_per_fiscal_year(make, session):
    chuo_2024 = make.request(received_on=dt.date(2024, 4, 1))
    chuo_2023 = make.request(received_on=dt.date(2024, 3, 31))  # still fiscal 2023
    higashi_2024 = make.request(ward="東区")
    chuo_2024_again = make.request()
    chuo_2023_again = make.request(received_on=dt.date(2023, 4, 1))
    assert [r.reference for r in (chuo_2024, chuo_2023, higashi_2024, chuo_2024_again, chuo_2023_again)] == [
        "CHUO-2024-00001",
        "CHUO-2023-00001",
        "HIGASHI-2024-00001",
        "CHUO-2024-00002",
        "CHUO-2023-00002",
    ]
    assert (chuo_2023.fiscal_year, chuo_2024.fiscal_year) == (2023, 2024)

    chuo_issue = workflow.create_issue(session, make.manager(), {"title": "中央の課題"}, today=TODAY)
    higashi_issue = workflow.create_issue(session, make.manager("東区"), {"title": "東の課題"}, today=TODAY)
    next_year = workflow.create_issue(
        session, make.manager(), {"title": "翌年度の課題"}, today=dt.date(2025, 4, 1)
    )
    march = workflow.create_issue(
        session, make.manager(), {"title": "年度末の課題"}, today=dt.date(2025, 3, 31)
    )
    assert [i.reference for i in (chuo_issue, higashi_issue, next_year, march)] == [
        "CHUO-2024-K001",
        "HIGASHI-2024-K001",
        "CHUO-2025-K001",
        "CHUO-2024-K002",
    ]
    assert (next_year.fiscal_year, march.fiscal_year) == (2025, 2024)


@pytest.mark.parametrize(
    ("received_on", "expected_year"), [(dt.date(2024, 3, 31), 2023), (dt.date(2024, 4, 1), 2024)]
)
def test_request_fiscal_year_follows_the_received_date(make, received_on, expected_year):
    request = make.request(received_on=received_on)
    assert request.fiscal_year == expected_year
    assert re.fullmatch(rf"CHUO-{expected_year}-\d{{5}}", request.reference)


# --- two requests logged at the same moment ------------------------------------------------

CONCURRENT_YEAR = 2003  # a fiscal year no other test logs in, so its sequence starts at 1
PER_THREAD = 10


def _log_in_thread(app, engine, user_id, category_id, barrier, logged, errors):
    """Log PER_THREAD requests, each committed, each started in step with the other thread."""
    try:
        with app.app_context(), Session(engine) as session:
            actor = session.get(User, user_id)
            # End the read: on SQLite every transaction takes the write lock (BEGIN IMMEDIATE), so
            # none may stay open while this thread waits for the other at the barrier.
            session.commit()
            for number in range(PER_THREAD):
                barrier.wait()
                request = intake.log_request(
                    session,
                    actor,
                    {
                        "title": f"同時登録 {user_id}-{number}",
                        "category_id": category_id,
                        "source": Source.PHONE.value,
                    },
                    photo_dir=app.config["PHOTO_DIR"],
                    photo_max_bytes=app.config["PHOTO_MAX_BYTES"],
                    photo_max_count=app.config["PHOTO_MAX_COUNT"],
                    answer_due_days=14,
                    today=dt.date(CONCURRENT_YEAR, 6, 2),
                )
                logged.append((request.id, request.reference))
                session.commit()
    except BaseException as error:  # report it in the main thread; free the other thread
        errors.append(error)
        barrier.abort()


def test_reference_numbers_are_unique_when_logged_at_the_same_moment(committing_app):
    """Two threads, each with its own app context, session and connection, commit for real."""
    app = committing_app
    key = f"R-CHUO-{CONCURRENT_YEAR}"
    with app.app_context():
        engine = db.engine
    with Session(engine) as session:
        assert counter(session, key) == 0, "leftover rows from an earlier run"
        category_id = session.scalars(select(Category.id).order_by(Category.id)).first()
        liaisons = committed_liaisons(session, 2, "同時登録テスト")
        user_ids = [user.id for user in liaisons]

    logged: list[tuple[int, str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2, timeout=60)
    threads = [
        threading.Thread(target=_log_in_thread, args=(app, engine, uid, category_id, barrier, logged, errors))
        for uid in user_ids
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    assert errors == []
    references = [reference for _, reference in logged]
    assert len(references) == len(set(references)) == 2 * PER_THREAD
    assert all(re.fullmatch(rf"CHUO-{CONCURRENT_YEAR}-\d{{5}}", ref) for ref in references)
    assert sorted(int(ref.rsplit("-", 1)[1]) for ref in references) == list(range(1, 2 * PER_THREAD + 1))
    with Session(engine) as session:
        assert counter(session, key) == 2 * PER_THREAD
        stored = session.scalars(
            select(ServiceRequest.reference).where(ServiceRequest.logged_by_id.in_(user_ids))
        ).all()
        assert sorted(stored) == sorted(references)
        creates = session.scalar(
            select(func.count())
            .select_from(HistoryEvent)
            .where(HistoryEvent.service_request_id.in_([rid for rid, _ in logged]))
            .where(HistoryEvent.action == "create")
        )
        assert creates == 2 * PER_THREAD
