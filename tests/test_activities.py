"""The activity pages: logging, editing, the list with its filters, pages and exports, the link
between activities and the requests heard in them (both ways), and their scopes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tracker.activity_models import Activity, ActivityKind, CommunityOrganisation
from tracker.city import demo_activities, demo_requests, masterdata
from tracker.fieldwork import heard, operations
from tracker.models import HistoryEvent, ServiceRequest
from tracker.states import Source

from .factories import TODAY


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def activity_form(liaison, **fields) -> dict:
    data = {
        "held_on": "2024/6/3",
        "kind_id": "",
        "center_id": str(liaison.center_id),
        "organisation_id": "0",
        "organisation_text": "",
        "place": "",
        "attendees": "",
        "summary": "",
        "liaison_ids": [str(liaison.id)],
    }
    data.update(fields)
    return data


def kind_id(make, name="会議出席（町内自治会）") -> str:
    return str(make.activity_kind(name).id)


# --- logging and editing -----------------------------------------------------------------------


def test_the_new_form_starts_with_today_the_own_center_and_the_liaison_checked(make, login_as):
    liaison = make.liaison()
    page = login_as(liaison).get("/activities/new").get_data(as_text=True)
    assert 'name="held_on"' in page and 'value="' in page
    assert liaison.center.name in page and f'name="center_id" value="{liaison.center_id}"' in page
    checked = rf'<input checked id="liaison_ids-\d+" name="liaison_ids" type="checkbox" value="{liaison.id}">'
    assert re.search(checked, page)
    assert "<optgroup" in page and 'label="会議出席"' in page


def test_a_liaison_logs_an_activity_with_the_three_required_fields(make, login_as, session):
    liaison = make.liaison()
    client = login_as(liaison)
    data = {"held_on": "2024/6/3", "kind_id": kind_id(make), "center_id": str(liaison.center_id)}
    response = client.post("/activities/new", data=data)
    assert response.status_code == 302
    activity = session.scalars(select(Activity).where(Activity.logged_by_id == liaison.id)).one()
    assert activity.center_id == liaison.center_id and [u.id for u in activity.liaisons] == [liaison.id]
    assert response.headers["Location"].endswith(f"/activities/{activity.id}")


def test_a_refused_input_comes_back_422_with_the_message_at_its_field(make, login_as, session):
    liaison = make.liaison()
    before = count(session, Activity)
    data = activity_form(
        liaison, kind_id=kind_id(make), starts_at="15:00", ends_at="14:00", place="大江公民館"
    )
    response = login_as(liaison).post("/activities/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<p class="field-error" role="alert">終了時刻は開始時刻より後にしてください。</p>' in page
    assert 'value="大江公民館"' in page  # as typed
    assert count(session, Activity) == before


def test_an_edit_records_old_and_new_values_on_the_timeline(make, login_as, session):
    liaison = make.liaison()
    activity = make.activity(liaison)
    client = login_as(liaison)
    form = client.get(f"/activities/{activity.id}/edit").get_data(as_text=True)
    assert f'name="version" type="hidden" value="{activity.version}"' in form
    data = activity_form(
        liaison,
        kind_id=str(activity.kind_id),
        organisation_text="大江町内自治会",
        place="大江公民館",
        attendees="30",
        summary=activity.summary,
        version=str(activity.version),
    )
    assert client.post(f"/activities/{activity.id}/edit", data=data).status_code == 302
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "登録" in page and "編集" in page and "参加者数: 25 → 30" in page


def test_an_edit_on_a_stale_version_is_a_conflict_and_changes_nothing(make, login_as, session):
    liaison = make.liaison()
    activity = make.activity(liaison)
    data = activity_form(liaison, kind_id=str(activity.kind_id), attendees="31", version="999")
    response = login_as(liaison).post(f"/activities/{activity.id}/edit", data=data)
    assert response.status_code == 409
    session.refresh(activity)
    assert activity.attendees == 25


# --- scopes ----------------------------------------------------------------------------------------


def test_a_liaison_cannot_see_edit_or_log_at_another_centers_activity(make, login_as, session):
    other_center = make.second_center()
    theirs = make.activity(make.liaison(center=other_center.name))
    liaison = make.liaison()
    client = login_as(liaison)
    before = (count(session, Activity), count(session, HistoryEvent))
    assert client.get(f"/activities/{theirs.id}").status_code == 403
    assert client.get(f"/activities/{theirs.id}/edit").status_code == 403
    edit = activity_form(liaison, kind_id=str(theirs.kind_id), attendees="99")
    assert client.post(f"/activities/{theirs.id}/edit", data=edit).status_code == 403
    elsewhere = activity_form(liaison, kind_id=str(theirs.kind_id), center_id=str(other_center.id))
    assert client.post("/activities/new", data=elsewhere).status_code == 422
    assert theirs.summary not in client.get("/activities/").get_data(as_text=True)
    assert (count(session, Activity), count(session, HistoryEvent)) == before
    session.refresh(theirs)
    assert theirs.attendees == 25


def test_bureau_staff_are_refused_every_activity_page(make, login_as):
    activity = make.activity()
    organisation = make.organisation()
    client = login_as(make.staff())
    for url in (
        "/activities/",
        "/activities/new",
        f"/activities/{activity.id}",
        f"/activities/{activity.id}/edit",
    ):
        assert client.get(url).status_code == 403, url
    assert client.get("/activities/organisations/").status_code == 403
    for url in (f"/activities/{activity.id}/link", f"/activities/{activity.id}/unlink", "/activities/new"):
        assert client.post(url, data={}).status_code == 403, url
    assert client.post(f"/activities/organisations/{organisation.id}/active", data={}).status_code == 403


def test_a_ward_manager_sees_the_wards_activities_and_no_other_wards(make, login_as):
    second_center = make.second_center()
    ours = make.activity(summary="中央センターでの定例会")
    neighbours = make.activity(make.liaison(center=second_center.name), summary="隣のセンターの巡回")
    theirs = make.activity(ward="東区", summary="東区の地域行事")
    page = login_as(make.manager()).get("/activities/").get_data(as_text=True)
    assert ours.summary in page and neighbours.summary in page and theirs.summary not in page


def test_bureau_staff_never_see_the_activity_a_request_came_from(make, session):
    liaison = make.liaison()
    activity = make.activity(liaison)
    found = make.request(liaison)
    operations.link_request(session, liaison, activity, found)
    assert heard.activity_of_request(session, make.manager(), found) == activity
    assert heard.activity_of_request(session, make.staff(), found) is None
    assert heard.activity_of_request(session, make.manager("東区"), found) is None


# --- requests heard in an activity -----------------------------------------------------------------


def test_the_request_form_opened_from_an_activity_is_prefilled_and_links_the_request(make, login_as, session):
    liaison = make.liaison()
    organisation = make.organisation(name="大江校区自治協議会")
    activity = make.activity(liaison, organisation_id=organisation.id, organisation_text="")
    client = login_as(liaison)
    form = client.get(f"/requests/new?activity={activity.id}").get_data(as_text=True)
    assert 'value="大江校区自治協議会"' in form
    assert f'<option selected value="{Source.COMMUNITY_ACTIVITY.value}">' in form
    assert 'value="2024/6/3"' in form
    assert f'name="activity" value="{activity.id}"' in form
    data = {
        "title": "公民館前の道路の段差",
        "description": "",
        "category_id": str(make.category().id),
        "center_id": str(liaison.center_id),
        "source": Source.COMMUNITY_ACTIVITY.value,
        "organisation": "大江校区自治協議会",
        "received_on": "2024/6/3",
        "activity": str(activity.id),
        "similar_choice": "separate",
    }
    response = client.post("/requests/new", data=data)
    assert response.status_code == 302
    created = session.scalars(select(ServiceRequest).where(ServiceRequest.title == data["title"])).one()
    assert created.activity_id == activity.id
    request_page = client.get(f"/requests/{created.id}").get_data(as_text=True)
    assert "この要望を聞いた活動" in request_page and f'href="/activities/{activity.id}"' in request_page
    activity_page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert created.reference in activity_page and "要望を結び付け" in activity_page


def test_the_request_form_cannot_be_opened_from_an_activity_out_of_scope(make, login_as, session):
    theirs = make.activity(ward="東区")
    before = count(session, ServiceRequest)
    client = login_as(make.liaison())
    assert client.get(f"/requests/new?activity={theirs.id}").status_code == 403
    assert client.get("/requests/new?activity=99999999").status_code == 404
    data = {
        "title": "段差",
        "category_id": str(make.category().id),
        "source": "phone",
        "activity": str(theirs.id),
    }
    assert client.post("/requests/new", data=data).status_code == 403
    assert count(session, ServiceRequest) == before


def test_an_existing_request_is_linked_by_its_reference_and_unlinked(make, login_as, session):
    liaison = make.liaison()
    activity = make.activity(liaison)
    found = make.request(liaison)
    client = login_as(liaison)
    response = client.post(f"/activities/{activity.id}/link", data={"reference": found.reference.lower()})
    assert response.status_code == 302
    session.refresh(found)
    assert found.activity_id == activity.id
    response = client.post(f"/activities/{activity.id}/unlink", data={"request_id": str(found.id)})
    assert response.status_code == 302
    session.refresh(found)
    assert found.activity_id is None
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "結び付けを解除" in page and f"要望: {found.reference}" in page


def test_a_request_of_another_ward_is_refused_with_a_message(make, login_as, session):
    liaison = make.liaison()
    activity = make.activity(liaison)
    theirs = make.request(ward="東区")
    before = count(session, HistoryEvent)
    response = login_as(liaison).post(f"/activities/{activity.id}/link", data={"reference": theirs.reference})
    assert response.status_code == 422
    assert (
        '<p class="field-error" role="alert">結び付けられるのは同じ区の要望だけです。</p>'
        in response.get_data(as_text=True)
    )
    session.refresh(theirs)
    assert theirs.activity_id is None and count(session, HistoryEvent) == before


def test_an_unknown_reference_is_refused_with_a_message(make, login_as):
    liaison = make.liaison()
    activity = make.activity(liaison)
    response = login_as(liaison).post(
        f"/activities/{activity.id}/link", data={"reference": "R-CHUO-1999-9999"}
    )
    assert response.status_code == 422
    assert "受付番号「R-CHUO-1999-9999」の要望が見つかりません。" in response.get_data(as_text=True)


# --- master data -------------------------------------------------------------------------------------


def test_a_ward_manager_adds_and_deactivates_an_organisation_with_an_admin_log_record(
    make, login_as, session
):
    manager = make.manager()
    center = make.center()
    client = login_as(manager)
    data = {"center_id": str(center.id), "name": "新町校区自治協議会", "kind": "school_district_council"}
    assert client.post("/activities/organisations/new", data=data).status_code == 302
    added = session.scalars(select(CommunityOrganisation).filter_by(name="新町校区自治協議会")).one()
    log = session.scalars(
        select(HistoryEvent).filter_by(action="admin_change").order_by(HistoryEvent.id.desc())
    ).first()
    assert log.actor_id == manager.id and log.data["changes"][0]["table"] == "community_organisations"
    assert log.data["changes"][0]["fields"]["name"] == [None, "新町校区自治協議会"]
    assert (
        client.post(f"/activities/organisations/{added.id}/active", data={"active": "0"}).status_code == 302
    )
    session.refresh(added)
    assert added.active is False
    form = login_as(make.liaison()).get("/activities/new").get_data(as_text=True)
    assert "新町校区自治協議会" not in form


def test_a_manager_of_another_ward_cannot_keep_this_wards_organisations(make, login_as, session):
    organisation = make.organisation(name="大江町内自治会 (管理)")
    client = login_as(make.manager("東区"))
    data = {"center_id": str(organisation.center_id), "name": "改名", "kind": "other"}
    assert client.post(f"/activities/organisations/{organisation.id}/edit", data=data).status_code == 403
    assert client.post("/activities/organisations/new", data=data).status_code == 422
    session.refresh(organisation)
    assert organisation.name == "大江町内自治会 (管理)"


def test_the_admin_adds_an_activity_kind_under_a_heading(make, login_as, session):
    client = login_as(make.admin())
    data = {
        "activity_kinds-name": "会議出席（民生委員児童委員協議会）",
        "activity_kinds-group": "会議出席",
        "activity_kinds-active": "y",
    }
    assert client.post("/admin/master/activity_kinds/new", data=data).status_code == 302
    kind = session.scalars(select(ActivityKind).filter_by(name=data["activity_kinds-name"])).one()
    assert kind.group == "会議出席" and kind.active
    log = session.scalars(
        select(HistoryEvent).filter_by(action="admin_change").order_by(HistoryEvent.id.desc())
    ).first()
    assert log.data["changes"][0]["table"] == "activity_kinds"
    assert "会議出席（民生委員児童委員協議会）" in client.get("/admin/master").get_data(as_text=True)


# --- the list -----------------------------------------------------------------------------------------


@pytest.fixture
def three_activities(make):
    liaison = make.liaison()
    partner = make.liaison()
    visit = make.activity_kind("訪問・巡回").id
    return (
        liaison,
        [
            make.activity(liaison, held_on=TODAY.replace(day=1), summary="防犯灯の点検"),
            make.activity(
                liaison, held_on=TODAY.replace(month=5, day=20), kind_id=visit, summary="高齢者宅の訪問"
            ),
            make.activity(
                liaison,
                held_on=TODAY.replace(month=4, day=10),
                liaison_ids=[partner.id],
                summary="公園清掃の支援",
            ),
        ],
        partner,
    )


def test_the_list_filters_by_kind_month_liaison_and_words(make, login_as, three_activities):
    liaison, (june, may, april), partner = three_activities
    client = login_as(liaison)

    def shown(query: str) -> set[str]:
        page = client.get(f"/activities/?{query}").get_data(as_text=True)
        return {a.summary for a in (june, may, april) if a.summary in page}

    assert shown("") == {june.summary, may.summary, april.summary}
    assert shown(f"kind={may.kind_id}") == {may.summary}
    assert shown("month=2024-06") == {june.summary}
    assert shown("date_from=2024-04-01&date_to=2024-05-31") == {may.summary, april.summary}
    assert shown(f"liaison={partner.id}") == {april.summary}
    assert shown("q=公園") == {april.summary}
    assert shown("fiscal_year=2023") == set()
    page = client.get("/activities/?kind=999999").get_data(as_text=True)
    assert "活動区分「999999」は選べないため、条件から外しました。" in page


def test_the_list_is_cut_into_keyset_pages(make, login_as, three_activities, app, monkeypatch):
    liaison, (june, may, april), _ = three_activities
    client = login_as(liaison)
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    first = client.get("/activities/").get_data(as_text=True)
    assert june.summary in first and may.summary in first and april.summary not in first
    after = re.search(r'href="([^"]*after=[^"]*)" rel="next"', first).group(1).replace("&amp;", "&")
    second = client.get(after).get_data(as_text=True)
    assert april.summary in second and june.summary not in second


def test_the_csv_and_xlsx_exports_hold_the_filtered_rows_and_are_recorded(
    make, login_as, session, three_activities
):
    liaison, (june, may, _april), _ = three_activities
    found = make.request(liaison)
    operations.link_request(session, liaison, may, found)
    session.commit()
    client = login_as(liaison)
    response = client.get(f"/activities/?format=csv&kind={june.kind_id}")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:2] == ["活動日", "年度"] and "聞いた要望の件数" in rows[0]
    assert sorted(row[0] for row in rows[1:]) == ["2024-04-10", "2024-06-01"]
    response = client.get("/activities/?format=xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = list(sheet.values)
    heard_column = values[0].index("聞いた要望の件数")
    assert {row[0]: row[heard_column] for row in values[1:]} == {
        "2024-06-01": 0,
        "2024-05-20": 1,
        "2024-04-10": 0,
    }
    log = session.scalars(
        select(HistoryEvent).filter_by(action="export").order_by(HistoryEvent.id.desc())
    ).first()
    assert log.data["what"] == "活動記録一覧" and log.data["rows"] == 3 and log.data["format"] == "xlsx"


def _list_queries(client, count_queries) -> int:
    count_queries.clear()
    assert client.get("/activities/").status_code == 200
    return len(count_queries)


def test_the_list_costs_the_same_queries_for_3_and_30_activities(make, login_as, session, count_queries):
    liaison = make.liaison()
    for number in range(3):
        found = make.request(liaison)
        activity = make.activity(liaison, summary=f"活動 {number}")
        operations.link_request(session, liaison, activity, found)
    session.commit()
    client = login_as(liaison)
    few = _list_queries(client, count_queries)
    for number in range(27):
        make.activity(liaison, summary=f"追加の活動 {number}")
    many = _list_queries(client, count_queries)
    assert few == many
    page = client.get("/activities/").get_data(as_text=True)
    assert page.count('class="num requests-heard">1件') == 3


# --- demo data -----------------------------------------------------------------------------------------


def test_the_demo_activities_load_once_and_link_the_requests_heard(session, tmp_path):
    today = dt.date(2026, 11, 22)
    masterdata.load_demo_users(session)
    demo_requests.load_demo_requests(session, str(tmp_path), today)
    # 4 demo liaisons x (4 of last year's + 3 of this year's until 11/22)
    assert demo_activities.load_demo_activities(session, today) == 28
    demo_ids = select(Activity.id).where(Activity.client_uuid.is_not(None))
    assert session.scalar(select(func.count()).select_from(demo_ids.subquery())) == 28
    years = dict(
        session.execute(
            select(Activity.fiscal_year, func.count())
            .where(Activity.id.in_(demo_ids))
            .group_by(Activity.fiscal_year)
        ).all()
    )
    assert years == {2025: 16, 2026: 12}
    kinds = session.scalar(
        select(func.count(func.distinct(Activity.kind_id))).where(Activity.id.in_(demo_ids))
    )
    assert kinds == 7  # the first seven of DEMO_ACTIVITIES, each of another kind
    # each liaison's three requests from community organisations are linked
    linked = select(func.count(ServiceRequest.id)).where(ServiceRequest.activity_id.in_(demo_ids))
    assert session.scalar(linked) == 12
    before = (count(session, Activity), count(session, CommunityOrganisation), count(session, HistoryEvent))
    assert demo_activities.load_demo_activities(session, today) == 28  # found again, not added
    after = (count(session, Activity), count(session, CommunityOrganisation), count(session, HistoryEvent))
    assert after == before


def test_a_ward_manager_corrects_an_activity_of_the_ward_and_the_admin_sees_every_ward(
    make, login_as, session
):
    liaison = make.liaison()
    activity = make.activity(liaison)
    theirs = make.activity(ward="東区", summary="東区の地域行事")
    data = activity_form(
        liaison,
        kind_id=str(activity.kind_id),
        organisation_text="大江町内自治会",
        place="大江公民館",
        attendees="40",
        summary=activity.summary,
        version=str(activity.version),
    )
    assert login_as(make.manager()).post(f"/activities/{activity.id}/edit", data=data).status_code == 302
    session.refresh(activity)
    assert activity.attendees == 40
    page = login_as(make.admin()).get("/activities/").get_data(as_text=True)
    assert activity.summary in page and theirs.summary in page


def test_the_requests_timeline_shows_the_link_to_the_activity(make, login_as, session):
    liaison = make.liaison()
    activity = make.activity(liaison)
    found = make.request(liaison)
    operations.link_request(session, liaison, activity, found)
    session.commit()
    session.expire(found)  # as a new request of the app would read it
    page = login_as(liaison).get(f"/requests/{found.id}").get_data(as_text=True)
    assert "活動に結び付け" in page and "この要望を聞いた活動" in page


def test_the_export_costs_the_same_queries_for_3_and_30_activities(make, login_as, session, count_queries):
    liaison = make.liaison()
    for number in range(3):
        make.activity(liaison, summary=f"活動 {number}")
    client = login_as(liaison)

    def export_queries() -> int:
        count_queries.clear()
        response = client.get("/activities/?format=csv")
        assert response.status_code == 200
        response.get_data()  # the rows are streamed: read them all
        return len(count_queries)

    few = export_queries()
    for number in range(27):
        make.activity(liaison, summary=f"追加の活動 {number}")
    assert export_queries() == few
