"""One request's whole life in a real browser, across the three roles that work on it.

A liaison logs a request with a photo; the ward manager escalates it into a ward issue and
submits it for approval (and may not approve it themself); the ward's second manager approves
it, puts the liaison in charge and sends it to 環境局; the bureau puts its staff member in
charge, decides, budgets, starts and completes it; the liaison answers the resident. Every
step goes through the pages and forms a user sees.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pyotp
import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from tracker.city.masterdata import DEMO_PASSWORD, DEMO_TOTP_SECRET

TITLE = "大江公園のごみステーションが壊れている"
DESCRIPTION = "大江公園北側のごみステーションの扉が壊れ、カラスがごみを散らかしている。"
REQUESTER = "熊本 太郎"
CONTACT = "096-000-0000"
ISSUE_TITLE = "ごみステーション施設整備に係る補助の新設"
PROPOSAL = "環境局と協議し、ごみステーションの修繕・新設への補助制度を設ける。"
PROJECT = "ごみステーション施設整備補助事業"
ANSWER = "環境局の補助事業でごみステーションを修繕しました。"


def make_png(path: Path) -> Path:
    image = Image.new("RGB", (64, 48), (240, 240, 240))
    ImageDraw.Draw(image).rectangle((8, 8, 56, 40), fill=(11, 83, 148))
    image.save(path, "PNG")
    return path


class Steps:
    """Screenshots after every step, with a check that no step showed an error flash."""

    def __init__(self, page: Page, folder: Path):
        self.page, self.folder, self.count = page, folder, 0

    def done(self, name: str) -> None:
        self.count += 1
        self.page.screenshot(path=self.folder / f"{self.count:02d}-{name}.png", full_page=True)
        errors = self.page.locator(".flash-error").all_inner_texts()
        assert not errors, f"step {self.count} ({name}) showed an error: {errors}"

    def submit(self, form_id: str, success: str) -> None:
        """Submit ``#form-<form_id>`` with its own button; expect the success flash."""
        with self.page.expect_navigation():
            self.page.locator(f"#form-{form_id} button[type=submit]").click()
        expect(self.page.locator(".flash-success")).to_contain_text(success)

    def open_action(self, label: str) -> None:
        self.page.locator("details.action > summary", has_text=label).click()


USED_STEPS: dict[str, int] = {}  # a code is accepted once: a second login waits for a new one


def second_factor_code(user: str) -> str:
    """The demo secret's code of a time step this user has not used yet."""
    totp = pyotp.TOTP(DEMO_TOTP_SECRET)
    step = int(time.time()) // totp.interval
    while step <= USED_STEPS.get(user, -1):
        time.sleep(1)
        step = int(time.time()) // totp.interval
    USED_STEPS[user] = step
    return totp.generate_otp(step)


