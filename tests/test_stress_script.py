"""``scripts/stress.py`` (``make stress``) is not run by ``make test``; its pure parts are tested here,
and its page parsing against the app's real pages, so that the script cannot rot silently."""

from __future__ import annotations

import io
import socket

import pytest
from flask import g
from PIL import Image
from werkzeug.datastructures import MultiDict
from werkzeug.formparser import parse_form_data
from werkzeug.test import EnvironBuilder

from scripts.load.browser import encode_multipart, path_pattern
from scripts.load.clients import PNG
from scripts.load.faults import descendants
from scripts.load.ledger import Act, Created, Ledger, expected_from
from scripts.load.pages import (
    csrf_token,
    flashes,
    form_block,
    has_action_form,
    hidden_fields,
    hidden_or_value,
    issue_id_on_request_page,
    merge_fields,
    reference_of,
    request_id_from_location,
    request_ids_in_list,
    select_values,
)
from scripts.load.settings import (
    CLEANUP_LIMIT,
    JOIN_LIMIT,
    SETUP_LIMIT,
    Settings,
    SetupError,
    check_loopback_database,
    free_port,
    libpq_url,
    outage_window,
    port_open,
)
from scripts.load.verdict import Verdict
from tracker.models import ServiceRequest

from .factories import Factory

CLEAN = dict(
    served=100,
    server_errors=0,
    transport_errors=0,
    requests_expected=10,
    requests_found=10,
    events_min=20,
    events_max=22,
    events_found=21,
    duplicates=0,
    jobs_total=5,
    jobs_done=5,
    notifications_min=3,
    notifications_found=3,
    issues_min=2,
    issues_max=3,
    issues_found=2,
)


def test_a_clean_run_exits_zero():
    verdict = Verdict(**CLEAN)
    assert verdict.failures() == [] and verdict.exit_status() == 0


@pytest.mark.parametrize(
    "change, says",
    [
        ({"server_errors": 1}, "5xx"),
        ({"transport_errors": 2}, "without an answer"),
        ({"requests_found": 9}, "not in the database"),
        ({"requests_unexpected": 1}, "no client created"),
        ({"events_found": 19}, "history events missing"),
        ({"events_found": 23}, "nobody asked for"),
        ({"duplicates": 1}, "duplicate reference"),
        ({"jobs_done": 4}, "jobs not done"),
        ({"notifications_found": 2}, "notifications missing"),
        ({"issues_found": 1}, "ward issues missing"),
        ({"issues_seen_missing": 1}, "ward issues missing"),
        ({"issues_found": 4}, "ward issues nobody asked for"),
        ({"chain_breaks": 1}, "do not start where"),
        ({"orphan_issues": 1}, "without their request"),
        ({"clients_crashed": 1}, "crashed"),
        ({"processes_unclean": 1}, "did not stop cleanly"),
        ({"logins_failed": 1}, "logins that failed"),
    ],
)
def test_any_loss_duplicate_or_5xx_exits_non_zero(change, says):
    verdict = Verdict(**{**CLEAN, **change})
    assert verdict.exit_status() == 1
    assert len(verdict.failures()) == 1 and says in verdict.failures()[0]


def test_a_run_that_served_nothing_fails():
    assert Verdict(**{**CLEAN, "served": 0}).exit_status() == 1


def test_free_port_is_free_on_loopback():
    port = free_port()
    assert 1024 < port < 65536
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
    assert not port_open(port)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1:5432/tracker_stress",
        "postgresql+psycopg://postgres@localhost/my_stress_db",
        "postgresql:///tracker_stress?host=/var/run/postgresql",
    ],
)
def test_a_local_stress_database_is_accepted(url):
    assert "stress" in check_loopback_database(url)


@pytest.mark.parametrize(
    "url, says",
    [
        ("postgresql://postgres@10.0.0.5:5432/tracker_stress", "loopback"),
        ("postgresql://postgres@db.example.jp/tracker_stress", "loopback"),
        ("postgresql://postgres@127.0.0.1:5432/tracker", "must contain 'stress'"),
        ("postgresql://postgres@127.0.0.1:5432/tracker_stress;drop", "plain database name"),
        ("mysql://root@127.0.0.1/tracker_stress", "postgresql"),
    ],
)
def test_anything_else_is_refused_before_it_is_dropped(url, says):
    with pytest.raises(SetupError, match=says):
        check_loopback_database(url)


