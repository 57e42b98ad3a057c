"""Open311 POST requests.{fmt} and GET tokens/{token}.{fmt}: what arrives, where it goes, what is refused.

Every refusal is the spec's error array (never an HTML page) and leaves every table, and the
photo folder, as they were.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from pathlib import Path
from xml.etree import ElementTree

import pytest
from sqlalchemy import func, select

from tracker.formatting import today_in_tokyo
from tracker.models import Category, HistoryEvent, Photo, ServiceRequest
from tracker.open311_models import Open311Submission, ServiceAttribute, TownCenter
from tracker.safeguards.api_limits import ApiLimits
from tracker.states import RequestState, Source

from .factories import png_bytes
from .route_world import snapshot

RESIDENT = {
    "first_name": "太郎",
    "last_name": "熊本",
    "email": "taro@example.jp",
    "phone": "096-111-2222",
    "device_id": "device-123",
    "account_id": "account-456",
}
PERSONAL_VALUES = ("太郎", "熊本 太郎", "taro@example.jp", "096-111-2222", "device-123", "account-456")


def post(client, plain: str | None, fmt: str = "json", **data):
    form = {"api_key": plain, **data} if plain is not None else dict(data)
    return client.post(f"/open311/v2/requests.{fmt}", data=form)


def category(session) -> Category:
    return session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.id)).first()


def good(session, **extra) -> dict:
    return {
        "service_code": str(category(session).id),
        "address_string": "熊本市中央区手取本町1-1",
        "description": "公園前の街灯が1週間ほど消えたまま",
        **RESIDENT,
        **extra,
    }


def assert_no_personal_data(response) -> None:
    body = response.get_data(as_text=True)
    assert not [value for value in PERSONAL_VALUES if value in body], body


def photo_files(app) -> set[Path]:
    folder = Path(app.config["PHOTO_DIR"])
    return set(folder.iterdir()) if folder.exists() else set()


# --- arriving ---------------------------------------------------------------------------------------


def test_a_json_post_through_a_center_key_is_a_request_in_received_of_that_center(app, client, session, make):
    center = make.second_center()
    key, plain = make.api_key("コールセンター", center=center)
    response = post(client, plain, **good(session, lat="32.803100", long="130.707900"))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.content_type.startswith("application/json")
    [item] = response.get_json()
    request = session.scalars(
        select(ServiceRequest).where(ServiceRequest.reference == item["service_request_id"])
    ).one()
    assert set(item) == {"service_request_id", "token", "service_notice"}
    assert center.name in item["service_notice"]
    assert request.center_id == center.id and request.ward_id == center.ward_id
    assert request.state == RequestState.RECEIVED and request.source == Source.APP
    assert request.logged_by_id is None
    assert request.received_on == today_in_tokyo()
    assert request.answer_due_on == request.received_on + dt.timedelta(days=app.config["ANSWER_DUE_DAYS"])
    assert request.title.startswith(category(session).name) and len(request.title) <= 200
    assert request.location_text == "熊本市中央区手取本町1-1"
    assert float(request.latitude) == pytest.approx(32.8031)
    assert request.requester_name == "熊本 太郎"
    assert request.requester_contact == "taro@example.jp / 096-111-2222"
    submission = session.scalars(select(Open311Submission).filter_by(token=item["token"])).one()
    assert submission.service_request_id == request.id and submission.api_key_id == key.id
    assert submission.device_id == "device-123" and submission.account_id == "account-456"
    [event] = session.scalars(select(HistoryEvent).where(HistoryEvent.service_request_id == request.id)).all()
    assert (event.action, event.actor_id, event.actor_role) == ("create", None, "system")
    assert event.data == {"photos": 0, "source": "app", "api_key": "コールセンター", "token": item["token"]}
    assert_no_personal_data(response)


def test_an_xml_post_answers_with_the_specs_element_names(client, session, make):
    _key, plain = make.api_key(center=make.center())
    response = post(client, plain, "xml", **good(session))
    assert response.status_code == 201
    assert response.content_type.startswith("text/xml")
    root = ElementTree.fromstring(response.data)
    assert root.tag == "service_requests"
    [item] = list(root)
    assert item.tag == "request"
    assert [child.tag for child in item] == ["service_request_id", "token", "service_notice"]
    reference = item.findtext("service_request_id")
    assert session.scalars(select(ServiceRequest).filter_by(reference=reference)).one().source == Source.APP
    assert_no_personal_data(response)


def test_a_multipart_post_with_media_attaches_the_photo_uploaded_by_no_one(app, client, session, make):
    _key, plain = make.api_key(center=make.center())
    before = photo_files(app)
    data = good(session, media=(io.BytesIO(png_bytes((12, 10))), "街灯.png"))
    response = client.post(
        "/open311/v2/requests.json", data={"api_key": plain, **data}, content_type="multipart/form-data"
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    reference = response.get_json()[0]["service_request_id"]
    request = session.scalars(select(ServiceRequest).filter_by(reference=reference)).one()
    [photo] = request.photos
    assert (photo.uploaded_by_id, photo.content_type, photo.width, photo.height) == (
        None,
        "image/png",
        12,
        10,
    )
    assert photo.original_name == "街灯.png"
    assert {path.name for path in photo_files(app) - before} == {photo.stored_name}


def test_attribute_answers_are_checked_and_stored_by_code(client, session, make):
    _key, plain = make.api_key(center=make.center())
    ask = questions(session)
    response = post(
        client,
        plain,
        **good(
            session,
            **{
                "attribute[kind]": "led",
                "attribute[count]": "3",
                "attribute[parts][]": ["pole", "lamp"],
                "attribute[seen_at]": "2026-12-01T20:00:00+09:00",
            },
        ),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    submission = session.scalars(
        select(Open311Submission).filter_by(token=response.get_json()[0]["token"])
    ).one()
    assert submission.attributes == {
        "kind": "led",
        "count": "3",
        "parts": ["lamp", "pole"],
        "seen_at": "2026-12-01T20:00:00+09:00",
    }
    assert ask  # the questions were the category's


# --- routing ----------------------------------------------------------------------------------------


def test_a_city_wide_key_routes_by_the_longest_town_name_in_the_address(client, session, make):
    center, other = make.center(), make.second_center()
    session.add_all(
        [
            TownCenter(town_name="大江", center_id=center.id),
            TownCenter(town_name="大江本町", center_id=other.id),
        ]
    )
    session.commit()
    _key, plain = make.api_key()
    # full-width digits and a space: read NFKC-normalised
    response = post(client, plain, **good(session, address_string="熊本市中央区 大江本町１−２"))
    reference = response.get_json()[0]["service_request_id"]
    assert session.scalars(select(ServiceRequest).filter_by(reference=reference)).one().center_id == other.id
    response = post(client, plain, **good(session, address_string="熊本市中央区大江3丁目"))
    reference = response.get_json()[0]["service_request_id"]
    assert session.scalars(select(ServiceRequest).filter_by(reference=reference)).one().center_id == center.id


def test_an_address_without_a_known_town_waits_in_the_queue_of_the_ward_it_names(client, session, make):
    _key, plain = make.api_key()
    response = post(client, plain, **good(session, address_string="熊本市東区どこか町9"))
    assert response.status_code == 201
    [item] = response.get_json()
    assert set(item) == {"token", "service_notice"}
    assert "awaiting assignment" in item["service_notice"]
    submission = session.scalars(select(Open311Submission).filter_by(token=item["token"])).one()
    assert submission.service_request_id is None
    assert submission.ward.name == "東区"
    assert submission.requester_name == "熊本 太郎"
    assert (
        session.scalar(
            select(func.count()).select_from(ServiceRequest).where(ServiceRequest.source == Source.APP)
        )
        == 0
    )


def test_a_place_given_only_by_coordinates_waits_in_the_queue_of_no_ward(client, session, make):
    _key, plain = make.api_key()
    data = good(session, lat="32.8", long="130.7")
    data.pop("address_string")
    item = post(client, plain, **data).get_json()[0]
    submission = session.scalars(select(Open311Submission).filter_by(token=item["token"])).one()
    assert (submission.service_request_id, submission.ward_id) == (None, None)


def test_a_queued_submission_keeps_its_photo_until_it_becomes_a_request(app, client, session, make):
    _key, plain = make.api_key()
    before = photo_files(app)
    data = good(session, address_string="どこか", media=(io.BytesIO(png_bytes()), "a.png"))
    item = post(client, plain, **data).get_json()[0]
    submission = session.scalars(select(Open311Submission).filter_by(token=item["token"])).one()
    assert {path.name for path in photo_files(app) - before} == {submission.media["stored_name"]}
    assert (
        session.scalar(
            select(func.count())
            .select_from(Photo)
            .where(Photo.stored_name == submission.media["stored_name"])
        )
        == 0
    )


# --- refusals ---------------------------------------------------------------------------------------


def questions(session) -> list[ServiceAttribute]:
    """The first category's extra questions: one of each kind the refusals try."""
    found = session.scalars(
        select(ServiceAttribute).where(ServiceAttribute.category_id == category(session).id)
    ).all()
    if found:
        return list(found)
    cid = category(session).id
    rows = [
        ServiceAttribute(
            category_id=cid,
            code="kind",
            datatype="singlevaluelist",
            required=True,
            description="種類",
            values=[{"key": "led", "name": "LED"}, {"key": "old", "name": "蛍光灯"}],
        ),
        ServiceAttribute(category_id=cid, code="count", datatype="number", description="本数"),
        ServiceAttribute(
            category_id=cid,
            code="parts",
            datatype="multivaluelist",
            description="部位",
            values=[{"key": "pole", "name": "柱"}, {"key": "lamp", "name": "灯具"}],
        ),
        ServiceAttribute(category_id=cid, code="seen_at", datatype="datetime", description="気付いた日時"),
    ]
    session.add_all(rows)
    session.commit()
    return rows


