"""``make stress``: a bounded load-and-fault run of the whole stack on this machine's loopback.

What it does, on 127.0.0.1 only, and always stopping by itself:

1. Drops and recreates a PostgreSQL database of its own (``STRESS_DATABASE_URL``, default
   ``postgresql://postgres@127.0.0.1:5432/tracker_stress``; its name must contain "stress"),
   runs the migrations (``flask db upgrade heads``) and ``flask seed --demo``.
2. Starts a Redis of its own on a free port (the machine's Redis is never touched), one
   ``flask worker`` on a queue of its own, and gunicorn with 2 workers on another free port.
3. Runs ``STRESS_CLIENTS`` (8) concurrent clients for ``STRESS_SECONDS`` (60): liaisons log
   requests (sometimes with a photo); ward managers log requests, refer them, escalate them into
   a new ward issue or bundle them into one the run created, sometimes twice at once from two
   sessions (a double click, ``STRESS_DOUBLE_SUBMIT`` 0.15); everyone logs out and in now and
   then. Every client writes down what it believes it created and did.
4. Kills the stress Redis (SIGKILL, as a crash) for ``STRESS_OUTAGE_SECONDS`` (10) during the
   run, then starts it again, empty, on the same port.
5. Waits (at most ``STRESS_DRAIN_SECONDS``, 90) for the background work to finish, stops
   gunicorn, the worker and Redis, compares what the clients believe with the database, prints
   the result, and exits 0 only if nothing was lost, duplicated or answered with a 5xx.

Every process it starts runs in a process group of its own and is stopped on the way out,
also after Ctrl-C, SIGTERM, a failure, or the hard deadline (printed at the start).
Exit status: 0 all checks passed, 1 a check failed, 2 setup failed, 3 hard deadline, 130 interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.cookiejar
import os
import random
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from collections import Counter
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/tracker_stress"
PASSWORD = "kumamoto-demo"
LIAISONS = ("chuo.liaison", "higashi.liaison", "minami.liaison", "kita.liaison")
MANAGERS = ("chuo.manager", "higashi.manager", "minami.manager", "kita.manager")

# Fixed bounds (seconds) around the run: the whole script never exceeds their sum (see Settings.bound).
SETUP_LIMIT = 180  # database, migrations, seed, Redis, worker, gunicorn up
JOIN_LIMIT = 40  # clients finishing their last request (HTTP timeout 30 s)
CLEANUP_LIMIT = 60  # stopping gunicorn, the worker and Redis, and the final queries
HTTP_TIMEOUT = 30
TERMINAL_JOB_STATES = ("done", "failed")
# Variables of the caller's environment that must not leak into the stress stack.
SCRUBBED_ENV = (
    "APP_ENV",
    "BASE_URL",
    "DATABASE_URL",
    "IMPORT_DIR",
    "INSTANCE_PATH",
    "MAIL_DIR",
    "MAIL_FROM",
    "MAIL_PASSWORD",
    "MAIL_PORT",
    "MAIL_SERVER",
    "MAIL_USERNAME",
    "MAIL_USE_TLS",
    "PHOTO_DIR",
    "REDIS_URL",
    "REPORT_DIR",
    "RQ_QUEUE",
    "SECRET_KEY",
)


class SetupError(RuntimeError):
    """The stack could not be set up; the message says what failed."""


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM: stop everything and leave."""


class HardDeadline(BaseException):
    """The script ran past its bound: stop everything and leave."""


# --- settings and safety ---------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    seconds: int = 60
    clients: int = 8
    database_url: str = DEFAULT_DATABASE_URL
    outage_seconds: float = 10.0
    drain_seconds: int = 90
    double_submit: float = 0.15  # share of manager actions sent twice at once from two sessions

    @classmethod
    def from_env(cls, env) -> Settings:
        return cls(
            seconds=max(5, int(env.get("STRESS_SECONDS", "60"))),
            clients=max(2, int(env.get("STRESS_CLIENTS", "8"))),
            database_url=env.get("STRESS_DATABASE_URL", DEFAULT_DATABASE_URL),
            outage_seconds=max(0.0, float(env.get("STRESS_OUTAGE_SECONDS", "10"))),
            drain_seconds=max(10, int(env.get("STRESS_DRAIN_SECONDS", "90"))),
            double_submit=min(1.0, max(0.0, float(env.get("STRESS_DOUBLE_SUBMIT", "0.15")))),
        )

    def bound(self) -> int:
        """The longest the whole script may take, in seconds."""
        return SETUP_LIMIT + self.seconds + JOIN_LIMIT + self.drain_seconds + CLEANUP_LIMIT


def outage_window(seconds: float, outage: float) -> tuple[float, float]:
    """When (seconds after the clients start) Redis goes down, and for how long.

    It starts at 30 % of the run and never lasts past 80 % of it, so the run sees before,
    during and after.
    """
    start = max(1.0, seconds * 0.3)
    return start, max(0.0, min(outage, seconds * 0.8 - start))


