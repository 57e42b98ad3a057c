"""Fixtures for browser tests: a live server on its own database, and Debian's Chromium.

The live app is separate from the session-scoped ``app`` of ``tests/conftest.py``: it runs
in a thread of this process on ``<test database>_live`` (or ``tracker_live.db`` on SQLite), with
the migrations applied, the city's master data and the demo accounts loaded.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.support import build_app, database_url_for_tests
from tracker import PROJECT_ROOT
from tracker.extensions import db
from tracker.safeguards import mfa

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[str]:
    """Base URL of the app served by werkzeug in a daemon thread; shut down after the module."""
    tmp = tmp_path_factory.mktemp("live")
    app = build_app(
        database_url_for_tests(tmp, suffix="_live"),
        tmp / "instance",
        demo_users=True,
        MFA_REQUIRED_ROLES=mfa.REQUIRED_ROLES,  # as in production: the demo managers have a second factor
    )

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
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
def browser():
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true requires Chromium for browser tests: {message}")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


DESKTOP = {"width": 1280, "height": 900}
TABLET = {"width": 768, "height": 1024}


@contextmanager
def opened_page(browser, live_server: str, viewport: dict) -> Iterator:
    """A fresh page (own cookies) at ``viewport``, Japanese locale, Tokyo time; base URL set."""
    context = browser.new_context(
        base_url=live_server, locale="ja-JP", timezone_id="Asia/Tokyo", viewport=viewport
    )
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser, live_server):
    """A page at desktop size."""
    with opened_page(browser, live_server, DESKTOP) as opened:
        yield opened


@pytest.fixture
def tablet(browser, live_server):
    """A page at the width of a tablet held upright in the field (768 px)."""
    with opened_page(browser, live_server, TABLET) as opened:
        yield opened


@pytest.fixture
def shots_dir(request) -> Path:
    """``test-results/browser/<test name>/`` under the repo root (git-ignored), emptied first."""
    folder = PROJECT_ROOT / "test-results" / "browser" / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