def test_libpq_url_drops_the_driver_and_can_switch_database():
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/tracker_stress"
    assert libpq_url(url) == "postgresql://postgres@127.0.0.1:5432/tracker_stress"
    assert libpq_url(url, "postgres") == "postgresql://postgres@127.0.0.1:5432/postgres"


def test_settings_come_from_the_environment_and_bound_the_run():
    settings = Settings.from_env({"STRESS_SECONDS": "20", "STRESS_CLIENTS": "4"})
    assert (settings.seconds, settings.clients) == (20, 4)
    assert settings.bound() == SETUP_LIMIT + 20 + JOIN_LIMIT + 90 + CLEANUP_LIMIT
    assert Settings.from_env({}).seconds == 60


@pytest.mark.parametrize("seconds", [5, 20, 60, 600])
def test_the_redis_outage_happens_inside_the_run(seconds):
    start, length = outage_window(seconds, 10)
    assert start > 0 and 0 <= length <= 10 and start + length <= seconds * 0.8 + 1e-9


def test_expected_counts_follow_what_the_clients_believe():
    ledger = Ledger()
    ledger.add_created(1, Created("CHUO-2026-00001", "chuo.liaison", True, 1))
    ledger.add_created(2, Created("CHUO-2026-00002", "chuo.manager", False, 0))
    ledger.add_act(Act(1, "escalate_new", "ok", issue_id=7))
    ledger.add_act(Act(2, "refer", "ok"))
    ledger.add_act(Act(1, "refer", "refused"))
    ledger.add_act(Act(2, "escalate_bundle", "unknown"))
    expected = expected_from(ledger)
    assert (expected.requests, expected.photos, expected.issues, expected.issues_max) == (2, 1, 1, 1)
    assert (expected.events_min, expected.events_max) == (2 + 3 + 1, 2 + 3 + 1 + 2)
    assert (expected.notifications_min, expected.notifications_max) == (1, 1)  # only the liaison's request
    assert ledger.issue_ids() == {7}


def test_the_multipart_body_is_what_a_browser_sends():
    body, content_type = encode_multipart(
        [("title", "街灯の球切れ"), ("category_id", "3")], [("photos", "photo.png", "image/png", PNG)]
    )
    environ = EnvironBuilder(
        method="POST", input_stream=io.BytesIO(body), content_type=content_type
    ).get_environ()
    _stream, form, files = parse_form_data(environ)
    assert form["title"] == "街灯の球切れ" and form["category_id"] == "3"
    assert files["photos"].read() == PNG
    with Image.open(io.BytesIO(PNG)) as image:
        image.verify()
        assert image.format == "PNG"


def test_html_helpers():
    page = (
        '<form method="post"><input id="csrf_token" name="csrf_token" type="hidden" value="tok&amp;1"></form>'
        '<form method="post" action="/requests/5/refer" id="form-refer">'
        '<input id="refer-csrf_token" name="refer-csrf_token" type="hidden" value="tok2">'
        '<input name="refer-version" type="hidden" value="3"><input name="refer-referred_to" value=""></form>'
        '<p class="flash flash-success">要望 <b>CHUO-2026-00012</b> を登録しました。</p>'
        '<dd class="ref">CHUO-2026-00012</dd>'
        '<dt>区重要課題</dt><dd><a href="/issues/42">CHUO-2026-K001 件名</a></dd>'
        '<select id="s" name="source"><option value="">選択</option>'
        '<option value="phone">電話</option></select>'
        '<a href="/requests/9">x</a><a href="/requests/3">y</a><a href="/requests/9">z</a>'
    )
    assert csrf_token(page) == "tok&1"
    refer = form_block(page, 'id="form-refer"')
    assert hidden_fields(refer) == [("refer-csrf_token", "tok2"), ("refer-version", "3")]
    assert merge_fields(hidden_fields(refer), [("refer-version", "9"), ("a", "b")]) == [
        ("refer-csrf_token", "tok2"),
        ("refer-version", "9"),
        ("a", "b"),
    ]
    assert form_block(page, 'id="form-escalate"') == ""
    assert flashes(page) == [("success", "要望 CHUO-2026-00012 を登録しました。")]
    assert reference_of(page) == "CHUO-2026-00012"
    assert issue_id_on_request_page(page) == 42
    assert select_values(page, "source") == ["phone"]
    assert request_ids_in_list(page) == [3, 9]
    assert has_action_form(page, "refer") and not has_action_form(page, "escalate")
    assert request_id_from_location("http://127.0.0.1:5000/requests/17") == 17
    assert request_id_from_location("/requests/17") == 17
    assert request_id_from_location("/login?next=/requests/17") is None
    assert request_id_from_location(None) is None
    assert path_pattern("/requests/12/refer?x=1") == "/requests/<id>/refer"


