"""Requests of an import written in bulk: one INSERT per chunk of rows, their events chained.

A request imported one by one would get its reference number and its 'create' event from
``intake``; here they are made for many rows at once, as the same values, with a bulk INSERT
(no ORM object per row) and ``audit.extend``. A past row that came with its answer is saved
answered (回答済み) and gets the 'answer' event the answer form writes, after its 'create'.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..effects import counters, references
from ..finding import search
from ..formatting import fiscal_year_of
from ..model_types import bounded_row
from ..models import ServiceRequest, User, utcnow
from ..ops_models import ImportBatch
from ..safeguards import audit
from ..states import RequestState

CHUNK = 500  # rows written (and progress reported) at a time


def write_requests(session: Session, batch: ImportBatch, rows: list[dict], report) -> None:
    """Every request in bulk, with its 'create' event (and 'answer' event if it came answered)."""
    actor, center = batch.uploaded_by, batch.center
    numbers = Counter(fiscal_year_of(fields["received_on"]) for fields in rows)
    free = {
        year: iter(references.request_references(session, center.ward_id, year, count))
        for year, count in sorted(numbers.items())
    }
    now = utcnow()
    requests = [
        {
            "answer_kind": None,
            "answered_on": None,
            "answer_text": "",
            **fields,
            "reference": next(free[fiscal_year_of(fields["received_on"])]),
            "fiscal_year": fiscal_year_of(fields["received_on"]),
            "center_id": center.id,
            "ward_id": center.ward_id,
            "state": RequestState.ANSWERED if fields.get("answered_on") else RequestState.RECEIVED,
            "logged_by_id": actor.id,
            "created_at": now,
            "updated_at": now,
        }
        for fields in rows
    ]
    # A bulk INSERT passes no flush listener: bounds checked, search_text made and counted here.
    requests = [bounded_row(ServiceRequest.__table__, values) for values in requests]
    for values in requests:
        values["search_text"] = search.request_search_text(values)
    for start in range(0, len(requests), CHUNK):
        chunk = requests[start : start + CHUNK]
        session.execute(insert(ServiceRequest), chunk)
        counters.apply_request_rows(session, chunk)
        ids = dict(
            session.execute(
                select(ServiceRequest.reference, ServiceRequest.id).where(
                    ServiceRequest.reference.in_([values["reference"] for values in chunk])
                )
            ).all()
        )
        events = [
            event
            for values in chunk
            for event in request_events(ids[values["reference"]], values, actor, batch, now)
        ]
        audit.extend(session, events)  # inserted with their ids and hashes, chained in order
        if report is not None:
            report(start + len(chunk), len(requests))


def request_events(request_id: int, values: dict, actor: User, batch: ImportBatch, now) -> list[dict]:
    """The events ``record_event`` writes when a request is logged, then answered, one by one.

    A past row imported answered gets both, so its history says it was imported and what its
    answer was, as if the answer had been entered on the day of the import.
    """
    common = {"service_request_id": request_id, "actor_id": actor.id, "actor_role": actor.role.value}
    events = [
        {
            **common,
            "action": "create",
            "to_state": RequestState.RECEIVED.value,
            "data": {"import_batch_id": batch.id, "source": values["source"].value},
            "created_at": now,
        }
    ]
    if values["state"] == RequestState.ANSWERED:
        events.append(
            {
                **common,
                "action": "answer",
                "from_state": RequestState.RECEIVED.value,
                "to_state": RequestState.ANSWERED.value,
                "comment": values["answer_text"],
                "data": {
                    "import_batch_id": batch.id,
                    "answer_kind": values["answer_kind"].value,
                    "answered_on": str(values["answered_on"]),
                },
                "created_at": now,
            }
        )
    return events
