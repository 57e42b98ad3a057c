"""Logging a request from the device's offline queue: the client's id makes a send idempotent.

A request sent with a ``client_uuid`` is created once; the same send again (the queue did not
hear the answer) answers the request already stored and writes nothing; another user's send of
that id is refused. The queue asks for JSON; it takes a fresh CSRF token first. The service
worker is served from the root and keeps no page with personal data."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select

from tracker import PROJECT_ROOT
from tracker.effects import intake
from tracker.models import HistoryEvent, Photo, ServiceRequest
from tracker.workflow import WorkflowError

from .factories import TODAY, png_bytes

JSON = {"Accept": "application/json"}


def counts(session) -> tuple[int, int, int]:
    return tuple(
        session.execute(select(func.count(model.id))).scalar_one()
        for model in (ServiceRequest, Photo, HistoryEvent)
    )


def form(make, client_uuid: str, title: str = "側溝のふたが割れている", **extra) -> dict:
    return {
        "title": title,
        "category_id": make.category().id,
        "source": "counter",
        "received_on": TODAY.isoformat(),
        "client_uuid": client_uuid,
        "photos": [(io.BytesIO(png_bytes()), "cover.png")],
        **extra,
    }


def post(client, data, headers=None):
    return client.post("/requests/new", data=data, content_type="multipart/form-data", headers=headers or {})


def test_a_send_with_a_client_uuid_creates_one_request_and_its_replay_answers_the_same(
    make, login_as, session
):
    client = login_as(make.liaison())
    sent_id = str(uuid.uuid4())
    before = counts(session)
    first = post(client, form(make, sent_id))
    assert first.status_code == 302, re.findall(
        r'class="(?:flash|field-error)[^"]*">([^<]*)', first.get_data(as_text=True)
    )
    created = session.execute(select(ServiceRequest).filter_by(client_uuid=sent_id)).scalar_one()
    assert first.headers["Location"].endswith(f"/requests/{created.id}")
    after_first = counts(session)
    assert after_first == (before[0] + 1, before[1] + 1, before[2] + 1)

    again = post(client, form(make, sent_id))
    assert again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    assert counts(session) == after_first


def test_the_json_answer_says_whether_the_request_was_created_now(make, login_as, session):
    client = login_as(make.liaison())
    sent_id = str(uuid.uuid4())
    first = post(client, form(make, sent_id), JSON)
    assert first.status_code == 201
    answer = first.get_json()
    created = session.get(ServiceRequest, answer["id"])
    assert created.client_uuid == sent_id and len(created.photos) == 1
    assert answer == {
        "id": created.id,
        "reference": created.reference,
        "url": f"/requests/{created.id}",
        "created": True,
    }
    stored = counts(session)
    replay = post(client, form(make, sent_id), JSON)
    assert replay.status_code == 200
    assert replay.get_json() == {**answer, "created": False}
    assert counts(session) == stored


def test_a_queued_send_is_not_held_up_by_similar_requests(make, login_as, session):
    liaison = make.liaison()
    make.request(liaison, title="側溝のふたが割れている")
    client = login_as(liaison)
    normal = post(client, form(make, str(uuid.uuid4())))
    assert normal.status_code == 200  # the form comes back with the suggestions, nothing saved
    assert "似ている未回答の要望があります" in normal.get_data(as_text=True)
    queued = post(client, form(make, str(uuid.uuid4())), JSON)
    assert queued.status_code == 201 and queued.get_json()["created"] is True


def test_another_users_replay_of_an_id_is_refused_and_changes_nothing(make, login_as, session):
    sent_id = str(uuid.uuid4())
    assert post(login_as(make.liaison()), form(make, sent_id), JSON).status_code == 201
    stored = counts(session)
    other = login_as(make.liaison())
    refused = post(other, form(make, sent_id), JSON)
    assert refused.status_code == 422
    assert "別の職員が登録した要望と同じ識別番号です" in refused.get_json()["messages"][0]
    page = post(other, form(make, sent_id, title="別の人の入力"))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "別の職員が登録した要望と同じ識別番号です" in text and 'value="別の人の入力"' in text
    assert counts(session) == stored


def test_an_invalid_queued_send_answers_422_with_the_messages(make, login_as, session):
    client = login_as(make.liaison())
    stored = counts(session)
    answer = post(client, form(make, str(uuid.uuid4()), title=""), JSON)
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["messages"] == ["入力内容を確認してください。"]
    assert "title" in body["errors"]
    assert post(client, form(make, "not-a-uuid"), JSON).get_json()["messages"] == [
        "送信の識別番号が正しくありません。画面を開き直してから登録してください。"
    ]
    assert counts(session) == stored


def test_a_concurrent_send_that_stored_the_id_first_is_answered_from_a_savepoint(make, session):
    """The race: the lookup saw nothing, but another send flushed the id first."""
    liaison = make.liaison()
    sent_id = str(uuid.uuid4())
    first = make.request(liaison)
    first.client_uuid = sent_id
    session.commit()
    stored = counts(session)
    options = {
        "photo_dir": current_app.config["PHOTO_DIR"],
        "photo_max_bytes": current_app.config["PHOTO_MAX_BYTES"],
        "photo_max_count": current_app.config["PHOTO_MAX_COUNT"],
        "answer_due_days": 14,
        "today": TODAY,
    }
    fields = {"title": "同時に届いた送信", "category_id": make.category().id, "source": "counter"}
    with pytest.raises(intake.AlreadyStored) as raised:
        intake.log_request(session, liaison, fields, client_uuid=sent_id, **options)
    assert raised.value.existing.id == first.id
    assert counts(session) == stored  # the savepoint took the new rows back; the session goes on
    with pytest.raises(WorkflowError):
        intake.log_request(session, make.liaison(), fields, client_uuid=sent_id, **options)


def test_the_csrf_endpoint_answers_a_fresh_token_to_signed_in_users_only(make, login_as, client):
    assert client.get("/csrf-token").status_code == 302  # to the login page
    response = login_as(make.liaison()).get("/csrf-token")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    assert re.fullmatch(r"[\w.-]{20,}", response.get_json()["csrf_token"])


def test_the_service_worker_is_served_from_the_root_with_its_scope_allowed(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.mimetype == "text/javascript"
    assert "tracker-static-" in response.get_data(as_text=True)


def precache_list() -> list[str]:
    source = (Path(PROJECT_ROOT) / "static" / "js" / "sw.js").read_text(encoding="utf-8")
    block = re.search(r"var PRECACHE = \[(.*?)\];", source, re.S).group(1)
    names = dict(re.findall(r'var (\w+) = "([^"]+)";', source))
    return [
        name.strip('"') if name.startswith('"') else names[name] for name in re.findall(r'"[^"]+"|\w+', block)
    ]


def test_the_precache_list_holds_static_files_and_the_offline_page_only(make, login_as):
    listed = precache_list()
    assert "/offline" in listed and "/static/js/offline.js" in listed
    assert all(url.startswith("/static/") or url == "/offline" for url in listed), listed
    for url in listed:
        if url.startswith("/static/"):
            assert (Path(PROJECT_ROOT) / url.lstrip("/")).is_file(), url
    make.request(requester_name="熊本 花子", requester_contact="096-111-2222")
    liaison = make.liaison()
    offline = login_as(liaison).get("/offline").get_data(as_text=True)
    assert "接続がありません" in offline
    for personal in ("熊本 花子", "096-111-2222", liaison.display_name, liaison.login):
        assert personal not in offline


def test_the_empty_form_the_worker_keeps_shows_no_residents_data(make, login_as):
    make.request(requester_name="熊本 花子", requester_contact="096-111-2222", title="公園の遊具が壊れている")
    page = login_as(make.liaison()).get("/requests/new").get_data(as_text=True)
    for personal in ("熊本 花子", "096-111-2222", "公園の遊具が壊れている"):
        assert personal not in page
    assert 'name="client_uuid" value=""' in page  # each device fills in its own id
    assert 'accept="image/*"' in page and 'capture="environment"' in page
