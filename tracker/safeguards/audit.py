"""Tamper-evident history: every ``HistoryEvent`` is a link of one global hash chain, keyed:
each hash is an HMAC-SHA256 with the key of ``audit_keys`` (kept outside the database), so that
database access alone cannot rewrite an event and recompute the chain after it. Events written
before the chain was keyed carry no key id and a plain SHA-256; they verify only up to the event
id set in ``AUDIT_UNKEYED_UNTIL`` (outside the database too; 0 on a new installation), so a
chain recomputed without the key is a break wherever it starts.

What is hashed: the canonical JSON (sorted keys, UTF-8, no spaces) of the event's fields — id,
service_request_id, ward_issue_id, actor_id, actor_role, action, from_state, to_state, comment,
data (as stored: JSON round-tripped) and created_at (UTC ISO 8601 with microseconds), and
activity_id, indicator_id and hash_key_id when set (so events chained before those existed hash
as they did) — together with ``prev_hash``, the hash of the event before it in id order
(``GENESIS`` for the first).
So changing any field of an event breaks its own hash, and deleting or inserting an event
breaks the link of the event after it; the chain's end is kept in ``audit_chain_head`` so that
deleting the newest events is seen too.

How appends are serialised: an event gets its id, ``prev_hash`` and ``hash`` when it is
inserted, never later (no UPDATE of ``history_events`` ever runs, so production may deny it).
Before it takes an id, the inserting transaction locks the one row of ``audit_chain_head``
(``SELECT ... FOR UPDATE``; on SQLite ``BEGIN IMMEDIATE`` already serialises writers) and moves
the head forward in the same transaction. The lock is held until commit or rollback, so another
transaction's events take their ids (and their place in the chain) only after this one ends:
id order and chain order are the same. A rolled-back transaction takes its head update with it.

Two ways in: the ORM (``record_event`` adds a ``HistoryEvent``; the ``before_insert`` listener
that ``register`` installs, from ``create_app``, chains it), and ``extend`` for bulk inserts (the
importer's 'create' events).

The key shows changes made by anyone who does not hold it: someone with the database alone
cannot recompute the chain. ``flask audit verify`` prints the head hash; keeping that value outside
the database (a log, a ticket) also shows a chain cut back to an earlier head.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy import Connection, event, func, insert, select, text, update
from sqlalchemy.orm import Session

from ..background import jobs, worker
from ..extensions import db
from ..models import HistoryEvent, utcnow
from ..ops_models import AuditChainHead
from . import audit_keys

GENESIS = "0" * 64
HEAD_ID = 1
HASHED_FIELDS = (
    "id",
    "service_request_id",
    "ward_issue_id",
    "actor_id",
    "actor_role",
    "action",
    "from_state",
    "to_state",
    "comment",
    "data",
    "created_at",
)
# Fields added later: part of the hashed document only when set, so older events hash as before.
OPTIONAL_HASHED_FIELDS = ("activity_id", "indicator_id", "hash_key_id")
_head = AuditChainHead.__table__
_events = HistoryEvent.__table__


# --- hashing ---------------------------------------------------------------------------------


def _iso(value: dt.datetime | str) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("naive datetime in a history event")
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical(fields: dict[str, Any], prev_hash: str) -> bytes:
    """The bytes that are hashed: the event's fields and the previous hash, as canonical JSON."""
    document = {name: fields.get(name) for name in HASHED_FIELDS}
    document.update({name: fields[name] for name in OPTIONAL_HASHED_FIELDS if fields.get(name) is not None})
    document["created_at"] = _iso(document["created_at"])
    # the data as the JSON column stores and returns it (tuples become lists, keys strings)
    document["data"] = json.loads(json.dumps(document["data"] or {}))
    document["comment"] = document["comment"] or ""
    document["prev_hash"] = prev_hash
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


UNKEYED_PROBLEM = "an unkeyed event past AUDIT_UNKEYED_UNTIL (recomputed without the key?)"


class UnknownAuditKey(LookupError):
    """An event names a key that is neither ``AUDIT_KEY`` nor one of its fallbacks."""


def event_hash(fields: dict[str, Any], prev_hash: str, keys: dict[str, str] | None = None) -> str:
    """HMAC-SHA256 with the key the event names (``hash_key_id``); plain SHA-256 for the events
    older than the keyed chain. ``keys`` (id → key) defaults to the app's known keys."""
    document = canonical(fields, prev_hash)
    if not fields.get("hash_key_id"):
        return hashlib.sha256(document).hexdigest()
    key = (keys if keys is not None else audit_keys.known_keys()).get(fields["hash_key_id"])
    if key is None:
        raise UnknownAuditKey(fields["hash_key_id"])
    return audit_keys.mac(key, document)


