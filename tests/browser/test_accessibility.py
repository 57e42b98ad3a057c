"""axe-core on every main page of every role, in Japanese and in English, with every form open.

The app is seeded like ``flask seed --demo`` so that lists, details and dashboards have rows to
show. Each role signs in once; its Japanese and English runs share that sign-in in a context of
their own. A page counts every critical, serious and moderate violation, with its rule, page and
target, in the failure message.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from tests.browser.conftest import DESKTOP
from tests.browser.test_end_to_end import login
from tests.support import build_app, database_url_for_tests
from tracker import PROJECT_ROOT
from tracker.extensions import db
from tracker.safeguards import mfa

AXE = PROJECT_ROOT / "static" / "vendor" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("critical", "serious", "moderate")
LANGUAGES = ("ja", "en")
ROLES = {
    "liaison": "chuo.liaison",
    "ward_manager": "chuo.manager",
    "bureau": "kankyo.staff",
    "admin": "admin",
}
# Pages beyond the main navigation, per role: lists with filters, search, forms, notifications.
EXTRA_PAGES = {
    "liaison": [
        "/requests/?state=answered",
        "/search?q=公園",
        "/notifications/",
        "/notifications/settings",
        "/activities/new",
        "/password",
        "/account/mfa",
        "/public/",
    ],
    "ward_manager": [
        "/requests/?state=answered",
        "/issues/?state=consulting",
        "/search?q=ごみ",
        "/notifications/",
        "/issues/new",
        "/reports/fiscal-year",
        "/account/mfa",
    ],
    "bureau": ["/search?q=ごみ", "/notifications/", "/bureau/?tab=all", "/reports/fiscal-year"],
    "admin": [
        "/admin/users/new",
        "/admin/master/funds",
        "/admin/open311/services",
        "/admin/open311/towns",
        "/admin/audit/changes",
        "/admin/audit/security",
        "/admin/audit/exports",
        "/indicators/admin",
        "/requests/?state=answered",
        "/search?q=公園",
        "/notifications/",
    ],
}
# The first link of these lists opens a detail page of the role's own scope.
DETAIL_LISTS = {
    "liaison": ["/requests/", "/issues/"],
    "ward_manager": ["/requests/", "/issues/"],
    "bureau": ["/bureau/?tab=all"],
    "admin": ["/requests/", "/issues/"],
}
ANONYMOUS_PAGES = ["/login", "/public/"]

OPEN_EVERYTHING = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.querySelectorAll('[aria-expanded="false"]').forEach(b => b.click());
}"""
RUN_AXE = """async (impacts) => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter(v => impacts.includes(v.impact)).map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')).slice(0, 5),
  }));
}"""


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[str]:
    """The app seeded as ``flask seed --demo`` does, served in a daemon thread."""
    import threading

    tmp = tmp_path_factory.mktemp("a11y")
    app = build_app(
        database_url_for_tests(tmp, suffix="_a11y_live"),
        tmp / "instance",
        demo_users=True,
        MFA_REQUIRED_ROLES=mfa.REQUIRED_ROLES,
    )
    seeded = app.test_cli_runner().invoke(args=["seed", "--demo"])
    assert seeded.exit_code == 0, seeded.output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="a11y-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def signed_in(browser, live_server):
    """role -> the cookies of one sign-in, made on first use and shared by both languages."""
    states: dict[str, dict] = {}

    def state_of(role: str) -> dict:
        if role not in states:
            context = browser.new_context(base_url=live_server, locale="ja-JP", viewport=DESKTOP)
            try:
                page = context.new_page()
                login(page, ROLES[role])
                states[role] = context.storage_state()
            finally:
                context.close()
        return states[role]

    return state_of


def with_language(path: str, lang: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}lang={lang}"


def violations_of(page: Page, path: str, lang: str) -> list[str]:
    """Open ``path`` in ``lang``, unfold every panel, run axe; one line per failing rule."""
    response = page.goto(with_language(path, lang))
    assert response is not None and response.status < 400, f"{path}: HTTP {response and response.status}"
    return violations_here(page, path, lang)


def violations_here(page: Page, path: str, lang: str) -> list[str]:
    page.evaluate(OPEN_EVERYTHING)
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url="/static/vendor/axe-core/axe.min.js")
    found = page.evaluate(RUN_AXE, list(FAILING_IMPACTS))
    return [f"{path} [{lang}] {v['impact']} {v['id']} ({v['help']}): {v['targets']}" for v in found]


def main_navigation(page: Page) -> list[str]:
    """Every link of the header: the main menu and the account links."""
    hrefs = page.eval_on_selector_all("header a[href]", "links => links.map(a => a.getAttribute('href'))")
    return [href for href in dict.fromkeys(hrefs) if href.startswith("/") and "lang=" not in href]


