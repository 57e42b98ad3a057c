"""The liaison's pages on a tablet (768 px) and a phone (390 px), in Debian's Chromium.

The flow: the queue → log a request → its detail → answer the resident, then the activity log
(the list, the form, an activity). On every page nothing is wider than the screen (no
horizontal scrolling) and no table cell is squeezed below about three characters (lists become
cards). A screenshot of every page is saved under the test's tmp dir; the paths are printed."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.factories import png_bytes

from .conftest import TABLET, opened_page
from .test_end_to_end import login

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}

# Cells whose text box (their width less padding) is narrower than three characters of their font.
SQUEEZED_CELLS = """() => [...document.querySelectorAll("td")]
  .filter((cell) => cell.offsetParent !== null && cell.innerText.trim())
  .filter((cell) => {
    const style = getComputedStyle(cell);
    const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    const box = cell.getBoundingClientRect().width - padding;
    return box < 3 * parseFloat(style.fontSize);
  })
  .map((cell) => cell.innerText.trim().slice(0, 30))"""


class Pages:
    def __init__(self, page: Page, folder: Path, size: str):
        self.page, self.folder, self.size, self.shots = page, folder, size, []

    def check(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], (
            f"{name} at {self.size}: {widths[0]} px wide on a {widths[1]} px screen"
        )
        squeezed = page.evaluate(SQUEEZED_CELLS)
        assert not squeezed, f"{name} at {self.size}: cells narrower than 3 characters: {squeezed}"
        path = self.folder / f"{self.size}-{len(self.shots) + 1:02d}-{name}.png"
        page.screenshot(path=path, full_page=True)
        self.shots.append(path)
        print("screenshot:", path)


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet-768", "phone-390"])
def test_the_liaison_flow_fits_the_screen(browser, live_server, tmp_path: Path, viewport: dict):
    title = f"カーブミラーの向きがずれている {uuid.uuid4().hex[:6]}"
    with opened_page(browser, live_server, viewport) as page:
        pages = Pages(page, tmp_path, f"{viewport['width']}px")
        login(page, "chuo.liaison")
        page.goto("/field/")
        expect(page.locator("h1")).to_have_text("未回答の要望")
        pages.check("queue")

        page.get_by_role("link", name="＋ 要望を登録").click()
        photo_input = page.locator("#photos")
        expect(photo_input).to_have_attribute("accept", "image/*")
        expect(photo_input).to_have_attribute("capture", "environment")
        pages.check("new-request")
        page.fill("#title", title)
        page.select_option("#category_id", label="道路・交通安全")
        page.select_option("#source", index=1)
        photo_input.set_input_files(
            files=[{"name": "mirror.png", "mimeType": "image/png", "buffer": png_bytes()}]
        )
        with page.expect_navigation():
            page.get_by_role("button", name="登録する").click()
        if page.locator("#similar-heading").count():  # the ward has a similar open request
            with page.expect_navigation():
                page.get_by_role("button", name="別の要望として登録").click()
        expect(page.locator(".flash-success")).to_contain_text("を登録しました")
        pages.check("request-detail")

        page.goto("/field/")  # the queue with the new request in it, as cards on a phone
        row = page.locator("table.queue tbody tr", has_text=title)
        expect(row).to_have_count(1)
        pages.check("queue-with-request")
        row.get_by_role("link", name=title).click()

        expect(page.locator("#form-answer")).to_be_visible()
        page.locator("#form-answer input[name=answer-answer_kind][value=resolved]").check()
        page.fill("[name=answer-answer_text]", "向きを直しました。")
        with page.expect_navigation():
            page.locator("#form-answer button[type=submit]").click()
        expect(page.locator(".flash-success")).to_contain_text("住民への回答を記録しました")
        pages.check("answered")

        page.goto("/activities/")
        page.get_by_role("link", name="活動を記録").click()
        pages.check("activity-form")
        page.select_option("#kind_id", index=1)
        page.fill("#place", f"大江公民館 {title[-6:]}")
        with page.expect_navigation():
            page.get_by_role("button", name="記録する").click()
        expect(page.locator(".flash-success")).to_contain_text("活動を記録しました")
        pages.check("activity-detail")
        page.goto("/activities/")
        expect(page.locator("table.activities tbody tr", has_text=title[-6:]).first).to_be_visible()
        pages.check("activities")
        assert all(path.is_file() for path in pages.shots)