def check_loopback_database(url: str) -> str:
    """The database name of ``url``; raise SetupError unless it is local and a stress database."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise SetupError(f"STRESS_DATABASE_URL must be a postgresql:// URL, not {parts.scheme!r}")
    query_host = urllib.parse.parse_qs(parts.query).get("host", [""])[0]
    host = parts.hostname
    if host is not None and host not in LOOPBACK:
        raise SetupError(f"STRESS_DATABASE_URL must point to this machine's loopback, not {host!r}")
    if host is None and query_host and not query_host.startswith("/") and query_host not in LOOPBACK:
        raise SetupError(f"STRESS_DATABASE_URL must point to this machine's loopback, not {query_host!r}")
    name = urllib.parse.unquote(parts.path.lstrip("/"))
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name or ""):
        raise SetupError(f"STRESS_DATABASE_URL needs a plain database name, not {name!r}")
    if "stress" not in name.lower():
        raise SetupError(f"refusing to drop database {name!r}: its name must contain 'stress'")
    return name


def libpq_url(url: str, database: str | None = None) -> str:
    """``url`` for psycopg (no SQLAlchemy driver suffix), optionally on another database."""
    parts = urllib.parse.urlsplit(url.replace("postgresql+psycopg://", "postgresql://", 1))
    if parts.scheme == "postgres":
        parts = parts._replace(scheme="postgresql")
    if database is not None:
        parts = parts._replace(path="/" + database)
    return urllib.parse.urlunsplit(parts)


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on right now, on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def port_open(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


# --- HTML and HTTP helpers ----------------------------------------------------------------------

_INPUT = re.compile(r"<input\b[^>]*>", re.S)
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')
_FLASH = re.compile(r'<p class="flash flash-(\w+)">(.*?)</p>', re.S)
_REF = re.compile(r'<dd class="ref">([^<]+)</dd>')


def hidden_inputs(html: str) -> dict[str, str]:
    """name → value of every ``<input>`` with a name and a value."""
    found = {}
    for tag in _INPUT.findall(html):
        attrs = dict(_ATTR.findall(tag))
        if "name" in attrs and "value" in attrs:
            found[unescape(attrs["name"])] = unescape(attrs["value"])
    return found


def form_block(html: str, marker: str) -> str:
    """The first ``<form>`` whose opening tag contains ``marker`` (e.g. ``id="form-refer"``), or ""."""
    for match in re.finditer(r"<form\b[^>]*>", html):
        if marker in match.group(0):
            end = html.find("</form>", match.end())
            return html[match.start() : end if end >= 0 else len(html)]
    return ""


def hidden_fields(form_html: str) -> list[tuple[str, str]]:
    """The hidden inputs of a form (CSRF token, record version, ...), as a browser sends them."""
    fields = []
    for tag in _INPUT.findall(form_html):
        attrs = dict(_ATTR.findall(tag))
        if attrs.get("type") == "hidden" and "name" in attrs:
            fields.append((unescape(attrs["name"]), unescape(attrs.get("value", ""))))
    return fields


def merge_fields(hidden: list[tuple[str, str]], typed: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """What the browser posts: the form's hidden fields, then what was typed (typed wins)."""
    names = {name for name, _ in typed}
    return [(n, v) for n, v in hidden if n not in names] + typed


def csrf_token(html: str) -> str | None:
    """The CSRF token of a page (every form of one session carries the same one)."""
    for name, value in hidden_inputs(html).items():
        if name == "csrf_token" or name.endswith("-csrf_token"):
            return value
    return None


def select_values(html: str, name: str) -> list[str]:
    """The non-empty option values of ``<select name=name>``."""
    match = re.search(r'<select\b[^>]*\bname="' + re.escape(name) + r'"[^>]*>(.*?)</select>', html, re.S)
    if not match:
        return []
    return [unescape(v) for v in re.findall(r'<option\b[^>]*value="([^"]*)"', match.group(1)) if v]


def flashes(html: str) -> list[tuple[str, str]]:
    return [
        (category, unescape(re.sub(r"<[^>]+>", "", text)).strip()) for category, text in _FLASH.findall(html)
    ]


def reference_of(html: str) -> str | None:
    match = _REF.search(html)
    return unescape(match.group(1)).strip() if match else None


def request_id_from_location(location: str | None) -> int | None:
    """The id in a redirect to ``/requests/<id>`` (absolute or relative), else None."""
    if not location:
        return None
    match = re.fullmatch(r"/requests/(\d+)", urllib.parse.urlsplit(location).path)
    return int(match.group(1)) if match else None


def issue_id_on_request_page(html: str) -> int | None:
    """The ward issue a request belongs to, from its detail page."""
    match = re.search(r'<dt>区重要課題</dt>\s*<dd>\s*<a href="[^"]*/issues/(\d+)"', html)
    return int(match.group(1)) if match else None


def request_ids_in_list(html: str) -> list[int]:
    return sorted({int(i) for i in re.findall(r'href="/requests/(\d+)"', html)})


def has_action_form(html: str, action: str) -> bool:
    return f'id="form-{action}"' in html


