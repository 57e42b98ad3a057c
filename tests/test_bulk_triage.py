"""Triage at speed: a request's priority (緊急度) and person in charge (担当者) as workflow
actions, the bulk actions of the triage and the request list (all or nothing), and the
priority's filter and sort in the list (keyset pages)."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from tracker import workflow
from tracker.city import answer_templates
from tracker.effects import bulk
from tracker.effects.history import event_details
from tracker.formatting import date_label
from tracker.models import HistoryEvent, ServiceRequest, WardIssue
from tracker.states import IssueState, Priority, RequestState
from tracker.workflow import WorkflowError

from .factories import TODAY
from .test_lists import NEXT, bulk_requests, flat, refs, selects, walk


def _events(session, request: ServiceRequest, action: str) -> list[HistoryEvent]:
    return list(
        session.scalars(
            select(HistoryEvent).where(
                HistoryEvent.service_request_id == request.id, HistoryEvent.action == action
            )
        )
    )


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _ids(rows) -> list[int]:
    return [r.id for r in rows]


def _post(client, action: str, rows, **fields):
    data = {"bulk-action": action, "back": "/ward/", **{f"bulk-{k}": v for k, v in fields.items()}}
    data["ids"] = [str(r.id) for r in rows]
    for row in rows:
        data[f"version-{row.id}"] = str(row.version)
    return client.post("/requests/bulk", data=data)


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# --- set_priority and assign: the workflow's rules and history ------------------------------


def test_set_priority_writes_old_and_new_value(make, session):
    manager = make.manager()
    request = make.request()
    assert request.priority == Priority.MEDIUM
    event = workflow.apply(session, manager, request, "set_priority", {"priority": "high"}, today=TODAY)
    assert request.priority == Priority.HIGH
    assert event.data == {"old_priority": "medium", "new_priority": "high"}
    assert event_details(event) == "緊急度: 中 → 高"


def test_liaison_sets_priority_only_for_requests_of_their_center(make, session):
    own = make.liaison()
    request = make.request(own)
    workflow.apply(session, own, request, "set_priority", {"priority": "low"}, today=TODAY)
    assert request.priority == Priority.LOW
    other_center = make.liaison(center=make.second_center().name)
    with pytest.raises(WorkflowError, match="担当するまちづくりセンターの要望だけが操作できます。"):
        workflow.apply(session, other_center, request, "set_priority", {"priority": "high"}, today=TODAY)
    with pytest.raises(WorkflowError, match="他の区の要望は操作できません。"):
        workflow.apply(session, make.manager("東区"), request, "set_priority", {"priority": "high"})
    with pytest.raises(WorkflowError, match="だけが行えます"):
        workflow.apply(session, make.staff(), request, "set_priority", {"priority": "high"})
    assert request.priority == Priority.LOW


def test_set_priority_refuses_same_or_unknown_value_and_closed_requests(make, session):
    manager = make.manager()
    request = make.request()
    with pytest.raises(WorkflowError, match="すでに「中」です"):
        workflow.apply(session, manager, request, "set_priority", {"priority": "medium"})
    with pytest.raises(WorkflowError, match="緊急度を選んでください。"):
        workflow.apply(session, manager, request, "set_priority", {"priority": "urgent"})
    workflow.apply(session, manager, request, "withdraw", {"comment": "重複"}, today=TODAY)
    with pytest.raises(WorkflowError, match="「取下げ」の要望には「緊急度を変更」はできません。"):
        workflow.apply(session, manager, request, "set_priority", {"priority": "high"})
    assert _events(session, request, "set_priority") == []


def test_assign_takes_a_person_of_the_ward_and_keeps_both_names(make, session):
    manager = make.manager()
    liaison = make.liaison()
    request = make.request(liaison)
    first = workflow.apply(session, manager, request, "assign", {"assignee": str(liaison.id)}, today=TODAY)
    assert request.assignee_id == liaison.id
    assert event_details(first) == f"担当者: 未設定 → {liaison.display_name}"
    second = workflow.apply(session, manager, request, "assign", {"assignee": manager.id}, today=TODAY)
    assert second.data["old_assignee"] == liaison.display_name
    assert second.data["new_assignee"] == manager.display_name
    with pytest.raises(WorkflowError, match="すでにこの要望の担当者です"):
        workflow.apply(session, manager, request, "assign", {"assignee": manager.id})


@pytest.mark.parametrize(
    "who, message",
    [
        ("other_ward_liaison", "担当者には、この区の地域担当職員か管理職を選んでください。"),
        ("staff", "担当者には、この区の地域担当職員か管理職を選んでください。"),
        ("inactive", "担当者を選んでください。"),
        ("nobody", "担当者を選んでください。"),
    ],
)
def test_assign_refuses_people_outside_the_ward(make, session, who, message):
    manager = make.manager()
    request = make.request()
    chosen = {
        "other_ward_liaison": lambda: make.liaison("東区").id,
        "staff": lambda: make.staff().id,
        "inactive": lambda: make.user(make.liaison().role, active=False).id,
        "nobody": lambda: 999_999,
    }[who]()
    with pytest.raises(WorkflowError, match=message):
        workflow.apply(session, manager, request, "assign", {"assignee": chosen})
    assert request.assignee_id is None


def test_only_the_wards_manager_assigns(make, session):
    request = make.request()
    with pytest.raises(WorkflowError, match="だけが行えます"):
        workflow.apply(session, make.liaison(), request, "assign", {"assignee": make.liaison().id})
    with pytest.raises(WorkflowError, match="他の区の要望は操作できません。"):
        workflow.apply(session, make.manager("東区"), request, "assign", {"assignee": make.liaison().id})


def test_detail_page_offers_priority_and_person_in_charge(make, session, login_as):
    manager = make.manager()
    request = make.request()
    client = login_as(manager)
    page = _text(client.get(f"/requests/{request.id}"))
    assert "緊急度を変更" in page and "担当者を設定" in page
    response = client.post(
        f"/requests/{request.id}/priority",
        data={"set_priority-priority": "high", "set_priority-version": str(request.version)},
    )
    assert response.status_code == 302
    session.refresh(request)
    assert request.priority == Priority.HIGH
    response = client.post(
        f"/requests/{request.id}/assign",
        data={"assign-assignee": str(manager.id), "assign-version": str(request.version)},
    )
    assert response.status_code == 302
    session.refresh(request)
    assert request.assignee_id == manager.id
    page = _text(client.get(f"/requests/{request.id}"))
    assert "緊急度: 中 → 高" in page and f"担当者: 未設定 → {manager.display_name}" in page


# --- bulk actions --------------------------------------------------------------------------


@pytest.fixture
def three(make):
    liaison = make.liaison()
    return [make.request(liaison, title=f"側溝のふたが壊れている {n}") for n in range(3)]


def test_bulk_refer_refers_each_with_its_history(make, session, login_as, three):
    client = login_as(make.manager())
    response = _post(client, "refer", three, referred_to="土木センター")
    assert response.status_code == 302 and response.headers["Location"].endswith("/ward/")
    for request in three:
        session.refresh(request)
        assert request.state == RequestState.REFERRED and request.referred_to == "土木センター"
        (event,) = _events(session, request, "refer")
        assert event.data == {"referred_to": "土木センター"}
    assert "3件を「土木センター」へ回付しました。" in _text(client.get("/ward/"))


def test_bulk_escalate_into_one_new_issue(make, session, login_as, three):
    client = login_as(make.manager())
    before = _count(session, WardIssue)
    response = _post(client, "escalate", three, title="側溝の一斉点検", ward_issue_id="0")
    assert response.status_code == 302
    assert _count(session, WardIssue) == before + 1
    issue = session.scalars(select(WardIssue).where(WardIssue.title == "側溝の一斉点検")).one()
    assert issue.state == IssueState.DRAFT
    assert sorted(r.id for r in issue.requests) == sorted(_ids(three))
    bundled = session.scalars(
        select(HistoryEvent).where(HistoryEvent.ward_issue_id == issue.id, HistoryEvent.action == "bundle")
    ).all()
    assert len(bundled) == 3
    for request in three:
        session.refresh(request)
        assert request.state == RequestState.ESCALATED
        assert _events(session, request, "escalate")[0].data["ward_issue_id"] == issue.id
    assert "3件を区重要課題「側溝の一斉点検」にまとめました。" in _text(client.get("/ward/"))


def test_bulk_escalate_into_an_existing_issue(make, session, login_as, three):
    manager = make.manager()
    issue = make.issue(IssueState.DRAFT, manager=manager, with_request=False)
    client = login_as(manager)
    before = _count(session, WardIssue)
    response = _post(client, "escalate", three, ward_issue_id=str(issue.id))
    assert response.status_code == 302
    assert _count(session, WardIssue) == before
    session.refresh(issue)
    assert {r.id for r in issue.requests} >= set(_ids(three))


def test_bulk_assign_priority_and_answer(make, session, login_as, three):
    manager = make.manager()
    liaison = make.liaison()
    client = login_as(manager)
    assert _post(client, "assign", three, assignee=str(liaison.id)).status_code == 302
    assert _post(client, "set_priority", three, priority="high").status_code == 302
    for request in three:
        session.refresh(request)
    response = _post(client, "answer", three, answer_kind="resolved", answer_text="補修しました。")
    assert response.status_code == 302, _text(response)
    for request in three:
        session.refresh(request)
        assert request.assignee_id == liaison.id and request.priority == Priority.HIGH
        assert request.state == RequestState.ANSWERED and request.answer_text == "補修しました。"
        assert len(_events(session, request, "assign")) == 1
        assert len(_events(session, request, "set_priority")) == 1
        assert len(_events(session, request, "answer")) == 1


def test_a_bulk_answer_from_a_template_gives_each_request_its_own_date_and_title(
    make, session, login_as, three
):
    manager = make.manager()
    answer_templates.add_template(
        session,
        manager,
        manager.ward,
        {"title": "補修済み", "body": "{受付日}にいただいた「{件名}」は補修しました。"},
    )
    session.commit()
    client = login_as(manager)
    page = client.get("/ward/").get_data(as_text=True)
    assert 'data-target="bulk-answer_text"' in page and "補修済み" in page  # the picker by the bulk answer
    body = "{受付日}にいただいた「{件名}」は補修しました。"
    response = _post(client, "answer", three, answer_kind="resolved", answer_text=body)
    assert response.status_code == 302, _text(response)
    for request in three:
        session.refresh(request)
        day = date_label(request.received_on, "ja")
        assert request.answer_text == f"{day}にいただいた「{request.title}」は補修しました。"


def test_bulk_is_all_or_nothing_and_names_the_refused_request(make, session, login_as, three):
    manager = make.manager()
    workflow.apply(session, manager, three[1], "refer", {"referred_to": "公園課"}, today=TODAY)
    session.commit()
    client = login_as(manager)
    events_before = _count(session, HistoryEvent)
    response = _post(client, "refer", three, referred_to="土木センター")
    assert response.status_code == 422
    page = _text(response)
    assert f"{three[1].reference}: 「回付」の要望には「担当課へ回付」はできません。" in page, re.findall(
        r'role="alert"[^>]*>[^<]*<', page
    )
    assert 'value="土木センター"' in page  # the typed text is kept
    assert page.count('name="ids"') == 3 and page.count("checked") >= 3  # and the selection
    assert _count(session, HistoryEvent) == events_before
    for request in (three[0], three[2]):
        session.refresh(request)
        assert request.state == RequestState.RECEIVED and request.referred_to == ""


def test_bulk_refuses_another_wards_request_and_changes_nothing(make, session, login_as, three):
    other = make.request(ward="東区")
    client = login_as(make.manager())
    events_before, issues_before = _count(session, HistoryEvent), _count(session, WardIssue)
    response = _post(client, "escalate", [*three, other], title="まとめ", ward_issue_id="0")
    assert response.status_code == 422
    page = _text(response)
    assert f"要望 #{other.id}: 他の区の要望は操作できません。" in page
    assert other.reference not in page and other.title not in page  # nothing of the other ward shown
    assert _count(session, HistoryEvent) == events_before and _count(session, WardIssue) == issues_before
    for request in three:
        session.refresh(request)
        assert request.state == RequestState.RECEIVED and request.ward_issue_id is None


def test_bulk_refuses_an_outdated_version(make, session, login_as, three):
    manager = make.manager()
    client = login_as(manager)
    stale = {r.id: r.version for r in three}
    workflow.apply(session, manager, three[2], "set_priority", {"priority": "low"}, today=TODAY)
    session.commit()
    data = {"bulk-action": "set_priority", "bulk-priority": "high", "ids": [str(r.id) for r in three]}
    data.update({f"version-{i}": str(v) for i, v in stale.items()})
    response = client.post("/requests/bulk", data=data)
    assert response.status_code == 422
    assert f"{three[2].reference}: 他の職員がこの記録を更新しました。" in _text(response)
    for request in three[:2]:
        session.refresh(request)
        assert request.priority == Priority.MEDIUM


def test_bulk_without_selection_or_action_is_refused(make, login_as, three):
    client = login_as(make.manager())
    assert "要望を1件以上選んでください。" in _text(_post(client, "refer", [], referred_to="土木"))
    response = _post(client, "", three)
    assert response.status_code == 422


def test_bulk_apply_costs_a_bounded_number_of_queries_per_request(make, session, count_queries):
    manager = make.manager()
    liaison = make.liaison()

    def statements(count: int) -> int:
        rows = bulk_requests(session, liaison, count)
        session.commit()
        session.expire_all()
        count_queries.clear()
        bulk.apply_bulk(session, manager, "set_priority", _ids(rows), {"priority": "high"}, today=TODAY)
        session.flush()
        return len([s for s in count_queries if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE"))])

    small, large = statements(2), statements(12)
    per_request = (large - small) / 10
    assert per_request <= 6, (small, large)


def test_clean_ids_drops_what_is_not_an_id():
    assert bulk.clean_ids(["3", "3", "x", "-1", "１", "12345678901", " 5 "]) == [3, 5]


# --- priority in the lists -------------------------------------------------------------------


def test_lists_show_priority_and_filter_by_it(make, session, login_as):
    liaison = make.liaison()
    rows = bulk_requests(session, liaison, 6)
    for row, priority in zip(rows, ["high", "low", "high", "medium", "low", "high"], strict=True):
        row.priority = Priority(priority)
    session.commit()
    client = login_as(make.manager())
    page = _text(client.get("/requests/?priority=high"))
    assert sorted(refs_of(page)) == sorted(r.reference for r in rows if r.priority == Priority.HIGH)
    assert "緊急度: 高" in page and "緊急度: 高</span>" in page
    assert "緊急度: 高</span> <a" in page  # the filter's chip
    notice = _text(client.get("/requests/?priority=urgent"))
    assert "緊急度「urgent」は選べないため、条件から外しました。" in notice


def refs_of(page: str) -> list[str]:
    return re.findall(r'class="ref"><a [^>]*>([^<]+)</a>', page)


def test_priority_sort_keyset_pages_stay_correct(make, session, login_as, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 7)
    liaison = make.liaison()
    rows = bulk_requests(session, liaison, 30)
    cycle = [Priority.HIGH, Priority.LOW, Priority.MEDIUM]
    for n, row in enumerate(rows):
        row.priority = cycle[n % 3]
    session.commit()
    rank = {Priority.HIGH: 3, Priority.MEDIUM: 2, Priority.LOW: 1}
    client = login_as(make.manager())
    for direction in ("desc", "asc"):
        ordered = sorted(rows, key=lambda r: (rank[r.priority], r.id), reverse=direction == "desc")
        pages = walk(client, f"/requests/?sort=priority&direction={direction}")
        assert [len(p) for p in pages] == [7, 7, 7, 7, 2]
        assert flat(pages) == [r.reference for r in ordered]
    first = client.get("/requests/?sort=priority&direction=desc")
    assert NEXT.search(first.get_data(as_text=True))
    assert refs(first)[0] == [r.reference for r in rows if r.priority == Priority.HIGH][-1]


def test_triage_page_lists_with_checkboxes_and_a_bounded_number_of_queries(
    make, session, login_as, count_queries
):
    manager = make.manager()
    liaison = make.liaison()
    client = login_as(manager)

    def queries(count: int) -> int:
        bulk_requests(session, liaison, count)
        session.commit()
        count_queries.clear()
        page = _text(client.get("/ward/"))
        assert "すべて選択" in page and 'id="shortcuts-help"' in page
        return len(selects(count_queries))

    assert queries(2) == queries(20)


def test_demo_triage_sets_priorities_and_persons_in_charge_once(session, tmp_path):
    from tracker.city import demo_requests, demo_triage, masterdata
    from tracker.formatting import today_in_tokyo

    today = today_in_tokyo()
    masterdata.load_demo_users(session)
    demo_requests.load_demo_requests(session, str(tmp_path), today)
    changed = demo_triage.load_demo_triage(session, today)
    assert changed > 0
    high = session.scalars(select(ServiceRequest).where(ServiceRequest.priority == Priority.HIGH)).all()
    assert high and all(r.title.startswith(tuple(demo_triage.DEMO_PRIORITIES)) for r in high)
    assigned = session.scalars(select(ServiceRequest).where(ServiceRequest.assignee_id.is_not(None))).all()
    assert assigned and all(_events(session, r, "assign") for r in assigned)
    assert demo_triage.load_demo_triage(session, today) == 0  # idempotent