def test_descendants_of_a_process_without_children_is_empty():
    assert descendants(2**22 + 12345) == []  # no such process


def _page(client, path: str) -> str:
    """GET a page as a browser would. Every request here shares the test's app context (of the
    ``session`` fixture), and with it ``g``, where Flask-WTF caches the CSRF token and Flask-Login
    the user: it is emptied first, as a fresh request under gunicorn would find it."""
    vars(g).clear()
    return client.get(path).get_data(as_text=True)


def _log_in(client, user) -> None:
    """As the script does it: the token from the login page, then the form."""
    token = csrf_token(_page(client, "/login"))
    assert token
    fields = {"csrf_token": token, "login": user.login, "password": Factory.PASSWORD, "next": ""}
    vars(g).clear()
    response = client.post("/login", data=fields)
    assert response.status_code == 302 and "/login" not in response.location


def test_the_script_reads_and_fills_the_apps_real_pages(app, make, session):
    """The parsing the clients rely on, against the real templates (CSRF on, as in the run)."""
    liaison, manager = make.liaison(), make.manager()
    field_client, ward_client = app.test_client(), app.test_client()
    _log_in(field_client, liaison)
    form_page = _page(field_client, "/requests/new")
    hidden = hidden_fields(form_block(form_page, 'enctype="multipart/form-data"'))
    assert any(name == "csrf_token" for name, _ in hidden)
    fields = merge_fields(
        hidden,
        [
            ("title", "街灯の球切れ (負荷試験)"),
            ("category_id", select_values(form_page, "category_id")[0]),
            ("source", select_values(form_page, "source")[0]),
            ("received_on", hidden_or_value(form_page, "received_on")),
        ],
    )
    body, content_type = encode_multipart(fields, [("photos", "photo.png", "image/png", PNG)])
    vars(g).clear()
    created = field_client.post("/requests/new", data=body, content_type=content_type)
    request_id = request_id_from_location(created.location)
    assert created.status_code == 302 and request_id
    detail = _page(field_client, f"/requests/{request_id}")
    assert reference_of(detail) == session.get(ServiceRequest, request_id).reference
    assert [category for category, _ in flashes(detail)] == ["success"]

    _log_in(ward_client, manager)
    listing = _page(ward_client, "/requests/?state=received")
    assert request_id in request_ids_in_list(listing)
    page = _page(ward_client, f"/requests/{request_id}")
    assert has_action_form(page, "refer") and has_action_form(page, "escalate")
    assert select_values(page, "escalate-lead_bureau_id")
    hidden = hidden_fields(form_block(page, 'id="form-escalate"'))
    typed = [("escalate-ward_issue_id", "0"), ("escalate-title", "区重要課題 (負荷試験)")]
    vars(g).clear()
    answer = ward_client.post(f"/requests/{request_id}/escalate", data=MultiDict(merge_fields(hidden, typed)))
    assert answer.status_code == 302
    text = _page(ward_client, answer.location)
    assert [category for category, _ in flashes(text)] == ["success"]
    assert issue_id_on_request_page(text) == session.get(ServiceRequest, request_id).ward_issue_id