# --- appending -------------------------------------------------------------------------------


def _lock_head(connection: Connection) -> tuple[int | None, str | None]:
    """Lock the chain's head row for this transaction (creating it the first time); its values."""
    statement = (
        select(_head.c.last_event_id, _head.c.last_hash).where(_head.c.id == HEAD_ID).with_for_update()
    )
    row = connection.execute(statement).first()
    if row is None:  # the migration inserts it; a schema made by create_all() has none yet
        if connection.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        connection.execute(dialect_insert(_head).values(id=HEAD_ID).on_conflict_do_nothing())
        row = connection.execute(statement).one()
    return row.last_event_id, row.last_hash


def _next_ids(connection: Connection, count: int, last_id: int | None) -> list[int]:
    """``count`` new event ids, above every id so far; called with the head locked."""
    if connection.dialect.name == "postgresql":
        sequence = "pg_get_serial_sequence('history_events', 'id')"
        ids = sorted(
            connection.execute(
                text(f"SELECT nextval({sequence}) FROM generate_series(1, :count)"), {"count": count}
            ).scalars()
        )
        if last_id is not None and ids[0] <= last_id:  # a sequence set back (e.g. a restore)
            connection.execute(text(f"SELECT setval({sequence}, :last)"), {"last": last_id})
            return _next_ids(connection, count, None)
        return ids
    start = max(connection.scalar(select(func.max(_events.c.id))) or 0, last_id or 0) + 1
    return list(range(start, start + count))