def without(data: dict, *names: str) -> dict:
    return {key: value for key, value in data.items() if key not in names}


# (name, what to change in a good POST, the parameter its description must name)
REFUSALS = [
    ("no service_code", lambda d: without(d, "service_code"), "service_code"),
    ("unknown service_code", lambda d: d | {"service_code": "999999"}, "service_code"),
    ("service_code not a number", lambda d: d | {"service_code": "道路"}, "service_code"),
    ("no location", lambda d: without(d, "address_string"), "location"),
    ("lat without long", lambda d: without(d, "address_string") | {"lat": "32.8"}, "lat/long"),
    ("lat out of range", lambda d: d | {"lat": "91", "long": "130"}, "lat"),
    ("long out of range", lambda d: d | {"lat": "32", "long": "-181"}, "long"),
    ("lat not a number", lambda d: d | {"lat": "NaN", "long": "130"}, "lat"),
    ("description too long", lambda d: d | {"description": "あ" * 4001}, "description"),
    (
        "name too long",
        lambda d: d | {"first_name": "名" * 60, "last_name": "姓" * 60},
        "first_name/last_name",
    ),
    (
        "contact too long",
        lambda d: d | {"email": "a" * 150 + "@example.jp", "phone": "0" * 60},
        "email/phone",
    ),
    ("address too long", lambda d: d | {"address_string": "町" * 201}, "address_string"),
    ("device_id too long", lambda d: d | {"device_id": "d" * 201}, "device_id"),
    ("media_url not http", lambda d: d | {"media_url": "javascript:alert(1)"}, "media_url"),
    ("media_url too long", lambda d: d | {"media_url": "https://example.jp/" + "a" * 490}, "media_url"),
    ("media not a photo", lambda d: d | {"media": (io.BytesIO(b"%PDF-1.4 not an image"), "a.png")}, "media"),
    ("required attribute missing", lambda d: without(d, "attribute[kind]"), "attribute[kind]"),
    ("unknown attribute", lambda d: d | {"attribute[colour]": "red"}, "attribute[colour]"),
    ("value not in the list", lambda d: d | {"attribute[kind]": "gas"}, "attribute[kind]"),
    ("number not numeric", lambda d: d | {"attribute[count]": "三本"}, "attribute[count]"),
    ("number infinite", lambda d: d | {"attribute[count]": "1e999999"}, "attribute[count]"),
    (
        "multivalue not in the list",
        lambda d: d | {"attribute[parts][]": ["pole", "wire"]},
        "attribute[parts]",
    ),
    ("datetime not ISO", lambda d: d | {"attribute[seen_at]": "昨日の夜"}, "attribute[seen_at]"),
    ("two values for a single answer", lambda d: d | {"attribute[kind]": ["led", "old"]}, "attribute[kind]"),
]


