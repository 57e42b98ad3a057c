"""One stress client's HTTP session (cookies, CSRF token, no automatic redirects; the stdlib,
and pyotp for the managers' second factor), the multipart body it posts, and the statistics of
every exchange of the run."""

from __future__ import annotations

import http.cookiejar
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass

import pyotp

from .pages import csrf_token
from .settings import HTTP_TIMEOUT, PASSWORD, TOTP_SECRET

LOGIN_CODE_TRIES = 6  # rounds of 30-second steps a client waits for a code of its own

# --- HTTP helpers -------------------------------------------------------------------------------


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
        if answer.status == 302 and (answer.location or "").endswith("/login/code"):
            answer = self.second_factor()
        if answer is None or answer.status != 302 or "/login" in (answer.location or ""):
            return False
        home = self.follow(answer)
        return home is not None and home.status in (200, 302)

    def second_factor(self) -> Response | None:
        """The managers' code step, with the demo secret. A code is accepted once per account, and
        clients share accounts: each tries the steps the server accepts (now and one either side),
        and waits for the next step when the others took them."""
        totp = pyotp.TOTP(TOTP_SECRET)
        if self.get("/login/code").status != 200:
            return None
        for _ in range(LOGIN_CODE_TRIES):
            step = int(time.time()) // totp.interval
            for candidate in (step + 1, step, step - 1):
                answer = self.post_form(
                    "/login/code", [("csrf_token", self.csrf), ("code", totp.generate_otp(candidate))]
                )
                if answer.status == 302:
                    return answer
            time.sleep(totp.interval - time.time() % totp.interval + 0.5)
        return None
