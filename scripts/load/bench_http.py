"""The benchmark's HTTP side: a keep-alive ``http.client`` session with its own cookies, logging in
as a demo account (with the managers' and the admin's second factor), and hammering one URL from a
few concurrent clients for a bounded time.

gunicorn's sync workers answer ``Connection: close``; ``http.client`` then opens the next
connection itself, so every page, the baseline's included, pays the same loopback connect.
"""

from __future__ import annotations

import http.client
import http.cookies
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass

import pyotp

from .bench_results import Cell
from .pages import csrf_token
from .settings import HOST, PASSWORD, TOTP_SECRET

TIMEOUT = 120  # seconds one answer may take before it counts as a failure (status 0)
STATEMENTS_HEADER = "X-SQL-Statements"


@dataclass
class Reply:
    status: int  # 0: no answer
    headers: http.client.HTTPMessage | None
    body: bytes
    elapsed_ms: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str:
        return (self.headers.get("Location") if self.headers else None) or ""


class Session:
    """One client: a keep-alive connection and a cookie jar (none when ``keep_cookies`` is false:
    every request is then a new visitor's)."""

    def __init__(self, port: int, cookies: dict[str, str] | None = None, keep_cookies: bool = True):
        self.port = port
        self.cookies = dict(cookies or {})
        self.keep_cookies = keep_cookies
        self.connection = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> Reply:
        headers = {"Accept-Language": "ja", "Connection": "keep-alive"}
        if content_type:
            headers["Content-Type"] = content_type
        if self.keep_cookies and self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=headers)
            answer = self.connection.getresponse()
            data = answer.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()  # the next request opens a new connection
            return Reply(0, None, b"", (time.perf_counter() - started) * 1000)
        elapsed = (time.perf_counter() - started) * 1000
        if self.keep_cookies:
            self._remember(answer.headers.get_all("Set-Cookie") or [])
        return Reply(answer.status, answer.headers, data, elapsed)

    def _remember(self, set_cookies: list[str]) -> None:
        for line in set_cookies:
            jar = http.cookies.SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                gone = morsel["max-age"] == "0" or "1970" in morsel["expires"]
                if gone or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post_form(self, path: str, fields: list[tuple[str, str]]) -> Reply:
        body = urllib.parse.urlencode(fields).encode()
        return self.request("POST", path, body, "application/x-www-form-urlencoded")

    def close(self) -> None:
        self.connection.close()


class LoginFailed(RuntimeError):
    pass


def log_in(port: int, login: str) -> dict[str, str]:
    """The cookies of a session logged in as the demo account ``login`` (password, then a TOTP
    code of the demo secret when the account has a second factor)."""
    session = Session(port)
    page = session.get("/login")
    token = csrf_token(page.text)
    if page.status != 200 or not token:
        raise LoginFailed(f"{login}: the login page answered {page.status}")
    answer = session.post_form(
        "/login", [("csrf_token", token), ("login", login), ("password", PASSWORD), ("next", "")]
    )
    if answer.status == 302 and answer.location.endswith("/login/code"):
        page = session.get("/login/code")
        token = csrf_token(page.text) or token
        totp = pyotp.TOTP(TOTP_SECRET)
        step = int(time.time()) // totp.interval
        for candidate in (step, step + 1, step - 1):  # the server accepts now and one step either side
            answer = session.post_form(
                "/login/code", [("csrf_token", token), ("code", totp.generate_otp(candidate))]
            )
            if answer.status == 302 and "/login" not in answer.location:
                break
    if answer.status != 302 or "/login" in answer.location:
        raise LoginFailed(f"{login}: the login was refused (HTTP {answer.status} → {answer.location or '-'})")
    check = session.get("/dashboard/")
    session.close()
    if check.status != 200:
        raise LoginFailed(f"{login}: logged in, but /dashboard/ answered {check.status}")
    return session.cookies


def hammer(port: int, path: str, cookies: dict[str, str] | None, seconds: float, clients: int) -> Cell:
    """``clients`` threads ask for ``path`` one answer after the other until ``seconds`` have
    passed; the cell's window lasts until the last answer is in. ``cookies`` None: anonymous."""
    cell = Cell()
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client() -> None:
        session = Session(port, cookies, keep_cookies=cookies is not None)
        latencies, statuses, statements = [], Counter(), Counter()
        while time.perf_counter() < deadline:
            reply = session.get(path)
            statuses[reply.status] += 1
            if reply.status == 200:
                latencies.append(reply.elapsed_ms)
                count = reply.headers.get(STATEMENTS_HEADER)
                if count is not None:
                    statements[int(count)] += 1
        session.close()
        with lock:
            cell.latencies_ms.extend(latencies)
            cell.statuses.update(statuses)
            cell.statements.update(statements)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + TIMEOUT + 5)
    cell.seconds = time.perf_counter() - started
    return cell
