"""The wards' answer templates (定型文): kept by the ward's managers (the admin: any ward's), each
change in the admin change log with old and new values, offered on the answer form of the ward's
requests (active ones only, in order)."""

from __future__ import annotations

import re

from sqlalchemy import select

from tracker.city import answer_templates
from tracker.city.demo_answer_templates import TEMPLATES, load_demo_answer_templates
from tracker.extensions import db
from tracker.models import HistoryEvent, Ward
from tracker.safeguards.admin_log import ACTION
from tracker.teamwork_models import AnswerTemplate

from .route_world import changed_tables, snapshot


def _template(make, manager, title="道路補修の依頼を受け付けました", body="補修を依頼しました。"):
    template = answer_templates.add_template(
        db.session, manager, db.session.get(Ward, manager.ward_id), {"title": title, "body": body}
    )
    db.session.commit()
    return template


def _titles(ward_id: int) -> list[str]:
    return [t.title for t in answer_templates.templates_of(db.session, ward_id)]


def _changes_of(template_id: int) -> list[dict]:
    """Every change the admin change log recorded for the template, oldest first."""
    events = db.session.scalars(
        select(HistoryEvent).where(HistoryEvent.action == ACTION).order_by(HistoryEvent.id)
    )
    return [
        change
        for event in events
        for change in event.data["changes"]
        if change["table"] == "answer_templates" and change["id"] == template_id
    ]


def test_a_manager_adds_edits_reorders_and_deactivates_each_change_recorded(make, login_as):
    manager = make.manager()
    client = login_as(manager)

    response = client.post(
        "/answer-templates/new", data={"title": "所管課へ伝えました", "body": "伝えました。"}
    )
    assert response.status_code == 302
    response = client.post(
        "/answer-templates/new", data={"title": "現地を確認しました", "body": "確認しました。"}
    )
    assert response.status_code == 302
    first, second = answer_templates.templates_of(db.session, manager.ward_id)
    assert (first.title, second.title) == ("所管課へ伝えました", "現地を確認しました")
    assert first.created_by_id == manager.id and first.active
    assert _changes_of(first.id)[0]["new"] is True
    assert _changes_of(first.id)[0]["fields"]["title"] == [None, "所管課へ伝えました"]

    page = client.get("/answer-templates/").get_data(as_text=True)
    assert "所管課へ伝えました" in page and "現地を確認しました" in page

    response = client.post(
        f"/answer-templates/{first.id}/edit",
        data={"title": "所管課へ伝えました", "body": "道路整備課へ伝えました。"},
    )
    assert response.status_code == 302
    db.session.refresh(first)
    assert first.body == "道路整備課へ伝えました。"
    assert _changes_of(first.id)[-1]["fields"] == {"body": ["伝えました。", "道路整備課へ伝えました。"]}

    response = client.post(f"/answer-templates/{second.id}/move", data={"direction": "up"})
    assert response.status_code == 302
    assert _titles(manager.ward_id) == ["現地を確認しました", "所管課へ伝えました"]
    moved = _changes_of(second.id)[-1]["fields"]["position"]
    assert moved[1] == 1 and moved[0] != 1

    response = client.post(f"/answer-templates/{first.id}/active", data={"active": "0"})
    assert response.status_code == 302
    db.session.refresh(first)
    assert first.active is False
    assert _changes_of(first.id)[-1]["fields"] == {"active": [True, False]}
    assert db.session.get(AnswerTemplate, first.id) is not None  # kept, never deleted

    response = client.post(f"/answer-templates/{first.id}/active", data={"active": "1"})
    db.session.refresh(first)
    assert first.active is True
    assert _changes_of(first.id)[-1]["fields"] == {"active": [False, True]}


def test_moving_the_first_one_up_is_refused_and_changes_nothing(make, login_as):
    manager = make.manager()
    template = _template(make, manager)
    _template(make, manager, title="所管課へ伝えました")
    client = login_as(manager)
    before = snapshot()
    response = client.post(
        f"/answer-templates/{template.id}/move", data={"direction": "up"}, follow_redirects=True
    )
    assert "既に先頭です。" in response.get_data(as_text=True)
    assert not changed_tables(before, snapshot())