def encode_multipart(fields: list[tuple[str, str]], files: list[tuple[str, str, str, bytes]] = ()):
    """(body, content type) of a multipart/form-data POST; ``files`` are (field, name, type, data)."""
    boundary = "----stress" + uuid.uuid4().hex
    chunks: list[bytes] = []
    for name, value in fields:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        chunks.append(str(value).encode() + b"\r\n")
    for name, filename, content_type, data in files:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
        )
        chunks.append(data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


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


def path_pattern(path: str) -> str:
    """``/requests/123/refer`` → ``/requests/<id>/refer``, to group statistics by endpoint."""
    return re.sub(r"/\d+", "/<id>", urllib.parse.urlsplit(path).path)


@dataclass
class Response:
    status: int  # 0: no answer (connection refused, reset, timeout)
    location: str | None
    body: str
    error: str = ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the caller sees the 302 and its Location


class Stats:
    """What every HTTP exchange of the run answered; thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.server_errors: list[str] = []
        self.transport_errors: list[str] = []
        self.latencies: list[float] = []
        self.by_endpoint: dict[str, list[float]] = {}

    def record(self, method: str, path: str, response: Response, elapsed: float) -> None:
        with self.lock:
            self.statuses[response.status] += 1
            self.by_endpoint.setdefault(f"{method} {path_pattern(path)}", []).append(elapsed)
            if response.status == 0:
                self.transport_errors.append(f"{method} {path_pattern(path)}: {response.error}")
            else:
                self.latencies.append(elapsed)
            if response.status >= 500:
                self.server_errors.append(f"{method} {path_pattern(path)} → {response.status}")

    @property
    def served(self) -> int:
        return sum(n for status, n in self.statuses.items() if status)


class Browser:
    """One logged-in browser: a cookie jar, no automatic redirects, the stdlib only."""

    def __init__(self, base: str, stats: Stats):
        self.base = base
        self.stats = stats
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())
        self.csrf: str | None = None

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None):
        url = urllib.parse.urljoin(self.base, path)
        req = urllib.request.Request(url, data=body, method=method)
        if content_type:
            req.add_header("Content-Type", content_type)
        started = time.monotonic()
        try:
            with self.opener.open(req, timeout=HTTP_TIMEOUT) as answer:
                response = Response(answer.status, answer.headers.get("Location"), self._text(answer))
        except urllib.error.HTTPError as answer:
            response = Response(answer.code, answer.headers.get("Location"), self._text(answer))
        except (OSError, urllib.error.URLError) as error:
            response = Response(0, None, "", f"{type(error).__name__}: {error}")
        self.stats.record(method, path, response, time.monotonic() - started)
        if response.body:
            self.csrf = csrf_token(response.body) or self.csrf
        return response

    @staticmethod
    def _text(answer) -> str:
        try:
            return answer.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post_form(self, path: str, fields: list[tuple[str, str]]) -> Response:
        body = urllib.parse.urlencode(fields).encode()
        return self.request("POST", path, body, "application/x-www-form-urlencoded")

    def post_multipart(self, path: str, fields, files=()) -> Response:
        body, content_type = encode_multipart(fields, files)
        return self.request("POST", path, body, content_type)

    def follow(self, response: Response) -> Response | None:
        if response.status in (301, 302, 303) and response.location:
            return self.get(urllib.parse.urlsplit(response.location).path)
        return None

    def login(self, login: str) -> bool:
        page = self.get("/login")
        if page.status != 200 or not self.csrf:
            return False
        answer = self.post_form(
            "/login", [("csrf_token", self.csrf), ("login", login), ("password", PASSWORD), ("next", "")]
        )
        if answer.status != 302 or "/login" in (answer.location or ""):
            return False
        home = self.follow(answer)
        return home is not None and home.status in (200, 302)


# --- what the clients believe ---------------------------------------------------------------------


@dataclass
class Created:
    reference: str | None
    login: str
    by_liaison: bool
    photos: int


@dataclass
class Act:
    request_id: int
    action: str  # refer | escalate_new | escalate_bundle
    outcome: str  # ok | refused | unknown
    issue_id: int | None = None
    note: str = ""


@dataclass
class Ledger:
    """Every request a client believes it created and every action it took; thread-safe."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    created: dict[int, Created] = field(default_factory=dict)
    create_refused: int = 0
    create_unknown: int = 0
    acts: list[Act] = field(default_factory=list)
    logins_failed: int = 0
    relogins: int = 0
    double_submits: int = 0

    def add_created(self, request_id: int, created: Created) -> None:
        with self.lock:
            self.created[request_id] = created

    def add_act(self, act: Act) -> None:
        with self.lock:
            self.acts.append(act)

    def count(self, name: str) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + 1)

    def issue_ids(self) -> set[int]:
        with self.lock:
            return {a.issue_id for a in self.acts if a.outcome == "ok" and a.issue_id}

    def acted_on(self) -> set[int]:
        with self.lock:
            return {a.request_id for a in self.acts if a.outcome in ("ok", "unknown")}


@dataclass(frozen=True)
class Expected:
    requests: int
    photos: int
    issues: int  # new ward issues
    issues_max: int  # ... if every unknown escalation made one
    events_min: int  # history events on the run's requests and issues, if every unknown did nothing
    events_max: int  # ... if every unknown outcome did its work
    notifications_min: int
    notifications_max: int


EVENTS_PER_ACT = {"refer": 1, "escalate_new": 3, "escalate_bundle": 2}  # request + issue (create, bundle)


def expected_from(ledger: Ledger) -> Expected:
    """What the database must hold if everything the clients believe really happened."""
    with ledger.lock:
        created = dict(ledger.created)
        acts = list(ledger.acts)
    events_min = events_max = len(created)  # one 'create' event each
    notes_min = notes_max = 0
    for act in acts:
        liaison = created.get(act.request_id) is not None and created[act.request_id].by_liaison
        if act.outcome == "ok":
            events_min += EVENTS_PER_ACT[act.action]
            events_max += EVENTS_PER_ACT[act.action]
            notes_min += liaison
            notes_max += liaison
        elif act.outcome == "unknown":
            events_max += EVENTS_PER_ACT[act.action]
            notes_max += liaison
    return Expected(
        requests=len(created),
        photos=sum(c.photos for c in created.values()),
        issues=sum(1 for a in acts if a.outcome == "ok" and a.action == "escalate_new"),
        issues_max=sum(1 for a in acts if a.outcome in ("ok", "unknown") and a.action == "escalate_new"),
        events_min=events_min,
        events_max=events_max,
        notifications_min=notes_min,
        notifications_max=notes_max,
    )


