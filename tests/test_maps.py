"""The maps' GeoJSON: the list's scope and filters, nothing personal, and the public map's issues."""

from __future__ import annotations

import json

import pytest

from tracker.blueprints.security_policy import content_security_policy
from tracker.finding import geo, queries
from tracker.models import Category
from tracker.states import IssueState, RequestState

from .factories import TODAY

PLACE = {"latitude": "32.803100", "longitude": "130.707900"}
ANSWER = {"answer_text": "対応しました", "answer_kind": "resolved", "answered_on": TODAY}
EAST_PLACE = {"latitude": "32.790000", "longitude": "130.770000"}


def features(client, url: str) -> list[dict]:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/geo+json"
    return response.get_json()["features"]


def references(client, url: str) -> set[str]:
    return {f["properties"]["reference"] for f in features(client, url)}


@pytest.fixture
def two_wards(make):
    """A located request in 中央区 and in 東区, and one in 中央区 without coordinates."""
    chuo = make.liaison()
    own = make.request(chuo, title="中央の街灯", **PLACE)
    unlocated = make.request(chuo, title="位置のない要望")
    east = make.request(ward="東区", title="東区の段差", **EAST_PLACE)
    return chuo, own, unlocated, east


def test_liaison_and_manager_see_only_their_wards_located_requests(make, login_as, two_wards):
    chuo, own, unlocated, east = two_wards
    for user in (chuo, make.manager()):
        client = login_as(user)
        found = references(client, "/map/requests.geojson")
        assert own.reference in found
        assert east.reference not in found  # another ward's, even when asked for by its ward
        assert unlocated.reference not in found  # no coordinates: left out
        assert east.reference not in references(client, f"/map/requests.geojson?ward={east.ward_id}")


def test_admin_sees_every_wards_requests(make, login_as, two_wards):
    _, own, _unlocated, east = two_wards
    client = login_as(make.admin())
    assert references(client, "/map/requests.geojson") == {own.reference, east.reference}
    assert references(client, f"/map/requests.geojson?ward={east.ward_id}") == {east.reference}


def test_the_lists_filters_apply(make, login_as, session):
    liaison = make.liaison()
    categories = session.query(Category).order_by(Category.id).limit(2).all()
    lamp = make.request(liaison, title="街灯", category_id=categories[0].id, **PLACE)
    road = make.request(liaison, title="段差", category_id=categories[1].id, **PLACE)
    make.act(liaison, road, "answer", ANSWER)
    client = login_as(liaison)
    assert references(client, f"/map/requests.geojson?category={categories[0].id}") == {lamp.reference}
    assert references(client, f"/map/requests.geojson?state={RequestState.ANSWERED.value}") == {
        road.reference
    }
    assert references(client, "/map/requests.geojson?q=段差") == {road.reference}
    both = f"/map/requests.geojson?state=received&state={RequestState.ANSWERED.value}"
    assert references(client, both) == {lamp.reference, road.reference}


def test_a_feature_names_the_request_and_links_to_it(make, login_as):
    liaison = make.liaison()
    request = make.request(liaison, title="街灯が切れている", **PLACE)
    (feature,) = features(login_as(liaison), "/map/requests.geojson")
    assert feature["geometry"] == {"type": "Point", "coordinates": [130.7079, 32.8031]}
    props = feature["properties"]
    assert props["reference"] == request.reference
    assert props["title"] == "街灯が切れている"
    assert props["state_label"] == "受付"
    assert props["category"] == request.category.name
    assert props["received_on"] == request.received_on.isoformat()
    assert props["url"] == f"/requests/{request.id}"


def test_no_personal_data_description_or_staff_name(make, login_as, session):
    liaison = make.liaison()
    make.request(
        liaison,
        title="公園の段差",
        requester_name="要望者ナマエ目印",
        requester_contact="連絡先目印-0000",
        organisation="団体目印会",
        description="内容の目印テキスト",
        **PLACE,
    )
    manager = make.manager()
    for user in (liaison, manager):
        for url in (
            "/map/requests.geojson",
            "/map/triage.geojson" if user is manager else "/map/queue.geojson",
        ):
            body = json.dumps(login_as(user).get(url).get_json(), ensure_ascii=False)
            assert "公園の段差" in body
            for marker in (
                "要望者ナマエ目印",
                "連絡先目印",
                "団体目印会",
                "内容の目印",
                liaison.display_name,
            ):
                assert marker not in body, (url, marker)


def test_queue_and_triage_maps_have_their_lists_scope(make, login_as):
    liaison = make.liaison()
    unanswered = make.request(liaison, title="未回答", **PLACE)
    answered = make.request(liaison, title="回答済み", **PLACE)
    make.act(liaison, answered, "answer", ANSWER)
    east = make.request(ward="東区", **EAST_PLACE)
    assert references(login_as(liaison), "/map/queue.geojson") == {unanswered.reference}
    assert references(login_as(make.manager()), "/map/triage.geojson") == {unanswered.reference}
    assert east.reference in references(login_as(make.manager("東区")), "/map/triage.geojson")


def test_the_cap_says_truncated_newest_first(make, login_as, session):
    liaison = make.liaison()
    made = [make.request(liaison, title=f"要望{n}", **PLACE) for n in range(3)]
    where = [geo.scope_of(queries.requests_for(liaison))]
    capped = geo.request_features(session, where, str, limit=2)
    assert capped["properties"]["truncated"] is True
    assert [f["properties"]["id"] for f in capped["features"]] == [made[2].id, made[1].id]
    whole = geo.request_features(session, where, str, limit=3)
    assert whole["properties"]["truncated"] is False and len(whole["features"]) == 3


