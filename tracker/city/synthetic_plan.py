"""What happens to one synthetic request: its row, and the rows and history events of its life.

A request is logged on its day; most are answered after a few days to a few weeks (some
referred to a section first), a few are withdrawn, a few are never answered; about one in fifty
is escalated into a ward issue (区重要課題), which goes through approval, consultation with its
bureau, a decision and, when adopted, a budget line, the work and its outcome. Nothing happens
after ``today``, so the current fiscal year has open and overdue requests and old years are
almost all answered. Requests heard at a community meeting come with the activity (活動記録)
they were heard in. Every step writes the history event the workflow writes for it (same
action, states, comment and data), in time order; the caller chains them.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from ..finding import search
from ..formatting import TOKYO, fiscal_year_of
from ..states import AnswerKind, IssueState, Priority, RequestState, Source
from .synthetic_text import REFERRALS, WARD_POINTS, Vocabulary

RS, IS = RequestState, IssueState
ESCALATED_SHARE = 0.02
SOURCES = (
    (Source.PHONE, 25),
    (Source.COUNTER, 18),
    (Source.NEIGHBOURHOOD_ASSOCIATION, 17),
    (Source.COMMUNITY_ACTIVITY, 12),
    (Source.SCHOOL_DISTRICT_COUNCIL, 10),
    (Source.OTHER, 10),
    (Source.APP, 8),
)
# Requests from these sources were often heard at a meeting: half of them come with its activity.
MEETING_SOURCES = (
    Source.NEIGHBOURHOOD_ASSOCIATION,
    Source.COMMUNITY_ACTIVITY,
    Source.SCHOOL_DISTRICT_COUNCIL,
)
PRIORITIES = ((Priority.MEDIUM, 68), (Priority.LOW, 20), (Priority.HIGH, 12))
ANSWER_KINDS = ((AnswerKind.RESOLVED, 60), (AnswerKind.INFORMATION, 25), (AnswerKind.DIFFICULT, 15))
ISSUE_OUTCOMES = (("adopt", 50), ("partial", 20), ("reject", 22), ("withdraw", 8))


def weighted(pairs):
    """(values, cumulative weights) of (value, weight) pairs, for ``pick``."""
    values, total, cumulative = [], 0, []
    for value, weight in pairs:
        total += weight
        values.append(value)
        cumulative.append(total)
    return values, cumulative


def pick(rng: random.Random, table: tuple[list, list]):
    """One value of a ``weighted`` table, drawn by its weights."""
    values, cumulative = table
    return rng.choices(values, cum_weights=cumulative)[0]


_SOURCES, _PRIORITIES, _KINDS, OUTCOME_CHOICES = map(
    weighted, (SOURCES, PRIORITIES, ANSWER_KINDS, ISSUE_OUTCOMES)
)


@dataclass
class Staff:
    """Who acts for a center, a ward and a bureau (user id and role value)."""

    liaison: dict[int, int]  # center id -> liaison
    managers: dict[int, tuple[int, int]]  # ward id -> (drafter, approver)
    bureau_staff: dict[int, int]  # bureau id -> staff member


@dataclass
class World:
    """What every plan needs: the city, its people, the vocabulary, the rules' settings."""

    today: dt.date
    answer_due_days: int
    staff: Staff
    vocabulary: Vocabulary
    category_ids: dict[str, int]
    ward_codes: dict[int, str]
    lead_bureau: dict[str, tuple[int, str]]  # category -> (bureau id, name)
    meeting_kind_ids: list[int]
    pools: dict[str, Any]  # table name -> IdPool (``next()`` gives an id)


@dataclass
class Draft:
    """A request before its story: what the chunk needs to know first (ids and numbers)."""

    received_on: dt.date
    center_id: int
    ward_id: int
    category: str
    escalate_on: dt.date | None
    id: int = 0
    reference: str = ""
    issue_reference: str = ""


EVENT_DEFAULTS = {
    "service_request_id": None,
    "ward_issue_id": None,
    "activity_id": None,
    "indicator_id": None,
    "from_state": None,
    "to_state": None,
    "comment": "",
    "data": {},
}