# --- the clients -----------------------------------------------------------------------------------

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


def hidden_or_value(html: str, name: str) -> str:
    match = re.search(r'<input\b[^>]*\bname="' + re.escape(name) + r'"[^>]*>', html)
    if not match:
        return ""
    value = re.search(r'\bvalue="([^"]*)"', match.group(0))
    return unescape(value.group(1)) if value else ""


# --- processes -------------------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (RQ's work horse has a process group of its own)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                for child in map(int, children.read_text().split()):
                    if child not in found:
                        found.append(child)
                        pending.append(child)
    return found


class Proc:
    """One child process in a session (process group) of its own, logging to a file."""

    def __init__(self, name: str, argv: list[str], env: dict, log_path: Path):
        self.name, self.argv, self.env, self.log_path = name, argv, env, log_path
        self.popen: subprocess.Popen | None = None
        self.stopped_cleanly: bool | None = None
        self.exit_status: int | None = None

    def start(self) -> Proc:
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the process, its group and every descendant (a crash, or the last resort)."""
        if self.popen is None:
            return
        family = descendants(self.popen.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        for pid in [self.popen.pid, *family]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)

    def stop(self, grace: float) -> None:
        """SIGTERM (gunicorn and RQ stop gracefully on it), then SIGKILL after ``grace`` seconds."""
        if self.popen is None or self.stopped_cleanly is not None:
            return
        family = descendants(self.popen.pid)
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
                self.stopped_cleanly = True
            except subprocess.TimeoutExpired:
                self.stopped_cleanly = False
        else:
            self.stopped_cleanly = False  # it had died before we asked
        self.exit_status = self.popen.returncode
        # Whatever is left of its group or its children (a work horse, a gunicorn worker) goes now.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        for pid in family:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        if self.exit_status is None:
            self.exit_status = self.popen.returncode


def wait_until(condition, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


def tail(path: Path, lines: int = 25) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


class Stack:
    """The stress run's own Redis, worker and gunicorn, and how to stop them all."""

    def __init__(self, workdir: Path, env: dict):
        self.workdir, self.env = workdir, env
        self.redis_port = 0
        self.web_port = 0
        self.redis: Proc | None = None
        self.old_redis: list[Proc] = []
        self.worker: Proc | None = None
        self.web: Proc | None = None
        self.events: list[str] = []

    def start_redis(self) -> None:
        for _ in range(3):
            self.redis_port = self.redis_port or free_port()
            argv = [shutil.which("redis-server") or "redis-server", "--port", str(self.redis_port)]
            argv += ["--bind", HOST, "--save", "", "--appendonly", "no", "--daemonize", "no"]
            argv += ["--dir", str(self.workdir), "--protected-mode", "yes"]
            self.redis = Proc("redis", argv, self.env, self.workdir / "redis.log").start()
            up = wait_until(lambda: port_open(self.redis_port) or not self.redis.alive(), 10)
            if up and self.redis.alive():
                return
            self.redis.kill()
            self.old_redis.append(self.redis)
            self.redis_port = 0
        raise SetupError(f"redis-server did not start:\n{tail(self.workdir / 'redis.log')}")

    def crash_redis(self) -> None:
        self.redis.kill()
        self.old_redis.append(self.redis)
        self.events.append("Redis killed (SIGKILL)")

    def restart_redis(self) -> bool:
        argv = list(self.old_redis[-1].argv)
        self.redis = Proc("redis", argv, self.env, self.workdir / "redis.log").start()
        up = wait_until(lambda: port_open(self.redis_port) or not self.redis.alive(), 10)
        self.events.append("Redis started again on the same port, empty" if up else "Redis did not come back")
        return up and self.redis.alive()

    def start_worker(self) -> None:
        argv = [str(BIN / "flask"), "--app", "wsgi", "worker"]
        self.worker = Proc("worker", argv, self.env, self.workdir / "worker.log").start()

    def start_web(self) -> str:
        self.web_port = free_port()
        argv = [str(BIN / "gunicorn"), "-w", "2", "-b", f"{HOST}:{self.web_port}", "--timeout", "30"]
        argv += ["--graceful-timeout", "10", "--access-logfile", str(self.workdir / "access.log")]
        argv += ["--access-logformat", "%(s)s %(m)s %(U)s %(M)s", "wsgi:app"]
        self.web = Proc("gunicorn", argv, self.env, self.workdir / "gunicorn.log").start()
        base = f"http://{HOST}:{self.web_port}"
        probe = Browser(base, Stats())
        if not wait_until(lambda: probe.get("/login").status == 200 or not self.web.alive(), 60, 0.5):
            raise SetupError(f"gunicorn did not answer:\n{tail(self.workdir / 'gunicorn.log')}")
        if not self.web.alive():
            raise SetupError(f"gunicorn exited:\n{tail(self.workdir / 'gunicorn.log')}")
        return base

    def stop_all(self) -> None:
        """Stop in order: no new requests, then no new jobs, then Redis. Safe to call twice."""
        for proc, grace in ((self.web, 15), (self.worker, 20), (self.redis, 5)):
            if proc is not None:
                try:
                    proc.stop(grace)
                except BaseException as error:  # keep stopping the others
                    print(f"  could not stop {proc.name}: {error}", file=sys.stderr)
                    with contextlib.suppress(BaseException):
                        proc.kill()
        for proc in self.old_redis:
            with contextlib.suppress(BaseException):
                proc.kill()


