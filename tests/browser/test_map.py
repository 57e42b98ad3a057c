"""The maps in Chromium: the request form's map picker, and the ward's requests on a map.

A liaison clicks the form's map (the 緯度/経度 fields fill in), types coordinates (the pin moves),
logs three requests (two at one place, one 6 km north), then opens 区の要望 → 「地図で見る」: the
two close requests are one cluster marked 2, the third its own marker, whose popup opens it.
No tiles (MAP_TILE_URL is empty in the tests): the markers show on a blank map."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from .test_end_to_end import Steps, login

PLACE_A = ("32.803100", "130.707900")
PLACE_B = ("32.860000", "130.707900")


def pin_box(page: Page) -> dict:
    box = page.locator(".map-picker .leaflet-marker-icon").bounding_box()
    assert box is not None
    return box


def log_request(page: Page, title: str, category: str, place: tuple[str, str]) -> str:
    page.goto("/requests/new")
    page.fill("#title", title)
    page.select_option("#category_id", label=category)
    page.select_option("#source", label="電話")
    page.fill("#latitude", place[0])
    page.fill("#longitude", place[1])
    with page.expect_navigation(wait_until="domcontentloaded"):
        page.get_by_role("button", name="登録する").click()
    expect(page.locator(".flash-success")).to_contain_text("を登録しました")
    expect(page.locator(".map-small .leaflet-marker-icon")).to_be_visible()  # the detail's small map
    return page.locator("dd.ref").inner_text().strip()


def test_clicking_the_map_fills_the_fields_and_typing_moves_the_pin(page: Page, shots_dir: Path):
    steps = Steps(page, shots_dir)
    login(page, "chuo.liaison")
    page.goto("/requests/new")
    picker = page.locator(".map-picker.leaflet-container")
    expect(picker).to_be_visible()
    expect(page.get_by_role("button", name="現在地")).to_be_visible()
    expect(page.locator("#latitude")).to_have_value("")

    picker.click(position={"x": 120, "y": 90})
    expect(page.locator("#latitude")).to_have_value(re.compile(r"^32\.\d{6}$"))
    expect(page.locator("#longitude")).to_have_value(re.compile(r"^130\.\d{6}$"))
    clicked = (float(page.input_value("#latitude")), float(page.input_value("#longitude")))
    assert clicked[0] > 32.8031 and clicked[1] < 130.7079  # up and left of the map's center
    expect(page.locator(".map-picker .leaflet-marker-icon")).to_be_visible()
    before = pin_box(page)

    page.fill("#latitude", "32.800000")
    page.fill("#longitude", "130.715000")
    expect(picker).to_have_attribute("data-pin", "32.800000,130.715000")
    # the map pans to the typed place: the pin ends in the map's middle, away from where it was
    page.wait_for_function(
        """() => {
            const map = document.querySelector('.map-picker').getBoundingClientRect();
            const pin = document.querySelector('.map-picker .leaflet-marker-icon').getBoundingClientRect();
            return Math.abs(pin.left + pin.width / 2 - (map.left + map.width / 2)) < 3
                && Math.abs(pin.bottom - (map.top + map.height / 2)) < 3;
        }"""
    )
    after = pin_box(page)
    assert abs(after["x"] - before["x"]) > 100
    steps.done("form-map-picker")


def click_where_drawn(page: Page, target) -> None:
    """A pointer click on ``target`` where it is drawn, once the map has stopped moving.

    ``Locator.click`` first scrolls its element "into view", which scrolls Leaflet's
    overflow-hidden panes too and moves the marker or popup out from under the pointer (the
    heading above the map then takes the click); a person's click scrolls nothing.
    """
    expect(target).to_be_visible()
    box, previous = target.bounding_box(), None
    for _ in range(50):  # the pan or zoom animation has ended when two looks agree
        if box == previous:
            break
        page.wait_for_timeout(100)
        previous, box = box, target.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_the_lists_map_clusters_markers_and_a_marker_opens_its_request(page: Page, shots_dir: Path):
    steps = Steps(page, shots_dir)
    login(page, "chuo.liaison")
    log_request(page, "公園のベンチが壊れている", "福祉・健康", PLACE_A)
    log_request(page, "歩道の段差が危ない", "道路・交通安全", PLACE_A)
    north = log_request(page, "防犯灯を増やしてほしい", "防犯・街灯", PLACE_B)

    page.goto("/requests/")
    page.get_by_role("link", name="地図で見る").click()
    view = page.locator(".map-view.leaflet-container")
    expect(view).to_have_attribute("data-loaded", "3")
    expect(page.locator(".map-status")).to_contain_text("3")
    cluster = view.locator(".marker-cluster")
    expect(cluster).to_have_count(1)
    expect(cluster).to_contain_text("2")

    marker = view.locator(f'.leaflet-marker-icon[title="{north} 防犯灯を増やしてほしい"]')
    expect(marker).to_be_visible()
    click_where_drawn(page, marker)
    popup = view.locator(".leaflet-popup-content")
    expect(popup).to_contain_text("受付")
    expect(popup).to_contain_text("防犯・街灯")
    steps.done("list-map-popup")
    with page.expect_navigation(wait_until="domcontentloaded"):
        # The link's own click (no pointer geometry: the popup may still be panning into view).
        popup.get_by_role("link", name=f"{north} 防犯灯を増やしてほしい").dispatch_event("click")
    expect(page.locator("dd.ref")).to_have_text(north)
    steps.done("request-detail-map")