@dataclass
class Story:
    request: dict[str, Any]
    issue: dict[str, Any] | None = None
    line: dict[str, Any] | None = None
    activity: dict[str, Any] | None = None
    events: list[tuple[dt.datetime, int, dict[str, Any]]] = field(default_factory=list)

    def add(self, when: dt.datetime, actor: int | None, role: str, subject: dict, action: str, **values):
        """One history event of ``subject`` (a ``{"service_request_id": id}``-like dict), with
        every column the chain hashes (``from_state``, ``to_state``, ``comment``, ``data``)."""
        event = {
            **EVENT_DEFAULTS,
            "actor_id": actor,
            "actor_role": role,
            "action": action,
            "created_at": when,
        }
        event.update(subject)
        event.update(values)
        self.events.append((when, len(self.events), event))

    def ordered_events(self) -> list[dict[str, Any]]:
        return [event for _, _, event in sorted(self.events, key=lambda item: (item[0], item[1]))]


def moment(rng: random.Random, day: dt.date) -> dt.datetime:
    """A time in office hours on ``day`` (Tokyo), as an aware UTC datetime."""
    minutes = rng.randint(8 * 60 + 30, 17 * 60 + 30)
    local = dt.datetime(
        day.year, day.month, day.day, minutes // 60, minutes % 60, rng.randint(0, 59), tzinfo=TOKYO
    )
    return local.astimezone(dt.UTC)


def after(rng: random.Random, day: dt.date, low: int, high: int) -> dt.date:
    return day + dt.timedelta(days=rng.randint(low, high))


def draft(rng: random.Random, world: World, day: dt.date, center_id: int, ward_id: int) -> Draft:
    """The first draw of a request: its category and whether (and when) it is escalated."""
    category = world.vocabulary.category(rng)
    escalate_on = None
    if rng.random() < ESCALATED_SHARE:
        escalate_on = after(rng, day, 3, 30)
        if escalate_on > world.today:
            escalate_on = None
    return Draft(day, center_id, ward_id, category, escalate_on)


def logged(rng: random.Random, world: World, draft: Draft) -> tuple[Story, dict[str, str], Source]:
    """The request of ``draft`` as it was logged, with its 'create' event; its texts and source."""
    text = world.vocabulary.request_text(rng, draft.category, world.ward_codes[draft.ward_id])
    source = pick(rng, _SOURCES)
    received = draft.received_on
    due = received + dt.timedelta(days=world.answer_due_days)
    if rng.random() < 0.1:  # a due date agreed with the resident
        due = after(rng, received, 7, 60)
    liaison = world.staff.liaison[draft.center_id]
    logger = None if source == Source.APP else liaison
    created = moment(rng, received)
    latitude = longitude = None
    if rng.random() < 0.6:
        lat, lon = WARD_POINTS.get(world.ward_codes[draft.ward_id], WARD_POINTS["CHUO"])
        latitude, longitude = (
            round(lat + rng.uniform(-0.03, 0.03), 6),
            round(lon + rng.uniform(-0.03, 0.03), 6),
        )
    request = {
        "id": draft.id,
        "reference": draft.reference,
        "fiscal_year": fiscal_year_of(received),
        "client_uuid": None,
        "title": text["title"],
        "description": text["description"],
        "category_id": world.category_ids[draft.category],
        "center_id": draft.center_id,
        "ward_id": draft.ward_id,
        "location_text": text["location_text"],
        "latitude": latitude,
        "longitude": longitude,
        "source": source.value,
        "organisation": text["organisation"],
        "requester_name": "",
        "requester_contact": "",
        "received_on": received,
        "answer_due_on": due,
        "state": RS.RECEIVED.value,
        "referred_to": "",
        "ward_issue_id": None,
        "answer_text": "",
        "answer_kind": None,
        "answered_on": None,
        "priority": pick(rng, _PRIORITIES).value,
        "assignee_id": None,
        "logged_by_id": logger,
        "created_at": created,
        "updated_at": created,
        "version": 1,
        "search_text": "",
        "duplicate_of_id": None,
        "handover_ward_id": None,
        "activity_id": None,
    }
    request["search_text"] = search.request_search_text(request)
    told = Story(request)
    subject = {"service_request_id": draft.id}
    told.add(
        created,
        logger,
        "liaison" if logger else "system",
        subject,
        "create",
        to_state=RS.RECEIVED.value,
        data={"photos": 0, "source": source.value},
    )
    return told, text, source