# --- database -------------------------------------------------------------------------------------


def recreate_database(url: str, name: str) -> None:
    import psycopg

    try:
        with psycopg.connect(libpq_url(url, "postgres"), autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
    except psycopg.Error as error:
        raise SetupError(f"PostgreSQL: could not recreate {name}: {error}") from error


def run_flask(args: list[str], env: dict, workdir: Path, timeout: float) -> None:
    log = workdir / "setup.log"
    with open(log, "ab") as out:
        try:
            done = subprocess.run(
                [str(BIN / "flask"), "--app", "wsgi", *args],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                start_new_session=True,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise SetupError(f"flask {' '.join(args)} took more than {timeout:.0f} s") from error
    if done.returncode != 0:
        raise SetupError(f"flask {' '.join(args)} failed ({done.returncode}):\n{tail(log)}")


def query(url: str, sql: str, params=()) -> list[tuple]:
    import psycopg

    with psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=5) as connection:
        return connection.execute(sql, params).fetchall()


def table_counts(url: str) -> dict[str, int]:
    tables = ("requests", "ward_issues", "history_events", "photos", "job_outbox", "notifications")
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in tables)
    return dict(query(url, sql))


def outbox_open(url: str) -> int:
    sql = "SELECT count(*) FROM job_outbox WHERE NOT (state = ANY(%s))"
    return query(url, sql, (list(TERMINAL_JOB_STATES),))[0][0]


@dataclass
class Found:
    requests: int = 0  # the run's requests found with the reference the client saw
    requests_delta: int = 0  # rows added to the table during the run
    photos: int = 0
    issues: int = 0  # ward issues added during the run
    issues_seen_missing: int = 0  # issues a client saw on a page that are not in the table
    events: int = 0
    duplicates: list[tuple[str, int]] = field(default_factory=list)
    chain_breaks: list[tuple[int, str, str]] = field(default_factory=list)
    orphan_issues: int = 0
    jobs_total: int = 0
    jobs_by_state: dict[str, int] = field(default_factory=dict)
    jobs_not_done: list[tuple] = field(default_factory=list)
    jobs_restarted: int = 0
    notifications: int = 0
    notifications_emailed: int = 0


def inspect_database(url: str, ledger: Ledger, baseline: dict[str, int]) -> Found:
    with ledger.lock:
        created = dict(ledger.created)
    ids = list(created)
    issue_ids = sorted(ledger.issue_ids())
    found = Found()
    rows = query(url, "SELECT id, reference FROM requests WHERE id = ANY(%s)", (ids,))
    found.requests = sum(1 for rid, ref in rows if created[rid].reference in (None, ref))
    now = table_counts(url)
    found.requests_delta = now["requests"] - baseline["requests"]
    found.issues = now["ward_issues"] - baseline["ward_issues"]
    found.photos = query(url, "SELECT count(*) FROM photos WHERE service_request_id = ANY(%s)", (ids,))[0][0]
    seen = query(url, "SELECT count(*) FROM ward_issues WHERE id = ANY(%s)", (issue_ids,))[0][0]
    found.issues_seen_missing = len(issue_ids) - seen
    # The run's requests' events, and every event of the issues added during the run.
    found.events = query(
        url,
        "SELECT count(*) FROM history_events WHERE service_request_id = ANY(%s) OR ward_issue_id > %s",
        (ids, baseline["max_issue_id"]),
    )[0][0]
    found.duplicates = query(
        url,
        "SELECT reference, count(*) FROM requests GROUP BY reference HAVING count(*) > 1 "
        "UNION ALL SELECT reference, count(*) FROM ward_issues GROUP BY reference HAVING count(*) > 1",
    )
    # Each event of a request starts in the state the previous one ended in; two actions that
    # both started from 受付 (a lost update) break that chain.
    found.chain_breaks = query(
        url,
        "SELECT service_request_id, prev, from_state FROM ("
        " SELECT service_request_id, from_state,"
        "  lag(to_state) OVER (PARTITION BY service_request_id ORDER BY id) AS prev"
        " FROM history_events WHERE service_request_id = ANY(%s)) chain"
        " WHERE prev IS NOT NULL AND from_state IS DISTINCT FROM prev ORDER BY 1",
        (ids,),
    )
    found.orphan_issues = query(
        url,
        "SELECT count(*) FROM ward_issues w WHERE w.id > %s"
        " AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.ward_issue_id = w.id)",
        (baseline["max_issue_id"],),
    )[0][0]
    found.jobs_by_state = dict(query(url, "SELECT state, count(*) FROM job_outbox GROUP BY state"))
    found.jobs_total = sum(found.jobs_by_state.values())
    found.jobs_not_done = query(
        url,
        "SELECT id, name, state, attempts, left(coalesce(last_error, ''), 160) FROM job_outbox"
        " WHERE state <> 'done' ORDER BY id LIMIT 10",
    )
    found.jobs_restarted = query(url, "SELECT count(*) FROM job_outbox WHERE attempts > 1")[0][0]
    found.notifications, found.notifications_emailed = query(
        url,
        "SELECT count(*), count(n.emailed_at) FROM notifications n"
        " JOIN history_events e ON e.id = n.history_event_id WHERE e.service_request_id = ANY(%s)",
        (ids,),
    )[0]
    return found


