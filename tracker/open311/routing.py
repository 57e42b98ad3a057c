"""Where a POSTed request goes: the key's center, the center of the town its address names, or
the intake queue (未振り分け) of the ward the address names (or of no ward).

Addresses are compared NFKC-normalised (full-width digits and letters, half-width katakana
read as the staff type them) and without spaces; the longest town name found in the address
wins, so 「大江本町」 beats 「大江」.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..models import Center, Ward
from ..open311_models import ApiKey, TownCenter


def normalised(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split())


@dataclass(frozen=True)
class Route:
    """``center`` when the request can be given to a center now, else the queue's ``ward``."""

    center: Center | None
    ward: Ward | None = None


def town_center(session: Session, address: str) -> Center | None:
    """The active center of the longest town name in ``address``, or None."""
    wanted = normalised(address)
    if not wanted:
        return None
    rows = session.scalars(select(TownCenter).options(joinedload(TownCenter.center))).all()
    found = [
        row for row in rows if row.center.active and (name := normalised(row.town_name)) and name in wanted
    ]
    if not found:
        return None
    return max(found, key=lambda row: len(normalised(row.town_name))).center


def named_ward(session: Session, address: str) -> Ward | None:
    """The ward whose name the address contains (the longest, should two match), or None."""
    wanted = normalised(address)
    if not wanted:
        return None
    wards = [ward for ward in session.scalars(select(Ward)).all() if normalised(ward.name) in wanted]
    return max(wards, key=lambda ward: len(ward.name)) if wards else None


def route_for(session: Session, key: ApiKey, address: str) -> Route:
    if key.center is not None and key.center.active:
        return Route(key.center)
    center = town_center(session, address)
    if center is not None:
        return Route(center)
    return Route(None, named_ward(session, address))
