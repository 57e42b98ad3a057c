"""The field work at tablet width (768 px): a liaison logs an activity and two requests heard in
it; the ward manager's indicator page shows the ward's activity count move.

Clicked through Debian's Chromium like a person on a tablet: the nav, the activity form, the
「この活動で聞いた要望を登録」 button (twice), the two-way link, then the indicator page."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from .conftest import TABLET
from .test_end_to_end import Steps, login, logout

INDICATOR = "地域担当職員1人あたりの活動件数"


def activity_count_of_this_year(page: Page) -> str:
    """The 中央区 actual of the newest fiscal year in the activities-per-liaison table, as shown."""
    panel = page.locator("section.indicator", has=page.get_by_role("heading", name=re.compile(INDICATOR)))
    row = panel.locator("tbody tr", has=page.get_by_role("rowheader", name="中央区"))
    return row.locator("td").last.locator(".actual").inner_text().strip()


def open_ward_indicators(page: Page) -> None:
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="指標").click()
    page.get_by_role("link", name="中央区の指標").click()
    expect(page.get_by_role("heading", name=re.compile(INDICATOR))).to_be_visible()


def log_request_heard(page: Page, title: str) -> str:
    page.get_by_role("link", name="この活動で聞いた要望を登録").click()
    expect(page.locator(".heard-in")).to_contain_text("で聞いた要望として登録")
    expect(page.locator("#source")).to_have_value("community_activity")
    page.fill("#title", title)
    page.select_option("#category_id", label="防犯・街灯")
    with page.expect_navigation():
        page.get_by_role("button", name="登録する").click()
    expect(page.locator(".flash-success")).to_contain_text("を登録しました")
    expect(page.locator("dd.heard-in")).to_contain_text("大江三丁目町内自治会")
    reference = page.locator("dd.ref").inner_text().strip()
    page.locator("dd.heard-in a").click()  # back to the activity, from the request
    expect(page.get_by_role("link", name=reference)).to_be_visible()
    return reference


def test_a_liaison_logs_an_activity_and_two_requests_and_the_ward_count_moves(tablet: Page, shots_dir: Path):
    steps = Steps(tablet, shots_dir)
    login(tablet, "chuo.manager")
    open_ward_indicators(tablet)
    before = activity_count_of_this_year(tablet)
    steps.done("indicators-before")
    logout(tablet)

    login(tablet, "chuo.liaison")
    tablet.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="活動記録").click()
    tablet.get_by_role("link", name="活動を記録").click()
    tablet.select_option("#kind_id", label="会議出席（町内自治会）")
    tablet.fill("#organisation_text", "大江三丁目町内自治会")
    tablet.fill("#place", "大江公民館")
    tablet.fill("#attendees", "18")
    tablet.fill("#summary", "定例会に出席。防犯灯とカーブミラーの要望を聞いた。")
    assert tablet.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    steps.done("activity-form")
    with tablet.expect_navigation():
        tablet.get_by_role("button", name="記録する").click()
    expect(tablet.locator(".flash-success")).to_be_visible()
    activity_url = tablet.url

    first = log_request_heard(tablet, "防犯灯が切れている")
    second = log_request_heard(tablet, "交差点にカーブミラーがほしい")
    assert tablet.url == activity_url
    for reference in (first, second):
        expect(tablet.get_by_role("link", name=reference)).to_be_visible()
    steps.done("activity-with-requests")
    logout(tablet)

    login(tablet, "chuo.manager")
    open_ward_indicators(tablet)
    after = activity_count_of_this_year(tablet)
    steps.done("indicators-after")
    assert before != after, (before, after)
    assert re.search(r"\d", after)