def test_another_wards_manager_can_neither_see_nor_change_them(make, login_as):
    template = _template(make, make.manager("中央区"))
    other = make.manager("東区")
    client = login_as(other)

    page = client.get("/answer-templates/").get_data(as_text=True)
    assert "東区" in page and template.title not in page
    page = client.get(f"/answer-templates/?ward={template.ward_id}").get_data(as_text=True)
    assert template.title not in page  # a manager always sees their own ward's list

    before = snapshot()
    assert client.get(f"/answer-templates/{template.id}/edit").status_code == 403
    posts = {
        f"/answer-templates/{template.id}/edit": {"title": "書き換え", "body": "書き換え"},
        f"/answer-templates/{template.id}/move": {"direction": "down"},
        f"/answer-templates/{template.id}/active": {"active": "0"},
    }
    for url, data in posts.items():
        response = client.post(url, data=data)
        assert response.status_code == 403, url
        assert "編集できません" in response.get_data(as_text=True)
    assert not changed_tables(before, snapshot())
    assert client.get("/answer-templates/999999/edit").status_code == 404


def test_the_admin_keeps_any_wards_templates(make, login_as):
    template = _template(make, make.manager("東区"))
    client = login_as(make.admin())
    page = client.get(f"/answer-templates/?ward={template.ward_id}").get_data(as_text=True)
    assert template.title in page
    response = client.post(
        "/answer-templates/new",
        data={"ward_id": str(template.ward_id), "title": "防犯灯の設置基準", "body": "基準です。"},
    )
    assert response.status_code == 302
    assert _titles(template.ward_id) == [template.title, "防犯灯の設置基準"]
    log = client.get("/audit/changes").get_data(as_text=True)
    assert "定型文" in log and "防犯灯の設置基準" in log  # the admin change log shows the change
    before = snapshot()
    response = client.post("/answer-templates/new", data={"ward_id": "x", "title": "区なし", "body": "本文"})
    assert response.status_code == 422
    assert "区を選んでください。" in response.get_data(as_text=True)
    assert not changed_tables(before, snapshot())


def test_a_liaison_sees_the_wards_active_templates_on_the_answer_form_but_cannot_edit_them(make, login_as):
    manager = make.manager()
    kept = _template(make, manager, title="所管課へ伝えました", body="所管課へお伝えしました。")
    retired = _template(make, manager, title="古い文例", body="もう使わない文")
    answer_templates.set_active(db.session, manager, retired, False)
    other_ward = _template(make, make.manager("東区"), title="東区の文例", body="東区の本文")
    db.session.commit()
    liaison = make.liaison()
    found = make.request(liaison)
    client = login_as(liaison)

    page = client.get(f"/requests/{found.id}").get_data(as_text=True)
    offer = page[page.index('class="answer-templates"') :]
    assert 'data-target="answer-answer_text"' in offer
    assert "所管課へお伝えしました。" in offer
    assert retired.body not in page and other_ward.body not in page
    assert "/answer-templates/" not in page  # no link to the keeper's page for a liaison

    assert client.get("/answer-templates/").status_code == 403
    before = snapshot()
    response = client.post(f"/answer-templates/{kept.id}/edit", data={"title": "変更", "body": "変更"})
    assert response.status_code == 403
    assert client.post("/answer-templates/new", data={"title": "新規", "body": "新規"}).status_code == 403
    assert not changed_tables(before, snapshot())


def test_the_answer_form_offers_the_templates_in_the_wards_order_and_a_manager_a_link(make, login_as):
    manager = make.manager()
    first = _template(make, manager, title="一番目", body="一番目の本文")
    second = _template(make, manager, title="二番目", body="二番目の本文")
    answer_templates.move_template(db.session, manager, second, "up")
    db.session.commit()
    found = make.request()
    page = login_as(manager).get(f"/requests/{found.id}").get_data(as_text=True)
    assert page.index(second.body) < page.index(first.body)
    assert f"/answer-templates/?ward={found.ward_id}" in page


