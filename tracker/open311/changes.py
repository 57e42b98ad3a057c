"""The admin's change log for the Open311 tables: API keys, the town table, service definitions.

Each write of ``keys`` and ``service_admin`` appends one history event with no subject and the
action of the admin's change log (``admin_change``), in the shape the audit page reads:
``{"changes": [{"table", "id", "new", "deleted", "fields": {name: [old, new]}}]}``. An API key's
plain text and its hash are never part of it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from ..effects.support import WorkflowError
from ..models import HistoryEvent, User

ACTION = "admin_change"  # the same as tracker.safeguards.admin_log.ACTION: one change log


class FieldError(WorkflowError):
    """A refusal that belongs to one field of the admin's form (``field``), shown next to it."""

    def __init__(self, field: str, message: str, **params: object):
        super().__init__(message, **params)
        self.field = field


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def record_change(
    session: Session,
    actor: User | None,
    summary: str,
    table: str,
    row_id: int,
    fields: dict[str, tuple[Any, Any]],
    *,
    new: bool = False,
    deleted: bool = False,
) -> HistoryEvent:
    """Append the admin's change of one row (``fields``: name -> (old, new)); the caller commits."""
    change = {
        "table": table,
        "id": row_id,
        "new": new,
        "deleted": deleted,
        "fields": {name: [_plain(old), _plain(value)] for name, (old, value) in fields.items()},
    }
    event = HistoryEvent(
        actor=actor,
        actor_role=actor.role.value if actor else "system",
        action=ACTION,
        comment=summary,
        data={"changes": [change]},
        created_at=dt.datetime.now(dt.UTC),
    )
    session.add(event)
    session.flush()
    return event
