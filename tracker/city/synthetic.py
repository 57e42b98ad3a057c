"""Synthetic data at scale (``flask gen-data``): ten fiscal years of a city's requests and issues.

``generate`` adds ``requests`` requests to the current database, on top of the master data
(``flask seed``), which it needs and never changes. They are spread over the ten fiscal years
ending with the current one (weekdays busier than weekends, the New Year holidays quiet) and
over the active centers by their ward's population; what happens to each is told by
``synthetic_story`` with the texts of ``synthetic_text``, and written in chunks by
``synthetic_load`` (COPY on PostgreSQL), each chunk committed, so memory stays flat at any size.

Who acts: each center's first active liaison, each ward's first two active managers (drafter and
approver) and each bureau's first active staff member; where there is none, an account is made
(login ``gen.<role>.<id>``, a random password nobody knows, to be changed at first login), so the
data's history always names a member of staff of the right role and place.

The same ``seed`` on the same master data and ``today`` gives the same titles, references and
states: every draw comes from two ``random.Random`` streams seeded by it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..activity_models import Activity, ActivityKind, activity_liaisons
from ..effects import counters, references
from ..formatting import fiscal_year_of, today_in_tokyo
from ..models import BudgetLine, Bureau, Category, Center, ServiceRequest, User, Ward, WardIssue
from ..safeguards import accounts
from ..states import Role
from . import synthetic_load as load
from .synthetic_plan import Draft, Staff, World, draft
from .synthetic_story import story
from .synthetic_text import LEAD_BUREAUS, Vocabulary

CHUNK = 10_000  # requests planned, written and committed at a time
YEARS = 10  # fiscal years, ending with the current one
WEEKDAY_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 0.95, 0.3, 0.12)  # Monday first
MONTH_WEIGHTS = {6: 1.15, 7: 1.15, 8: 0.9, 12: 0.85}  # the rainy season brings roads and rivers


class MissingMasterData(RuntimeError):
    """The database has no wards, centers, categories, bureaus or activity kinds yet."""


@dataclass
class GenerationSummary:
    """What one run added."""

    requests: int = 0
    ward_issues: int = 0
    budget_lines: int = 0
    activities: int = 0
    events: int = 0
    accounts_created: int = 0
    fiscal_years: tuple[int, int] = (0, 0)
    states: Counter = field(default_factory=Counter)
    password_hash: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        states = ", ".join(f"{state} {count:,}" for state, count in sorted(self.states.items()))
        first, last = self.fiscal_years
        return (
            f"{self.requests:,} requests (fiscal years {first}-{last}: {states}), "
            f"{self.ward_issues:,} ward issues, {self.budget_lines:,} budget lines, "
            f"{self.activities:,} activities, {self.events:,} history events, "
            f"{self.accounts_created} staff accounts created"
        )


def generate(
    session: Session,
    requests: int,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
    *,
    answer_due_days: int = 14,
    today: dt.date | None = None,
) -> GenerationSummary:
    """Add ``requests`` synthetic requests with their issues, activities and history; commit.

    The dashboards' summary tables are rebuilt at the end, as the rows bypass the ORM.

    ``progress(done, total)`` is called after each chunk (all committed when this returns).
    Raises ``MissingMasterData`` (nothing written) when ``flask seed`` has not run.
    """
    today = today or today_in_tokyo()
    centers = _centers(session)
    summary = GenerationSummary()
    staff = _staff(session, centers, summary)
    world = _world(session, today, answer_due_days, staff)
    session.commit()
    drafts_rng, story_rng = random.Random(f"{seed}:drafts"), random.Random(f"{seed}:stories")
    first_year = fiscal_year_of(today) - YEARS + 1
    summary.fiscal_years = (first_year, fiscal_year_of(today))
    days = [
        dt.date(first_year, 4, 1) + dt.timedelta(days=n)
        for n in range((today - dt.date(first_year, 4, 1)).days + 1)
    ]
    cumulative = _center_weights(drafts_rng, centers)
    writer = load.Writer(session)
    try:
        pending: list[Draft] = []
        for day, count in zip(days, day_counts(drafts_rng, days, requests), strict=True):
            for center in drafts_rng.choices(centers, cum_weights=cumulative, k=count):
                pending.append(draft(drafts_rng, world, day, center.id, center.ward_id))
            if len(pending) >= CHUNK or (pending and day == today):
                _write_chunk(writer, world, story_rng, pending, summary)
                pending = []
                if progress is not None:
                    progress(summary.requests, requests)
    finally:
        writer.close()
    counters.rebuild(session)  # the rows came by COPY / executemany, past the flush listener that counts
    session.commit()
    return summary


def day_counts(rng: random.Random, days: list[dt.date], total: int) -> list[int]:
    """How many requests each day receives: ``total`` shared by weight, remainders drawn."""
    weights = [_day_weight(day, n / max(len(days), 1)) for n, day in enumerate(days)]
    whole = sum(weights)
    counts = [int(total * weight / whole) for weight in weights]
    left = total - sum(counts)
    fractions = list(
        itertools.accumulate(
            total * weight / whole - count for weight, count in zip(weights, counts, strict=True)
        )
    )
    for index in rng.choices(range(len(days)), cum_weights=fractions, k=left) if left else ():
        counts[index] += 1
    return counts


def _day_weight(day: dt.date, elapsed: float) -> float:
    """A day's share: its weekday, its month, the New Year holidays, and slow growth over the years."""
    if (day.month, day.day) >= (12, 29) or (day.month, day.day) <= (1, 3):
        return 0.05
    return WEEKDAY_WEIGHTS[day.weekday()] * MONTH_WEIGHTS.get(day.month, 1.0) * (0.85 + 0.3 * elapsed)


