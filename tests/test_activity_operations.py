"""The field work operations: logging, editing and linking activities, with their history."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from tracker.fieldwork import operations
from tracker.fieldwork.operations import ActivityError
from tracker.models import HistoryEvent

from .factories import TODAY


def events_of(session, **subject) -> list[HistoryEvent]:
    return list(session.scalars(select(HistoryEvent).filter_by(**subject).order_by(HistoryEvent.id)))


def test_logging_an_activity_records_its_values_in_a_create_event(make, session):
    liaison = make.liaison()
    activity = make.activity(liaison, attendees=12)
    assert (activity.fiscal_year, activity.center_id, activity.ward_id) == (
        2024,
        liaison.center_id,
        liaison.ward_id,
    )
    assert [user.id for user in activity.liaisons] == [liaison.id]
    [event] = events_of(session, activity_id=activity.id)
    assert event.action == "create" and event.actor_id == liaison.id
    assert event.data["values"]["attendees"] == 12 and event.data["values"]["held_on"] == "2024-06-03"


def test_a_liaison_cannot_log_an_activity_of_another_center(make, session):
    liaison = make.liaison()
    other_center = make.ward("東区").centers[0]
    before = session.scalar(select(func.count()).select_from(HistoryEvent))
    with pytest.raises(ActivityError) as refused:
        make.activity(liaison, center_id=other_center.id)
    assert refused.value.field == "center_id"
    assert session.scalar(select(func.count()).select_from(HistoryEvent)) == before


def test_an_edit_keeps_the_old_and_new_value_of_each_changed_field(make, session):
    liaison = make.liaison()
    activity = make.activity(liaison)
    fields = {
        "held_on": TODAY - dt.timedelta(days=1),
        "kind_id": activity.kind_id,
        "organisation_text": activity.organisation_text,
        "place": "大江小学校",
        "attendees": activity.attendees,
        "summary": activity.summary,
        "center_id": activity.center_id,
        "liaison_ids": [liaison.id],
    }
    operations.edit_activity(session, liaison, activity, fields, today=TODAY)
    event = events_of(session, activity_id=activity.id)[-1]
    assert event.action == "edit"
    assert {change["field"]: (change["old"], change["new"]) for change in event.data["changes"]} == {
        "held_on": ("2024-06-03", "2024-06-02"),
        "place": ("大江公民館", "大江小学校"),
    }
    with pytest.raises(ActivityError, match="変更された項目がありません"):
        operations.edit_activity(session, liaison, activity, fields, today=TODAY)


def test_linking_a_request_shows_on_both_sides_and_in_both_histories(make, session):
    liaison = make.liaison()
    activity = make.activity(liaison)
    request = make.request(liaison)
    operations.link_request(session, liaison, activity, request)
    session.commit()
    session.expire_all()
    assert request.activity_id == activity.id and [r.id for r in activity.requests] == [request.id]
    assert events_of(session, activity_id=activity.id)[-1].action == "link_request"
    assert events_of(session, service_request_id=request.id)[-1].action == "link_activity"
    operations.unlink_request(session, liaison, activity, request)
    session.commit()
    session.expire_all()
    assert request.activity_id is None and activity.requests == []


def test_a_request_of_another_ward_cannot_be_linked(make, session):
    activity = make.activity()
    other = make.request(ward="東区")
    with pytest.raises(ActivityError, match="同じ区の要望"):
        operations.link_request(session, make.manager(), activity, other)
