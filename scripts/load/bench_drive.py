"""The load process of ``make bench``: a process of its own (not gunicorn's, not the orchestrator's)
that logs in on each served database, finds the deep keyset page, checks every page once, then
measures the cells in the paired order and hands the samples back through a queue."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass

from .bench_http import LoginFailed, Session, hammer, log_in
from .bench_plan import ADMIN, PAGES, Page, logins, next_link, schedule


@dataclass(frozen=True)
class Plan:
    ports: dict[str, int]  # size label → the port of its gunicorn
    baseline_port: int
    facts: dict[str, dict[str, str]]  # size label → {ward, request, issue}
    seconds: float
    repeats: int
    clients: int
    deep_pages: int
    pages: tuple[Page, ...] = PAGES


def say(message: str) -> None:
    print(f"  [load] {message}", flush=True)


def deep_path(port: int, cookies: dict[str, str], pages: int) -> tuple[str, int]:
    """The URL of the list page ``pages`` "next" links after the first (or the last there is)."""
    session = Session(port, cookies)
    path, depth = "/requests/", 0
    while depth < pages:
        reply = session.get(path)
        following = next_link(reply.text) if reply.status == 200 else None
        if following is None:
            break
        path, depth = following, depth + 1
    session.close()
    return path, depth


def drive(plan: Plan, results) -> None:
    """The whole measurement; puts ``("done", payload)`` or ``("failed", message)`` on ``results``."""
    try:
        results.put(("done", _drive(plan)))
    except (LoginFailed, OSError, RuntimeError) as error:
        results.put(("failed", f"{type(error).__name__}: {error}"))
    except Exception:  # a bug in this script: say where
        results.put(("failed", traceback.format_exc()))


def _drive(plan: Plan) -> dict:
    sizes = list(plan.ports)
    cookies = {
        size: {login: log_in(plan.ports[size], login) for login in logins(plan.pages)} for size in sizes
    }
    say(f"logged in as {', '.join(logins(plan.pages))} on {', '.join(sizes)}")
    facts = {size: dict(plan.facts[size]) for size in sizes}
    for size in sizes:
        facts[size]["deep"], depth = deep_path(plan.ports[size], cookies[size][ADMIN], plan.deep_pages)
        say(f"{size}: the deep keyset page is {depth} pages after the first")

    def target(page: Page, size: str) -> tuple[int, str, dict | None]:
        port = plan.baseline_port if page.group == "baseline" else plan.ports[size]
        return port, page.url(facts[size]), cookies[size][page.who] if page.who else None

    checked = {}
    for page in plan.pages:  # once each, unmeasured: every page answers, caches are warm
        for size in sizes:
            port, path, jar = target(page, size)
            session = Session(port, jar, keep_cookies=jar is not None)
            reply = session.get(path)
            session.close()
            checked[f"{page.key} {size}"] = reply.status
            if reply.status != 200:
                say(f"{page.key} on {size}: {path} answered {reply.status}")
    cells = {}
    order = schedule(plan.pages, sizes, plan.repeats)
    by_key = {page.key: page for page in plan.pages}
    started = time.monotonic()
    for number, (rep, key, size) in enumerate(order, 1):
        port, path, jar = target(by_key[key], size)
        cell = hammer(port, path, jar, plan.seconds, plan.clients)
        cells[(rep, key, size)] = cell
        if number % (2 * len(plan.pages)) == 0 or number == len(order):
            say(f"{number}/{len(order)} windows measured ({time.monotonic() - started:.0f} s)")
    paths = {size: {page.key: target(page, size)[1] for page in plan.pages} for size in sizes}
    return {"cells": cells, "paths": paths, "checked": checked}
