"""Handing a request logged in the wrong ward over to the right one (他区へ引継ぎ).

The state machine's allowed and refused rows are in tests/test_workflow_requests.py; here: the
pages (the form, the target ward's triage, the acceptance), who sees the request and its
personal data at each step, the history, and who hears of it.
"""

from __future__ import annotations

from sqlalchemy import select

from tracker import workflow
from tracker.extensions import db
from tracker.finding import queries
from tracker.ops_models import Notification, PersonalDataAccess
from tracker.safeguards import access, personal_data
from tracker.states import RequestState

from .factories import TODAY
from .test_exports import csv_rows

# The (subject, action) notification rules this module checks (see tests/test_notifications.py).
NOTIFIED = {("request", "hand_over"), ("request", "accept_handover"), ("request", "decline_handover")}


def offered(make, session):
    """A request logged in 中央区, offered to 東区; and the people of both wards."""
    people = {
        "liaison": make.liaison(),
        "manager": make.manager(),
        "east_liaison": make.liaison("東区"),
        "east_manager": make.manager("東区"),
        "west_manager": make.manager("西区"),
    }
    request = make.request(people["liaison"])
    offer = {"handover_ward": make.ward("東区").id, "comment": "所在地が東区のため"}
    workflow.apply(session, people["manager"], request, "hand_over", offer, today=TODAY)
    session.commit()
    return request, people


def post(client, url: str, prefix: str, subject, **fields):
    data = {f"{prefix}-{key}": value for key, value in fields.items()}
    data[f"{prefix}-version"] = str(subject.version)
    return client.post(url, data=data)


def visible_to(session, user, request) -> bool:
    listed = session.scalars(queries.requests_for(user)).unique().all()
    assert (request in listed) == access.can_view_request(user, request)
    return request in listed


def test_offered_then_accepted_through_the_pages(make, session, login_as):
    liaison, manager = make.liaison(), make.manager()
    east_liaison, east_manager = make.liaison("東区"), make.manager("東区")
    request = make.request(liaison)
    east, east_center = make.ward("東区"), make.ward("東区").centers[0]

    client = login_as(manager)
    page = client.get(f"/requests/{request.id}").get_data(as_text=True)
    assert 'id="form-hand_over"' in page
    response = post(client, f"/requests/{request.id}/hand-over", "hand_over", request,
                    handover_ward_id=east.id, comment="所在地が東区のため")  # fmt: skip
    assert response.status_code == 302
    session.refresh(request)
    assert (request.state, request.handover_ward_id) == (RequestState.HANDING_OVER, east.id)

    # the target ward sees it: its triage lists it, its liaisons may read it but not act on it
    client = login_as(east_manager)
    triage = client.get("/ward/").get_data(as_text=True)
    assert "他区からの引継ぎ依頼" in triage and request.reference in triage
    page = client.get(f"/requests/{request.id}").get_data(as_text=True)
    assert 'id="form-accept_handover"' in page and 'id="form-decline_handover"' in page
    assert east_center.name in page
    reader = login_as(east_liaison).get(f"/requests/{request.id}").get_data(as_text=True)
    assert "あなたが今できる操作はありません。" in reader
    assert visible_to(session, east_liaison, request) and visible_to(session, liaison, request)

    client = login_as(east_manager)
    response = post(client, f"/requests/{request.id}/hand-over/accept", "accept_handover", request,
                    center_id=east_center.id)  # fmt: skip
    assert response.status_code == 302
    db.session.expire_all()
    request = session.get(type(request), request.id)
    assert (request.state, request.ward_id, request.center_id) == (
        RequestState.RECEIVED,
        east.id,
        east_center.id,
    )
    assert request.handover_ward_id is None and request.reference.startswith("CHUO-")
    assert request.logged_by_id == liaison.id
    accept = request.events[-1]
    assert (accept.action, accept.from_state, accept.to_state, accept.actor_id) == (
        "accept_handover", "handing_over", "received", east_manager.id,
    )  # fmt: skip
    assert accept.data == {
        "from_ward": "中央区",
        "to_ward": "東区",
        "from_center": "中央区まちづくりセンター",
        "to_center": east_center.name,
    }
    timeline = login_as(east_manager).get(f"/requests/{request.id}").get_data(as_text=True)
    assert (
        "区: 中央区 → 東区" in timeline
        and f"センター: 中央区まちづくりセンター → {east_center.name}" in timeline
    )

    # now the new ward's, and no longer the old ward's
    assert visible_to(session, east_liaison, request)
    assert not visible_to(session, liaison, request)
    assert login_as(liaison).get(f"/requests/{request.id}").status_code == 403
    assert request in session.scalars(queries.triage_requests(east_manager)).all()


