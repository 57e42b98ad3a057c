"""A request an app sent: 「アプリ (key name)」 as its source and its 登録者, on every page that shows
requests, and no page fails on a request logged by no one (``logged_by`` NULL)."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from tracker.finding import app_sources
from tracker.open311 import keys
from tracker.open311_models import Open311Submission
from tracker.states import Source

from .factories import TODAY


def app_request(session, make, key_name: str = "くまもとアプリ", title: str = "道路に穴がある"):
    """A request as Open311 leaves it: source APP, logged by no one, its submission pointing at it."""
    made = make.request(make.liaison(), title=title, requester_name="", requester_contact="")
    made.source, made.logged_by = Source.APP, None
    for photo in made.photos:
        photo.uploaded_by_id = None
    key, _plain = keys.create_key(session, None, name=key_name)
    session.add(
        Open311Submission(
            token=str(uuid.uuid4()),
            api_key=key,
            service_request=made,
            category=made.category,
            title=made.title,
            received_on=TODAY,
        )
    )
    session.commit()
    return made


def test_key_names_are_one_query_for_many_requests(session, make, count_queries):
    first = app_request(session, make, "アプリA")
    second = app_request(session, make, "アプリB")
    staff_logged = make.request(make.liaison())
    count_queries.clear()
    names = app_sources.AppNames(session, [first, second, staff_logged])
    assert len([s for s in count_queries if "open311_submissions" in s]) == 1
    assert (
        names.source_label(first) == "アプリ (アプリA)"
        and names.logged_by_label(second) == "アプリ (アプリB)"
    )
    assert names.source_label(staff_logged) == staff_logged.source.label
    assert names.logged_by_label(staff_logged) == staff_logged.logged_by.display_name


@pytest.mark.parametrize("who", ["liaison", "manager", "admin"])
def test_the_detail_page_says_app_and_key_name(session, make, login_as, who):
    made = app_request(session, make)
    user = {"liaison": make.liaison, "manager": make.manager, "admin": make.admin}[who]()
    page = login_as(user).get(f"/requests/{made.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<dt>受付の経路</dt><dd>アプリ (くまもとアプリ)</dd>" in text
    assert "<dt>登録者</dt><dd>アプリ (くまもとアプリ)</dd>" in text


@pytest.mark.parametrize(
    ("who", "urls"),
    [
        ("liaison", ["/field/", "/requests/", "/dashboard/", "/search?q=道路"]),
        ("manager", ["/ward/", "/requests/", "/dashboard/", "/dashboard/city", "/search?q=道路"]),
        ("admin", ["/requests/", "/dashboard/", "/search?q=道路", "/admin/audit/changes"]),
    ],
)
def test_lists_and_dashboards_render_a_request_logged_by_no_one(session, make, login_as, who, urls):
    made = app_request(session, make)
    user = {"liaison": make.liaison, "manager": make.manager, "admin": make.admin}[who]()
    client = login_as(user)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
    assert made.reference in client.get("/requests/").get_data(as_text=True)


@pytest.mark.parametrize("url", ["/requests/?format=csv", "/field/?format=csv", "/ward/?format=csv"])
def test_exports_name_the_app_as_source_and_logged_by(session, make, login_as, url):
    made = app_request(session, make)
    user = make.liaison() if url.startswith("/field") else make.manager()
    response = login_as(user).get(url)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    row = next(r for r in rows if r["受付番号"] == made.reference)
    assert row["要望元"] == "アプリ (くまもとアプリ)" and row["登録者"] == "アプリ (くまもとアプリ)"


def test_a_staff_request_keeps_its_source_and_logger_in_the_export(session, make, login_as):
    liaison = make.liaison()
    made = make.request(liaison)
    response = login_as(make.manager()).get("/requests/?format=csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    row = next(r for r in rows if r["受付番号"] == made.reference)
    assert row["要望元"] == made.source.label and row["登録者"] == liaison.display_name


def test_answering_an_app_request_notifies_without_a_logger(session, make, login_as):
    """The answer's notification goes to 'whoever logged it': nobody here, and nothing fails."""
    from sqlalchemy import select

    from tracker import workflow
    from tracker.ops_models import Notification

    made = app_request(session, make)
    liaison = make.liaison()
    reply = {"answer_kind": "resolved", "answer_text": "補修しました", "answered_on": TODAY}
    workflow.apply(session, liaison, made, "answer", reply, today=TODAY)
    session.commit()
    assert made.state.value == "answered"
    sent_to = session.scalars(
        select(Notification.user_id).where(Notification.url.contains(str(made.id)))
    ).all()
    assert None not in sent_to
    page = login_as(make.manager()).get(f"/requests/{made.id}")
    assert page.status_code == 200 and "補修しました" in page.get_data(as_text=True)