# --- the verdict -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The numbers the run is judged by; ``failures`` says which checks did not hold."""

    served: int
    server_errors: int
    transport_errors: int
    requests_expected: int
    requests_found: int
    events_min: int
    events_max: int
    events_found: int
    duplicates: int
    jobs_total: int
    jobs_done: int
    notifications_min: int = 0
    notifications_found: int = 0
    issues_min: int = 0
    issues_max: int = 0
    issues_found: int = 0
    issues_seen_missing: int = 0
    chain_breaks: int = 0
    orphan_issues: int = 0
    clients_crashed: int = 0
    logins_failed: int = 0
    requests_unexpected: int = 0  # rows added beyond what the clients created or could not tell
    processes_unclean: int = 0  # died during the run, or did not stop on SIGTERM in time

    @property
    def lost_rows(self) -> int:
        return max(0, self.requests_expected - self.requests_found)

    @property
    def lost_events(self) -> int:
        return max(0, self.events_min - self.events_found)

    @property
    def unexpected_events(self) -> int:
        return max(0, self.events_found - self.events_max)

    @property
    def lost_issues(self) -> int:
        return max(0, self.issues_min - self.issues_found) + self.issues_seen_missing

    @property
    def unexpected_issues(self) -> int:
        return max(0, self.issues_found - self.issues_max)

    @property
    def lost_jobs(self) -> int:
        return self.jobs_total - self.jobs_done

    @property
    def lost_notifications(self) -> int:
        return max(0, self.notifications_min - self.notifications_found)

    def failures(self) -> list[str]:
        checks = [
            (self.server_errors, "responses with a 5xx status"),
            (self.transport_errors, "requests without an answer (refused, reset, timed out)"),
            (self.lost_rows, "requests the clients created that are not in the database"),
            (self.requests_unexpected, "requests in the database that no client created"),
            (self.lost_events, "history events missing"),
            (self.lost_issues, "ward issues missing"),
            (self.unexpected_issues, "ward issues nobody asked for"),
            (self.unexpected_events, "history events nobody asked for"),
            (self.duplicates, "duplicate reference numbers"),
            (self.lost_jobs, "background jobs not done"),
            (self.lost_notifications, "notifications missing"),
            (self.chain_breaks, "history events that do not start where the previous one ended"),
            (self.orphan_issues, "ward issues created without their request"),
            (self.logins_failed, "logins that failed (throttled? see LOGIN_LIMIT_* in stack_env)"),
            (self.processes_unclean, "processes that died or did not stop cleanly"),
            (self.clients_crashed, "clients that crashed (a bug in this script)"),
        ]
        return [f"{count} {label}" for count, label in checks if count]

    def exit_status(self) -> int:
        return 1 if self.failures() or self.served == 0 else 0


def verdict_from(
    stats: Stats, ledger: Ledger, expected: Expected, found: Found, clients_crashed: int
) -> Verdict:
    return Verdict(
        served=stats.served,
        server_errors=sum(n for status, n in stats.statuses.items() if status >= 500),
        transport_errors=stats.statuses.get(0, 0),
        requests_expected=expected.requests,
        requests_found=found.requests,
        events_min=expected.events_min,
        events_max=expected.events_max,
        events_found=found.events,
        duplicates=len(found.duplicates),
        jobs_total=found.jobs_total,
        jobs_done=found.jobs_by_state.get("done", 0),
        notifications_min=expected.notifications_min,
        notifications_found=found.notifications,
        issues_min=expected.issues,
        issues_max=expected.issues_max,
        issues_found=found.issues,
        issues_seen_missing=found.issues_seen_missing,
        chain_breaks=len(found.chain_breaks),
        orphan_issues=found.orphan_issues,
        clients_crashed=clients_crashed,
        logins_failed=ledger.logins_failed,
        requests_unexpected=max(0, found.requests_delta - expected.requests - ledger.create_unknown),
    )


def access_log_summary(path: Path) -> tuple[int, int]:
    """(responses, 5xx responses) as gunicorn logged them."""
    total = errors = 0
    with contextlib.suppress(OSError), open(path, errors="replace") as log:
        for line in log:
            status = line.split(" ", 1)[0]
            if status.isdigit():
                total += 1
                errors += status.startswith("5")
    return total, errors


