"""Similar open requests (関連する要望): what a liaison sees before logging a request twice.

A request heard at one 自治会 meeting is often heard again at the next, or by a colleague.
Before a new request is saved, the open requests (受付・回付・区重要課題化: not answered, not
withdrawn) of the same ward are scored against its title and description:

- both sides are normalised (``search.normalize``: NFKC, case-folded) with spaces removed;
- each becomes its set of character bigrams and trigrams (bigrams carry short Japanese
  titles such as 街灯の修理; trigrams favour longer shared phrases); a text of one character
  is its own gram;
- the score is the Dice coefficient of the title sets, raised (never lowered) by the
  description's when both sides have one: ``max(title, 0.6 × title + 0.4 × whole text)``.

Candidates come from two bounded queries, so the cost is fixed however many rows there are:
the ward's most recent open requests, and open requests whose ``search_text`` holds one of a
few trigrams of the new title (through the search index), for older ones.

A new request may be linked (関連付けて登録) to a request of its own ward only
(``linkable_request``); a request's page lists the requests it is linked with, as far as the
user may see them (``related_requests``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..models import ServiceRequest, User
from ..safeguards import access
from ..states import OPEN_REQUEST_STATES, RequestState
from . import search

RECENT_CANDIDATES = 300  # the ward's newest open requests, always compared
INDEXED_CANDIDATES = 200  # older open requests sharing a trigram of the title
PROBE_TRIGRAMS = 4  # trigrams of the title looked up in the index
THRESHOLD = 0.4  # lowest score suggested
MIN_TITLE = 2  # characters: a shorter title says too little to compare


@dataclass(frozen=True)
class Suggestion:
    id: int
    reference: str
    title: str
    received_on: dt.date
    state: RequestState
    score: float


def _compact(text: str | None) -> str:
    return "".join(search.normalize(text).split())


def grams(text: str | None) -> set[str]:
    """The character bigrams and trigrams of the normalised text (spaces removed)."""
    compact = _compact(text)
    if len(compact) < 2:
        return {compact} if compact else set()
    found = {compact[i : i + 2] for i in range(len(compact) - 1)}
    found |= {compact[i : i + 3] for i in range(len(compact) - 2)}
    return found


def dice(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


class Scorer:
    """``score`` against one fixed side, whose grams are computed once: what comparing one text
    with hundreds of candidates needs (the candidate's grams are the only ones left per call)."""

    def __init__(self, title: str, description: str) -> None:
        self.title_grams = grams(title)
        self.whole_grams = grams(f"{title} {description}") if _compact(description) else None

    def __call__(self, other_title: str, other_description: str) -> float:
        by_title = dice(self.title_grams, grams(other_title))
        if self.whole_grams is None or not _compact(other_description):
            return by_title
        whole = dice(self.whole_grams, grams(f"{other_title} {other_description}"))
        return max(by_title, 0.6 * by_title + 0.4 * whole)


def score(title: str, description: str, other_title: str, other_description: str) -> float:
    """How alike two requests are, 0 to 1 (see the module's docstring)."""
    return Scorer(title, description)(other_title, other_description)


def title_probes(title: str) -> list[str]:
    """A few trigrams spread over the title, for the index lookup."""
    compact = _compact(title)
    trigrams = [compact[i : i + 3] for i in range(len(compact) - 2)]
    if len(trigrams) <= PROBE_TRIGRAMS:
        return trigrams
    step = (len(trigrams) - 1) / (PROBE_TRIGRAMS - 1)
    return list(dict.fromkeys(trigrams[round(i * step)] for i in range(PROBE_TRIGRAMS)))


_COLUMNS = (
    ServiceRequest.id,
    ServiceRequest.reference,
    ServiceRequest.title,
    ServiceRequest.description,
    ServiceRequest.received_on,
    ServiceRequest.state,
)


def similar_open_requests(
    session: Session,
    ward_id: int | None,
    title: str | None,
    description: str | None = "",
    limit: int = 5,
    *,
    exclude_id: int | None = None,
) -> list[Suggestion]:
    """The open requests of ``ward_id`` most like this title and description, best first."""
    title, description = (title or "").strip(), (description or "").strip()
    if ward_id is None or len(_compact(title)) < MIN_TITLE:
        return []
    scope = (ServiceRequest.ward_id == ward_id, ServiceRequest.state.in_(OPEN_REQUEST_STATES))
    if exclude_id is not None:
        scope += (ServiceRequest.id != exclude_id,)
    newest = (ServiceRequest.received_on.desc(), ServiceRequest.id.desc())
    rows = {
        row.id: row
        for row in session.execute(select(*_COLUMNS).where(*scope).order_by(*newest).limit(RECENT_CANDIDATES))
    }
    probes = title_probes(title)
    if probes and len(rows) == RECENT_CANDIDATES:  # older open requests exist: ask the index too
        shared = or_(*(search.term_clause(ServiceRequest, probe) for probe in probes))
        statement = select(*_COLUMNS).where(*scope, shared).order_by(*newest).limit(INDEXED_CANDIDATES)
        rows.update((row.id, row) for row in session.execute(statement))
    against = Scorer(title, description)
    scored = [
        Suggestion(row.id, row.reference, row.title, row.received_on, row.state, round(value, 3))
        for row in rows.values()
        if (value := against(row.title, row.description)) >= THRESHOLD
    ]
    scored.sort(key=lambda s: (-s.score, -s.id))
    return scored[:limit]


def linkable_request(session: Session, ward_id: int | None, request_id: int | None) -> ServiceRequest | None:
    """The request ``request_id`` if a new request of ``ward_id`` may be linked to it (one of
    the same ward); None if there is no such request, or it is another ward's."""
    chosen = session.get(ServiceRequest, request_id) if request_id is not None else None
    if chosen is None or ward_id is None or chosen.ward_id != ward_id:
        return None
    return chosen


def related_requests(user: User, found: ServiceRequest) -> list[tuple[str, ServiceRequest]]:
    """関連する要望: the request ``found`` was linked to (``original``), and those linked to it
    (``duplicate``), as far as ``user`` may see them."""
    linked = [("original", found.duplicate_of)] if found.duplicate_of is not None else []
    linked += [("duplicate", other) for other in found.duplicates]
    return [(kind, other) for kind, other in linked if access.can_view_request(user, other)]
