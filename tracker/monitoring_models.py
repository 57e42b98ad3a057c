"""Models of the city's monitoring and sharing around the ward issues: the good-practice library
(事例集), the budget calendar (予算編成スケジュール) and the indicators (指標) with their targets
and entered values.

They refer to the city's models; those never refer back, so this module imports
``tracker.models`` and not the other way round.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .model_types import UTCDateTime, enum_column, utcnow
from .models import User, Ward, WardIssue
from .states import IndicatorKind


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


class Indicator(db.Model):
    """指標: what the city monitors, per ward and fiscal year, against a target.

    A computed indicator names its ``metric`` (a key of ``tracker.reporting.indicators``) and is
    worked out from the data; an entered one (住民満足度 from a survey) takes its values from
    ``IndicatorValue``. ``higher_is_better`` says which way the target is met.
    """

    __tablename__ = "indicators"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[IndicatorKind] = enum_column(IndicatorKind)
    metric: Mapped[str | None] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(20))
    higher_is_better: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    targets: Mapped[list[IndicatorTarget]] = relationship(back_populates="indicator")
    values: Mapped[list[IndicatorValue]] = relationship(back_populates="indicator")

    def __str__(self) -> str:
        return self.name


class IndicatorTarget(db.Model):
    """The target of one indicator for one ward (``ward_id`` NULL: the city as a whole) and year."""

    __tablename__ = "indicator_targets"
    __table_args__ = (UniqueConstraint("indicator_id", "ward_id", "fiscal_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), index=True)
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("wards.id"), index=True)
    fiscal_year: Mapped[int] = mapped_column(index=True)
    target: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    indicator: Mapped[Indicator] = relationship(back_populates="targets")
    ward: Mapped[Ward | None] = relationship()


class IndicatorValue(db.Model):
    """An entered actual value (a survey's result) of one indicator, ward and fiscal year."""

    __tablename__ = "indicator_values"
    __table_args__ = (UniqueConstraint("indicator_id", "ward_id", "fiscal_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), index=True)
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("wards.id"), index=True)
    fiscal_year: Mapped[int] = mapped_column(index=True)
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    source: Mapped[str] = mapped_column(String(200))
    measured_on: Mapped[dt.date] = mapped_column(Date)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    indicator: Mapped[Indicator] = relationship(back_populates="values")
    ward: Mapped[Ward | None] = relationship()


class IssuePublication(db.Model):
    """公開内容: what the public pages show of a ward issue, written for residents and approved by
    the ward (公開内容の確認), separate from the internal texts that staff keep writing.

    Nothing is public until a ward manager has approved a text: ``approved_at`` set. An edit after
    approval takes the issue off the public pages until it is approved again.
    """

    __tablename__ = "issue_publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_issue_id: Mapped[int] = mapped_column(ForeignKey("ward_issues.id"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    decision_text: Mapped[str] = mapped_column(Text, default="")
    budget_text: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(Text, default="")
    progress_text: Mapped[str] = mapped_column(Text, default="")
    written_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)

    ward_issue: Mapped[WardIssue] = relationship()
