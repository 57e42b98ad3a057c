"""The stress run's verdict (what the clients believe against what the database holds, and every
5xx) and the report it prints."""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .browser import Stats
from .database import Found
from .ledger import Expected, Ledger
from .settings import check_loopback_database

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
            (self.logins_failed, "logins that failed (throttled? see LOGIN_THROTTLE_* in stack_env)"),
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


# --- the report ------------------------------------------------------------------------------------


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
