"""Models of the city's monitoring and sharing around the ward issues: the good-practice library
(事例集) and the budget calendar (予算編成スケジュール).

They refer to the city's models; those never refer back, so this module imports
``tracker.models`` and not the other way round.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .model_types import UTCDateTime, utcnow
from .models import User, WardIssue


class GoodPractice(db.Model):
    """事例集: a completed ward issue a ward manager marked as good practice, with what worked."""

    __tablename__ = "good_practices"

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_issue_id: Mapped[int] = mapped_column(ForeignKey("ward_issues.id"), unique=True)
    summary: Mapped[str] = mapped_column(Text)
    marked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    ward_issue: Mapped[WardIssue] = relationship()
    marked_by: Mapped[User] = relationship()


class BudgetCalendar(db.Model):
    """予算編成スケジュール: the city's dates for compiling the budget of ``budget_year``.

    By ``send_by`` ward issues must have been sent to their bureaus, by ``results_by`` the
    bureaus' consultation results are due, on ``decided_on`` the budget is decided.
    """

    __tablename__ = "budget_calendars"

    budget_year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    send_by: Mapped[dt.date] = mapped_column(Date)
    results_by: Mapped[dt.date] = mapped_column(Date)
    decided_on: Mapped[dt.date] = mapped_column(Date)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
