"""The admin's Open311 pages and commands: API keys (shown once, stored hashed), their revocation
and limit, the town table, the services' profiles and questions, ``flask api-key``."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from tracker.models import Category, HistoryEvent
from tracker.open311 import keys, service_admin
from tracker.open311.keys import hash_key
from tracker.open311_models import ApiKey, ServiceAttribute, ServiceProfile, TownCenter
from tracker.states import RequestState, Source
from tracker.workflow import WorkflowError


def _admin_events(session) -> list[HistoryEvent]:
    return session.scalars(
        select(HistoryEvent).where(HistoryEvent.action == "admin_change").order_by(HistoryEvent.id)
    ).all()


def _count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def _key_form(**values) -> dict:
    data = {"key-name": "くまもとアプリ", "key-center_id": "0", "key-rate_limit_per_minute": "60"}
    data.update({f"key-{name}": value for name, value in values.items()})
    return data


# --- keys: the service ------------------------------------------------------------------------


def test_create_key_stores_only_the_hash_and_records_no_secret(session, make):
    admin = make.admin()
    before = len(_admin_events(session))
    key, plain = keys.create_key(session, admin, name="くまもとアプリ", rate_limit_per_minute=120)
    assert len(plain) >= 40 and key.key_prefix == plain[:8]
    assert key.key_hash == hash_key(plain) and plain not in (key.key_hash, key.name)
    assert key.center_id is None and key.rate_limit_per_minute == 120 and key.created_by == admin
    assert keys.find_active_key(session, plain) == key
    events = _admin_events(session)[before:]
    assert len(events) == 1 and events[0].actor == admin
    change = events[0].data["changes"][0]
    assert change["table"] == "api_keys" and change["new"] is True
    assert change["fields"]["rate_limit_per_minute"] == [None, 120]
    assert plain not in repr(events[0].data) and key.key_hash not in repr(events[0].data)


def test_create_key_scoped_to_a_center(session, make):
    center = make.center()
    key, _plain = keys.create_key(session, None, name="コールセンター", center_id=center.id)
    assert key.center == center


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "  "}, "名前を入力"),
        ({"name": "既存"}, "既にあります"),
        ({"name": "x", "center_id": 2**31 - 1}, "有効なまちづくりセンター"),
        ({"name": "x", "rate_limit_per_minute": 0}, "1〜10,000"),
        ({"name": "x", "rate_limit_per_minute": 10_001}, "1〜10,000"),
        ({"name": "x", "rate_limit_per_minute": "abc"}, "1〜10,000"),
    ],
)
def test_create_key_refusals_change_nothing(session, make, fields, message):
    keys.create_key(session, None, name="既存")
    keys_before, events_before = _count(session, ApiKey), len(_admin_events(session))
    with pytest.raises(WorkflowError, match=message):
        keys.create_key(session, None, **fields)
    assert (_count(session, ApiKey), len(_admin_events(session))) == (keys_before, events_before)


def test_create_key_refuses_an_inactive_center(session, make):
    center = make.center()
    center.active = False
    with pytest.raises(WorkflowError, match="有効なまちづくりセンター"):
        keys.create_key(session, None, name="x", center_id=center.id)
    assert _count(session, ApiKey) == 0


def test_revoke_key_refuses_twice_and_the_key_no_longer_works(session, make):
    admin = make.admin()
    key, plain = keys.create_key(session, admin, name="アプリ")
    keys.revoke_key(session, admin, key)
    assert key.revoked_at is not None and key.revoked_by == admin
    assert keys.find_active_key(session, plain) is None
    event = _admin_events(session)[-1]
    assert event.data["changes"][0]["fields"]["revoked_at"][0] is None
    events_before = len(_admin_events(session))
    with pytest.raises(WorkflowError, match="既に無効化"):
        keys.revoke_key(session, admin, key)
    assert len(_admin_events(session)) == events_before


def test_set_rate_limit_records_old_and_new(session, make):
    key, _plain = keys.create_key(session, None, name="アプリ")
    keys.set_rate_limit(session, None, key, 300)
    assert key.rate_limit_per_minute == 300
    assert _admin_events(session)[-1].data["changes"][0]["fields"] == {"rate_limit_per_minute": [60, 300]}
    with pytest.raises(WorkflowError, match="1〜10,000"):
        keys.set_rate_limit(session, None, key, 10_001)
    assert key.rate_limit_per_minute == 300


# --- keys: the pages ----------------------------------------------------------------------------


def test_the_key_page_shows_the_plain_key_once_and_never_in_the_cookie(session, make, login_as):
    client = login_as(make.admin())
    response = client.post("/admin/open311/keys", data=_key_form())
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    assert "二度と表示できません" in page
    plain = re.search(r'<pre class="api-key" id="api-key">([^<]+)</pre>', page).group(1)
    key = session.scalars(select(ApiKey).where(ApiKey.name == "くまもとアプリ")).one()
    assert key.key_hash == hash_key(plain)
    assert plain not in " ".join(response.headers.getlist("Set-Cookie"))
    listing = client.get("/admin/open311/keys").get_data(as_text=True)
    assert "くまもとアプリ" in listing and key.key_prefix in listing and plain not in listing


def test_a_refused_key_form_keeps_the_input_and_says_why_next_to_the_field(session, make, login_as):
    keys.create_key(session, None, name="くまもとアプリ")
    client = login_as(make.admin())
    response = client.post("/admin/open311/keys", data=_key_form(rate_limit_per_minute="77"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'has-error">\s*<label for="key-name"', page)
    assert "「くまもとアプリ」は既にあります" in page and 'value="77"' in page
    assert _count(session, ApiKey) == 1


def test_revoke_and_limit_through_the_page(session, make, login_as):
    key, _plain = keys.create_key(session, None, name="アプリ")
    client = login_as(make.admin())
    response = client.post(
        f"/admin/open311/keys/{key.id}/limit", data={f"limit{key.id}-rate_limit_per_minute": "5"}
    )
    assert response.status_code == 302 and key.rate_limit_per_minute == 5
    refused = client.post(
        f"/admin/open311/keys/{key.id}/limit", data={f"limit{key.id}-rate_limit_per_minute": "0"}
    )
    assert refused.status_code == 200 and "1〜10,000" in refused.get_data(as_text=True)
    assert key.rate_limit_per_minute == 5
    assert client.post(f"/admin/open311/keys/{key.id}/revoke").status_code == 302
    session.refresh(key)
    assert key.revoked_at is not None
    again = client.post(f"/admin/open311/keys/{key.id}/revoke", follow_redirects=True)
    assert "既に無効化されています" in again.get_data(as_text=True)
    late = client.post(
        f"/admin/open311/keys/{key.id}/limit", data={f"limit{key.id}-rate_limit_per_minute": "9"}
    )
    assert late.status_code == 200 and "無効化されているため変更できません" in late.get_data(as_text=True)
    assert key.rate_limit_per_minute == 5


# --- towns ---------------------------------------------------------------------------------------


def test_towns_add_refuse_and_delete_with_history(session, make, login_as):
    center = make.center()
    client = login_as(make.admin())
    data = {"town-town_name": "手取本町", "town-center_id": str(center.id)}
    assert client.post("/admin/open311/towns", data=data).status_code == 302
    town = session.scalars(select(TownCenter)).one()
    assert (town.town_name, town.center_id) == ("手取本町", center.id)
    assert _admin_events(session)[-1].data["changes"][0]["fields"]["town_name"] == [None, "手取本町"]
    refused = client.post("/admin/open311/towns", data=data)
    assert refused.status_code == 200 and "既に登録されています" in refused.get_data(as_text=True)
    assert _count(session, TownCenter) == 1
    assert "手取本町" in client.get("/admin/open311/towns").get_data(as_text=True)
    assert client.post(f"/admin/open311/towns/{town.id}/delete").status_code == 302
    assert _count(session, TownCenter) == 0
    change = _admin_events(session)[-1].data["changes"][0]
    assert change["deleted"] is True and change["fields"]["town_name"] == ["手取本町", None]


# --- services ------------------------------------------------------------------------------------


def test_service_profile_is_saved_and_recorded(session, make, login_as):
    category = make.category()
    client = login_as(make.admin())
    data = {
        "profile-description": "道路の穴など",
        "profile-keywords": "道路、穴, 段差",
        "profile-group": "道路",
    }
    assert client.post(f"/admin/open311/services/{category.id}", data=data).status_code == 302
    profile = session.get(ServiceProfile, category.id)
    assert (profile.description, profile.keywords, profile.group) == ("道路の穴など", "道路,穴,段差", "道路")
    assert _admin_events(session)[-1].data["changes"][0]["fields"]["group"] == ["", "道路"]
    assert "道路の穴など" in client.get("/admin/open311/services").get_data(as_text=True)


def test_attribute_add_edit_delete(session, make, login_as):
    category = make.category()
    client = login_as(make.admin())
    data = {
        "attribute-code": "damage_kind",
        "attribute-datatype": "singlevaluelist",
        "attribute-required": "y",
        "attribute-description": "損傷の種類",
        "attribute-order": "1",
        "attribute-values": "hole=穴\ncrack=ひび割れ\n",
    }
    assert client.post(f"/admin/open311/services/{category.id}/attributes", data=data).status_code == 302
    attribute = session.scalars(
        select(ServiceAttribute).where(ServiceAttribute.category_id == category.id)
    ).one()
    assert attribute.required and attribute.values == [
        {"key": "hole", "name": "穴"},
        {"key": "crack", "name": "ひび割れ"},
    ]
    form = client.get(f"/admin/open311/attributes/{attribute.id}/edit").get_data(as_text=True)
    assert "hole=穴" in form
    edited = {**data, "attribute-values": "hole=穴\ncrack=ひび割れ\nstep=段差"}
    assert client.post(f"/admin/open311/attributes/{attribute.id}/edit", data=edited).status_code == 302
    session.refresh(attribute)
    assert [v["key"] for v in attribute.values] == ["hole", "crack", "step"]
    assert client.post(f"/admin/open311/attributes/{attribute.id}/delete").status_code == 302
    assert _count(session, ServiceAttribute) == 0
    assert _admin_events(session)[-1].data["changes"][0]["deleted"] is True


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"attribute-code": "損傷"}, "code", "半角英数字"),
        ({"attribute-datatype": "singlevaluelist", "attribute-values": ""}, "values", "1つ以上"),
        ({"attribute-datatype": "number", "attribute-values": "a=b"}, "values", "singlevaluelist"),
        ({"attribute-values": "a=x\na=y", "attribute-datatype": "multivaluelist"}, "values", "重複"),
    ],
)
def test_a_refused_attribute_says_why_and_stores_nothing(session, make, login_as, changes, field, message):
    category = make.category()
    client = login_as(make.admin())
    data = {
        "attribute-code": "size_cm",
        "attribute-datatype": "number",
        "attribute-description": "大きさ (cm)",
    }
    response = client.post(f"/admin/open311/services/{category.id}/attributes", data={**data, **changes})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page
    assert re.search(rf'has-error">\s*<label for="attribute-{field}"', page)
    assert _count(session, ServiceAttribute) == 0


def test_duplicate_attribute_code_is_refused(session, make):
    category = session.scalars(select(Category).where(Category.active)).first()
    fields = {"code": "size_cm", "datatype": "number", "description": "大きさ"}
    service_admin.add_attribute(session, None, category, fields)
    with pytest.raises(WorkflowError, match="既にあります"):
        service_admin.add_attribute(session, None, category, fields)
    assert _count(session, ServiceAttribute) == 1


# --- the command line ------------------------------------------------------------------------


def test_cli_creates_lists_and_revokes_keys(app, session, make):
    runner = app.test_cli_runner()
    center = make.center()
    result = runner.invoke(
        args=["api-key", "create", "--name", "コールセンター", "--center", center.name, "--limit", "30"]
    )
    assert result.exit_code == 0, result.output
    plain = result.output.splitlines()[1]
    key = keys.find_active_key(session, plain)
    assert key is not None and key.center == center and key.rate_limit_per_minute == 30
    listed = runner.invoke(args=["api-key", "list"])
    assert (
        "コールセンター" in listed.output and key.key_prefix in listed.output and plain not in listed.output
    )
    refused = runner.invoke(args=["api-key", "create", "--name", "コールセンター"])
    assert refused.exit_code != 0 and "既にあります" in refused.output
    unknown = runner.invoke(args=["api-key", "create", "--name", "x", "--center", "どこにもない"])
    assert unknown.exit_code != 0 and _count(session, ApiKey) == 1
    assert runner.invoke(args=["api-key", "revoke", "コールセンター"]).exit_code == 0
    assert keys.find_active_key(session, plain) is None
    assert runner.invoke(args=["api-key", "revoke", "コールセンター"]).exit_code != 0


def test_cli_create_by_center_id(app, session, make):
    center = make.center()
    result = app.test_cli_runner().invoke(
        args=["api-key", "create", "--name", "id指定", "--center", str(center.id)]
    )
    assert result.exit_code == 0, result.output
    assert session.scalars(select(ApiKey).where(ApiKey.name == "id指定")).one().center == center


# --- the demo ------------------------------------------------------------------------------------


def test_the_demo_loads_keys_towns_and_services_once(session, make):
    from tracker.city import demo_open311

    demo_open311.load_demo_open311(session)
    city_app = keys.find_active_key(session, demo_open311.DEMO_KEY)
    assert city_app is not None and city_app.name == "くまもとアプリ" and city_app.center_id is None
    call_center = keys.key_named(session, "コールセンター")
    assert call_center.center == make.center() and call_center.key_hash != city_app.key_hash
    towns = {t.town_name: t.center.name for t in service_admin.town_rows(session)}
    assert towns["手取本町"] == "中央区まちづくりセンター" and towns["植木町"] == "植木"
    road = session.scalars(select(Category).where(Category.name == "道路・交通安全")).one()
    codes = [a.code for a in service_admin.attributes_of(session, road.id)]
    assert codes == ["damage_kind", "size_cm"]
    assert session.get(ServiceProfile, road.id).keywords.startswith("道路")
    counts = (_count(session, ApiKey), _count(session, TownCenter), _count(session, ServiceAttribute))
    demo_open311.load_demo_open311(session)
    assert (_count(session, ApiKey), _count(session, TownCenter), _count(session, ServiceAttribute)) == counts


def test_the_change_log_page_shows_key_changes_without_the_key(session, make, login_as):
    key, plain = keys.create_key(session, None, name="くまもとアプリ", rate_limit_per_minute=90)
    keys.set_rate_limit(session, None, key, 45)
    session.commit()
    page = login_as(make.admin()).get("/admin/audit/changes").get_data(as_text=True)
    assert "APIキー「くまもとアプリ」の上限を変更" in page and "1分あたりの上限: 90 → 45" in page
    assert plain not in page and key.key_hash not in page


def test_the_demo_app_sends_requests_routed_by_town_and_waiting_in_the_intake_queue(session, make, tmp_path):
    from tracker.city import demo_open311
    from tracker.open311_models import Open311Submission

    demo_open311.load_demo_open311(session)
    arrive = {"photo_dir": str(tmp_path), "answer_due_days": 14, "today": dt.date(2026, 12, 1)}
    demo_open311.load_demo_arrivals(session, **arrive)
    arrived = session.scalars(select(Open311Submission).order_by(Open311Submission.id)).all()
    routed = [s.service_request for s in arrived if s.service_request is not None]
    assert [r.source for r in routed] == [Source.APP, Source.APP] and all(r.logged_by is None for r in routed)
    assert [r.state for r in routed] == [RequestState.RECEIVED, RequestState.RECEIVED]
    queued = [s for s in arrived if s.service_request is None]
    assert [s.ward.name if s.ward else None for s in queued] == ["北区", None]
    demo_open311.load_demo_arrivals(session, **arrive)
    assert _count(session, Open311Submission) == len(arrived) == 4
