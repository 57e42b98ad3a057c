"""Logging requests without a connection, in Debian's Chromium at tablet width.

Offline (Playwright's ``context.set_offline``), two requests with a photo each are kept on the
device (IndexedDB) and counted as 「送信待ち 2件」; back online they are sent, and the server has
exactly two. A send that the server stored but whose answer the device never heard (the answer
aborted after the server processed it) is sent again: still exactly two. Logout empties the queue.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, Route, expect

from tests.factories import png_bytes

from .conftest import TABLET
from .test_end_to_end import login, logout

pytestmark = pytest.mark.browser


@pytest.fixture
def device(browser, live_server) -> Iterator[Page]:
    """A tablet whose page requests go through ``page.route`` (the service worker is blocked
    here: its own caching is checked by the server tests and by ``test_the_form_opens_offline``)."""
    context = browser.new_context(
        base_url=live_server,
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
        viewport=TABLET,
        service_workers="block",
    )
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def log_offline(page: Page, title: str, photo_name: str) -> None:
    page.fill("#title", title)
    page.select_option("#category_id", label="防犯・街灯")
    page.select_option("#source", index=1)
    page.set_input_files(
        "#photos", files=[{"name": photo_name, "mimeType": "image/png", "buffer": png_bytes()}]
    )
    page.get_by_role("button", name="登録する").click()
    expect(page.locator(".pending-notice")).to_contain_text("端末に保存しました")
    expect(page.locator("#title")).to_have_value("")  # emptied for the next request


def requests_titled(page: Page, marker: str) -> list[str]:
    """The references of the requests on the server whose title holds ``marker``: the list page,
    read with the context's cookies but without opening it (a page load would send the queue)."""
    html = page.context.request.get(f"/requests/?q={marker}").text()
    return re.findall(r'<td [^>]*class="ref"[^>]*><a href="/requests/\d+">([^<]+)</a>', html)


def queued_count(page: Page) -> int:
    return page.evaluate(
        """() => new Promise((resolve, reject) => {
            const opening = indexedDB.open("tracker-offline", 1);
            opening.onupgradeneeded = () => opening.result.createObjectStore("requests", { keyPath: "uuid" });
            opening.onsuccess = () => {
              const asked = opening.result.transaction("requests").objectStore("requests").count();
              asked.onsuccess = () => { opening.result.close(); resolve(asked.result); };
              asked.onerror = () => reject(asked.error);
            };
            opening.onerror = () => reject(opening.error);
        })"""
    )


def two_offline(page: Page, marker: str) -> None:
    login(page, "chuo.liaison")
    page.goto("/requests/new")
    expect(page.locator("input[name=client_uuid]")).to_have_value(re.compile(r"^[0-9a-f-]{36}$"))
    page.context.set_offline(True)
    log_offline(page, f"防犯灯の球切れ {marker} 一件目", "first.png")
    expect(page.locator("[data-pending-count]")).to_have_text("送信待ち 1件")
    log_offline(page, f"防犯灯の球切れ {marker} 二件目", "second.png")
    expect(page.locator("[data-pending-count]")).to_have_text("送信待ち 2件")
    expect(page.locator("#pending-requests")).to_have_text("送信待ち 2件")  # in the header too
    assert queued_count(page) == 2


def test_two_requests_logged_offline_are_sent_once_when_the_connection_returns(device: Page, tmp_path):
    marker = uuid.uuid4().hex[:8]
    two_offline(device, marker)
    device.screenshot(path=tmp_path / "offline-queue.png", full_page=True)
    device.context.set_offline(False)  # the `online` event sends the queue
    expect(device.locator("#pending-requests")).to_be_hidden()
    expect(device.locator(".pending-notice")).to_have_text("保存していた要望を2件送信しました。")
    expect(device.locator("[data-pending-count]")).to_have_text("送信待ち 0件")
    assert queued_count(device) == 0
    sent = requests_titled(device, marker)
    assert len(sent) == 2, sent
    device.goto(f"/requests/?q={marker}")
    device.get_by_role("link", name=re.compile(f"{marker} 一件目")).click()
    expect(device.locator("ul.photos img")).to_have_count(1)
    print("screenshot:", tmp_path / "offline-queue.png")


def test_an_interrupted_send_sent_again_still_makes_exactly_two(device: Page):
    marker = uuid.uuid4().hex[:8]
    two_offline(device, marker)
    interrupted: list[str] = []

    def answer_lost(route: Route) -> None:
        if route.request.method == "POST" and not interrupted:
            route.fetch()  # the server stores the request...
            interrupted.append(route.request.url)
            route.abort("internetdisconnected")  # ...and the device never hears it
        else:
            route.continue_()

    device.route("**/requests/new", answer_lost)
    with device.expect_event("requestfailed", predicate=lambda request: request.method == "POST"):
        device.context.set_offline(False)  # the `online` event sends; the first answer is lost
    expect(device.locator("[data-pending-count]")).to_have_text("送信待ち 2件")
    assert interrupted
    assert len(requests_titled(device, marker)) == 1  # stored once, still queued on the device
    assert queued_count(device) == 2
    device.goto("/requests/new")  # a page load sends the queue again: the first one is a replay
    expect(device.locator("[data-pending-count]")).to_have_text("送信待ち 0件")  # sent, then counted again
    expect(device.locator("#pending-requests")).to_be_hidden()
    assert queued_count(device) == 0
    assert len(requests_titled(device, marker)) == 2


def test_logout_empties_the_queue(device: Page):
    marker = uuid.uuid4().hex[:8]
    login(device, "chuo.liaison")
    device.goto("/requests/new")
    device.context.set_offline(True)
    log_offline(device, f"ごみ集積所の看板 {marker}", "sign.png")
    device.route("**/csrf-token", lambda route: route.abort("internetdisconnected"))  # no send yet
    device.context.set_offline(False)
    expect(device.locator("#pending-requests")).to_have_text("送信待ち 1件")
    logout(device)
    assert queued_count(device) == 0
    device.unroute("**/csrf-token")
    login(device, "chuo.liaison")
    expect(device.locator("#pending-requests")).to_be_hidden()
    assert requests_titled(device, marker) == []


def test_the_form_opens_offline_from_the_service_worker(browser, live_server):
    context = browser.new_context(base_url=live_server, locale="ja-JP", viewport=TABLET)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        login(page, "chuo.liaison")
        page.goto("/requests/new")
        page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
        page.reload()  # now under the worker's control: the empty form is kept
        page.wait_for_function("() => !!navigator.serviceWorker.controller")
        page.goto("/requests/new")
        context.set_offline(True)
        page.goto("/requests/new")
        expect(page.locator("#request-form")).to_be_visible()
        page.goto("/field/")  # a page with residents' data: never kept, the offline page instead
        expect(page.locator("h1")).to_have_text("接続がありません")
    finally:
        context.close()
