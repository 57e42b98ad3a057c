"""Summary tables: counts of requests and ward issues kept current with every write.

The dashboards and reports read their figures here instead of counting ``requests`` or
``ward_issues``, so a page costs the same with ten thousand requests or a million. Each row is
a key and ``count``, the number of rows of the source table with that key; rows are kept by
``tracker.effects.counters`` in the transaction of the change that moves them (a flush
listener, and explicit deltas for bulk INSERTs), with atomic ``count = count + delta`` UPSERTs
so that concurrent transactions never lose a count. A row whose count falls to 0 is deleted.

- ``request_state_counts`` (ward, center, state): the open counts per state, the triage count,
  the open requests of a center (the overdue figures are these minus the not-yet-due ones);
- ``request_month_counts`` (ward, fiscal year of the request, month of receipt): the monthly
  figures and the requests received in a fiscal year;
- ``open_request_due`` (center, answer due date, state, ward), open states only: the requests
  not yet due are a small range of dates from today on, whatever the size of the table;
- ``answer_days`` (ward, fiscal year, days from receipt to answer), answered requests only: the
  median days to answer is a weighted median over at most (distinct day counts) rows;
- ``issue_counts`` (ward, fiscal year, state, decision; '' for none): the ward issues by state
  and by decision;
- ``bureau_issue_counts`` (bureau, state): the issues sent to the bureaus, under their lead
  bureau and each related bureau (once each), as a bureau's inbox counts them;
- ``issue_year_figures`` (fiscal year, ward, lead bureau, state, decision, budgeted): the
  fiscal-year report's counts by ward and by lead bureau at once (0 for no lead bureau, '' for
  no decision; budgeted 1 when the issue has a current bureau budget line of any year or is
  within the existing budget);
- ``issue_budget_lines`` and ``issue_budget_yen`` (fiscal year of the line, the issue's ward and
  lead bureau): the current bureau budget lines, their number and their allocated yen (a sum,
  not a count: ``MEASURE`` names the column);
- ``activity_counts`` and ``gathered_counts`` (ward, fiscal year of the activity): the field
  activities, and the requests gathered in them, as the city publishes them (55,960 and 5,084).

States and decisions are stored as their values (the strings of the source columns).

Two indexes of ``requests`` serve the personal dashboard's lists (declared here beside the
figures they go with): the open requests of a center by due date (a partial index, so the
first rows of a liaison's queue are read in order however many requests were answered), and
the requests a user logged, newest first.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db
from .models import ServiceRequest, WardIssue
from .states import OPEN_REQUEST_STATES


class RequestStateCount(db.Model):
    __tablename__ = "request_state_counts"

    ward_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    center_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class RequestMonthCount(db.Model):
    __tablename__ = "request_month_counts"
    __table_args__ = (Index("ix_request_month_counts_month", "received_month"),)

    ward_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_month: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # the 1st of the month
    count: Mapped[int] = mapped_column(Integer)


class OpenRequestDue(db.Model):
    __tablename__ = "open_request_due"
    __table_args__ = (Index("ix_open_request_due_due", "answer_due_on"),)

    center_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    answer_due_on: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    state: Mapped[str] = mapped_column(String(32), primary_key=True)
    ward_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class AnswerDays(db.Model):
    __tablename__ = "answer_days"

    ward_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    days: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class IssueCount(db.Model):
    __tablename__ = "issue_counts"
    __table_args__ = (Index("ix_issue_counts_fiscal_year", "fiscal_year"),)

    ward_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(32), primary_key=True)
    decision: Mapped[str] = mapped_column(String(32), primary_key=True)  # '' while undecided
    count: Mapped[int] = mapped_column(Integer)


class ActivityCount(db.Model):
    """活動記録 per (ward, fiscal year): the city's published count of field activities."""

    __tablename__ = "activity_counts"

    ward_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class GatheredCount(db.Model):
    """Requests gathered in an activity, per the ACTIVITY's (ward, fiscal year): 活動で把握した要望."""

    __tablename__ = "gathered_counts"

    ward_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class BureauIssueCount(db.Model):
    """Ward issues sent to the bureaus, per (bureau that sees it, state): a bureau's inbox."""

    __tablename__ = "bureau_issue_counts"

    bureau_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class IssueYearFigure(db.Model):
    """Ward issues per (fiscal year, ward, lead bureau, state, decision, budgeted)."""

    __tablename__ = "issue_year_figures"

    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_bureau_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: none yet
    state: Mapped[str] = mapped_column(String(32), primary_key=True)
    decision: Mapped[str] = mapped_column(String(32), primary_key=True)  # '' while undecided
    budgeted: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1: budgeted, 0: not
    count: Mapped[int] = mapped_column(Integer)


class IssueBudgetLines(db.Model):
    """Current bureau budget lines per (the line's fiscal year, its issue's ward and lead bureau)."""

    __tablename__ = "issue_budget_lines"

    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_bureau_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: none
    count: Mapped[int] = mapped_column(Integer)


class IssueBudgetYen(db.Model):
    """The allocated yen of those lines, per the same key (a sum: ``MEASURE``)."""

    __tablename__ = "issue_budget_yen"
    MEASURE = "allocated_yen"

    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_bureau_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: none
    allocated_yen: Mapped[int] = mapped_column(BigInteger)


SUMMARY_TABLES = (
    RequestStateCount,
    RequestMonthCount,
    OpenRequestDue,
    AnswerDays,
    IssueCount,
    ActivityCount,
    GatheredCount,
    BureauIssueCount,
    IssueYearFigure,
    IssueBudgetLines,
    IssueBudgetYen,
)


OPEN_STATES_SQL = "state IN ({})".format(", ".join(f"'{state.value}'" for state in OPEN_REQUEST_STATES))
Index(
    "ix_requests_open_center_due",
    ServiceRequest.center_id,
    ServiceRequest.answer_due_on,
    ServiceRequest.id,
    postgresql_where=text(OPEN_STATES_SQL),
    sqlite_where=text(OPEN_STATES_SQL),
)
Index(
    "ix_requests_logged_created_id", ServiceRequest.logged_by_id, ServiceRequest.created_at, ServiceRequest.id
)
# Requests bundled in an issue, by category: the other wards' similar issues (finding.similar_issues).
Index(
    "ix_requests_category_issue",
    ServiceRequest.category_id,
    ServiceRequest.ward_issue_id,
    postgresql_where=text("ward_issue_id IS NOT NULL"),
    sqlite_where=text("ward_issue_id IS NOT NULL"),
)
# A bureau's lists on its dashboard (the consultations it leads, the issues it carries out): its
# issues in a state, in the order they were sent.
Index(
    "ix_ward_issues_lead_state_sent",
    WardIssue.lead_bureau_id,
    WardIssue.state,
    WardIssue.sent_at,
    WardIssue.id,
)
# The fiscal-year report's list of budgeted projects joins the year's budget lines with their
# issues: read from this index alone, not from every issue's row.
Index(
    "ix_ward_issues_project_keys",
    WardIssue.id,
    WardIssue.ward_id,
    WardIssue.lead_bureau_id,
    WardIssue.reference,
)
