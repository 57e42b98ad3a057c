"""The stress clients: liaisons and ward managers working the app through their browsers, each
writing down in the ledger what it believes it created and did."""

from __future__ import annotations

import random
import struct
import threading
import zlib

from .browser import Browser, Stats
from .ledger import Act, Created, Ledger
from .pages import (
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
from .settings import HTTP_TIMEOUT, MANAGERS

# --- the clients -----------------------------------------------------------------------------------


def tiny_png(width: int = 8, height: int = 8) -> bytes:
    """A valid PNG, built here (no files, no Pillow)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes((200, 80, 40)) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


REFER_TO = ("東部土木センター 維持管理課", "中央区役所 土木課", "環境局 廃棄物計画課", "都市建設局 公園課")
TITLES = (
    "街灯の球切れ",
    "側溝のふたの破損",
    "公園遊具の点検依頼",
    "ごみステーションの移設",
    "通学路の安全対策",
)
PNG = tiny_png()


class Client(threading.Thread):
    def __init__(self, number: int, login: str, base: str, stats: Stats, ledger: Ledger, stop, twice: float):
        super().__init__(name=f"client-{number}-{login}", daemon=True)
        self.number, self.login, self.stop = number, login, stop
        self.twice = twice  # share of actions sent twice at once (double click)
        self.base, self.stats, self.ledger = base, stats, ledger
        self.manager = login in MANAGERS
        self.browser = Browser(base, stats)
        self.twin: Browser | None = None  # a second session of the same manager, for double clicks
        self.random = random.Random(number)
        self.sequence = 0
        self.crashed: str | None = None

    def run(self) -> None:
        try:
            if not self._login(self.browser):
                return
            while not self.stop.is_set():
                if self.random.random() < 0.03:  # log out and in again (also while Redis is down)
                    self.relogin()
                elif self.manager and self.random.random() < 0.7:
                    self.advance()
                else:
                    self.create_request()
        except Exception as error:  # a bug in this script must not pass silently
            self.crashed = f"{type(error).__name__}: {error}"

    def relogin(self) -> None:
        page = self.browser.get("/requests/")  # any page: each has the logout form
        hidden = hidden_fields(form_block(page.body, 'action="/logout"'))
        answer = self.browser.post_form("/logout", hidden or [("csrf_token", self.browser.csrf or "")])
        if answer.status != 302:
            return
        self.ledger.count("relogins")
        self._login(self.browser)

    def _login(self, browser: Browser) -> bool:
        while not self.stop.is_set():
            if browser.login(self.login):
                return True
            self.ledger.count("logins_failed")
            self.stop.wait(1.0)
        return False

    # liaison and manager: log a request
    def create_request(self) -> None:
        form = self.browser.get("/requests/new")
        if form.status != 200 or not self.browser.csrf:
            return
        self.sequence += 1
        fields = [
            ("title", f"{self.random.choice(TITLES)} (負荷試験 {self.number}-{self.sequence})"),
            ("description", "負荷試験で登録した要望です。" * self.random.randint(1, 5)),
            ("category_id", self.random.choice(select_values(form.body, "category_id") or ["1"])),
            ("source", self.random.choice(select_values(form.body, "source") or ["counter"])),
            ("location_text", "熊本市中央区手取本町1-1"),
            ("latitude", f"{32.80 + self.random.random() / 100:.6f}"),
            ("longitude", f"{130.70 + self.random.random() / 100:.6f}"),
            ("organisation", "負荷試験町内自治会"),
            ("requester_name", "熊本 太郎"),
            ("requester_contact", "096-000-0000"),
            ("received_on", hidden_or_value(form.body, "received_on")),
            ("answer_due_on", ""),
            ("similar_choice", "separate"),  # the titles look alike: skip the "similar requests" step
        ]
        if self.manager:
            fields.append(("center_id", self.random.choice(select_values(form.body, "center_id") or ["0"])))
        files = [("photos", "photo.png", "image/png", PNG)] if self.random.random() < 0.2 else []
        hidden = hidden_fields(form_block(form.body, 'enctype="multipart/form-data"'))
        fields = merge_fields(hidden or [("csrf_token", self.browser.csrf)], fields)
        answer = self.browser.post_multipart("/requests/new", fields, files)
        request_id = request_id_from_location(answer.location) if answer.status == 302 else None
        if request_id is None:
            if answer.status == 0 or answer.status >= 500:
                self.ledger.count("create_unknown")
            else:
                self.ledger.count("create_refused")
            return
        page = self.browser.follow(answer)
        reference = reference_of(page.body) if page is not None and page.status == 200 else None
        self.ledger.add_created(request_id, Created(reference, self.login, not self.manager, len(files)))

    # ward manager: refer, escalate into a new issue, or bundle into an issue of this run
    def advance(self) -> None:
        listing = self.browser.get("/requests/?state=received")
        if listing.status != 200:
            return
        with self.ledger.lock:
            mine = set(self.ledger.created)
        candidates = [i for i in request_ids_in_list(listing.body) if i in mine]
        if not candidates:
            self.stop.wait(0.2)
            return
        request_id = self.random.choice(candidates)
        page = self.browser.get(f"/requests/{request_id}")
        if page.status != 200 or not has_action_form(page.body, "refer"):
            return
        choice = self.random.random()
        ours = self.ledger.issue_ids()
        bundle_into = [int(v) for v in select_values(page.body, "escalate-ward_issue_id") if int(v) in ours]
        if choice < 0.55:
            action, fields = "refer", [("refer-referred_to", self.random.choice(REFER_TO))]
            fields.append(("refer-comment", "負荷試験"))
        elif choice < 0.8 or not bundle_into:
            action = "escalate_new"
            bureaus = select_values(page.body, "escalate-lead_bureau_id")
            fields = [
                ("escalate-ward_issue_id", "0"),
                ("escalate-title", f"区重要課題 (負荷試験 {self.number}-{request_id})"),
                ("escalate-proposal", "対応案"),
                ("escalate-lead_bureau_id", self.random.choice(bureaus or ["0"])),
                ("escalate-comment", "負荷試験"),
            ]
        else:
            action = "escalate_bundle"
            fields = [
                ("escalate-ward_issue_id", str(self.random.choice(bundle_into))),
                ("escalate-title", ""),
                ("escalate-proposal", ""),
                ("escalate-lead_bureau_id", "0"),
                ("escalate-comment", "負荷試験"),
            ]
        path = f"/requests/{request_id}/{action.split('_')[0]}"
        if self.random.random() < self.twice:
            self.double_submit(request_id, action, path, fields, page.body)
        else:
            self.ledger.add_act(self.submit(self.browser, page.body, request_id, action, path, fields))

    def double_submit(self, request_id: int, action: str, path: str, fields, page_html: str) -> None:
        """Both sessions saw the same page; both send the form at once (a double click, two tabs)."""
        if self.twin is None:
            twin = Browser(self.base, self.stats)
            if not self._login(twin):
                return
            self.twin = twin
        twin_page = self.twin.get(f"/requests/{request_id}")
        if twin_page.status != 200:
            return
        self.ledger.count("double_submits")
        results: list[Act] = []
        pages = ((self.browser, page_html), (self.twin, twin_page.body))
        threads = [
            threading.Thread(
                target=lambda b=b, html=html: results.append(
                    self.submit(b, html, request_id, action, path, fields)
                ),
                daemon=True,
            )
            for b, html in pages
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(HTTP_TIMEOUT * 2 + 5)
        for act in results:
            self.ledger.add_act(act)

    @staticmethod
    def submit(browser: Browser, page_html: str, request_id: int, action: str, path: str, fields) -> Act:
        prefix = action.split("_")[0]
        hidden = hidden_fields(form_block(page_html, f'id="form-{prefix}"'))
        answer = browser.post_form(
            path, merge_fields(hidden or [(f"{prefix}-csrf_token", browser.csrf)], fields)
        )
        if answer.status == 0 or answer.status >= 500:
            return Act(request_id, action, "unknown", note=f"HTTP {answer.status}")
        if answer.status != 302:
            return Act(request_id, action, "refused", note=f"HTTP {answer.status}")
        page = browser.follow(answer)
        if page is None or page.status != 200:
            return Act(request_id, action, "unknown", note="no page after the redirect")
        messages = flashes(page.body)
        if any(category == "success" for category, _ in messages):
            issue_id = issue_id_on_request_page(page.body) if prefix == "escalate" else None
            if prefix == "escalate" and issue_id is None:
                return Act(request_id, action, "unknown", note="escalated, but no issue on the page")
            return Act(request_id, action, "ok", issue_id)
        if any(category == "error" for category, _ in messages):
            return Act(request_id, action, "refused", note=messages[0][1])
        return Act(request_id, action, "unknown", note="no message after the action")