def _chain(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Give ``rows`` (event fields) their ids and hashes, in order, and move the head to the last."""
    last_id, last_hash = _lock_head(connection)
    previous = last_hash or GENESIS
    key_id, key = audit_keys.current_key()
    for row, new_id in zip(rows, _next_ids(connection, len(rows), last_id), strict=True):
        row["id"] = new_id
        row["prev_hash"] = previous
        row["hash_key_id"] = key_id
        row["hash"] = previous = event_hash(row, previous, {key_id: key})
    connection.execute(
        update(_head).where(_head.c.id == HEAD_ID).values(last_event_id=rows[-1]["id"], last_hash=previous)
    )


def _complete(values: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """An event's fields with the defaults filled in, as they will be stored and hashed."""
    return {
        "service_request_id": values.get("service_request_id"),
        "ward_issue_id": values.get("ward_issue_id"),
        "activity_id": values.get("activity_id"),
        "indicator_id": values.get("indicator_id"),
        "actor_id": values.get("actor_id"),
        "actor_role": values["actor_role"],
        "action": values["action"],
        "from_state": values.get("from_state"),
        "to_state": values.get("to_state"),
        "comment": values.get("comment") or "",
        "data": values.get("data") or {},
        "created_at": values.get("created_at") or now,
    }


def _chain_orm_event(mapper, connection: Connection, target: HistoryEvent) -> None:
    """An event added through the ORM (``record_event``) is chained as it is inserted.

    Runs inside the flush, after the subject's and actor's ids are known (their foreign keys
    are set on the event by then).
    """
    names = (*HASHED_FIELDS, *OPTIONAL_HASHED_FIELDS)
    values = _complete({name: getattr(target, name) for name in names if name != "id"}, utcnow())
    _chain(connection, [values])
    for name, value in values.items():
        setattr(target, name, value)


def register() -> None:
    """Chain every ``HistoryEvent`` the ORM inserts, from now on (idempotent; ``create_app``)."""
    if not event.contains(HistoryEvent, "before_insert", _chain_orm_event):
        event.listen(HistoryEvent, "before_insert", _chain_orm_event)


def extend(session: Session, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert events in bulk (dicts of ``HistoryEvent`` columns), chained in their given order.

    For many rows at once without an ORM object each (the importer); returns the rows inserted,
    with their ids and hashes.
    """
    now = utcnow()
    prepared = [_complete(row, now) for row in rows]
    if prepared:
        _chain(session.connection(), prepared)
        session.execute(insert(HistoryEvent), prepared)
    return prepared


# --- verifying -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The result of walking the chain: ``ok``, how many events, and the first broken link."""

    ok: bool
    checked: int  # chained events checked
    unchained: int  # events older than the chain (no hash), not covered
    head_hash: str | None = None
    event_id: int | None = None  # where the chain breaks
    problem: str = ""
    expected: str | None = None
    found: str | None = None

    def describe(self) -> str:
        if self.ok:
            extra = f", {self.unchained} earlier events not chained" if self.unchained else ""
            return f"OK {self.checked} events{extra} (head {self.head_hash or GENESIS})"
        return (
            f"BROKEN at event {self.event_id}: {self.problem}\n"
            f"  expected: {self.expected}\n  found:    {self.found}"
        )


def check_link(fields: dict[str, Any], prev_hash: str) -> tuple[str, str | None, str | None] | None:
    """What is wrong with one stored event that should follow ``prev_hash``: (problem, expected,
    found), or None when its link and its hash hold."""
    if fields["hash"] is None:
        return "hash missing", "a hash", None
    if fields["prev_hash"] != prev_hash:
        return (
            "link to the previous event broken (an event was deleted or added)",
            prev_hash,
            fields["prev_hash"],
        )
    try:
        recomputed = event_hash(fields, fields["prev_hash"])
    except UnknownAuditKey:
        return (
            "made with a key that is not configured (AUDIT_KEY / AUDIT_KEY_FALLBACKS)",
            None,
            fields["hash_key_id"],
        )
    if recomputed != fields["hash"]:
        return "content changed after it was written", recomputed, fields["hash"]
    return None


def _rows_after(session: Session, after_id: int, batch: int = 2000):
    """Every event after ``after_id`` in id order, in keyset pages (bounded memory)."""
    names = (*HASHED_FIELDS, *OPTIONAL_HASHED_FIELDS, "prev_hash", "hash")
    columns = [getattr(_events.c, name) for name in names]
    while True:
        page = session.execute(
            select(*columns).where(_events.c.id > after_id).order_by(_events.c.id).limit(batch)
        ).all()
        yield from page
        if len(page) < batch:
            return
        after_id = page[-1].id


def _head_values(session: Session) -> tuple[int | None, str | None]:
    head = session.execute(
        select(_head.c.last_event_id, _head.c.last_hash).where(_head.c.id == HEAD_ID)
    ).first()
    return (head.last_event_id, head.last_hash) if head else (None, None)


def verify(session: Session) -> Verdict:
    """Walk every event in id order: the first broken link, or OK with the number checked.

    Events before the first hashed one are older than the chain: counted, not checked. At the
    end the last event must be the one the head records (else the newest were deleted); events
    committed while the walk ran are walked too.
    """
    unchained = checked = 0
    prev_hash, cursor, last_chained = GENESIS, 0, None
    unkeyed_until = current_app.config.get("AUDIT_UNKEYED_UNTIL", 0)
    while True:
        seen = False
        for row in _rows_after(session, cursor):
            seen, cursor = True, row.id
            if row.hash is None and last_chained is None:
                unchained += 1
                continue
            broken = check_link(row._asdict(), prev_hash)
            if broken is None and row.hash_key_id is None and row.id > unkeyed_until:
                broken = (UNKEYED_PROBLEM, "a keyed hash", None)
            if broken:
                return Verdict(False, checked, unchained, None, row.id, *broken)
            prev_hash, last_chained, checked = row.hash, row.id, checked + 1
        head_id, head_hash = _head_values(session)
        if head_id == last_chained and (head_id is None or head_hash == prev_hash):
            return Verdict(True, checked, unchained, None if last_chained is None else prev_hash)
        if head_id is not None and (last_chained is None or head_id > last_chained) and seen:
            continue  # events committed since the walk began: walk them as well
        expected, found = f"{head_id}:{head_hash}", f"{last_chained}:{prev_hash if last_chained else None}"
        if head_id is not None and (last_chained is None or head_id > last_chained):
            problem = "the newest events are missing (the head records a later last event)"
            return Verdict(False, checked, unchained, None, head_id, problem, expected, found)
        problem = "the last event is not the one the chain's head records"
        return Verdict(False, checked, unchained, None, last_chained, problem, expected, found)


class AuditChainBroken(RuntimeError):
    pass


@jobs.job("verify_audit_chain", "履歴の改ざん検査", timeout=3600, max_attempts=1, retry_intervals=())
def verify_audit_chain(ctx: jobs.JobContext) -> None:
    """Daily: walk the chain; a break fails the job, which the admin's job page shows."""
    with ctx.session() as session:
        verdict = verify(session)
    if not verdict.ok:
        raise AuditChainBroken(verdict.describe())
    ctx.set_result({"events": verdict.checked, "head": verdict.head_hash or GENESIS})


worker.daily("verify_audit_chain", dt.time(3, 30))


def register_cli(app: Flask) -> None:
    group = click.Group("audit", help="Tamper-evident history (hash chain).")
    app.cli.add_command(group)

    @group.command("verify")
    def verify_command() -> None:
        """Walk the history's hash chain in id order; exit 1 at the first broken link."""
        verdict = verify(db.session)
        click.echo(verdict.describe())
        if not verdict.ok:
            raise SystemExit(1)
