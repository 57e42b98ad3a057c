"""Demo of the budget calendar (予算編成スケジュール), so that `make run` shows on the ward and
bureau dashboards the issues that will miss next year's budget unless they move.

The calendar is that of the next budget year relative to today: ward issues sent to the
bureaus by the end of October, consultation results by mid-December, the budget decided in
early February. Idempotent: a year that already has a calendar is left as it is.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ..formatting import fiscal_year_of
from ..monitoring_models import BudgetCalendar


def demo_calendar(today: dt.date) -> BudgetCalendar:
    """The calendar for the budget of the fiscal year after ``today``'s."""
    year = fiscal_year_of(today)
    return BudgetCalendar(
        budget_year=year + 1,
        send_by=dt.date(year, 10, 31),
        results_by=dt.date(year, 12, 15),
        decided_on=dt.date(year + 1, 2, 5),
    )


def load_demo_calendar(session: Session, today: dt.date) -> bool:
    """Add the demo calendar unless its year has one; True if it was added."""
    calendar = demo_calendar(today)
    if session.get(BudgetCalendar, calendar.budget_year) is not None:
        return False
    session.add(calendar)
    session.flush()
    return True
