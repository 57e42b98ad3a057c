"""The tamper-evident history: every event is a link of one SHA-256 chain in id order."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from tracker import workflow
from tracker.effects import intake
from tracker.extensions import db
from tracker.models import Category, HistoryEvent, User
from tracker.ops_models import AuditChainHead, Notification, OutboxJob
from tracker.safeguards import audit
from tracker.states import IssueState, Source

from .factories import TODAY, committed_liaisons
from .test_import import import_file, row, xlsx


@pytest.fixture
def fresh_chain(session):
    """Start the chain afresh inside this test's (rolled-back) transaction: the events other
    tests committed for real count as older than the chain, whatever they did to it."""
    session.execute(update(HistoryEvent).values(prev_hash=None, hash=None))
    session.execute(update(AuditChainHead).values(last_event_id=None, last_hash=None))
    session.commit()


def chained(session) -> list[HistoryEvent]:
    session.expire_all()
    return list(
        session.scalars(select(HistoryEvent).where(HistoryEvent.hash.is_not(None)).order_by(HistoryEvent.id))
    )


def fields_of(event: HistoryEvent) -> dict:
    return {name: getattr(event, name) for name in (*audit.HASHED_FIELDS, *audit.OPTIONAL_HASHED_FIELDS)}


def assert_links(events: list[HistoryEvent], prev_hash: str = audit.GENESIS) -> None:
    for event in events:
        assert event.prev_hash == prev_hash
        assert event.hash == audit.event_hash(fields_of(event), prev_hash)
        prev_hash = event.hash


def some_history(make) -> list[HistoryEvent]:
    """A request answered and an issue budgeted: events of one and of several per flush."""
    liaison = make.liaison()
    request = make.request(liaison)
    answer = {"answer_text": "修理しました", "answer_kind": "resolved", "answered_on": TODAY}
    workflow.apply(make.session, liaison, request, "answer", answer, today=TODAY)
    make.session.commit()
    make.issue(IssueState.BUDGETED)  # escalate writes the issue's create, bundle and escalate at once
    return chained(make.session)


def test_workflow_events_form_one_chain_that_verifies(make, session, fresh_chain):
    events = some_history(make)
    assert len(events) >= 8
    assert_links(events)
    assert [e.id for e in events] == sorted(e.id for e in events)
    head = session.get(AuditChainHead, audit.HEAD_ID)
    assert (head.last_event_id, head.last_hash) == (events[-1].id, events[-1].hash)
    verdict = audit.verify(session)
    assert verdict.ok and verdict.checked == len(events), verdict.describe()
    assert verdict.describe().startswith(f"OK {len(events)} events")


def test_the_hash_covers_every_field_and_the_previous_hash():
    fields = {
        "id": 7,
        "service_request_id": 3,
        "ward_issue_id": None,
        "actor_id": 2,
        "actor_role": "liaison",
        "action": "answer",
        "from_state": "received",
        "to_state": "answered",
        "comment": "回答しました",
        "data": {"answer_kind": "resolved"},
        "created_at": dt.datetime(2024, 6, 3, 1, 2, 3, 456789, tzinfo=dt.UTC),
    }
    base = audit.event_hash(fields, audit.GENESIS)
    assert len(base) == 64 and base == audit.event_hash(dict(fields), audit.GENESIS)
    for name, other in [
        ("id", 8),
        ("service_request_id", 4),
        ("ward_issue_id", 1),
        ("actor_id", 5),
        ("actor_role", "admin"),
        ("action", "withdraw"),
        ("from_state", "referred"),
        ("to_state", "withdrawn"),
        ("comment", "回答しました。"),
        ("data", {"answer_kind": "information"}),
        ("created_at", fields["created_at"] + dt.timedelta(microseconds=1)),
    ]:
        assert audit.event_hash({**fields, name: other}, audit.GENESIS) != base, name
    assert audit.event_hash(fields, "1" * 64) != base
    # the same instant in another zone is the same event
    tokyo = fields["created_at"].astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert audit.event_hash({**fields, "created_at": tokyo}, audit.GENESIS) == base


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("comment", "改ざんされたコメント"),
        ("data", {"answer_kind": "information"}),
        ("actor_role", "admin"),
        ("to_state", "withdrawn"),
        ("created_at", dt.datetime(2020, 1, 1, tzinfo=dt.UTC)),
    ],
)
def test_an_edited_event_is_reported_at_that_event(make, session, fresh_chain, column, value):
    events = some_history(make)
    target = events[len(events) // 2]
    session.execute(update(HistoryEvent).where(HistoryEvent.id == target.id).values({column: value}))
    session.expire_all()
    verdict = audit.verify(session)
    assert not verdict.ok
    assert verdict.event_id == target.id
    assert verdict.found == target.hash and verdict.expected != target.hash
    assert "content changed" in verdict.problem
    assert verdict.describe().startswith(f"BROKEN at event {target.id}")


def _delete_event(session, event_id: int) -> None:
    session.execute(delete(Notification).where(Notification.history_event_id == event_id))
    session.execute(delete(HistoryEvent).where(HistoryEvent.id == event_id))
    session.expire_all()


def test_a_deleted_event_is_reported_at_the_event_after_it(make, session, fresh_chain):
    events = some_history(make)
    index = len(events) // 2
    gone, before, after = events[index], events[index - 1], events[index + 1]
    _delete_event(session, gone.id)
    verdict = audit.verify(session)
    assert not verdict.ok
    assert verdict.event_id == after.id
    assert (verdict.expected, verdict.found) == (before.hash, gone.hash)


def test_deleting_the_newest_events_is_reported_too(make, session, fresh_chain):
    events = some_history(make)
    _delete_event(session, events[-1].id)
    verdict = audit.verify(session)
    assert not verdict.ok and verdict.event_id == events[-1].id
    assert "newest events are missing" in verdict.problem


def test_an_event_written_around_the_chain_is_reported(make, session, fresh_chain):
    events = some_history(make)
    session.execute(  # as a script or a SQL console would: no ORM, so no chaining
        insert(HistoryEvent.__table__).values(
            service_request_id=events[0].service_request_id,
            actor_role="system",
            action="answer",
            comment="後から差し込んだ記録",
            data={},
            created_at=dt.datetime.now(dt.UTC),
        )
    )
    forged = session.scalar(select(func.max(HistoryEvent.id)))
    verdict = audit.verify(session)
    assert not verdict.ok and verdict.event_id == forged and verdict.problem == "hash missing"


def test_events_older_than_the_chain_are_counted_not_checked(make, session):
    make.request()
    session.execute(update(HistoryEvent).values(prev_hash=None, hash=None))
    session.execute(update(AuditChainHead).values(last_event_id=None, last_hash=None))
    legacy = session.scalar(select(func.count()).select_from(HistoryEvent))
    make.request()  # the first chained event follows the genesis hash
    verdict = audit.verify(session)
    assert verdict.ok and verdict.checked == 1 and verdict.unchained == legacy, verdict.describe()
    assert chained(session)[0].prev_hash == audit.GENESIS


def test_imported_events_are_chained_with_the_others(make, session, login_as, fresh_chain):
    liaison = make.liaison()
    make.request(liaison)
    client = login_as(liaison)
    batch = import_file(client, session, xlsx([row(件名=f"街灯 {n}") for n in range(5)]))
    assert batch.imported_count == 5
    make.request(liaison)
    events = chained(session)
    assert [e.action for e in events] == ["create"] * 7
    assert sum(1 for e in events if (e.data or {}).get("import_batch_id") == batch.id) == 5
    assert_links(events)
    assert audit.verify(session).ok


def test_flask_audit_verify_exit_codes(app, make, session, fresh_chain):
    events = some_history(make)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"OK {len(events)} events")

    target = events[1]
    session.execute(update(HistoryEvent).where(HistoryEvent.id == target.id).values(comment="書き換え"))
    session.expire_all()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at event {target.id}" in result.output
    assert f"found:    {target.hash}" in result.output


def test_the_daily_verify_job_fails_on_a_break(make, session, fresh_chain):
    events = some_history(make)
    from tracker.background import jobs

    row_ok = jobs.request_job(session, "verify_audit_chain")
    session.commit()  # runs inline after the commit
    session.expire_all()
    assert session.get(OutboxJob, row_ok.id).result["events"] == len(events)

    session.execute(update(HistoryEvent).where(HistoryEvent.id == events[0].id).values(comment="x"))
    broken = jobs.request_job(session, "verify_audit_chain")
    session.commit()
    session.expire_all()
    failed = session.get(OutboxJob, broken.id)
    assert failed.state.value == "failed" and f"BROKEN at event {events[0].id}" in failed.last_error


# --- appends from concurrent transactions ------------------------------------------------------

PER_THREAD = 6
CONCURRENT_DAY = dt.date(2004, 6, 2)  # a fiscal year no other test logs in (its numbers are committed)


def _write_in_thread(app, engine, user_id, category_id, barrier, errors):
    """Log and withdraw requests, each action committed on its own, in step with the other thread."""
    try:
        with app.app_context(), Session(engine) as session:
            actor = session.get(User, user_id)
            session.commit()  # no transaction stays open at the barrier (SQLite: BEGIN IMMEDIATE)
            for number in range(PER_THREAD):
                barrier.wait()
                request = intake.log_request(
                    session,
                    actor,
                    {
                        "title": f"同時記録 {user_id}-{number}",
                        "category_id": category_id,
                        "source": Source.PHONE,
                    },
                    photo_dir=app.config["PHOTO_DIR"],
                    photo_max_bytes=app.config["PHOTO_MAX_BYTES"],
                    photo_max_count=app.config["PHOTO_MAX_COUNT"],
                    answer_due_days=14,
                    today=CONCURRENT_DAY,
                )
                session.commit()
                barrier.wait()
                workflow.apply(
                    session, actor, request, "withdraw", {"comment": f"取下げ {number}"}, today=CONCURRENT_DAY
                )
                session.commit()
    except BaseException as error:
        errors.append(error)
        barrier.abort()


def test_events_committed_by_concurrent_transactions_form_one_chain(committing_app):
    """Two threads, each with its own session and connection, commit for real."""
    app = committing_app
    with app.app_context():
        engine = db.engine
    with Session(engine) as session:
        head = session.get(AuditChainHead, audit.HEAD_ID)
        head_before = (head.last_event_id, head.last_hash)
        category_id = session.scalars(select(Category.id).order_by(Category.id)).first()
        users = committed_liaisons(session, 2, "同時記録テスト")
        user_ids = [user.id for user in users]

    errors: list[BaseException] = []
    barrier = threading.Barrier(2, timeout=60)
    threads = [
        threading.Thread(target=_write_in_thread, args=(app, engine, uid, category_id, barrier, errors))
        for uid in user_ids
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    assert errors == []
    with app.app_context(), Session(engine) as session:
        after = head_before[0] or 0
        events = list(
            session.scalars(select(HistoryEvent).where(HistoryEvent.id > after).order_by(HistoryEvent.id))
        )
        assert len(events) == 2 * 2 * PER_THREAD
        assert {e.actor_id for e in events} == set(user_ids)
        assert_links(events, head_before[1] or audit.GENESIS)
        head = session.get(AuditChainHead, audit.HEAD_ID)
        assert (head.last_event_id, head.last_hash) == (events[-1].id, events[-1].hash)
        assert audit.verify(session).ok
