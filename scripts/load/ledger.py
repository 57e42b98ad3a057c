"""What the stress clients believe they created and did, and what the database must then hold."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

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
