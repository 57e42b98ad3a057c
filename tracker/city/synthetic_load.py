"""Bulk writing for ``flask gen-data``: ids taken from the database, rows written without ORM objects.

Ids come from the tables' own sequences (``nextval`` on PostgreSQL; above ``max(id)`` on SQLite,
whose writers are serialised), so the application inserts after a load exactly as before and no
sequence needs resetting. Rows go in with ``COPY ... FROM STDIN`` on PostgreSQL (psycopg 3's
``cursor.copy``) and with one executemany ``INSERT`` per table and chunk on SQLite, where the
full-text triggers keep ``requests_fts`` current. History events are chained as
``tracker.safeguards.audit`` chains them (``chain``, ``Writer``; ``audit.extend`` on SQLite),
so that ``flask audit verify`` accepts the chain. The ORM's bulk insert is not used on
PostgreSQL: it sends the rows one by one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Table, func, insert, select, text, update
from sqlalchemy.orm import Session

from ..models import HistoryEvent
from ..ops_models import AuditChainHead
from ..safeguards import audit, audit_keys

_head = AuditChainHead.__table__


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def take_ids(session: Session, table: Table, count: int, *, above: int = 0) -> list[int]:
    """``count`` new primary keys of ``table``, ascending, that no other writer will take.

    On SQLite the next ids after the table's largest and ``above`` (the last id handed out
    but perhaps not written yet); a PostgreSQL sequence never hands out an id twice.
    """
    if count == 0:
        return []
    if is_postgresql(session):
        statement = text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"
        )
        return sorted(session.execute(statement, {"table": table.name, "count": count}).scalars())
    start = max(session.scalar(select(func.max(table.c.id))) or 0, above) + 1
    return list(range(start, start + count))


def write(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (plain column values, all with the same keys) into ``table``."""
    if not rows:
        return
    if not is_postgresql(session):
        session.execute(insert(table), list(rows))
        return
    names = list(rows[0])
    columns = ", ".join(f'"{name}"' for name in names)
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[name] for name in names])


class IdPool:
    """Ids of one table handed out one by one, taken from the database a block at a time."""

    def __init__(self, session: Session, table: Table, block: int = 1000):
        self.session, self.table, self.block = session, table, block
        self.free: list[int] = []
        self.last = 0

    def next(self) -> int:
        if not self.free:
            self.free = take_ids(self.session, self.table, self.block, above=self.last)[::-1]
            self.last = self.free[0]
        return self.free.pop()


def chain(
    events: list[dict[str, Any]], pool: IdPool, tail: tuple[int | None, str], key: tuple[str, str]
) -> tuple[list[dict[str, Any]], tuple[int | None, str]]:
    """``events`` (every column but the chain's) as rows of the hash chain after ``tail`` (the
    last event's id and hash), as ``tracker.safeguards.audit`` chains them: ids in order, each
    hashed with ``audit.event_hash`` after the one before. The rows and the new tail."""
    key_id, secret = key
    previous, last_id, rows = tail[1], tail[0], []
    for event in events:
        row = {**event, "id": pool.next(), "prev_hash": previous, "hash_key_id": key_id}
        row["hash"] = previous = audit.event_hash(row, previous, {key_id: secret})
        row["data"] = json.dumps(row["data"], ensure_ascii=False)
        last_id = row["id"]
        rows.append(row)
    return rows, (last_id, previous)


class ChainMoved(RuntimeError):
    """Another process appended history events while the load ran: its chained rows no longer fit."""


class Writer:
    """Writes the chunks of a load, in order, each in one transaction that it commits.

    On PostgreSQL it writes on a connection of its own in a background thread, so that the
    database stores one chunk while Python prepares the next (at most one chunk waits); the
    events are chained in the caller's thread (``chain``) from the head read at the start, and
    each chunk's transaction locks the head, checks that it is still where the chunk's chain
    begins and moves it on, as ``audit`` does. On SQLite everything runs in the caller's
    session and thread, and events go through ``audit.extend``.
    """

    def __init__(self, session: Session):
        self.session, self.pending = session, None
        self.postgresql = is_postgresql(session)
        if self.postgresql:
            head = session.execute(select(_head.c.last_event_id, _head.c.last_hash)).first()
            if head is None:
                raise ChainMoved("the history's chain head is missing: run `flask db upgrade`")
            self.tail = (head.last_event_id, head.last_hash or audit.GENESIS)
            self.key = audit_keys.current_key()
            self.event_ids = IdPool(session, HistoryEvent.__table__, block=20_000)
            self.own = Session(bind=session.get_bind())
            self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gen-data-writer")

    def submit(self, tables: list[tuple[Table, list[dict[str, Any]]]], events: list[dict[str, Any]]) -> None:
        """Write ``tables`` (in order: a table's rows before the rows that refer to them), then ``events``."""
        if not self.postgresql:
            for table, rows in tables:
                write(self.session, table, rows)
            audit.extend(self.session, events)
            self.session.commit()
            return
        begins = self.tail[0]
        rows, self.tail = chain(events, self.event_ids, self.tail, self.key)
        self.session.commit()  # the ids and numbers taken for this chunk
        self.wait()
        self.pending = self.executor.submit(self._write, tables, rows, begins, self.tail)

    def _write(self, tables, rows, begins: int | None, tail: tuple[int | None, str]) -> None:
        session = self.own
        try:
            for table, table_rows in tables:
                write(session, table, table_rows)
            locked = select(_head.c.last_event_id).where(_head.c.id == audit.HEAD_ID).with_for_update()
            if session.execute(locked).scalar() != begins:
                raise ChainMoved("history events were written by another process during the load")
            write(session, HistoryEvent.__table__, rows)
            if rows:
                moved = update(_head).where(_head.c.id == audit.HEAD_ID)
                session.execute(moved.values(last_event_id=tail[0], last_hash=tail[1]))
            session.commit()
        except BaseException:
            session.rollback()
            raise

    def wait(self) -> None:
        """Until the chunk being written is committed (its error raised here)."""
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def close(self) -> None:
        if self.postgresql:
            try:
                self.wait()
            finally:
                self.executor.shutdown()
                self.own.close()
