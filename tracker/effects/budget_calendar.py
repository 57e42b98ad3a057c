"""予算編成スケジュール: the city's dates for compiling next year's budget, and the ward issues
that will miss that budget unless they move by the next of those dates.

A calendar of ``budget_year`` says by when ward issues must have been sent to their bureaus
(``send_by``), by when the bureaus' consultation results are due (``results_by``) and when the
budget is decided (``decided_on``). ``problems`` and ``save_calendar`` are the admin's rules
for setting one (the caller records the change in the admin log and commits); ``at_risk``
reads, for a day, the next calendar with a date still ahead and the issues it puts at risk:
- until ``send_by`` (that day included): issues not yet sent (起案, 決裁待ち, 区重要課題決定),
  which must be sent to the bureau (「局へ送付」);
- until ``results_by``: issues in consultation without a result (局協議中, 継続協議 included,
  and 区へ照会中), whose result must be registered (「協議結果の登録」).
After ``results_by`` nothing more can make the budget, so nothing is listed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, joinedload

from ..formatting import date_label, fiscal_year_label
from ..models import User, WardIssue
from ..monitoring_models import BudgetCalendar
from ..states import IssueState
from ..wording import N_, language, say, translate
from .support import WorkflowError

MIN_BUDGET_YEAR, MAX_BUDGET_YEAR = 1990, 2200
# In Japanese (marked): ``translate`` them to show them.
DATE_FIELDS = {
    "send_by": N_("局への送付期限"),
    "results_by": N_("協議結果の期限"),
    "decided_on": N_("予算の決定日"),
}
SEND_STEP, RESULT_STEP = N_("局へ送付"), N_("協議結果の登録")
UNSENT_STATES = (IssueState.DRAFT, IssueState.AWAITING_APPROVAL, IssueState.REGISTERED)
CONSULTATION_STATES = (IssueState.CONSULTING, IssueState.INQUIRING)


def problems(budget_year: int | None, dates: dict[str, dt.date | None]) -> dict[str, str]:
    """What is wrong with a calendar, per field (``budget_year`` or a key of ``DATE_FIELDS``),
    in the user's language; empty when it may be saved."""
    if budget_year is None or not MIN_BUDGET_YEAR <= budget_year <= MAX_BUDGET_YEAR:
        return {"budget_year": translate(N_("予算の年度を選んでください。"))}
    found = {
        name: say(N_("%(label)sを入力してください。"), label=translate(label))
        for name, label in DATE_FIELDS.items()
        if dates.get(name) is None
    }
    if found:
        return found
    start = dt.date(budget_year, 4, 1)
    for name, label in DATE_FIELDS.items():
        if dates[name] >= start:
            found[name] = say(
                N_("%(label)sは%(year)sが始まる前 (%(last_day)sまで) の日付にしてください。"),
                label=translate(label),
                year=fiscal_year_label(budget_year, language()),
                last_day=date_label(start - dt.timedelta(days=1), language()),
            )
    if "results_by" not in found and dates["results_by"] < dates["send_by"]:
        found["results_by"] = translate(
            N_("協議結果の期限は局への送付期限と同じ日か、それより後の日付にしてください。")
        )
    if "decided_on" not in found and dates["decided_on"] < dates["results_by"]:
        found["decided_on"] = translate(
            N_("予算の決定日は協議結果の期限と同じ日か、それより後の日付にしてください。")
        )
    return found


def save_calendar(
    session: Session, actor: User, budget_year: int, dates: dict[str, dt.date | None]
) -> BudgetCalendar:
    """Set the calendar of ``budget_year`` (a new one or a change of the dates); a broken rule
    raises ``WorkflowError`` before anything is changed."""
    found = problems(budget_year, dates)
    if found:
        raise WorkflowError(next(iter(found.values())))
    calendar = session.get(BudgetCalendar, budget_year)
    if calendar is None:
        calendar = BudgetCalendar(budget_year=budget_year)
        session.add(calendar)
    for name in DATE_FIELDS:
        setattr(calendar, name, dates[name])
    calendar.updated_by_id = actor.id
    session.flush()
    return calendar


def calendars(session: Session) -> list[BudgetCalendar]:
    return session.scalars(select(BudgetCalendar).order_by(BudgetCalendar.budget_year.desc())).all()


@dataclass(frozen=True)
class AtRisk:
    """An issue that misses the budget unless ``step`` is done by ``due_on``."""

    issue: WardIssue
    step: str
    due_on: dt.date
    days_left: int


@dataclass(frozen=True)
class Outlook:
    """The next calendar for a day, the issues it puts at risk (the first ``limit``) and how many."""

    calendar: BudgetCalendar
    items: list[AtRisk]
    total: int


def next_calendar(session: Session, today: dt.date) -> BudgetCalendar | None:
    """The calendar of the nearest budget year with a date on or after ``today``."""
    return session.scalars(
        select(BudgetCalendar)
        .where(BudgetCalendar.decided_on >= today)
        .order_by(BudgetCalendar.budget_year)
        .limit(1)
    ).first()


def at_risk(
    session: Session,
    today: dt.date,
    *,
    ward_id: int | None = None,
    bureau_id: int | None = None,
    limit: int | None = None,
) -> Outlook | None:
    """The issues at risk on ``today``: of one ward, of one lead bureau (which only sees issues
    sent to it), or of the whole city; None when no calendar has a date ahead. Two queries,
    three with a ``limit`` (the count), whatever the number of issues."""
    calendar = next_calendar(session, today)
    if calendar is None:
        return None
    waiting = []
    if today <= calendar.send_by and bureau_id is None:
        waiting.append(WardIssue.state.in_(UNSENT_STATES))
    if today <= calendar.results_by:
        waiting.append(WardIssue.state.in_(CONSULTATION_STATES))
    if not waiting:
        return Outlook(calendar, [], 0)
    where = [or_(*waiting)]
    if ward_id is not None:
        where.append(WardIssue.ward_id == ward_id)
    if bureau_id is not None:
        where.append(WardIssue.lead_bureau_id == bureau_id)
    statement = (
        select(WardIssue)
        .options(joinedload(WardIssue.ward), joinedload(WardIssue.lead_bureau))
        .where(*where)
        .order_by(case((WardIssue.state.in_(UNSENT_STATES), 0), else_=1), WardIssue.id)
    )
    issues = session.scalars(statement.limit(limit)).all()
    items = []
    for issue in issues:
        step, due_on = (
            (SEND_STEP, calendar.send_by)
            if issue.state in UNSENT_STATES
            else (RESULT_STEP, calendar.results_by)
        )
        items.append(AtRisk(issue, step, due_on, (due_on - today).days))
    total = len(items)
    if limit is not None:
        total = session.execute(select(func.count(WardIssue.id)).where(*where)).scalar_one()
    return Outlook(calendar, items, int(total))