def test_queries_do_not_grow_with_the_features(make, login_as, count_queries):
    liaison = make.liaison()
    make.request(liaison, **PLACE)
    client = login_as(liaison)
    client.get("/map/requests.geojson")
    count_queries.clear()
    assert len(features(client, "/map/requests.geojson")) == 1
    one = len(count_queries)
    for _ in range(6):
        make.request(liaison, **PLACE)
    client.get("/map/requests.geojson")
    count_queries.clear()
    assert len(features(client, "/map/requests.geojson")) == 7
    assert len(count_queries) == one


def test_map_page_keeps_the_lists_query_string(make, login_as):
    client = login_as(make.liaison())
    page = client.get("/map/requests?state=received&q=%E8%A1%97").get_data(as_text=True)
    assert 'data-geojson="/map/requests.geojson?state=received&amp;q=%E8%A1%97"' in page
    assert 'href="/requests/?state=received&amp;q=%E8%A1%97"' in page
    listing = client.get("/requests/?state=received").get_data(as_text=True)
    assert 'href="/map/requests?state=received"' in listing


def test_public_map_shows_only_published_issues_in_public_words(make, client, session):
    manager = make.manager()
    published = make.issue(
        IssueState.CONSULTING,
        manager=manager,
        request_fields={"requester_name": "公開住民目印", "description": "要望本文目印", **PLACE},
    )
    make.approved_publication(published, manager, texts={"title": "公開の件名"})
    make.issue(IssueState.CONSULTING, manager=manager, title="非公開の課題目印", request_fields=PLACE)
    unapproved = make.issue(
        IssueState.CONSULTING, manager=manager, title="未確認の課題", request_fields=PLACE
    )
    make.approved_publication(unapproved, manager, public=False)
    client.get("/logout")
    response = client.get("/public/map.geojson")
    assert response.status_code == 200
    body = json.dumps(response.get_json(), ensure_ascii=False)
    shown = [f["properties"] for f in response.get_json()["features"]]
    assert [p["id"] for p in shown] == [published.id]
    assert shown[0]["title"] == "公開の件名" and shown[0]["requests"] == 1
    assert shown[0]["url"] == f"/public/issues/{published.id}"
    for marker in (
        "公開住民目印",
        "要望本文目印",
        "非公開の課題目印",
        "未確認の課題",
        published.requests[0].reference,
    ):
        assert marker not in body
    assert "map.geojson" in client.get("/public/map").get_data(as_text=True)


def test_csp_allows_only_the_tile_host():
    default = content_security_policy("")
    gsi = content_security_policy("https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png")
    assert "img-src 'self' data: https://cyberjapandata.gsi.go.jp;" in gsi
    assert gsi.replace(" https://cyberjapandata.gsi.go.jp", "") == default
    assert content_security_policy("javascript:alert(1)") == default
    assert "*" not in content_security_policy("https://{s}.tile.example.org/{z}/{x}/{y}.png")


def test_demo_requests_have_places_around_kumamoto(session, tmp_path):
    from tracker.city import demo_requests, masterdata
    from tracker.models import ServiceRequest

    masterdata.load_demo_users(session)
    demo_requests.load_demo_requests(session, str(tmp_path), TODAY)
    demo = session.query(ServiceRequest).filter(ServiceRequest.title.like("%(%)")).all()
    assert len(demo) == 4 * len(demo_requests.DEMO_REQUESTS)
    for request in demo:
        assert 32.65 < request.latitude < 32.95 and 130.6 < request.longitude < 130.85, request.title
    centers = {r.center_id: (r.latitude, r.longitude) for r in demo if r.title.startswith("公園の街灯")}
    assert len(set(centers.values())) == 4  # each center's requests around its own place


def test_tiles_default_to_the_gsi_standard_map_with_its_attribution(tmp_path, monkeypatch):
    from tracker.config import load_config

    monkeypatch.delenv("MAP_TILE_URL", raising=False)
    monkeypatch.delenv("MAP_TILE_ATTRIBUTION", raising=False)
    config = load_config(str(tmp_path), {"TESTING": True})
    assert config["MAP_TILE_URL"] == "https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png"
    assert "国土地理院" in config["MAP_TILE_ATTRIBUTION"]
    monkeypatch.setenv("MAP_TILE_URL", "")
    assert load_config(str(tmp_path), {"TESTING": True})["MAP_TILE_URL"] == ""


def test_detail_pages_show_a_small_map_of_the_places(make, login_as):
    manager = make.manager()
    issue = make.issue(IssueState.DRAFT, manager=manager, request_fields=PLACE)
    request = issue.requests[0]
    client = login_as(manager)
    issue_page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert 'class="map-view map-small"' in issue_page and "32.8031" in issue_page
    assert f"/requests/{request.id}" in issue_page
    request_page = client.get(f"/requests/{request.id}").get_data(as_text=True)
    assert 'class="map-view map-small"' in request_page and "130.7079" in request_page
    unlocated = make.request(make.liaison(), title="位置のない要望")
    assert "map-small" not in client.get(f"/requests/{unlocated.id}").get_data(as_text=True)