def test_declined_goes_back_to_the_sending_ward(make, session, login_as):
    request, people = offered(make, session)
    response = post(login_as(people["east_manager"]), f"/requests/{request.id}/hand-over/decline",
                    "decline_handover", request, comment="東区の所管ではない")  # fmt: skip
    assert response.status_code == 302
    session.refresh(request)
    assert (request.state, request.handover_ward_id, request.ward.name) == (
        RequestState.RECEIVED,
        None,
        "中央区",
    )
    assert request.events[-1].data == {"from_ward": "中央区", "declined_by": "東区"}
    assert request.events[-1].comment == "東区の所管ではない"
    assert not visible_to(session, people["east_liaison"], request)
    assert visible_to(session, people["liaison"], request)


def test_the_sending_ward_may_take_its_offer_back(make, session, login_as):
    request, people = offered(make, session)
    response = post(login_as(people["manager"]), f"/requests/{request.id}/hand-over/cancel",
                    "cancel_handover", request, comment="誤って依頼した")  # fmt: skip
    assert response.status_code == 302
    session.refresh(request)
    assert (request.state, request.handover_ward_id) == (RequestState.RECEIVED, None)


def test_other_wards_are_refused(make, session, login_as):
    request, people = offered(make, session)
    east_center = make.ward("東区").centers[0]
    for who in ("west_manager", "manager"):
        response = post(login_as(people[who]), f"/requests/{request.id}/hand-over/accept", "accept_handover",
                        request, center_id=east_center.id)  # fmt: skip
        assert response.status_code == 403, who
    response = post(login_as(people["east_liaison"]), f"/requests/{request.id}/hand-over/decline",
                    "decline_handover", request, comment="x")  # fmt: skip
    assert response.status_code == 403
    response = post(login_as(people["east_manager"]), f"/requests/{request.id}/hand-over/cancel",
                    "cancel_handover", request, comment="x")  # fmt: skip
    assert response.status_code == 403
    assert not visible_to(session, people["west_manager"], request)
    session.refresh(request)
    assert request.state == RequestState.HANDING_OVER and request.events[-1].action == "hand_over"


def test_a_request_is_not_handed_to_its_own_ward_nor_accepted_into_another_wards_center(
    make, session, login_as
):
    manager = make.manager()
    request = make.request(make.liaison())
    response = post(login_as(manager), f"/requests/{request.id}/hand-over", "hand_over", request,
                    handover_ward_id=request.ward_id, comment="所管違い")  # fmt: skip
    assert response.status_code == 422
    session.refresh(request)
    assert request.state == RequestState.RECEIVED

    request, people = offered(make, session)
    response = post(login_as(people["east_manager"]), f"/requests/{request.id}/hand-over/accept",
                    "accept_handover", request, center_id=request.center_id)  # fmt: skip
    assert response.status_code == 422
    session.refresh(request)
    assert request.state == RequestState.HANDING_OVER and request.ward.name == "中央区"


def test_the_receiving_wards_staff_may_see_the_personal_data(make, session):
    request, people = offered(make, session)
    assert personal_data.may_reveal(people["east_manager"], request)
    assert personal_data.may_reveal(people["east_liaison"], request)
    assert not personal_data.may_reveal(people["west_manager"], request)
    workflow.apply(
        session, people["east_manager"], request, "decline_handover", {"comment": "所管外"}, today=TODAY
    )
    assert not personal_data.may_reveal(people["east_manager"], request)


# --- who hears of it -----------------------------------------------------------------------------


def notified(session, event) -> list[int]:
    session.expire_all()
    return sorted(session.scalars(select(Notification.user_id).filter_by(history_event_id=event.id)))


def test_the_target_wards_managers_hear_of_an_offer(make, session):
    other_east = make.manager("東区")
    request, people = offered(make, session)
    event = request.events[-1]
    assert notified(session, event) == sorted([people["east_manager"].id, other_east.id])
    notice = session.scalars(select(Notification).filter_by(history_event_id=event.id)).first()
    assert request.requester_name not in notice.title + notice.body
    assert request.requester_contact not in notice.body


def test_whoever_logged_it_hears_of_the_answer(make, session):
    for action, payload in (
        ("accept_handover", lambda: {"center": make.ward("東区").centers[0].id}),
        ("decline_handover", lambda: {"comment": "所管外"}),
    ):
        request, people = offered(make, session)
        event = workflow.apply(session, people["east_manager"], request, action, payload(), today=TODAY)
        session.commit()
        assert notified(session, event) == [people["liaison"].id], action


def test_an_export_by_the_receiving_ward_records_the_personal_data_it_carries(make, session, login_as):
    request, people = offered(make, session)
    rows = csv_rows(login_as(people["east_manager"]).get("/requests/?format=csv&personal=1"))
    assert [row[-2:] for row in rows[1:]] == [[request.requester_name, request.requester_contact]]
    recorded = session.scalars(select(PersonalDataAccess)).all()
    assert [(a.user_id, a.request_id, a.action) for a in recorded] == [
        (people["east_manager"].id, request.id, "export")
    ]
