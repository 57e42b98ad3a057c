"""Requests heard in an activity: which activity a user may log a request from, what the request
form is filled in with, finding a request of the ward by its reference, and the activity a
request's page may show."""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..activity_models import Activity
from ..models import ServiceRequest, User
from ..states import Source
from ..wording import N_, say
from .access import can_edit_activity, can_view_activity
from .operations import ActivityError


def may_link(user: User, activity: Activity) -> bool:
    """Whether ``user`` may link requests to (or log requests from) ``activity``."""
    return user.active and can_view_activity(user, activity) and can_edit_activity(user, activity)


def request_prefill(activity: Activity) -> dict[str, Any]:
    """What the new-request form starts with when opened from ``activity``."""
    return {
        "center_id": activity.center_id,
        "organisation": activity.organisation_name,
        "source": Source.COMMUNITY_ACTIVITY.value,
        "received_on": activity.held_on,
    }


def request_by_reference(session: Session, reference: str) -> ServiceRequest:
    """The request with this reference number (R-CHUO-2024-0001, case and width ignored)."""
    typed = "".join(unicodedata.normalize("NFKC", str(reference or "")).split()).upper()
    found = session.scalar(select(ServiceRequest).where(func.upper(ServiceRequest.reference) == typed))
    if found is None:
        raise ActivityError(
            say(N_("受付番号「%(value)s」の要望が見つかりません。"), value=typed[:40]), "reference"
        )
    return found


def activity_of_request(session: Session, user: User, request: ServiceRequest) -> Activity | None:
    """The activity ``request`` was heard in, if ``user`` may see it (never for bureau staff)."""
    if request.activity_id is None:
        return None
    activity = session.get(Activity, request.activity_id)
    return activity if activity is not None and can_view_activity(user, activity) else None
