"""The workflow's announcements: what happened, told to whoever subscribed.

``workflow.apply`` announces every history event it writes, in the same transaction, after the
event is flushed. Side effects (notifications now; more later) subscribe here from
``create_app`` instead of being called by the rules, so the rules import none of them and
nothing under the workflow needs Flask. A handler runs inside the caller's transaction: what it
records (an outbox job, say) commits or rolls back with the change itself.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from ..models import HistoryEvent

Handler = Callable[[Session, HistoryEvent], None]

_handlers: dict[str, Handler] = {}


def subscribe(name: str, handler: Handler) -> None:
    """Have ``handler`` hear of every event announced from now on; ``name`` keeps it to once
    however often the app factory runs (tests build many apps in one process)."""
    _handlers[name] = handler


def announce(session: Session, event: HistoryEvent) -> None:
    """Tell every subscriber, in the order they subscribed, that ``event`` was written."""
    for handler in _handlers.values():
        handler(session, event)
