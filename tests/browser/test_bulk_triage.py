"""The ward manager's triage in a real browser: three requests selected and escalated into one
new ward issue with one bulk action; the keyboard shortcuts' help; the triage at tablet and
phone widths without sideways scrolling."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .test_end_to_end import login, logout

TITLES = [
    "歩道の点字ブロックが剥がれている",
    "児童公園のブランコの鎖が錆びている",
    "バス停の屋根から雨漏りがする",
]
ISSUE_TITLE = "点字ブロックの一斉補修"
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}


def log_request(page: Page, title: str) -> str:
    page.goto("/requests/new")
    page.fill("#title", title)
    page.select_option("#category_id", label="道路・交通安全")
    page.select_option("#source", label="電話")
    with page.expect_navigation():
        page.get_by_role("button", name="登録する").click()
    separate = page.get_by_role("button", name="別の要望として登録")
    if separate.count():  # a similar open request from another test: this one is another
        with page.expect_navigation():
            separate.click()
    expect(page.locator(".flash-success")).to_contain_text("を登録しました")
    return page.locator("dd.ref").inner_text().strip()


def no_sideways_scroll(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.browser
def test_three_requests_escalated_into_one_new_issue_from_the_triage(page: Page):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    login(page, "chuo.liaison")
    references = [log_request(page, title) for title in TITLES]
    logout(page)

    login(page, "chuo.manager")
    page.goto("/ward/")
    for reference in references:
        page.get_by_label(f"{reference} を選択").check()
    expect(page.locator(".bulk-count")).to_contain_text("3")
    page.select_option("#bulk-action", value="escalate")
    expect(page.locator("#bulk-title")).to_be_visible()
    expect(page.locator("#bulk-referred_to")).to_be_hidden()  # only the chosen action's fields
    page.select_option("#bulk-ward_issue_id", value="0")
    page.fill("#bulk-title", ISSUE_TITLE)
    with page.expect_navigation():
        page.get_by_role("button", name="選んだ要望に実行").click()
    expect(page.locator(".flash-success")).to_contain_text(
        f"3件を区重要課題「{ISSUE_TITLE}」にまとめました。"
    )
    for reference in references:  # escalated: no longer in the triage
        expect(page.get_by_label(f"{reference} を選択")).to_have_count(0)

    page.goto("/issues/")
    page.get_by_role("link", name=ISSUE_TITLE).first.click()
    expect(page.locator("h1")).to_contain_text(ISSUE_TITLE)
    for reference in references:
        expect(page.get_by_role("link", name=re.compile(re.escape(reference))).first).to_be_visible()
    assert not errors


@pytest.mark.browser
def test_shortcuts_help_and_the_triage_on_tablet_and_phone(page: Page):
    login(page, "chuo.manager")
    page.goto("/ward/")
    help_dialog = page.locator("#shortcuts-help")
    expect(help_dialog).to_be_hidden()
    page.locator("body").press("?")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("区重要課題にまとめる")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()
    page.locator("#triage-search").focus()  # typing in a field: the keys are letters, not shortcuts
    page.keyboard.type("?j")
    expect(help_dialog).to_be_hidden()
    expect(page.locator("#triage-search")).to_have_value("?j")
    page.locator("#triage-search").fill("")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("/")
    expect(page.locator("#triage-search")).to_be_focused()

    for size in (TABLET, PHONE):
        page.set_viewport_size(size)
        page.goto("/ward/")
        expect(page.locator("table.request-list").last).to_be_visible()
        no_sideways_scroll(page, size["width"])
        page.goto("/requests/")
        no_sideways_scroll(page, size["width"])