@pytest.mark.parametrize(
    ("change", "parameter"), [(c, p) for _n, c, p in REFUSALS], ids=[n for n, _c, _p in REFUSALS]
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_refused_post_answers_400_naming_the_parameter_and_stores_nothing(
    app, client, session, make, change, parameter, fmt
):
    questions(session)
    _key, plain = make.api_key(center=make.center())
    data = change(good(session, **{"attribute[kind]": "led"}))
    before, files = snapshot(), photo_files(app)
    response = client.post(
        f"/open311/v2/requests.{fmt}", data={"api_key": plain, **data}, content_type="multipart/form-data"
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    if fmt == "json":
        [error] = response.get_json()
        code, description = error["code"], error["description"]
    else:
        root = ElementTree.fromstring(response.data)
        assert (root.tag, [child.tag for child in root]) == ("errors", ["error"])
        code, description = int(root.findtext("error/code")), root.findtext("error/description")
    assert code == 400
    assert description.startswith(parameter + ":") or description.startswith(parameter)
    assert snapshot() == before
    assert photo_files(app) == files
    assert_no_personal_data(response)


def test_the_good_post_of_the_refusals_is_accepted(client, session, make):
    """The refusals above change one thing each in a POST that is itself accepted."""
    questions(session)
    _key, plain = make.api_key(center=make.center())
    response = post(client, plain, **good(session, **{"attribute[kind]": "led"}))
    assert response.status_code == 201, response.get_data(as_text=True)


@pytest.mark.parametrize("which", ["missing", "wrong", "revoked"])
def test_a_post_without_a_live_key_is_403_and_stores_nothing(client, session, make, which):
    key, plain = make.api_key(center=make.center())
    if which == "revoked":
        key.revoked_at = dt.datetime.now(dt.UTC)
        session.commit()
    before = snapshot()
    response = post(client, {"missing": None, "wrong": plain + "x", "revoked": plain}[which], **good(session))
    assert response.status_code == 403
    [error] = response.get_json()
    assert error["code"] == 403 and "api_key" in error["description"]
    assert snapshot() == before


def test_past_the_keys_rate_limit_the_answer_is_429_with_retry_after(client, session, make):
    _key, plain = make.api_key(center=make.center(), rate_limit_per_minute=2)
    _other, other_plain = make.api_key(center=make.center(), rate_limit_per_minute=2)
    assert post(client, plain, **good(session)).status_code == 201
    assert client.get(f"/open311/v2/tokens/none.json?api_key={plain}").status_code == 404  # counts too
    before = snapshot()
    response = post(client, plain, "xml", **good(session))
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    root = ElementTree.fromstring(response.data)
    assert root.tag == "errors" and root.findtext("error/code") == "429"
    assert snapshot() == before
    assert post(client, other_plain, **good(session)).status_code == 201  # another key has its own count


# --- tokens -----------------------------------------------------------------------------------------


def test_a_token_says_the_request_it_became_or_null_while_it_waits(client, session, make):
    _key, plain = make.api_key()
    queued = post(client, plain, **good(session, address_string="どこか")).get_json()[0]["token"]
    _center_key, center_plain = make.api_key(center=make.center())
    routed = post(client, center_plain, **good(session)).get_json()[0]
    assert client.get(f"/open311/v2/tokens/{queued}.json").get_json() == [
        {"service_request_id": None, "token": queued}
    ]
    answer = client.get(f"/open311/v2/tokens/{routed['token']}.json")
    assert answer.get_json() == [
        {"service_request_id": routed["service_request_id"], "token": routed["token"]}
    ]
    root = ElementTree.fromstring(client.get(f"/open311/v2/tokens/{routed['token']}.xml").data)
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == routed["service_request_id"]
    assert root.findtext("request/token") == routed["token"]
    assert_no_personal_data(answer)


def test_an_unknown_token_is_404_in_the_error_array(client):
    response = client.get("/open311/v2/tokens/00000000-0000-0000-0000-000000000000.json")
    assert response.status_code == 404
    assert response.get_json()[0]["code"] == 404


# --- jurisdiction and the error arrays of the whole prefix -------------------------------------------


def test_another_jurisdiction_is_404_and_ours_is_accepted(app, client, session, make):
    _key, plain = make.api_key(center=make.center())
    before = snapshot()
    refused = post(client, plain, **good(session, jurisdiction_id="city.elsewhere.jp"))
    assert refused.status_code == 404 and refused.get_json()[0]["code"] == 404
    assert snapshot() == before
    ours = post(client, plain, **good(session, jurisdiction_id=app.config["OPEN311_JURISDICTION_ID"]))
    assert ours.status_code == 201


def error_of(response) -> tuple[int, str]:
    if response.content_type.startswith("text/xml"):
        root = ElementTree.fromstring(response.data)
        assert root.tag == "errors"
        return int(root.findtext("error/code")), root.findtext("error/description")
    [error] = json.loads(response.data)
    return error["code"], error["description"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unknown_path_under_the_prefix_is_a_404_array_not_a_page(client, fmt):
    response = client.get(f"/open311/v2/nothing-here.{fmt}")
    assert response.status_code == 404
    assert error_of(response)[0] == 404
    assert "<html" not in response.get_data(as_text=True).lower()


def test_a_wrong_method_is_a_405_array(client):
    response = client.put("/open311/v2/requests.json", data={})
    assert response.status_code == 405
    assert error_of(response)[0] == 405


def test_a_nul_character_is_a_400_array(client, session, make):
    _key, plain = make.api_key(center=make.center())
    before = snapshot()
    response = post(client, plain, "xml", **good(session, description="街灯\x00"))
    assert response.status_code == 400
    assert error_of(response)[0] == 400
    assert snapshot() == before


def test_a_body_past_the_size_limit_is_a_413_array(app, client, session, make, monkeypatch):
    _key, plain = make.api_key(center=make.center())
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 10_000)
    before = snapshot()
    response = post(client, plain, **good(session, description="あ" * 20_000))
    assert response.status_code == 413
    assert error_of(response)[0] == 413
    assert snapshot() == before


def test_outside_the_prefix_errors_stay_pages(client):
    response = client.get("/nothing-here")
    assert response.status_code == 404
    assert "<html" in response.get_data(as_text=True).lower()


# --- the rate limit's store ----------------------------------------------------------------------


def test_two_processes_share_a_keys_count_through_redis(redis_url):
    first, second = ApiLimits(redis_url), ApiLimits(redis_url)  # as two web processes would
    identity = f"key-{uuid.uuid4().hex}"
    assert first.hit(identity, 2) == 0
    assert second.hit(identity, 2) == 0
    assert 1 <= first.hit(identity, 2) <= 60
    assert 1 <= second.hit(identity, 2) <= 60
    assert ApiLimits().hit(identity, 2) == 0  # a process of its own memory knows nothing of them


def test_with_redis_down_the_count_goes_on_in_memory():
    limits = ApiLimits("redis://127.0.0.1:1/0")
    identity = f"key-{uuid.uuid4().hex}"
    assert [limits.hit(identity, 2) == 0 for _ in range(3)] == [True, True, False]
