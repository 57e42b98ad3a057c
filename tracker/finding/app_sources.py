"""Where a request came from when an app sent it: 「アプリ (key name)」, by one query per page.

A request with source ``APP`` arrived through an Open311 API key; the key's name comes from the
submission that became the request (``Open311Submission.service_request_id``). Such a request
was logged by no one (``logged_by`` is NULL): its 登録者 is the app too. ``AppNames`` looks the
names up for a whole page (or an export's batch) at once, so a list costs one query more, not
one per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ServiceRequest
from ..open311_models import ApiKey, Open311Submission
from ..states import Source

BATCH = 500


def key_names(session: Session, request_ids: Iterable[int]) -> dict[int, str]:
    """request id -> the name of the API key it arrived through (only those that did)."""
    ids = sorted(set(request_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Open311Submission.service_request_id, ApiKey.name)
        .join(ApiKey, ApiKey.id == Open311Submission.api_key_id)
        .where(Open311Submission.service_request_id.in_(ids))
    ).all()
    return dict(rows)


def app_label(name: str | None) -> str:
    return f"{Source.APP.label} ({name})" if name else Source.APP.label


class AppNames:
    """The key names of the app requests among the rows shown: ``load`` them a page at a time."""

    def __init__(self, session: Session, requests: Iterable[ServiceRequest] = ()):
        self.session = session
        self.names: dict[int, str | None] = {}
        self.load(requests)

    def load(self, requests: Iterable[ServiceRequest]) -> None:
        wanted = [r.id for r in requests if self._from_app(r) and r.id not in self.names]
        if wanted:
            found = key_names(self.session, wanted)
            self.names.update({request_id: found.get(request_id) for request_id in wanted})

    def batched(self, rows: Iterable[ServiceRequest], size: int = BATCH) -> Iterator[ServiceRequest]:
        """The rows as they come, each batch's names loaded before its rows are read."""
        iterator = iter(rows)
        while batch := list(islice(iterator, size)):
            self.load(batch)
            yield from batch

    @staticmethod
    def _from_app(request: ServiceRequest) -> bool:
        return request.source == Source.APP or request.logged_by_id is None

    def source_label(self, request: ServiceRequest) -> str:
        if request.source == Source.APP:
            return app_label(self.names.get(request.id))
        return request.source.label if request.source is not None else ""

    def logged_by_label(self, request: ServiceRequest) -> str:
        if request.logged_by is not None:
            return request.logged_by.display_name
        return app_label(self.names.get(request.id))