def move_row(
    told: Story, row: dict, subject: dict, when: dt.datetime, actor: int, role: str, action: str, to, **values
) -> None:
    """An event of ``row`` (a request's or an issue's values; ``subject`` names it) that moves its
    state to ``to`` (or keeps it there), and the row's state and last change after it."""
    told.add(when, actor, role, subject, action, from_state=row["state"], to_state=to.value, **values)
    row["state"] = to.value
    row["updated_at"] = max(row["updated_at"], when)


def move_request(
    told: Story, when: dt.datetime, actor: int, role: str, action: str, to: RequestState, **values
):
    """A request event that moves its state (or keeps it, ``to`` its current state)."""
    request = told.request
    move_row(told, request, {"service_request_id": request["id"]}, when, actor, role, action, to, **values)


def answer_request(
    rng, world: World, told: Story, text: dict, on: dt.date, kind: AnswerKind | None = None
) -> None:
    kind = kind or pick(rng, _KINDS)
    answer = world.vocabulary.answer_text(rng, kind.value, text["ask"])
    request = told.request
    request.update(answer_text=answer, answer_kind=kind.value, answered_on=on)
    actor = world.staff.liaison[request["center_id"]]
    data = {"answer_kind": kind.value, "answered_on": str(on)}
    move_request(told, moment(rng, on), actor, "liaison", "answer", RS.ANSWERED, comment=answer, data=data)


def handled(rng: random.Random, world: World, told: Story, text: dict) -> None:
    """A request the ward handles itself: referred, answered, withdrawn, or still open."""
    received, request = told.request["received_on"], told.request
    manager = world.staff.managers[request["ward_id"]][0]
    fate = rng.random()
    if fate < 0.03:
        on = after(rng, received, 1, 20)
        if on <= world.today:
            liaison = world.staff.liaison[request["center_id"]]
            comment = "要望者から取下げの申し出があった。"
            move_request(told, moment(rng, on), liaison, "liaison", "withdraw", RS.WITHDRAWN, comment=comment)
        return
    day = received
    if fate < 0.28:
        day = after(rng, received, 1, 4)
        if day > world.today:
            return
        request["referred_to"] = rng.choice(REFERRALS)
        data = {"referred_to": request["referred_to"]}
        move_request(told, moment(rng, day), manager, "ward_manager", "refer", RS.REFERRED, data=data)
    if fate > 0.993:  # never answered: open, and overdue for ever
        return
    answered_on = day + dt.timedelta(days=int(rng.lognormvariate(2.0, 0.9)))
    if answered_on <= world.today:
        answer_request(rng, world, told, text, answered_on)


def heard_at_meeting(rng, world: World, told: Story, text: dict, liaison: int, created: dt.datetime) -> None:
    request = told.request
    activity_id = world.pools["activities"].next()
    starts = dt.time(rng.choice((10, 14, 19)), 0)
    organisation = request["organisation"] or f"{text['town']}町内自治会"
    activity = {
        "id": activity_id,
        "fiscal_year": request["fiscal_year"],
        "held_on": request["received_on"],
        "starts_at": starts,
        "ends_at": dt.time(starts.hour + 2, 0),
        "kind_id": rng.choice(world.meeting_kind_ids),
        "organisation_id": None,
        "organisation_text": organisation,
        "place": f"{text['town']}公民館",
        "attendees": rng.randint(5, 60),
        "summary": f"{organisation}の会合に出席し、地域の要望を聞き取った。",
        "center_id": request["center_id"],
        "ward_id": request["ward_id"],
        "logged_by_id": liaison,
        "client_uuid": None,
        "import_batch_id": None,
        "created_at": created,
        "updated_at": created,
        "version": 1,
    }
    told.activity = activity
    shown = {key: activity[key] for key in ("kind_id", "organisation_id", "organisation_text", "place")}
    values = {
        "held_on": activity["held_on"].isoformat(),
        "starts_at": starts.isoformat(),
        "ends_at": activity["ends_at"].isoformat(),
        **shown,
        "attendees": activity["attendees"],
        "summary": activity["summary"],
        "center_id": activity["center_id"],
        "liaison_ids": [liaison],
    }
    told.add(created, liaison, "liaison", {"activity_id": activity_id}, "create", data={"values": values})
    request["activity_id"] = activity_id
    link = {"request_id": request["id"], "old_activity_id": None, "new_activity_id": activity_id}
    told.add(created, liaison, "liaison", {"activity_id": activity_id}, "link_request", data=link)
    told.add(created, liaison, "liaison", {"service_request_id": request["id"]}, "link_activity", data=link)
