"""The maps' data: a request list's places as GeoJSON (RFC 7946), with the list's own scope and filters.

- The rows are those of the list the map shows: the scoped base statement of
  ``tracker.finding.queries`` (``requests_for``, ``open_requests_of_center``, ``triage_requests``)
  and, for a filtered list, the filter parsed by ``tracker.finding.listing`` from the same URL
  arguments and turned into WHERE clauses by ``tracker.finding.keyset`` — the same functions as
  the list page, never a copy. Requests without coordinates are left out.
- A feature carries what a list row shows of a request and nothing personal: reference, title,
  state, category, center, received and due dates, and the URL of its page. Never the
  requester's name, contact or organisation, the description, or a staff member's name.
- One query whatever the number of features (columns only, no ORM objects); at most
  ``MAX_FEATURES``, newest first, and the collection says ``truncated`` when there were more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, select, true
from sqlalchemy.orm import Session

from ..formatting import today_in_tokyo
from ..models import Category, Center, ServiceRequest, User
from . import keyset, list_choices, listing

MAX_FEATURES = 5_000


def point(latitude: Decimal | float, longitude: Decimal | float, properties: dict[str, Any]) -> dict:
    """A GeoJSON Feature at a point (GeoJSON's order: longitude, then latitude)."""
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [float(longitude), float(latitude)]},
        "properties": properties,
    }


def collection(features: list[dict], *, truncated: bool, limit: int) -> dict:
    """A FeatureCollection; its ``properties`` say how many, and whether the cap cut it."""
    return {
        "type": "FeatureCollection",
        "properties": {"count": len(features), "truncated": truncated, "limit": limit},
        "features": features,
    }


def scope_of(base: Select) -> ColumnElement[bool]:
    """The WHERE clause of a scoped base statement (``tracker.finding.queries``)."""
    return base.whereclause if base.whereclause is not None else true()


def list_conditions(
    session: Session, user: User, base: Select, args: Mapping, spec: listing.ListSpec = listing.REQUESTS
) -> tuple[list[ColumnElement[bool]], listing.ListFilter]:
    """The scope and filters of a filtered list for these URL arguments, and the parsed filter
    (its ``notices`` say what was dropped); exactly what ``list_pages.show`` applies."""
    choices = list_choices.choices_for(session, user, spec)
    flt = listing.parse(args, spec, choices, me=user.id)
    return [scope_of(base), *keyset.conditions(flt, today_in_tokyo())], flt


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def request_features(
    session: Session,
    where: Sequence[ColumnElement[bool]],
    url_of: Callable[[int], str],
    *,
    limit: int = MAX_FEATURES,
) -> dict:
    """The FeatureCollection of the matching requests that have coordinates, newest first."""
    R = ServiceRequest
    statement = (
        select(
            R.id,
            R.reference,
            R.title,
            R.state,
            R.received_on,
            R.answer_due_on,
            R.latitude,
            R.longitude,
            Category.name.label("category"),
            Center.name.label("center"),
        )
        .join(Category, Category.id == R.category_id)
        .join(Center, Center.id == R.center_id)
        .where(*where, R.latitude.is_not(None), R.longitude.is_not(None))
        .order_by(R.received_on.desc(), R.id.desc())
        .limit(limit + 1)
    )
    rows = session.execute(statement).all()
    features = [
        point(
            row.latitude,
            row.longitude,
            {
                "id": row.id,
                "reference": row.reference,
                "title": row.title,
                "state": row.state.value,
                "state_label": str(row.state.label),
                "category": row.category,
                "center": row.center,
                "received_on": _iso(row.received_on),
                "answer_due_on": _iso(row.answer_due_on),
                "url": url_of(row.id),
            },
        )
        for row in rows[:limit]
    ]
    return collection(features, truncated=len(rows) > limit, limit=limit)