def first_detail(page: Page, list_path: str) -> str | None:
    page.goto(list_path)
    link = page.locator("main a[href^='/requests/'], main a[href^='/issues/']")
    for href in link.evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        path = href.split("?")[0]
        tail = path.rstrip("/").rsplit("/", 1)[-1]
        if tail.isdigit():
            return path
    return None


def run_pages(page: Page, paths: list[str], lang: str) -> list[str]:
    problems: list[str] = []
    for path in dict.fromkeys(paths):
        problems += violations_of(page, path, lang)
    return problems


def test_axe_is_vendored_with_its_licence():
    assert AXE.stat().st_size > 100_000
    assert (AXE.parent / "LICENSE").read_text().startswith("Mozilla Public License")


@pytest.mark.browser
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("role", list(ROLES))
def test_every_main_page_of_the_role_has_no_violation(browser, live_server, signed_in, role, lang):
    context = browser.new_context(base_url=live_server, storage_state=signed_in(role), viewport=DESKTOP)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(with_language("/", lang))
        paths = main_navigation(page) + EXTRA_PAGES[role]
        details = [first_detail(page, path) for path in DETAIL_LISTS[role]]
        assert all(details), f"{role}: a list to open a detail from is empty: {details}"
        problems = run_pages(page, ["/", *paths, *details], lang)
    finally:
        context.close()
    assert not problems, f"{role} ({lang}): {len(problems)} violations\n" + "\n".join(problems)


@pytest.mark.browser
@pytest.mark.parametrize("lang", LANGUAGES)
def test_login_and_public_pages_have_no_violation(browser, live_server, lang):
    context = browser.new_context(base_url=live_server, viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(with_language("/public/", lang))
        issue = page.locator("main a[href^='/public/issues/']").first.get_attribute("href")
        assert issue, "the demo publishes at least one ward issue"
        problems = run_pages(page, [*ANONYMOUS_PAGES, issue], lang)
    finally:
        context.close()
    assert not problems, f"anonymous ({lang}): {len(problems)} violations\n" + "\n".join(problems)


@pytest.mark.browser
@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_refused_form_shows_its_errors_accessibly(liaison: Page, lang):
    """The log-a-request form sent empty: each error is tied to its field, and axe finds nothing."""
    liaison.goto(with_language("/requests/new", lang))
    with liaison.expect_navigation():
        liaison.eval_on_selector("#title", "i => { i.form.noValidate = true; i.form.requestSubmit(); }")
    title = liaison.locator("#title")
    expect(title).to_have_attribute("aria-invalid", "true")
    described = title.get_attribute("aria-describedby")
    assert described and "title-error" in described.split()
    expect(liaison.locator("#title-error")).not_to_be_empty()
    problems = violations_here(liaison, "/requests/new (refused)", lang)
    assert not problems, "\n".join(problems)


def test_every_role_of_the_product_is_checked():
    from tracker.city.masterdata import DEMO_USERS

    demo_roles = {role for _login, _name, role, *_ in DEMO_USERS}
    checked = {role for login_name, _name, role, *_ in DEMO_USERS if login_name in ROLES.values()}
    assert checked == demo_roles


# --- the keyboard, the focus ring, and buttons that wait while their form is sent ---------


@pytest.fixture
def anonymous(browser, live_server) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server, viewport=DESKTOP)
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def liaison(browser, live_server, signed_in) -> Iterator[Page]:
    # No service worker: its fetch handler would answer the requests the tests route themselves.
    context = browser.new_context(
        base_url=live_server, storage_state=signed_in("liaison"), viewport=DESKTOP, service_workers="block"
    )
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


FOCUS_RING = """() => {
  const style = getComputedStyle(document.activeElement);
  const html = document.activeElement.outerHTML.slice(0, 80);
  return {tag: document.activeElement.tagName, html, width: parseFloat(style.outlineWidth),
          style: style.outlineStyle, colour: style.outlineColor};
}"""


def start_tabbing_at_the_top(page: Page) -> None:
    """Move the focus to the body, so that the next Tab goes to the page's first tab stop."""
    page.evaluate(
        "() => { const b = document.body; b.tabIndex = -1; b.focus(); b.removeAttribute('tabindex'); }"
    )


