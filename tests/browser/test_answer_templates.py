"""定型文 in the browser: a ward manager adds one; on a request's answer form a click puts its body
into the answer (the request's title in place of {件名}), the text stays editable, and the edited
text is what the request is answered with."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .test_end_to_end import login, logout


@pytest.mark.browser
def test_a_template_fills_the_answer_which_stays_editable_and_is_sent_as_edited(page: Page, shots_dir: Path):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"JS error: {error}"))
    suffix = secrets.token_hex(3)
    template_title = f"所管課へ伝えました {suffix}"
    request_title = f"歩道の段差 {suffix}"

    login(page, "chuo.manager")
    page.goto("/answer-templates/")
    adding = page.locator("details.action", has_text="定型文を追加")
    if adding.get_attribute("open") is None:
        adding.locator("summary").click()
    page.fill("#title", template_title)
    page.fill("#body", "「{件名}」について、所管課へ内容をお伝えしました。")
    with page.expect_navigation():
        adding.get_by_role("button", name="追加する").click()
    expect(page.locator(".flash-success")).to_contain_text(template_title)
    page.screenshot(path=shots_dir / "01-templates-kept.png", full_page=True)
    logout(page)

    login(page, "chuo.liaison")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="要望を登録").click()
    page.fill("#title", request_title)
    page.select_option("#category_id", label="道路・交通安全")
    with page.expect_navigation():
        page.get_by_role("button", name="登録する").click()
    expect(page.locator(".flash-success")).to_contain_text("を登録しました")
    request_url = page.url

    form = page.locator("#form-answer")
    expect(form).to_be_visible()
    answer = form.locator("[name=answer-answer_text]")
    button = form.locator(".answer-templates").get_by_role("button", name=template_title)
    expect(button).to_be_visible()  # moved into the answer form, shown as a button
    expect(answer).to_have_value("")
    button.click()
    inserted = f"「{request_title}」について、所管課へ内容をお伝えしました。"
    expect(answer).to_have_value(inserted)
    page.screenshot(path=shots_dir / "02-template-inserted.png", full_page=True)

    answer.press("Control+End")  # the end of the whole text, however it wraps (End: of the visual line)
    answer.type("担当: 道路整備課")
    expect(answer).to_have_value(inserted + "担当: 道路整備課")
    form.locator("input[name=answer-answer_kind][value=resolved]").check()
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    # the registration's message may still be shown beside it (flashes of two requests in a row)
    expect(page.locator(".flash-success", has_text="住民への回答を記録しました")).to_be_visible()
    expect(page).to_have_url(re.compile(re.escape(request_url)))
    expect(page.locator(".prose", has_text=inserted + "担当: 道路整備課")).to_be_visible()
    assert not errors, errors
