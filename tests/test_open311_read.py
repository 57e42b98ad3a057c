"""The Open311 read side: discovery, services, service definitions, requests, one request, updates.

Every endpoint in JSON and XML (the XML parsed with ElementTree, in the spec's element names);
the filters of ``GET requests``, its 90-day rule and pagination; the status mapping (answered and
withdrawn read closed with the answer or the withdrawal in ``status_notes``, escalated stays open
and says so); ``agency_responsible`` turning to the lead bureau once the issue is sent; the
updates list. Every response goes through ``open311`` (tests/open311_support.py), which fails on
any seeded personal data.
"""

from __future__ import annotations

import datetime as dt
import json
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from tracker.models import Category
from tracker.open311 import records
from tracker.open311.errors import Open311Error
from tracker.open311_models import ServiceAttribute, ServiceProfile
from tracker.states import IssueState

from .factories import TODAY
from .open311_support import PII_MARKERS, CheckedClient, make_api_key, seed_personal_request

V2 = "/open311/v2"
AROUND_TODAY = {"start_date": "2024-05-01", "end_date": "2024-06-30"}
ANSWER = {"answer_text": "街灯を交換しました。", "answer_kind": "resolved", "answered_on": TODAY}
RECORD_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


@pytest.fixture
def open311(client) -> CheckedClient:
    """The client of every test here: it fails on any answer carrying seeded personal data."""
    return CheckedClient(client)


def as_json(response, status: int = 200):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/json; charset=utf-8"
    return json.loads(response.get_data(as_text=True))


def as_xml(response, status: int = 200) -> ElementTree.Element:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "text/xml; charset=utf-8"
    return ElementTree.fromstring(response.get_data())


def records_by_id(open311, **params) -> dict[str, dict]:
    answered = as_json(open311.get(f"{V2}/requests.json", query_string=params))
    return {record["service_request_id"]: record for record in answered}


# --- discovery and services --------------------------------------------------------------