def _centers(session: Session) -> list[Center]:
    centers = list(
        session.scalars(select(Center).where(Center.active).order_by(Center.sort_order, Center.id))
    )
    missing = [] if centers else ["centers"]
    missing += [
        name
        for name, model in (("categories", Category), ("bureaus", Bureau), ("activity kinds", ActivityKind))
        if session.scalar(select(model.id).limit(1)) is None
    ]
    if missing:
        raise MissingMasterData("master data missing (" + ", ".join(missing) + "): run `flask seed` first")
    return centers


def _center_weights(rng: random.Random, centers: list[Center]) -> list[float]:
    """Each center's share (cumulative): its ward's population shared by the ward's centers,
    give or take 30%."""
    per_ward = Counter(center.ward_id for center in centers)
    weights = [
        (center.ward.population or 100_000) / per_ward[center.ward_id] * rng.uniform(0.7, 1.3)
        for center in centers
    ]
    return list(itertools.accumulate(weights))


def _first_active(session: Session, role: Role, **where) -> list[User]:
    statement = select(User).filter_by(role=role, active=True, **where).order_by(User.id)
    return list(session.scalars(statement))


def _account(
    session: Session, summary: GenerationSummary, role: Role, login: str, name: str, **place
) -> User:
    """A staff account for the generated history, with a password nobody knows (to be changed).

    One random password, hashed once for the run: hashing is slow by design, and nobody is
    meant to log in with it.
    """
    if summary.password_hash is None:
        summary.password_hash = accounts.hash_password(secrets.token_urlsafe(32))
    summary.accounts_created += 1
    user = User(
        login=login,
        display_name=name,
        password_hash=summary.password_hash,
        role=role,
        must_change_password=True,
        **place,
    )
    if role == Role.LIAISON:
        user.ward_id = session.get(Center, place["center_id"]).ward_id
    session.add(user)
    session.flush()
    return user


def _staff(session: Session, centers: list[Center], summary: GenerationSummary) -> Staff:
    """Who acts in the generated history (accounts made where a place has nobody)."""
    liaison = {}
    for center in centers:
        found = _first_active(session, Role.LIAISON, center_id=center.id)
        liaison[center.id] = (
            found[0]
            if found
            else _account(
                session,
                summary,
                Role.LIAISON,
                f"gen.liaison.{center.id}",
                f"合成データ {center.name} 地域担当",
                center_id=center.id,
            )
        ).id
    managers = {}
    for ward in session.scalars(select(Ward).order_by(Ward.sort_order)):
        found = _first_active(session, Role.WARD_MANAGER, ward_id=ward.id)[:2]
        for number in range(len(found) + 1, 3):
            login, name = f"gen.manager.{ward.id}.{number}", f"合成データ {ward.name} 管理職{number}"
            found.append(_account(session, summary, Role.WARD_MANAGER, login, name, ward_id=ward.id))
        managers[ward.id] = (found[0].id, found[1].id)
    bureau_staff = {}
    for bureau in session.scalars(select(Bureau).where(Bureau.active).order_by(Bureau.sort_order)):
        found = _first_active(session, Role.BUREAU_STAFF, bureau_id=bureau.id)
        bureau_staff[bureau.id] = (
            found[0]
            if found
            else _account(
                session,
                summary,
                Role.BUREAU_STAFF,
                f"gen.bureau.{bureau.id}",
                f"合成データ {bureau.name} 担当",
                bureau_id=bureau.id,
            )
        ).id
    return Staff(liaison, managers, bureau_staff)


