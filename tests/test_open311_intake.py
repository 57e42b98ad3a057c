"""The intake queue (未振り分け): who sees which waiting Open311 request, who may give it a center,
and that once given it is a request like any other (the center's liaison queue, the ward's triage)."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import select

from tracker.effects.support import WorkflowError
from tracker.models import HistoryEvent
from tracker.open311 import submissions
from tracker.open311_models import Open311Submission
from tracker.states import RequestState, Role, Source

from .factories import png_bytes
from .route_world import snapshot
from .test_open311_write import good


@pytest.fixture
def queued(client, session, make):
    """``queued(address)``: a submission POSTed through a city-wide key that named no known town."""
    _key, plain = make.api_key("市民アプリ")

    def arrive(address: str, **extra) -> Open311Submission:
        data = good(session, address_string=address, **extra)
        response = client.post("/open311/v2/requests.json", data={"api_key": plain, **data})
        assert response.status_code == 201, response.get_data(as_text=True)
        token = response.get_json()[0]["token"]
        submission = session.scalars(select(Open311Submission).filter_by(token=token)).one()
        assert submission.service_request_id is None
        return submission

    return arrive


def test_each_manager_sees_their_wards_and_the_wardless_ones_admin_sees_all(session, make, queued):
    chuo, higashi, nowhere = queued("熊本市中央区どこか"), queued("熊本市東区どこか"), queued("どこか")
    ids = {"chuo": chuo.id, "higashi": higashi.id, "nowhere": nowhere.id}

    def seen(user):
        return {
            name
            for name, row_id in ids.items()
            if row_id in {s.id for s in submissions.queue_for(session, user)}
        }

    assert seen(make.manager("中央区")) == {"chuo", "nowhere"}
    assert seen(make.manager("東区")) == {"higashi", "nowhere"}
    assert seen(make.admin()) == {"chuo", "higashi", "nowhere"}
    assert seen(make.liaison("中央区")) == set()
    assert seen(make.staff()) == set()


def test_the_queue_page_lists_what_the_manager_may_assign_without_personal_data(
    client, session, make, queued, login_as
):
    mine, other = queued("熊本市中央区どこか"), queued("熊本市東区どこか")
    manager = make.manager("中央区")
    page = login_as(manager).get("/intake/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"/intake/{mine.id}/assign" in html and f"/intake/{other.id}/assign" not in html
    assert "市民アプリ" in html and "熊本市中央区どこか" in html and "このセンターに振り分ける" in html
    for personal in ("熊本 太郎", "taro@example.jp", "096-111-2222", "device-123", "account-456"):
        assert personal not in html
    # the centers offered: the manager's own ward's only
    offered = set(re.findall(r'<option[^>]*value="(\d+)"', html))
    own = {str(center.id) for center in submissions.assignable_centers(session, manager)}
    assert offered == own and own
    assert str(make.ward("東区").centers[0].id) not in offered


def test_the_queue_page_runs_the_same_queries_for_one_row_as_for_five(
    client, session, make, queued, login_as, count_queries
):
    manager = make.manager("中央区")
    logged_in = login_as(manager)

    def queries_of_the_page() -> int:
        count_queries.clear()
        assert logged_in.get("/intake/").status_code == 200
        return len(count_queries)

    queued("熊本市中央区どこか")
    one = queries_of_the_page()
    for number in range(4):
        queued(f"熊本市中央区どこか{number}")
    assert queries_of_the_page() == one


def test_assigning_makes_the_request_in_received_with_its_photo_and_events(app, session, make, queued):
    submission = queued("熊本市中央区どこか", media=(io.BytesIO(png_bytes()), "a.png"))
    manager, center = make.manager("中央区"), make.second_center()
    request = submissions.assign_center(session, manager, submission, center.id, answer_due_days=14)
    session.commit()
    assert (request.center_id, request.ward_id) == (center.id, center.ward_id)
    assert (request.state, request.source, request.logged_by_id) == (RequestState.RECEIVED, Source.APP, None)
    assert request.received_on == submission.received_on
    assert request.answer_due_on == submission.received_on + dt.timedelta(days=14)
    assert request.requester_name == "熊本 太郎"  # stored (and masked) like any request's
    [photo] = request.photos
    assert photo.stored_name == submission.media["stored_name"] and photo.uploaded_by_id is None
    assert submission.service_request_id == request.id
    assert submission.assigned_by_id == manager.id and submission.assigned_at is not None
    events = session.scalars(
        select(HistoryEvent).where(HistoryEvent.service_request_id == request.id).order_by(HistoryEvent.id)
    ).all()
    assert [(e.action, e.actor_id, e.actor_role) for e in events] == [
        ("create", None, "system"),
        ("assign_intake", manager.id, Role.WARD_MANAGER.value),
    ]
    assert events[0].data["api_key"] == "市民アプリ" and events[0].data["token"] == submission.token
    assert events[1].data["center"] == center.name


def test_a_wardless_one_assigned_by_the_admin_takes_the_centers_ward(session, make, queued):
    submission = queued("どこか")
    center = make.ward("東区").centers[0]
    request = submissions.assign_center(session, make.admin(), submission, center.id, answer_due_days=14)
    assert submission.ward_id == center.ward_id == request.ward_id


def test_assigned_from_the_page_it_is_in_the_liaisons_queue_and_the_managers_triage(
    client, session, make, queued, login_as
):
    submission = queued("熊本市中央区どこか")
    manager = make.manager("中央区")
    center = make.center()
    response = login_as(manager).post(
        f"/intake/{submission.id}/assign", data={f"s{submission.id}-center_id": center.id}
    )
    assert response.status_code == 302
    session.refresh(submission)
    reference = submission.service_request.reference
    assert "振り分けました" in client.get("/intake/").get_data(as_text=True)
    assert reference in login_as(manager).get("/ward/").get_data(as_text=True)
    liaison = login_as(make.liaison("中央区"))
    assert reference in liaison.get("/field/").get_data(as_text=True)
    detail = liaison.get(f"/requests/{submission.service_request_id}")
    assert detail.status_code == 200 and reference in detail.get_data(as_text=True)
    token = client.get(f"/open311/v2/tokens/{submission.token}.json").get_json()
    assert token == [{"service_request_id": reference, "token": submission.token}]


def test_the_triage_and_liaison_exports_carry_a_request_logged_by_no_one(
    client, session, make, queued, login_as
):
    submission = queued("熊本市中央区どこか")
    manager = make.manager("中央区")
    request = submissions.assign_center(session, manager, submission, make.center().id, answer_due_days=14)
    session.commit()
    for user, url in ((manager, "/ward/?format=csv"), (make.liaison("中央区"), "/field/?format=csv")):
        response = login_as(user).get(url)
        assert response.status_code == 200
        assert request.reference in response.data.decode("utf-8-sig")


def test_another_wards_manager_is_refused_with_a_message_and_nothing_changes(
    client, session, make, queued, login_as
):
    submission = queued("熊本市中央区どこか")
    other = make.manager("東区")
    before = snapshot()
    response = login_as(other).post(
        f"/intake/{submission.id}/assign", data={f"s{submission.id}-center_id": other.ward.centers[0].id}
    )
    assert response.status_code == 403
    assert "振り分ける権限がありません" in response.get_data(as_text=True)
    assert snapshot() == before


def test_a_center_of_another_ward_is_refused_on_the_page_and_nothing_changes(
    client, session, make, queued, login_as
):
    submission = queued("どこか")
    manager = make.manager("中央区")
    before = snapshot()
    response = login_as(manager).post(
        f"/intake/{submission.id}/assign",
        data={f"s{submission.id}-center_id": make.ward("東区").centers[0].id},
        follow_redirects=True,
    )
    assert "振り分け先のまちづくりセンターを選んでください" in response.get_data(as_text=True)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("who", "center", "message"),
    [
        ("liaison", "own", "振り分ける権限がありません"),
        ("staff", "own", "振り分ける権限がありません"),
        ("other_manager", "other", "振り分ける権限がありません"),
        ("manager", "other", "他の区のまちづくりセンター"),
        ("manager", "inactive", "まちづくりセンターを選んでください"),
        ("manager", "none", "まちづくりセンターを選んでください"),
    ],
)
def test_the_service_refuses_in_japanese_and_changes_nothing(session, make, queued, who, center, message):
    submission = queued("熊本市中央区どこか")
    actor = {
        "liaison": lambda: make.liaison("中央区"),
        "staff": make.staff,
        "other_manager": lambda: make.manager("東区"),
        "manager": lambda: make.manager("中央区"),
    }[who]()
    inactive = make.second_center(name="閉所したセンター")
    inactive.active = False
    session.commit()
    center_id = {
        "own": make.center().id,
        "other": make.ward("東区").centers[0].id,
        "inactive": inactive.id,
        "none": None,
    }[center]
    before = snapshot()
    with pytest.raises(WorkflowError, match=message):
        submissions.assign_center(session, actor, submission, center_id, answer_due_days=14)
    session.rollback()
    assert snapshot() == before


def test_an_assigned_submission_cannot_be_assigned_again(session, make, queued):
    submission = queued("熊本市中央区どこか")
    manager = make.manager("中央区")
    submissions.assign_center(session, manager, submission, make.center().id, answer_due_days=14)
    session.commit()
    admin, other_center = make.admin(), make.second_center()
    before = snapshot()
    with pytest.raises(WorkflowError, match="すでに振り分けられています"):
        submissions.assign_center(session, admin, submission, other_center.id, answer_due_days=14)
    session.rollback()
    assert snapshot() == before
    assert submission.id not in {s.id for s in submissions.queue_for(session, make.admin())}