def test_no_templates_are_offered_where_the_request_cannot_be_answered(make, login_as):
    manager = make.manager()
    _template(make, manager, body="回答済みには出ない本文")
    found = make.request()
    make.act(
        manager,
        found,
        "answer",
        {"answer_kind": "resolved", "answer_text": "済", "answered_on": found.received_on},
    )
    page = login_as(manager).get(f"/requests/{found.id}").get_data(as_text=True)
    assert "回答済みには出ない本文" not in page


def test_invalid_input_is_422_with_the_message_beside_the_field_and_the_text_kept(make, login_as):
    manager = make.manager()
    client = login_as(manager)
    before = snapshot()

    response = client.post("/answer-templates/new", data={"title": "", "body": "本文は入力した"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    title_field = re.search(r'<div class="field[^"]*has-error">\s*<label for="title">.*?</div>', page, re.S)
    assert title_field and "入力してください。" in title_field.group(0)
    assert "本文は入力した" in page

    long_title = "長" * 81
    response = client.post("/answer-templates/new", data={"title": long_title, "body": "本文"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    title_field = re.search(r'<div class="field[^"]*has-error">\s*<label for="title">.*?</div>', page, re.S)
    assert title_field and "80文字以内" in title_field.group(0)
    assert f'value="{long_title}"' in page
    assert not changed_tables(before, snapshot())

    template = _template(make, manager)
    before = snapshot()
    response = client.post(
        f"/answer-templates/{template.id}/edit", data={"title": template.title, "body": ""}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    body_field = re.search(r'<div class="field[^"]*has-error">\s*<label for="body">.*?</div>', page, re.S)
    assert body_field and "入力してください。" in body_field.group(0)
    assert f'value="{template.title}"' in page
    assert not changed_tables(before, snapshot())


def test_the_service_refuses_what_the_form_would_let_through(make):
    manager = make.manager()
    ward = db.session.get(Ward, manager.ward_id)
    for fields, field in (
        ({"title": "  ", "body": "x"}, "title"),
        ({"title": "t", "body": "x" * 5001}, "body"),
    ):
        try:
            answer_templates.add_template(db.session, manager, ward, fields)
        except answer_templates.TemplateError as error:
            assert error.field == field
        else:
            raise AssertionError(f"{fields} was accepted")
    assert _titles(ward.id) == []


def test_demo_templates_are_loaded_once_into_every_ward(make):
    manager = make.manager("中央区")
    make.admin()  # adds them where a ward has no manager
    added = load_demo_answer_templates(db.session)
    db.session.commit()
    wards = db.session.scalars(select(Ward)).all()
    assert added == len(wards) * len(TEMPLATES)
    for ward in wards:
        assert _titles(ward.id) == [title for title, _body in TEMPLATES]
    assert {t.created_by_id for t in answer_templates.templates_of(db.session, manager.ward_id)} == {
        manager.id
    }
    assert load_demo_answer_templates(db.session) == 0


def test_the_keepers_list_takes_a_fixed_number_of_queries(make, login_as, count_queries):
    manager = make.manager()
    for number in range(5):
        _template(make, manager, title=f"文例{number}")
    client = login_as(manager)
    client.get("/answer-templates/")
    count_queries.clear()
    client.get("/answer-templates/")
    few = [q for q in count_queries if q.startswith("SELECT")]
    for number in range(5, 15):
        _template(make, manager, title=f"文例{number}")
    count_queries.clear()
    client.get("/answer-templates/")
    many = [q for q in count_queries if q.startswith("SELECT")]
    assert len(many) == len(few) and any("answer_templates" in q for q in many)


def test_an_english_reader_reads_the_page_and_its_refusals_in_english(make, login_as):
    manager = make.manager()
    manager.locale = "en"
    db.session.commit()
    template = _template(make, manager)
    client = login_as(manager)
    page = client.get("/answer-templates/").get_data(as_text=True)
    assert "Add an answer template" in page and "定型文を追加" not in page
    response = client.post(
        f"/answer-templates/{template.id}/move", data={"direction": "up"}, follow_redirects=True
    )
    assert "It is already first." in response.get_data(as_text=True)