def _world(session: Session, today: dt.date, answer_due_days: int, staff: Staff) -> World:
    categories = list(
        session.execute(
            select(Category.name, Category.id).where(Category.active).order_by(Category.sort_order)
        )
    )
    bureaus = {
        name: bureau_id
        for name, bureau_id in session.execute(select(Bureau.name, Bureau.id).where(Bureau.active))
    }
    fallback = next(iter(sorted(staff.bureau_staff)))
    lead_bureau = {}
    for name, _ in categories:
        chosen = next((b for b in LEAD_BUREAUS.get(name, ("政策局",)) if b in bureaus), None)
        bureau_id = bureaus[chosen] if chosen else fallback
        lead_bureau[name] = (bureau_id, next(n for n, i in bureaus.items() if i == bureau_id))
    kinds = list(
        session.scalars(select(ActivityKind.id).where(ActivityKind.active).order_by(ActivityKind.sort_order))
    )
    meeting_kinds = list(
        session.scalars(
            select(ActivityKind.id).where(ActivityKind.active, ActivityKind.name.like("会議出席%"))
        )
    )
    tables = {
        "activities": Activity.__table__,
        "ward_issues": WardIssue.__table__,
        "budget_lines": BudgetLine.__table__,
    }
    return World(
        today=today,
        answer_due_days=answer_due_days,
        staff=staff,
        vocabulary=Vocabulary.build([name for name, _ in categories]),
        category_ids=dict(categories),
        ward_codes=dict(session.execute(select(Ward.id, Ward.code)).tuples().all()),
        lead_bureau=lead_bureau,
        meeting_kind_ids=meeting_kinds or kinds,
        pools={name: load.IdPool(session, table) for name, table in tables.items()},
    )


def _number(session: Session, world: World, drafts: list[Draft]) -> None:
    """Ids and reference numbers of a chunk's requests (and of the issues they become), in time order."""
    for item, new_id in zip(
        drafts, load.take_ids(session, ServiceRequest.__table__, len(drafts)), strict=True
    ):
        item.id = new_id
    for (ward_id, year), group in itertools.groupby(
        sorted(drafts, key=lambda d: (d.ward_id, fiscal_year_of(d.received_on), d.received_on, d.id)),
        key=lambda d: (d.ward_id, fiscal_year_of(d.received_on)),
    ):
        group = list(group)
        for item, reference in zip(
            group, references.request_references(session, ward_id, year, len(group)), strict=True
        ):
            item.reference = reference
    escalated = sorted((d for d in drafts if d.escalate_on), key=lambda d: (d.ward_id, d.escalate_on, d.id))
    for (ward_id, year), group in itertools.groupby(
        escalated, key=lambda d: (d.ward_id, fiscal_year_of(d.escalate_on))
    ):
        group = list(group)
        code = world.ward_codes[ward_id]
        # the numbers ``references.issue_reference`` hands out one at a time, taken together
        numbers = references.reserve(session, f"K-{code}-{year}", len(group))
        for item, number in zip(group, numbers, strict=True):
            item.issue_reference = f"{code}-{year}-K{number:03d}"


def _write_chunk(
    writer: load.Writer, world: World, rng: random.Random, drafts: list[Draft], summary: GenerationSummary
) -> None:
    _number(writer.session, world, drafts)
    stories = [story(rng, world, item) for item in drafts]
    activities = [told.activity for told in stories if told.activity]
    tables = [
        (Activity.__table__, activities),
        (activity_liaisons, [{"activity_id": a["id"], "user_id": a["logged_by_id"]} for a in activities]),
        (WardIssue.__table__, [told.issue for told in stories if told.issue]),
        (ServiceRequest.__table__, [told.request for told in stories]),
        (BudgetLine.__table__, [told.line for told in stories if told.line]),
    ]
    events = [event for told in stories for event in told.ordered_events()]
    writer.submit(tables, events)
    summary.events += len(events)
    summary.requests += len(stories)
    summary.activities += len(activities)
    summary.ward_issues += len(tables[2][1])
    summary.budget_lines += len(tables[4][1])
    summary.states.update(told.request["state"] for told in stories)
