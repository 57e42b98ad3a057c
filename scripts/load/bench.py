"""``make bench``: does a page cost the same at a million requests as at ten thousand? Asserts nothing.

On this machine's PostgreSQL (``BENCH_DATABASE_URL``, default ``postgresql://postgres@127.0.0.1:5432``):

1. Two databases, ``tracker_bench_10k`` and ``tracker_bench_1m``, dropped and created again,
   migrated (``flask db upgrade heads``), seeded with the demo accounts (``flask seed --demo``) and
   loaded by ``flask gen-data --requests N --seed 1`` (N = ``BENCH_SMALL``, 10,000, and
   ``BENCH_LARGE``, 1,000,000). ``BENCH_REUSE=1`` keeps a database whose load has finished before.
2. gunicorn with 2 sync workers serves each database (``SQL_STATEMENT_HEADER=1``: every answer says
   how many SQL statements it ran), and a third the baseline (``scripts/load/baseline_app.py``).
3. A separate load process (``bench_drive``) logs in as the demo accounts, then for each page
   (``bench_plan.PAGES``) lets ``BENCH_CLIENTS`` (4) keep-alive clients ask for it for
   ``BENCH_SECONDS`` (5) on the small database, then as long on the large one, page after page,
   ``BENCH_REPEATS`` (3) times.
4. The servers stop; ``flask export-requests --user admin --format csv`` exports every request of
   each database, timed, its peak RSS read from ``wait4``, its rows counted in the file.
5. Prints the table and writes ``benchmarks/results.json`` (``bench_results``): per page
   throughput, p50/p95, SQL statements at both sizes, ``growth`` and ``ratio_to_baseline``, the
   export's rows/s and peak RSS, and which targets hold.

``scripts/bench.py --markdown benchmarks/results.json [--into docs/performance.md]`` prints the
table of a results file (or writes it into the file's marked section) without measuring anything.
Exit status: 0 measured (whatever the figures), 2 setup failed, 130 interrupted.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import queue as queue_module
import signal
import sys
import tempfile
import time
from pathlib import Path

from .bench_drive import Plan, drive
from .bench_plan import PAGES, BenchSettings, middle_common
from .bench_results import markdown, replace_section, results_document
from .bench_setup import (
    comparable_ids,
    database_url,
    environment,
    keys,
    measure_export,
    prepare,
    serve,
    ward_id,
)
from .settings import ROOT, SetupError

RESULTS = ROOT / "benchmarks" / "results.json"
DRIVE_SLACK = 600  # seconds the load process may take beyond its timed windows (logins, checks)


def say(message: str = "") -> None:
    print(message, flush=True)


def facts_of(urls: dict[str, str]) -> dict[str, dict[str, str]]:
    """The ward, request and issue the pages of both sizes show (ids alike in both)."""
    small, large = urls.values()
    request = middle_common(*comparable_ids(small, large, "requests"))
    issue = middle_common(*comparable_ids(small, large, "ward_issues"))
    if request is None or issue is None:
        raise SetupError("the two databases have no request or no ward issue in common")
    return {
        size: {"ward": ward_id(url), "request": str(request), "issue": str(issue)}
        for size, url in urls.items()
    }


def measure(settings: BenchSettings, plan: Plan) -> dict:
    """Run the load process and wait for its samples (bounded: the windows plus slack)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=drive, args=(plan, queue), name="bench-load")
    process.start()
    bound = settings.measuring_seconds(len(plan.pages)) * 1.5 + DRIVE_SLACK
    deadline = time.monotonic() + bound
    try:
        while True:
            alive = process.is_alive()  # looked at before waiting: a result put just before exiting counts
            try:
                outcome, payload = queue.get(timeout=5)
                break
            except queue_module.Empty:
                if not alive:
                    raise SetupError(f"the load process died ({process.exitcode})") from None
                if time.monotonic() > deadline:
                    raise SetupError(f"the load process gave no result within {bound:.0f} s") from None
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
    if outcome != "done":
        raise SetupError(f"the load process failed: {payload}")
    return payload


def run(settings: BenchSettings, workdir: Path, servers: list) -> dict:
    sizes = settings.sizes()
    urls = {label: database_url(settings.base_url, name) for label, _, name in sizes}
    secret = keys()
    envs = {label: {**environment(workdir / label, urls[label]), **secret} for label in urls}
    for label, requests, name in sizes:
        (workdir / label).mkdir()
        prepare(urls[label], name, requests, settings.reuse, envs[label], workdir / label)
    facts = facts_of(urls)
    ports = {}
    for label in urls:
        proc, ports[label] = serve(f"gunicorn-{label}", "wsgi:app", envs[label], workdir / label, "/login")
        servers.append(proc)
    baseline_env = environment(workdir, "")
    proc, baseline_port = serve(
        "gunicorn-baseline", "scripts.load.baseline_app:app", baseline_env, workdir, "/"
    )
    servers.append(proc)
    plan = Plan(
        ports, baseline_port, facts, settings.seconds, settings.repeats, settings.clients, settings.deep_pages
    )
    minutes = settings.measuring_seconds(len(PAGES)) / 60
    say(f"measuring {len(PAGES)} pages × 2 sizes × {settings.repeats} repetitions: about {minutes:.0f} min")
    measured = measure(settings, plan)
    for proc in servers:
        proc.stop(15)
    exports = {}
    for label in urls:
        say(f"CSV export of every request on {label} …")
        exports[label] = measure_export(urls[label], envs[label], workdir / label, label)
    document = results_document(
        measured["cells"],
        {label: requests for label, requests, _ in sizes},
        exports,
        {**dataclasses.asdict(settings), "base_url": settings.base_url.split("@")[-1]},
    )
    document["paths"] = measured["paths"]
    document["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return document


def print_markdown(results: Path, into: Path | None) -> int:
    table = markdown(json.loads(results.read_text(encoding="utf-8")))
    if into is None:
        sys.stdout.write(table)
    else:
        into.write_text(replace_section(into.read_text(encoding="utf-8"), table), encoding="utf-8")
        say(f"{into}: results section rewritten from {results}")
    return 0


def _stop(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--markdown"] and len(args) in (2, 4) and (len(args) == 2 or args[2] == "--into"):
        return print_markdown(Path(args[1]), Path(args[3]) if len(args) == 4 else None)
    if args:
        say("usage: scripts/bench.py [--markdown RESULTS.json [--into FILE.md]]")
        return 2
    settings = BenchSettings.from_env(os.environ)
    signal.signal(signal.SIGTERM, _stop)
    servers: list = []
    say(f"make bench: {settings.small:,} and {settings.large:,} requests on PostgreSQL; no assertions.")
    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as folder:
        try:
            document = run(settings, Path(folder), servers)
        except SetupError as error:
            say(f"setup failed: {error}")
            return 2
        except KeyboardInterrupt:
            say("interrupted")
            return 130
        finally:
            for proc in servers:
                proc.stop(15)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    say()
    say(markdown(document))
    say(f"written: {RESULTS.relative_to(ROOT)}")
    return 0
