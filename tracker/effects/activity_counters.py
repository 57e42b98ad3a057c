"""The field work's summary rows (``activity_counts``, ``gathered_counts``) moved by a flush.

An activity counts under its (ward, fiscal year); a request gathered in an activity counts under
the ACTIVITY's (ward, fiscal year), so two things move the gathered counts: a request whose
``activity_id`` changes (or that comes or goes with one), and an activity whose ward or fiscal
year changes (an edit of its date), which takes its linked requests along.

Exact in every order within one flush: the requests linked to a moving activity before the flush
move from its old key to its new one (counted in ``before_flush``), and every request-side change
is counted under the activity's key as it is after the flush.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from ..activity_models import Activity
from ..models import ServiceRequest
from ..summary_models import ActivityCount, GatheredCount

ACTIVITY_COLUMNS = ("ward_id", "fiscal_year")
LINKED = "counters_linked"  # session.info: activity id -> (old key, requests linked before the flush)


def _old_key(activity: Activity) -> tuple:
    committed = inspect(activity).committed_state
    return tuple(committed.get(name, getattr(activity, name)) for name in ACTIVITY_COLUMNS)


def _moving(session: Session) -> list[Activity]:
    return [
        obj
        for obj in session.dirty
        if type(obj) is Activity and any(name in inspect(obj).committed_state for name in ACTIVITY_COLUMNS)
    ]


def before_flush(session: Session) -> None:
    """Count the requests linked (in the database, before this flush) to each activity whose
    ward or fiscal year is about to change, with the key it had."""
    moving = _moving(session)
    linked: dict[int, tuple[tuple, int]] = {}
    if moving:
        ids = [activity.id for activity in moving]
        rows = session.execute(
            select(Activity.id, Activity.ward_id, Activity.fiscal_year, func.count(ServiceRequest.id))
            .outerjoin(ServiceRequest, ServiceRequest.activity_id == Activity.id)
            .where(Activity.id.in_(ids))
            .group_by(Activity.id, Activity.ward_id, Activity.fiscal_year)
        )
        linked = {id_: ((ward_id, year), int(count)) for id_, ward_id, year, count in rows}
    session.info[LINKED] = linked


def add_deltas(
    session: Session, deltas: dict[type, Counter], old_activity_id: Callable[[ServiceRequest], Any]
) -> None:
    """Add this flush's changes of the field work's counts to ``deltas`` (after the flush);
    ``old_activity_id`` gives a request's activity before the flush (read even if unloaded)."""
    linked = session.info.pop(LINKED, {})
    activities, gathered = (
        deltas.setdefault(ActivityCount, Counter()),
        deltas.setdefault(GatheredCount, Counter()),
    )
    for obj in session.new:
        if type(obj) is Activity:
            activities[(obj.ward_id, obj.fiscal_year)] += 1
    for obj in session.deleted:
        if type(obj) is Activity:
            activities[_old_key(obj)] -= 1
    for obj in _moving(session):
        old, count = linked.get(obj.id, (_old_key(obj), 0))
        new = (obj.ward_id, obj.fiscal_year)
        activities[old] -= 1
        activities[new] += 1
        gathered[old] -= count
        gathered[new] += count
    links: Counter = Counter()  # activity id -> requests gained (+) or lost (-) in this flush
    for obj in session.new:
        if type(obj) is ServiceRequest and obj.activity_id is not None:
            links[obj.activity_id] += 1
    for obj in session.deleted:
        if type(obj) is ServiceRequest and old_activity_id(obj) is not None:
            links[old_activity_id(obj)] -= 1
    for obj in session.dirty:
        if (
            type(obj) is ServiceRequest
            and obj not in session.deleted
            and "activity_id" in inspect(obj).committed_state
        ):
            old, new = old_activity_id(obj), obj.activity_id
            if old is not None:
                links[old] -= 1
            if new is not None:
                links[new] += 1
    wanted = [id_ for id_, change in links.items() if change]
    if wanted:  # every request-side change under the activity's key as it is now
        keys = dict(
            (id_, (ward_id, year))
            for id_, ward_id, year in session.execute(
                select(Activity.id, Activity.ward_id, Activity.fiscal_year).where(Activity.id.in_(wanted))
            )
        )
        for id_ in wanted:
            if id_ in keys:
                gathered[keys[id_]] += links[id_]


def fresh_queries() -> dict[type, str]:
    """The GROUP BY that computes each of the two tables from scratch."""
    return {
        ActivityCount: "SELECT ward_id, fiscal_year, COUNT(*) FROM activities GROUP BY ward_id, fiscal_year",
        GatheredCount: "SELECT activities.ward_id, activities.fiscal_year, COUNT(*) FROM requests "
        "JOIN activities ON activities.id = requests.activity_id "
        "GROUP BY activities.ward_id, activities.fiscal_year",
    }
