"""Demo triage: some demo requests get a priority (緊急度) and a person in charge (担当者).

Through the workflow (``set_priority``, ``assign``) by a manager of the request's ward, so each
change has its history event. Idempotent: a request that already has the priority or a person
in charge is left alone.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import workflow
from ..models import ServiceRequest, User
from ..states import Priority, Role
from .masterdata import ward_managers

# the start of a demo request's title -> its priority
DEMO_PRIORITIES = {
    "通学路の横断歩道の白線が消えかけている": Priority.HIGH,
    "空き家の草木が道路にはみ出している": Priority.HIGH,
    "公民館の駐車場の段差": Priority.LOW,
}
ASSIGNED = ("通学路の横断歩道の白線が消えかけている", "空き家の草木が道路にはみ出している")


def load_demo_triage(session: Session, today: dt.date) -> int:
    """Set the demo priorities and persons in charge; return how many changes were made."""
    changed = 0
    liaisons = session.scalars(
        select(User).where(User.role == Role.LIAISON, User.login.like("%.liaison")).order_by(User.id)
    ).all()
    for liaison in liaisons:
        managers = ward_managers(session, liaison.ward_id)
        if not managers:
            continue
        for start, priority in DEMO_PRIORITIES.items():
            title = f"{start} ({liaison.center.name})"
            request = session.scalar(select(ServiceRequest).where(ServiceRequest.title == title))
            if request is None or request.state not in workflow.REQUEST_ACTIONS["set_priority"].sources:
                continue
            if request.priority != priority:
                workflow.apply(
                    session, managers[0], request, "set_priority", {"priority": priority}, today=today
                )
                changed += 1
            if start in ASSIGNED and request.assignee_id is None:
                workflow.apply(session, managers[0], request, "assign", {"assignee": liaison}, today=today)
                changed += 1
    session.flush()
    return changed