def login(page: Page, user: str) -> None:
    """The login form; the admin and the managers then type their authenticator app's code."""
    page.goto("/login")
    page.fill("#login", user)
    page.fill("#password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="ログイン", exact=True).click()
    if page.url.endswith("/login/code"):
        page.fill("#code", second_factor_code(user))
        with page.expect_navigation():
            page.get_by_role("button", name="ログイン", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text("ようこそ")


def logout(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="ログアウト").click()
    expect(page.locator(".flash-success")).to_contain_text("ログアウトしました")


def expect_state(page: Page, label: str) -> None:
    expect(page.locator(".detail-grid .card").first.locator("p > .badge").first).to_have_text(label)


@pytest.mark.browser
def test_request_escalated_budgeted_completed_and_answered(page: Page, shots_dir: Path, tmp_path: Path):
    steps = Steps(page, shots_dir)
    failed_responses: list[str] = []
    page.on(
        "response",
        lambda r: (
            failed_responses.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda error: failed_responses.append(f"JS error: {error}"))

    # 1. The liaison logs the request with a photo.
    login(page, "chuo.liaison")
    expect(page).to_have_url(re.compile(r"/field/$"))
    steps.done("liaison-home")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="要望を登録").click()
    expect(page).to_have_url(re.compile(r"/requests/new$"))
    page.fill("#title", TITLE)
    page.fill("#description", DESCRIPTION)
    page.select_option("#category_id", label="ごみ・環境衛生")
    page.select_option("#source", label="町内自治会")
    page.fill("#organisation", "大江三丁目町内自治会")
    page.fill("#location_text", "中央区大江 大江公園北側")
    page.fill("#requester_name", REQUESTER)
    page.fill("#requester_contact", CONTACT)
    page.set_input_files("#photos", make_png(tmp_path / "gomi-station.png"))
    steps.done("request-form-filled")
    with page.expect_navigation():
        page.get_by_role("button", name="登録する").click()
    expect(page.locator(".flash-success")).to_contain_text("を登録しました")
    reference = page.locator("dd.ref").inner_text().strip()
    assert reference and reference in page.locator("h1").inner_text()
    expect(page.locator(".flash-success")).to_contain_text(reference)
    expect_state(page, "受付")
    photo = page.locator("ul.photos img")
    expect(photo).to_have_count(1)
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=photo.element_handle(), timeout=5_000
    )
    assert photo.evaluate("img => img.naturalWidth") == 64
    request_url = page.url
    steps.done("request-logged")

    # 2. The ward manager escalates it and submits the ward issue for approval.
    logout(page)
    login(page, "chuo.manager")
    expect(page).to_have_url(re.compile(r"/ward/$"))
    steps.done("manager-triage")
    page.locator("table.list").get_by_role("link", name=reference).click()
    expect(page).to_have_url(request_url)
    steps.open_action("区重要課題にする")
    escalate = page.locator("#form-escalate")
    expect(escalate.locator("[name=escalate-ward_issue_id] option:checked")).to_have_text(
        "新しい区重要課題を起案する"
    )
    escalate.locator("[name=escalate-title]").fill(ISSUE_TITLE)
    escalate.locator("[name=escalate-proposal]").fill(PROPOSAL)
    escalate.locator("[name=escalate-lead_bureau_id]").select_option(label="環境局")
    steps.done("escalate-form")
    steps.submit("escalate", "区重要課題にまとめました")
    expect_state(page, "区重要課題化")
    steps.done("request-escalated")

    page.locator("dl.facts").get_by_role("link", name=re.compile(ISSUE_TITLE)).click()
    expect(page.locator("h1")).to_contain_text(ISSUE_TITLE)
    expect_state(page, "起案")
    issue_url = page.url
    # Escalating copied the request's description into 現状と課題, so the draft has the title,
    # situation and proposal that approval requires and needs no 内容を編集.
    expect(page.get_by_role("link", name="内容を編集")).to_be_visible()
    expect(page.locator("h2:has-text('現状と課題') + p")).to_have_text(DESCRIPTION)
    expect(page.locator("h2:has-text('対応案') + p")).to_have_text(PROPOSAL)
    steps.done("issue-draft")
    steps.open_action("決裁に回す")
    steps.submit("submit", "決裁に回しました")
    expect_state(page, "決裁待ち")
    steps.done("issue-submitted")
    # Two pairs of eyes (the city's default): the drafter cannot approve their own draft.
    steps.open_action("区重要課題に決定")
    with page.expect_navigation():
        page.locator("#form-approve button[type=submit]").click()
    expect(page.locator(".flash-error")).to_contain_text("起案した管理職は自分の起案を決定できません")
    expect_state(page, "決裁待ち")

    # 2b. The ward's second manager approves it, puts the liaison in charge and sends it.
    logout(page)
    login(page, "chuo.manager2")
    page.goto(issue_url)
    steps.open_action("区重要課題に決定")
    steps.submit("approve", "区重要課題に決定しました")
    expect_state(page, "区重要課題決定")
    steps.done("issue-approved-by-second-manager")
    steps.open_action("区の担当者を設定")
    page.locator("[name=assign_ward_owner-owner]").select_option(label="中央 地域担当 (地域担当職員)")
    steps.submit("assign_ward_owner", "区の担当者を設定しました")
    expect(page.locator("dl.facts dt:text-is('区の担当者') + dd")).to_have_text("中央 地域担当")
    steps.done("ward-owner-set")
    steps.open_action("局へ送付")
    page.locator("[name=send-lead_bureau_id]").select_option(label="環境局")
    page.fill("[name=send-comment]", "補助制度の新設について協議をお願いします。")
    steps.submit("send", "局へ送付しました")
    expect_state(page, "局協議中")
    steps.done("issue-sent")

    # 3. 環境局 decides, budgets, starts and completes it.
    logout(page)
    login(page, "kankyo.staff")
    expect(page).to_have_url(re.compile(r"/bureau/$"))
    steps.done("bureau-inbox")
    page.locator("table.list").get_by_role("link", name=ISSUE_TITLE).click()
    expect(page).to_have_url(issue_url)
    steps.done("bureau-issue")

    # The bundled request, as the bureau sees it: the requester's personal data is masked.
    page.locator("table.list").get_by_role("link", name=reference).click()
    expect(page).to_have_url(request_url)
    facts = page.locator("dl.facts")
    expect(facts.locator("dt:text-is('要望者') + dd")).to_have_text("＊＊＊")
    expect(facts.locator("dt:text-is('連絡先') + dd")).to_have_text("＊＊＊")
    assert REQUESTER not in page.content() and CONTACT not in page.content()
    expect(page.get_by_role("button", name="個人情報を表示")).to_have_count(0)
    steps.done("bureau-sees-request-masked")
    page.go_back()
    expect(page).to_have_url(issue_url)

    steps.open_action("局の担当者を設定")
    page.locator("[name=assign_bureau_owner-owner]").select_option(label="環境局 担当 (局 担当者)")
    steps.submit("assign_bureau_owner", "局の担当者を設定しました")
    expect(page.locator("dl.facts dt:text-is('局の担当者') + dd")).to_have_text("環境局 担当")
    steps.done("bureau-owner-set")

    steps.open_action("協議結果を登録")
    page.locator("#form-decide input[name=decide-decision][value=adopt]").check()
    page.fill("[name=decide-decision_reason]", "令和7年度に補助制度を新設して対応する。")
    steps.submit("decide", "協議結果を登録しました")
    expect_state(page, "協議済")
    steps.done("issue-decided")

    steps.open_action("予算化")
    page.select_option("[name=budget-fiscal_year]", "2025")
    page.fill("[name=budget-project_name]", PROJECT)
    page.fill("[name=budget-allocated_yen]", "２，０００")  # 千円, typed as an IME leaves it
    expect(page.locator("#budget-allocated_yen-words")).to_have_text("2,000千円 (2,000,000円) で登録します")
    page.select_option("[name=budget-allocated_yen_unit]", "yen")  # the switch to 円 reads it again
    expect(page.locator("#budget-allocated_yen-words")).to_have_text("2千円 (2,000円) で登録します")
    page.select_option("[name=budget-allocated_yen_unit]", "thousand")
    expect(page.locator("#budget-allocated_yen-words")).to_have_text("2,000千円 (2,000,000円) で登録します")
    page.locator("#form-budget").scroll_into_view_if_needed()
    steps.done("budget-form-read-back")
    steps.submit("budget", "予算化を登録しました")
    expect_state(page, "予算化")
    budget_row = page.locator("table.list tbody tr", has_text=PROJECT)
    expect(budget_row).to_contain_text("令和7年度 (2025)")
    expect(budget_row).to_contain_text("2,000千円")
    expect(budget_row).to_contain_text("2,000,000円")
    steps.done("issue-budgeted")

    steps.open_action("事業に着手")
    steps.submit("start", "事業に着手しました")
    expect_state(page, "実施中")
    steps.done("issue-started")

    steps.open_action("完了")
    page.fill("[name=complete-outcome]", "大江公園のごみステーションを修繕し、町内自治会へ報告した。")
    executed = page.locator("#form-complete input[name^=complete-executed_]")
    expect(executed).to_have_count(1)
    expect(executed).to_have_value("2,000")  # the budget line's amount, in 千円
    executed.fill("1,980")
    steps.submit("complete", "完了を登録しました")
    expect_state(page, "完了")
    expect(budget_row).to_contain_text("1,980千円")
    steps.done("issue-completed")
    issue_timeline = page.locator("ol.timeline li .what strong").all_inner_texts()

    # 4. The liaison answers the resident.
    logout(page)
    login(page, "chuo.liaison")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="区の要望").click()
    page.locator("table.list").get_by_role("link", name=reference).click()
    expect(page).to_have_url(request_url)
    expect(page.locator("dl.facts dt:text-is('要望者') + dd")).to_have_text("＊＊＊")  # masked by default
    page.get_by_role("button", name="個人情報を表示").click()  # shown for this view, and recorded
    expect(page).to_have_url(request_url)
    expect(page.locator("dl.facts")).to_contain_text(REQUESTER)
    expect(page.locator("#form-answer")).to_be_visible()  # the answer form opens by itself
    page.locator("#form-answer input[name=answer-answer_kind][value=resolved]").check()
    page.fill("[name=answer-answer_text]", ANSWER)
    steps.submit("answer", "住民への回答を記録しました")
    expect_state(page, "回答済み")
    expect(page.locator(".prose", has_text=ANSWER)).to_be_visible()
    steps.done("request-answered")

    # 5. Both histories show every step.
    request_timeline = page.locator("ol.timeline li .what strong").all_inner_texts()
    assert request_timeline == ["登録", "区重要課題にする", "住民へ回答"], request_timeline
    assert issue_timeline == [
        "登録",
        "要望を追加",
        "決裁に回す",
        "区重要課題に決定",
        "区の担当者を設定",
        "局へ送付",
        "局の担当者を設定",
        "協議結果を登録",
        "予算化",
        "事業に着手",
        "完了",
    ], issue_timeline

    # the one refusal on the way: the drafter's own approval (422, the form shown again)
    assert failed_responses == [f"422 {issue_url}/approve"], failed_responses