def first_traceback(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        text = path.read_text(errors="replace").splitlines()
        for index, line in enumerate(text):
            if line.startswith("Traceback"):
                return "\n".join(text[max(0, index - 2) : index + lines])
    return ""


# --- the run ------------------------------------------------------------------------------------------


def stack_env(settings: Settings, workdir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update(
        APP_ENV="development",  # production forces Secure cookies, and there is no HTTPS here
        SECRET_KEY=secrets.token_hex(32),
        DATABASE_URL=libpq_url(settings.database_url),
        INSTANCE_PATH=str(workdir / "instance"),
        TIMEZONE="Asia/Tokyo",
        # Every client logs in from 127.0.0.1: the login throttle must not be what the run measures.
        LOGIN_LIMIT_PER_ACCOUNT="100000 per minute",
        LOGIN_LIMIT_PER_IP="100000 per minute",
        PYTHONUNBUFFERED="1",
    )
    return env


def run(settings: Settings, workdir: Path, stack: Stack) -> int:
    name = check_loopback_database(settings.database_url)
    print(f"database {name}: drop, create, migrate, seed …", flush=True)
    recreate_database(settings.database_url, name)
    setup_env = dict(stack.env)  # no REDIS_URL yet: the seed's own jobs run inline
    run_flask(["db", "upgrade", "heads"], setup_env, workdir, 120)
    run_flask(["seed", "--demo"], setup_env, workdir, 120)
    baseline = table_counts(settings.database_url)
    last_issue = query(settings.database_url, "SELECT coalesce(max(id), 0) FROM ward_issues")
    baseline["max_issue_id"] = last_issue[0][0]

    stack.start_redis()
    stack.env["REDIS_URL"] = f"redis://{HOST}:{stack.redis_port}/0"
    stack.env["RQ_QUEUE"] = f"stress-{uuid.uuid4().hex[:8]}"
    stack.start_worker()
    base = stack.start_web()
    stack.env["BASE_URL"] = base
    print(f"redis :{stack.redis_port}, worker, gunicorn -w 2 on {base}", flush=True)

    stats, ledger, stop = Stats(), Ledger(), threading.Event()
    accounts = [
        LIAISONS[(i // 2) % 4] if i % 2 == 0 else MANAGERS[(i // 2) % 4] for i in range(settings.clients)
    ]
    clients = [
        Client(i, login, base, stats, ledger, stop, settings.double_submit)
        for i, login in enumerate(accounts)
    ]
    outage_at, outage_for = outage_window(settings.seconds, settings.outage_seconds)
    print(
        f"{settings.clients} clients for {settings.seconds} s; Redis down from {outage_at:.0f} s "
        f"for {outage_for:.0f} s",
        flush=True,
    )
    started = time.monotonic()
    for client in clients:
        client.start()
    deaths: list[str] = []
    phase = "before"
    while (elapsed := time.monotonic() - started) < settings.seconds:
        if phase == "before" and outage_for > 0 and elapsed >= outage_at:
            stack.crash_redis()
            print(f"  {elapsed:5.1f} s  Redis killed", flush=True)
            phase = "down"
        elif phase == "down" and elapsed >= outage_at + outage_for:
            up = stack.restart_redis()
            print(f"  {time.monotonic() - started:5.1f} s  Redis {'back' if up else 'NOT back'}", flush=True)
            phase = "after"
        for proc in (stack.web, stack.worker):
            if not proc.alive() and proc.name not in {d.split()[0] for d in deaths}:
                deaths.append(f"{proc.name} exited ({proc.popen.returncode}) at {elapsed:.0f} s")
                print(f"  {deaths[-1]}", flush=True)
        time.sleep(0.2)
    if phase == "down":
        stack.restart_redis()
    stop.set()
    for client in clients:
        client.join(max(0.1, started + settings.seconds + JOIN_LIMIT - time.monotonic()))
    duration = time.monotonic() - started
    stuck = [c.name for c in clients if c.is_alive()]

    print(f"drain: waiting up to {settings.drain_seconds} s for background work …", flush=True)
    drain_started = time.monotonic()
    remaining = outbox_open(settings.database_url)
    while remaining and time.monotonic() - drain_started < settings.drain_seconds:
        if not stack.worker.alive() and "worker" not in {d.split()[0] for d in deaths}:
            deaths.append(f"worker exited ({stack.worker.popen.returncode}) while draining")
            print(f"  {deaths[-1]}", flush=True)
        time.sleep(1)
        remaining = outbox_open(settings.database_url)
    drained = time.monotonic() - drain_started
    print(f"  {remaining} jobs still open after {drained:.0f} s", flush=True)

    print("stopping gunicorn, worker, Redis …", flush=True)
    stack.stop_all()

    expected = expected_from(ledger)
    found = inspect_database(settings.database_url, ledger, baseline)
    crashed = [c for c in clients if c.crashed]
    verdict = verdict_from(stats, ledger, expected, found, len(crashed))
    unclean = len(deaths) + sum(
        1
        for proc in (stack.web, stack.worker, stack.redis)
        if not proc.stopped_cleanly and not proc_died(proc, deaths)
    )
    verdict = dataclasses.replace(verdict, processes_unclean=unclean)
    report(
        settings, stack, stats, ledger, expected, found, verdict, duration, drained, deaths, stuck, crashed
    )
    return verdict.exit_status()


def proc_died(proc: Proc, deaths: list[str]) -> bool:
    return any(death.split()[0] == proc.name for death in deaths)


def report(
    settings, stack, stats, ledger, expected, found, verdict, duration, drained, deaths, stuck, crashed
):
    served_log, errors_log = access_log_summary(stack.workdir / "access.log")
    acts = Counter((a.action, a.outcome) for a in ledger.acts)
    refusals = Counter(a.note for a in ledger.acts if a.outcome == "refused")
    latencies = sorted(stats.latencies)
    p = (lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000) if latencies else None
    ok_writes = expected.requests + sum(n for (_, outcome), n in acts.items() if outcome == "ok")
    line = "-" * 78
    print(line)
    print("STRESS RESULT")
    print(line)
    print(f"run                 {duration:.1f} s, {settings.clients} clients, drain {drained:.0f} s")
    print(f"requests served     {stats.served} (gunicorn access log: {served_log})")
    print(
        f"throughput          {stats.served / duration:.1f} responses/s, {ok_writes / duration:.1f} writes/s"
    )
    if p:
        print(
            f"latency             p50 {p(0.5):.0f} ms, p95 {p(0.95):.0f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms"
        )
    for endpoint, times in sorted(stats.by_endpoint.items(), key=lambda item: -len(item[1]))[:8]:
        times = sorted(times)
        print(
            f"  {endpoint:34} {len(times):5}×  p50 {times[len(times) // 2] * 1000:5.0f} ms"
            f"  p95 {times[min(len(times) - 1, int(0.95 * len(times)))] * 1000:5.0f} ms"
        )
    print(f"5xx                 {verdict.server_errors} (gunicorn access log: {errors_log})")
    print(f"no answer           {verdict.transport_errors}")
    print(f"statuses            {dict(sorted(stats.statuses.items()))}")
    print(f"logins              failed {ledger.logins_failed}; logged out and in again {ledger.relogins}")
    print(
        f"requests            created {expected.requests} (refused {ledger.create_refused}, unknown "
        f"{ledger.create_unknown}); found {verdict.requests_found}; lost {verdict.lost_rows}; "
        f"rows added {found.requests_delta}"
    )
    print(f"photos              expected {expected.photos}, found {found.photos}")
    print(
        "actions             "
        + ", ".join(f"{action} {outcome} {n}" for (action, outcome), n in sorted(acts.items()))
        + f"; double submits {ledger.double_submits}"
    )
    if refusals:
        print("refused because     " + "; ".join(f"{n}× {note}" for note, n in refusals.most_common(5)))
    issues_expected = (
        str(expected.issues)
        if expected.issues == expected.issues_max
        else f"{expected.issues}..{expected.issues_max}"
    )
    print(
        f"ward issues         new expected {issues_expected}, found {found.issues}; "
        f"without a request {found.orphan_issues}; seen by a client but missing {found.issues_seen_missing}"
    )
    events_expected = (
        str(expected.events_min)
        if expected.events_min == expected.events_max
        else f"{expected.events_min}..{expected.events_max}"
    )
    print(f"history events      expected {events_expected}, found {found.events}")
    print(f"history chain       {len(found.chain_breaks)} events not starting where the previous ended")
    for request_id, prev, start in found.chain_breaks[:5]:
        print(
            f"                      request {request_id}: previous ended in {prev}, next started in {start}"
        )
    print(f"duplicate refs      {len(found.duplicates)} {found.duplicates[:5] or ''}")
    print(
        f"jobs                requested {found.jobs_total}, done {verdict.jobs_done}, not done "
        f"{verdict.lost_jobs} {dict(sorted(found.jobs_by_state.items()))}; run more than once "
        f"{found.jobs_restarted}"
    )
    for job_id, name, state, attempts, error in found.jobs_not_done:
        first = error.strip().splitlines()[0] if error.strip() else ""
        print(f"                      #{job_id} {name} {state} attempts={attempts} {first}")
    if verdict.lost_jobs > len(found.jobs_not_done):
        print(f"                      … and {verdict.lost_jobs - len(found.jobs_not_done)} more")
    notes_expected = (
        str(expected.notifications_min)
        if expected.notifications_min == expected.notifications_max
        else f"{expected.notifications_min}..{expected.notifications_max}"
    )
    print(
        f"notifications       expected {notes_expected}, found {found.notifications}, "
        f"e-mailed {found.notifications_emailed}"
    )
    print(f"faults              {'; '.join(stack.events) or 'none'}")
    for proc in (stack.web, stack.worker, stack.redis):
        if proc is not None:
            how = "cleanly" if proc.stopped_cleanly else "NOT cleanly (killed or died)"
            print(f"stopped             {proc.name} {how}, exit status {proc.exit_status}")
    for death in deaths:
        print(f"died during run     {death}")
    for name in stuck:
        print(f"client still busy   {name}")
    for client in crashed:
        print(f"client crashed      {client.name}: {client.crashed}")
    for error in (stats.server_errors[:5] + stats.transport_errors[:5]) if verdict.failures() else []:
        print(f"  e.g. {error}")
    trace = first_traceback(stack.workdir / "gunicorn.log") if verdict.server_errors else ""
    if trace:
        print("first traceback in gunicorn.log:\n" + trace)
    print(line)
    failures = verdict.failures()
    if verdict.served == 0:
        failures.append("no request was served")
    print("PASS" if not failures else "FAIL: " + "; ".join(failures))
    print(
        f"logs: {stack.workdir} (removed after a PASS); "
        f"database {check_loopback_database(settings.database_url)} kept"
    )


def main() -> int:
    settings = Settings.from_env(os.environ)
    workdir = Path(tempfile.mkdtemp(prefix="tracker-stress-"))
    (workdir / "instance").mkdir()
    stack = Stack(workdir, stack_env(settings, workdir))
    print(f"stress: at most {settings.bound()} s in all; logs in {workdir}", flush=True)

    def interrupted(signum, frame):
        raise Interrupted()

    def deadline(signum, frame):
        raise HardDeadline()

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGALRM, deadline)
    signal.alarm(settings.bound() - CLEANUP_LIMIT)
    status = 2
    try:
        status = run(settings, workdir, stack)
    except SetupError as error:
        print(f"stress: setup failed: {error}", file=sys.stderr)
        status = 2
    except Interrupted:
        print("stress: interrupted; stopping everything …", file=sys.stderr)
        status = 130
    except HardDeadline:
        print(
            f"stress: past the hard deadline ({settings.bound()} s); stopping everything …", file=sys.stderr
        )
        status = 3
    except Exception:
        traceback.print_exc()
        print("stress: failed (see above); stopping everything …", file=sys.stderr)
        status = 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the clean-up itself is bounded: let it finish
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.alarm(CLEANUP_LIMIT)
        try:
            stack.stop_all()
        except HardDeadline:
            print("stress: clean-up ran out of time", file=sys.stderr)
        finally:
            signal.alarm(0)
    if status == 0:
        shutil.rmtree(workdir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