@pytest.mark.browser
def test_the_first_tab_stop_is_the_skip_link_to_main(anonymous: Page):
    anonymous.goto("/public/?lang=ja")
    start_tabbing_at_the_top(anonymous)
    anonymous.keyboard.press("Tab")
    skip = anonymous.locator("a.skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("本文へ移動")
    box = skip.bounding_box()
    assert box and box["y"] >= 0 and box["height"] >= 24, f"the focused skip link is not on screen: {box}"
    anonymous.keyboard.press("Enter")
    expect(anonymous.locator("main#main")).to_be_focused()
    anonymous.keyboard.press("Tab")
    focused = anonymous.evaluate("() => document.activeElement.closest('main') !== null")
    assert focused, "after the skip link, Tab goes on inside the main content"


@pytest.mark.browser
def test_keyboard_focus_is_a_visible_ring_of_2px_or_more(liaison: Page):
    liaison.goto("/requests/new?lang=ja")
    start_tabbing_at_the_top(liaison)  # away from the autofocused title
    seen = set()
    for step in range(80):  # every tab stop of the page, to its end
        liaison.keyboard.press("Tab")
        ring = liaison.evaluate(FOCUS_RING)
        if ring["tag"] == "BODY":
            break
        assert ring["style"] == "solid" and ring["width"] >= 2, f"no visible focus at Tab {step + 1}: {ring}"
        assert ring["colour"] == "rgb(26, 26, 26)", ring
        seen.add(ring["tag"])
        if step == 0:  # the skip link: straight to the form
            liaison.keyboard.press("Enter")
    assert {"A", "INPUT", "SELECT", "TEXTAREA"} <= seen, seen


@pytest.mark.browser
def test_an_action_panel_opens_and_its_form_is_reached_from_the_keyboard(liaison: Page):
    detail = first_detail(liaison, "/requests/?lang=ja")
    liaison.goto(f"{detail}?lang=ja")
    closed = liaison.eval_on_selector_all("details.action", "all => all.findIndex(d => !d.open)")
    assert closed >= 0, "the request detail offers a folded action"
    panel = liaison.locator("details.action").nth(closed)
    panel.locator("summary").focus()
    liaison.keyboard.press("Enter")
    expect(panel).to_have_js_property("open", True)
    liaison.keyboard.press("Tab")
    inside = panel.evaluate("details => details.contains(document.activeElement)")
    assert inside, "Tab after opening a panel reaches its first field"
    assert liaison.evaluate(FOCUS_RING)["width"] >= 2


def answer_without_leaving(sent: list[str]):
    """A route handler: note the URL of a form's request and answer 204, so the page stays."""

    def handle(route):
        sent.append(route.request.url)
        route.fulfill(status=204)

    return handle


@pytest.mark.browser
def test_a_posted_form_disables_its_button_until_the_page_comes_back(anonymous: Page):
    sent: list[str] = []
    anonymous.goto("/login?lang=ja")
    anonymous.route(lambda url: url.endswith("/login"), answer_without_leaving(sent))
    anonymous.fill("#login", "chuo.liaison")
    anonymous.fill("#password", "wrong password")
    button = anonymous.get_by_role("button", name="ログイン", exact=True)
    button.click()
    expect(button).to_be_disabled()
    expect(button).to_have_attribute("aria-busy", "true")
    button.click(force=True)  # a second click sends nothing more
    expect(button).to_be_disabled()
    # coming back to the page (back-forward cache) gives the button back
    anonymous.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    expect(button).to_be_enabled()
    assert len(sent) == 1, f"the form was sent once: {sent}"


@pytest.mark.browser
def test_a_download_sends_the_clicked_button_and_gives_it_back_after_a_few_seconds(liaison: Page):
    sent: list[str] = []
    liaison.goto("/requests/?lang=ja")
    liaison.route(lambda url: "format=" in url, answer_without_leaving(sent))
    csv = liaison.locator("form.export-form button[value=csv]")
    csv.click()
    expect(csv).to_be_disabled()
    expect(csv).to_be_enabled(timeout=8_000)  # a GET form: the page stays, the button comes back
    assert len(sent) == 1 and "format=csv" in sent[0], sent


@pytest.mark.browser
def test_a_form_marked_data_no_disable_keeps_its_button(anonymous: Page):
    sent: list[str] = []
    anonymous.goto("/login?lang=ja")
    anonymous.route(lambda url: url.endswith("/login"), answer_without_leaving(sent))
    anonymous.evaluate("() => document.querySelector('main form').setAttribute('data-no-disable', '')")
    anonymous.fill("#login", "chuo.liaison")
    anonymous.fill("#password", "wrong password")
    button = anonymous.get_by_role("button", name="ログイン", exact=True)
    button.click()
    # forms.js disables in a task queued at the submit; a task queued now runs after it
    disabled = button.evaluate("b => new Promise(done => setTimeout(() => done(b.disabled), 0))")
    assert disabled is False
    assert button.get_attribute("aria-busy") is None
    button.click()
    assert len(sent) == 2, f"a form that opts out may be sent again: {sent}"
