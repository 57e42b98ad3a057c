"""The bureaus' inbox counts (``bureau_issue_counts``) moved by a flush.

A ward issue sent to the bureaus (``sent_at`` set) counts once under each bureau that sees it —
its lead bureau and its related bureaus, a bureau both lead and related counting once — in its
state: exactly what ``access.issue_filter`` shows a bureau's staff, grouped by state. Four things
move it: the issue's state, its lead bureau, its ``sent_at``, and its related bureaus (a
many-to-many collection, so its old members are read from the database before the flush when
anything about the issue is about to change; the new ones are the collection after the flush,
or the same when the flush did not touch it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from ..models import WardIssue, issue_related_bureaus
from ..summary_models import BureauIssueCount

ISSUE_COLUMNS = ("state", "lead_bureau_id", "sent_at")
RELATIONSHIPS = ("lead_bureau", "related_bureaus")  # set as objects, their keys follow at the flush
BEFORE = "counters_bureau_keys"  # session.info: issue id -> (its keys before the flush, related ids)


def _value(value: Any) -> Any:
    return getattr(value, "value", value)


def _moving(issue: WardIssue) -> bool:
    state = inspect(issue)
    return any(name in state.committed_state for name in ISSUE_COLUMNS) or any(
        state.attrs[name].history.added or state.attrs[name].history.deleted for name in RELATIONSHIPS
    )


def _touched(session: Session) -> list[WardIssue]:
    """The issues of this flush, already in the database, whose inbox keys may move."""
    return [
        obj
        for obj in (*session.dirty, *session.deleted)
        if type(obj) is WardIssue and inspect(obj).persistent and (obj in session.deleted or _moving(obj))
    ]


def keys(state: Any, lead_bureau_id: int | None, sent_at: Any, related: Iterable[int]) -> list[tuple]:
    """The (bureau, state) rows one issue counts in."""
    if sent_at is None:
        return []
    bureaus = set(related)
    if lead_bureau_id is not None:
        bureaus.add(lead_bureau_id)
    return [(bureau_id, _value(state)) for bureau_id in sorted(bureaus)]


def before_flush(session: Session) -> None:
    """Read, as the database has them before the flush, the keys of every issue about to move:
    its state, lead bureau, ``sent_at`` and related bureaus (two queries, only when needed)."""
    touched = [obj.id for obj in _touched(session)]
    before: dict[int, tuple[list[tuple], set[int]]] = {}
    if touched:
        related: dict[int, set[int]] = {issue_id: set() for issue_id in touched}
        for issue_id, bureau_id in session.execute(
            select(issue_related_bureaus.c.ward_issue_id, issue_related_bureaus.c.bureau_id).where(
                issue_related_bureaus.c.ward_issue_id.in_(touched)
            )
        ):
            related[issue_id].add(bureau_id)
        for issue_id, *values in session.execute(
            select(WardIssue.id, *(getattr(WardIssue, name) for name in ISSUE_COLUMNS)).where(
                WardIssue.id.in_(touched)
            )
        ):
            before[issue_id] = (keys(*values, related[issue_id]), related[issue_id])
    session.info[BEFORE] = before


def _now(issue: WardIssue, related_before: set[int]) -> list[tuple]:
    if "related_bureaus" in inspect(issue).dict:
        related = {bureau.id for bureau in issue.related_bureaus}
    else:  # not loaded, so not changed by this flush
        related = related_before
    return keys(issue.state, issue.lead_bureau_id, issue.sent_at, related)


def add_deltas(session: Session, deltas: dict[type, Counter]) -> None:
    """Add this flush's changes of the inbox counts to ``deltas`` (after the flush)."""
    before = session.info.pop(BEFORE, {})
    counts = deltas.setdefault(BureauIssueCount, Counter())
    for obj in session.new:
        if type(obj) is WardIssue:
            for key in _now(obj, set()):
                counts[key] += 1
    for obj in (*session.dirty, *session.deleted):
        if type(obj) is not WardIssue or obj.id not in before:
            continue
        old_keys, related_before = before[obj.id]
        for key in old_keys:
            counts[key] -= 1
        if obj not in session.deleted:
            for key in _now(obj, related_before):
                counts[key] += 1


def fresh_queries() -> dict[type, str]:
    """The GROUP BY that computes the table from scratch (a UNION: lead and related once each)."""
    return {
        BureauIssueCount: "SELECT bureau_id, state, COUNT(*) FROM ("
        "SELECT id, state, lead_bureau_id AS bureau_id FROM ward_issues "
        "WHERE sent_at IS NOT NULL AND lead_bureau_id IS NOT NULL "
        "UNION SELECT ward_issues.id, ward_issues.state, ward_issue_related_bureaus.bureau_id "
        "FROM ward_issues JOIN ward_issue_related_bureaus "
        "ON ward_issue_related_bureaus.ward_issue_id = ward_issues.id "
        "WHERE ward_issues.sent_at IS NOT NULL) AS seen GROUP BY bureau_id, state"
    }