def test_discovery_in_both_formats_names_the_endpoint_and_its_formats(open311):
    found = as_json(open311.get(f"{V2}/discovery.json"))
    endpoint = found["endpoints"][0]
    assert endpoint["url"] == "http://localhost/open311/v2/"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["formats"] == ["application/json", "text/xml"]
    root = as_xml(open311.get(f"{V2}/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.find("endpoints/endpoint/formats").findall("format")] == endpoint["formats"]
    assert root.find("changeset").text == found["changeset"]


def test_services_lists_each_active_category_with_its_profile_and_metadata(session, open311):
    categories = session.scalars(select(Category).where(Category.active.is_(True))).all()
    first, second = categories[0], categories[1]
    session.add(
        ServiceProfile(category_id=first.id, description="道路の穴", keywords="道路,穴", group="道路")
    )
    session.add(ServiceAttribute(category_id=first.id, code="depth", description="深さ"))
    second.active = False
    session.commit()
    found = {service["service_code"]: service for service in as_json(open311.get(f"{V2}/services.json"))}
    assert str(second.id) not in found
    assert len(found) == len(categories) - 1
    assert found[str(first.id)] == {
        "service_code": str(first.id),
        "service_name": first.name,
        "description": "道路の穴",
        "metadata": True,
        "type": "realtime",
        "keywords": "道路,穴",
        "group": "道路",
    }
    others = [service for code, service in found.items() if code != str(first.id)]
    assert all(service["metadata"] is False and service["group"] is None for service in others)
    root = as_xml(open311.get(f"{V2}/services.xml"))
    assert root.tag == "services"
    xml_first = next(s for s in root.findall("service") if s.find("service_code").text == str(first.id))
    assert xml_first.find("service_name").text == first.name
    assert xml_first.find("metadata").text == "true"


def test_service_definition_lists_the_attributes_in_order_in_both_formats(session, open311):
    category = session.scalars(select(Category).order_by(Category.id)).first()
    values = [{"key": "s", "name": "小"}, {"key": "l", "name": "大"}]
    session.add_all(
        [
            ServiceAttribute(category_id=category.id, code="size", datatype="singlevaluelist", required=True,
                             description="大きさ", order=2, values=values),
            ServiceAttribute(category_id=category.id, code="note", description="補足", order=1),
        ]
    )  # fmt: skip
    session.commit()
    found = as_json(open311.get(f"{V2}/services/{category.id}.json"))
    assert found["service_code"] == str(category.id)
    assert [a["code"] for a in found["attributes"]] == ["note", "size"]
    size = found["attributes"][1]
    assert size["datatype"] == "singlevaluelist" and size["required"] is True and size["variable"] is True
    assert size["values"] == values
    root = as_xml(open311.get(f"{V2}/services/{category.id}.xml"))
    assert root.tag == "service_definition"
    xml_size = root.findall("attributes/attribute")[1]
    assert xml_size.find("code").text == "size"
    assert [v.find("name").text for v in xml_size.findall("values/value")] == ["小", "大"]


@pytest.mark.parametrize("code", ["999999", "abc", "-1"])
def test_an_unknown_service_code_is_a_404_error_array(open311, code):
    errors = as_json(open311.get(f"{V2}/services/{code}.json"), 404)
    assert errors[0]["code"] == 404 and "service_code" in errors[0]["description"]
    root = as_xml(open311.get(f"{V2}/services/{code}.xml"), 404)
    assert root.tag == "errors" and root.find("error/code").text == "404"


def test_an_inactive_category_has_no_service_definition(session, open311):
    category = session.scalars(select(Category).order_by(Category.id)).first()
    category.active = False
    session.commit()
    assert as_json(open311.get(f"{V2}/services/{category.id}.json"), 404)[0]["code"] == 404


# --- request records ---------------------------------------------------------------------


def test_a_record_has_exactly_the_spec_fields_and_no_personal_data(session, make, open311):
    key, _ = make_api_key(session)
    request = seed_personal_request(make, key)
    record = records_by_id(open311, **AROUND_TODAY)[request.reference]
    assert list(record) == RECORD_FIELDS
    assert record["status"] == "open" and record["status_notes"] is None
    assert record["service_code"] == str(request.category_id)
    assert record["service_name"] == request.category.name
    assert record["description"] == request.description
    assert record["agency_responsible"] == "中央区まちづくりセンター"
    assert record["address"] == "中央区手取本町1-1"
    assert record["address_id"] == "ADDR-1"
    assert (record["lat"], record["long"]) == (32.803, 130.7079)
    assert record["media_url"] == "https://example.jp/media/1.jpg"
    assert record["expected_datetime"] == f"{request.answer_due_on.isoformat()}T00:00:00+09:00"
    assert record["requested_datetime"] == "2024-06-03T00:00:00+09:00"  # logged later than received
    assert record["updated_datetime"].endswith("+09:00")
    assert request.reference in record["service_notice"]


def test_one_request_by_its_reference_in_both_formats(make, open311):
    request = seed_personal_request(make)
    found = as_json(open311.get(f"{V2}/requests/{request.reference}.json"))
    assert [record["service_request_id"] for record in found] == [request.reference]
    assert found[0]["media_url"] is None  # no submission; never a link to the stored photo
    root = as_xml(open311.get(f"{V2}/requests/{request.reference}.xml"))
    assert root.tag == "service_requests"
    (item,) = root.findall("request")
    assert [child.tag for child in item] == RECORD_FIELDS
    assert item.find("service_request_id").text == request.reference
    assert item.find("status").text == "open"


@pytest.mark.parametrize("reference", ["CHUO-1999-99999", "x" * 40, "a,b"])
def test_an_unknown_reference_is_a_404_error_array(open311, reference):
    errors = as_json(open311.get(f"{V2}/requests/{reference}.json"), 404)
    assert errors == [{"code": 404, "description": errors[0]["description"]}]
    assert as_xml(open311.get(f"{V2}/requests/{reference}.xml"), 404).find("error/code").text == "404"


def test_answered_and_withdrawn_read_closed_with_the_answer_or_the_withdrawal(make, open311):
    manager = make.manager()
    answered, withdrawn, waiting = (seed_personal_request(make) for _ in range(3))
    make.act(manager, answered, "answer", ANSWER)
    make.act(manager, withdrawn, "withdraw", {"comment": "別の要望と重複"})
    found = records_by_id(open311, **AROUND_TODAY)
    assert found[answered.reference]["status"] == "closed"
    assert found[answered.reference]["status_notes"] == "街灯を交換しました。"
    assert found[withdrawn.reference]["status"] == "closed"
    assert found[withdrawn.reference]["status_notes"] == "この要望は取り下げられました。 理由: 別の要望と重複"
    assert found[waiting.reference]["status"] == "open"


def test_escalated_stays_open_says_so_and_turns_to_the_bureau_once_sent(make, open311):
    issue = make.issue(IssueState.REGISTERED, request_fields={"requester_name": "個人情報太郎PII"})
    (request,) = issue.requests
    before = records_by_id(open311, **AROUND_TODAY)[request.reference]
    assert before["status"] == "open"
    assert before["status_notes"] == "区重要課題として検討中です。"
    assert before["agency_responsible"] == "中央区まちづくりセンター"
    assert issue.title not in json.dumps(before, ensure_ascii=False)  # the issue's texts are internal
    make.act(make.manager(), issue, "send", {})
    after = records_by_id(open311, **AROUND_TODAY)[request.reference]
    assert after["status"] == "open"
    assert after["agency_responsible"] == "環境局"
    assert after["status_notes"] == "区重要課題として環境局と協議しています。"


# --- filters, the 90-day rule, pages -----------------------------------------------------


def test_the_default_range_is_the_last_90_days(make, open311):
    request = seed_personal_request(make)  # received 2024-06-03, long before today
    assert request.reference not in records_by_id(open311)
    assert request.reference in records_by_id(open311, **AROUND_TODAY)


def test_a_range_past_90_days_or_unreadable_is_a_400(open311):
    too_long = {"start_date": "2024-01-01", "end_date": "2024-06-30"}
    errors = as_json(open311.get(f"{V2}/requests.json", query_string=too_long), 400)
    assert errors[0]["code"] == 400 and "90" in errors[0]["description"]
    assert as_xml(open311.get(f"{V2}/requests.xml", query_string=too_long), 400).tag == "errors"
    for bad in (
        {"start_date": "yesterday"},
        {"end_date": "2024-13-45"},
        {"start_date": "2024-06-30", "end_date": "2024-06-01"},
    ):
        assert as_json(open311.get(f"{V2}/requests.json", query_string=bad), 400)[0]["code"] == 400


@pytest.mark.parametrize(
    "params",
    [
        {"end_date": "0001-01-01"},
        {"start_date": "9999-12-31"},
        {"start_date": "0001-01-01T00:00:00+14:00"},
        {"end_date": "1e309"},
        {"start_date": "２０２４年"},
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_a_400_never_a_500(open311, params):
    for route in ("requests", "servicerequestupdates"):
        assert as_json(open311.get(f"{V2}/{route}.json", query_string=params), 400)[0]["code"] == 400


def test_datetimes_with_an_offset_select_by_the_tokyo_day(make, open311):
    request = seed_personal_request(make)
    # 2024-06-02T15:30Z is 2024-06-03 00:30 in Tokyo: the day it was received.
    found = records_by_id(open311, start_date="2024-06-02T15:30:00Z", end_date="2024-06-03T10:00:00+09:00")
    assert request.reference in found
    assert request.reference not in records_by_id(open311, start_date="2024-06-04", end_date="2024-06-30")


def test_status_and_service_code_filter(session, make, open311):
    first, other = session.scalars(select(Category).order_by(Category.id)).all()[:2]
    answered = seed_personal_request(make)
    make.act(make.manager(), answered, "answer", ANSWER)
    waiting = seed_personal_request(make)
    elsewhere = seed_personal_request(make, category_id=other.id)
    closed = records_by_id(open311, status="closed", **AROUND_TODAY)
    opened = records_by_id(open311, status="open", **AROUND_TODAY)
    assert answered.reference in closed and waiting.reference not in closed
    assert waiting.reference in opened and answered.reference not in opened
    assert all(r["status"] == "closed" for r in closed.values())
    coded = records_by_id(open311, service_code=str(other.id), **AROUND_TODAY)
    assert elsewhere.reference in coded and waiting.reference not in coded
    assert {r["service_code"] for r in coded.values()} == {str(other.id)}
    both = records_by_id(open311, service_code=f"{first.id},{other.id}", **AROUND_TODAY)
    assert {waiting.reference, elsewhere.reference} <= set(both)
    assert as_json(open311.get(f"{V2}/requests.json", query_string={"status": "pending"}), 400)


def test_service_request_id_overrides_every_other_filter(make, open311):
    one, two = seed_personal_request(make), seed_personal_request(make)
    ids = f"{one.reference},{two.reference},NONE-0000-00000"
    # Out of the date range and the wrong status: the ids still win.
    found = records_by_id(open311, service_request_id=ids, status="closed", start_date="2020-01-01")
    assert set(found) == {one.reference, two.reference}


def test_pages_cut_the_newest_first_list(make, open311):
    made = [seed_personal_request(make, received_on=TODAY - dt.timedelta(days=n)) for n in range(3)]
    pages = [
        list(records_by_id(open311, page=str(page), page_size="2", **AROUND_TODAY)) for page in (1, 2, 3)
    ]
    listed = [reference for page in pages for reference in page]
    ours = [reference for reference in listed if reference in {r.reference for r in made}]
    assert ours == [r.reference for r in made]  # received 06-03, 06-02, 06-01: newest first
    assert [len(page) for page in pages[:1]] == [2]
    assert len(listed) == len(set(listed))  # no record on two pages
    for bad in ("0", "abc", "101"):
        response = open311.get(f"{V2}/requests.json", query_string={"page_size": bad})
        assert as_json(response, 400)[0]["code"] == 400


def selects(statements: list[str]) -> list[str]:
    return [statement for statement in statements if statement.lstrip().upper().startswith("SELECT")]


def test_the_list_takes_a_fixed_number_of_queries(make, open311, count_queries):
    key_session = make.session
    key, _ = make_api_key(key_session)
    for _ in range(2):
        seed_personal_request(make, key)
    withdrawn = seed_personal_request(make)
    make.act(make.manager(), withdrawn, "withdraw", {"comment": "重複"})
    make.issue(IssueState.CONSULTING)
    key_session.expire_all()  # nothing served from what the set-up loaded
    count_queries.clear()
    assert len(records.find_requests(key_session, start="2024-05-01", end="2024-06-30", today=TODAY)) >= 4
    few = len(selects(count_queries))
    for _ in range(3):
        seed_personal_request(make, key)
    make.issue(IssueState.CONSULTING)
    key_session.expire_all()
    count_queries.clear()
    records.find_requests(key_session, start="2024-05-01", end="2024-06-30", today=TODAY)
    assert len(selects(count_queries)) == few <= 3


def test_find_requests_refuses_a_range_past_90_days():
    with pytest.raises(Open311Error) as refused:
        records.date_range("2024-01-01", "2024-04-01", TODAY)
    assert refused.value.status == 400
    assert records.date_range("2024-01-01", "2024-03-31", TODAY) == (
        dt.date(2024, 1, 1),
        dt.date(2024, 3, 31),
    )
    assert records.date_range("", "", TODAY) == (TODAY - dt.timedelta(days=90), TODAY)


# --- updates -----------------------------------------------------------------------------


def _updates(open311, fmt: str = "json"):
    today = dt.date.today()
    params = {
        "start_date": (today - dt.timedelta(days=1)).isoformat(),
        "end_date": (today + dt.timedelta(days=1)).isoformat(),
    }
    return open311.get(f"{V2}/servicerequestupdates.{fmt}", query_string=params)


def test_updates_list_answers_withdrawals_escalations_and_sending(make, open311):
    manager = make.manager()
    answered, withdrawn = seed_personal_request(make), seed_personal_request(make)
    make.act(manager, answered, "answer", ANSWER)
    make.act(manager, withdrawn, "withdraw", {"comment": "重複"})
    issue = make.issue(IssueState.CONSULTING)
    (escalated,) = issue.requests
    found = [u for u in as_json(_updates(open311)) if u["service_request_id"] in
             {answered.reference, withdrawn.reference, escalated.reference}]  # fmt: skip
    said = [(u["service_request_id"], u["status"], u["description"]) for u in found]
    assert said == [
        (answered.reference, "closed", "街灯を交換しました。"),
        (withdrawn.reference, "closed", "この要望は取り下げられました。 理由: 重複"),
        (escalated.reference, "open", "区重要課題として検討中です。"),
        (escalated.reference, "open", "区重要課題として環境局と協議しています。"),
    ]
    assert all(
        list(u)
        == ["update_id", "service_request_id", "status", "updated_datetime", "description", "media_url"]
        for u in found
    )
    assert len({u["update_id"] for u in found}) == len(found)
    root = as_xml(_updates(open311, "xml"))
    assert root.tag == "service_request_updates"
    ours = [
        u for u in root.findall("request_update") if u.find("service_request_id").text == answered.reference
    ]
    assert [u.find("description").text for u in ours] == ["街灯を交換しました。"]


def test_updates_outside_the_range_are_left_out_and_the_range_is_checked(make, open311):
    answered = seed_personal_request(make)
    make.act(make.manager(), answered, "answer", ANSWER)
    found = as_json(open311.get(f"{V2}/servicerequestupdates.json", query_string={"end_date": "2024-06-30"}))
    assert answered.reference not in {u["service_request_id"] for u in found}  # answered today, not then
    too_long = {"start_date": "2024-01-01", "end_date": "2024-12-31"}
    assert (
        as_json(open311.get(f"{V2}/servicerequestupdates.json", query_string=too_long), 400)[0]["code"] == 400
    )


# --- keys, jurisdiction, formats -----------------------------------------------------------


def test_a_bad_key_is_403_and_a_foreign_jurisdiction_404_on_reads(session, open311):
    assert (
        as_json(open311.get(f"{V2}/services.json", query_string={"api_key": "nope"}), 403)[0]["code"] == 403
    )
    _, plain = make_api_key(session)
    assert as_json(open311.get(f"{V2}/services.json", query_string={"api_key": plain}))
    elsewhere = {"jurisdiction_id": "city.elsewhere.jp"}
    assert as_xml(open311.get(f"{V2}/services.xml", query_string=elsewhere), 404).tag == "errors"
    mine = {"jurisdiction_id": "city.kumamoto.jp"}
    assert as_json(open311.get(f"{V2}/services.json", query_string=mine))


@pytest.mark.parametrize("path", ["discovery.yaml", "services.html", "requests.csv", "servicerequestupdates"])
def test_other_suffixes_name_no_route(open311, path):
    assert open311.get(f"{V2}/{path}").status_code == 404


def test_the_marker_check_catches_personal_data(make, open311):
    """The guard itself: the request's personal fields do hold the markers it looks for."""
    request = seed_personal_request(make)
    assert {request.requester_name, request.requester_contact, request.organisation} <= set(PII_MARKERS)
    assert request.logged_by.display_name in PII_MARKERS
