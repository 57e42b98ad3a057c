"""The fiscal-year report of ward issues: its figures, and the XLSX file made in the background.

``fiscal_year_report`` reads every figure from summary rows (``reporting.counters``), so a page can show
the same numbers; the job ``report_xlsx`` writes them into a workbook under ``REPORT_DIR``. A
report job is seen only by whoever asked for it, and by the admin (``may_see_job``).

What the figures mean, for fiscal year Y:
- 登録: issues of fiscal year Y that were registered (any state but draft and withdrawn);
- 対応する / 一部対応 / 対応しない: those of them with that decision;
- 予算化: those of them with at least one bureau budget line (of any year) or "within the
  existing budget";
- 予算額合計: the bureau budget lines of fiscal year Y (of issues of any year), so each line is
  counted in the report of the year it is budgeted for, and once only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, has_request_context
from flask_babel import force_locale
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..background import jobs
from ..finding.exports import neutralise
from ..formatting import datetime_label, fiscal_year_label, fiscal_year_of, fiscal_years_between
from ..models import BudgetLine, Bureau, User, Ward, WardIssue, utcnow
from ..ops_models import OutboxJob
from ..states import REGISTERED_ISSUE_STATES, Decision, Funding, JobState, Role
from ..wording import N_, say, translate
from . import counters

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REGISTERED_STATES = REGISTERED_ISSUE_STATES
NO_LEAD_BUREAU = N_("主管局未定")
DECIDED = {
    Decision.ADOPT.value: "adopted",
    Decision.PARTIAL.value: "partial",
    Decision.REJECT.value: "rejected",
}
# The headers in Japanese (marked): the files write them in the user's language.
FIGURE_HEADERS = (
    N_("登録"),
    N_("対応する"),
    N_("一部対応"),
    N_("対応しない"),
    N_("予算化"),
    N_("予算額合計 (千円)"),
)
PROJECT_HEADERS = (
    N_("事業名"),
    N_("局"),
    N_("区"),
    N_("区重要課題番号"),
    N_("予算額 (円)"),
    N_("決算額 (円)"),
)
JOB_NAME = "report_xlsx"
FINISHED = (JobState.DONE, JobState.FAILED)
RECENT_JOBS = 10


@dataclass(frozen=True)
class Figures:
    """One row of the report: a ward, a bureau, or the total."""

    name: str
    registered: int = 0
    adopted: int = 0
    partial: int = 0
    rejected: int = 0
    budgeted: int = 0
    allocated_yen: int = 0

    def counts(self) -> tuple[int, ...]:
        return (self.registered, self.adopted, self.partial, self.rejected, self.budgeted, self.allocated_yen)


@dataclass(frozen=True)
class BudgetedProject:
    project_name: str
    bureau: str
    ward: str
    issue_reference: str
    allocated_yen: int
    executed_yen: int | None


@dataclass(frozen=True)
class FiscalYearReport:
    fiscal_year: int
    wards: list[Figures]
    bureaus: list[Figures]
    projects: list[BudgetedProject]
    projects_total: int  # how many there are (``projects`` holds the first ``project_limit`` of them)

    @property
    def label(self) -> str:
        return fiscal_year_label(self.fiscal_year)

    @property
    def total(self) -> Figures:
        sums = [sum(column) for column in zip(*(row.counts() for row in self.wards), strict=True)]
        total = translate(N_("合計"))
        return Figures(total, *sums) if sums else Figures(total)


def _figures(session: Session, fiscal_year: int) -> tuple[dict, dict]:
    """The figures per ward and per lead bureau (None: none yet), from the summary rows kept by
    ``effects.report_counters``: two reads of a few hundred rows at most, whatever the year's size."""
    by_ward: dict[int | None, Counter] = defaultdict(Counter)
    by_bureau: dict[int | None, Counter] = defaultdict(Counter)
    for ward_id, bureau_id, decision, budgeted, issues in counters.issue_figures(
        session, fiscal_year, REGISTERED_STATES
    ):
        figures = Counter(registered=issues, budgeted=issues if budgeted else 0)
        if decision in DECIDED:
            figures[DECIDED[decision]] = issues
        by_ward[ward_id].update(figures)
        by_bureau[bureau_id].update(figures)
    for _, ward_id, bureau_id, yen in counters.budget_yen(session, fiscal_year, fiscal_year):
        by_ward[ward_id]["allocated_yen"] += yen
        by_bureau[bureau_id]["allocated_yen"] += yen
    return by_ward, by_bureau


def fiscal_years(session: Session, today: dt.date) -> list[int]:
    """From the first fiscal year with a ward issue to the current one, newest first."""
    current = fiscal_year_of(today)
    first = session.execute(select(func.min(WardIssue.fiscal_year))).scalar_one() or current
    return fiscal_years_between(first, current)


def fiscal_year_report(
    session: Session, fiscal_year: int, project_limit: int | None = None
) -> FiscalYearReport:
    """The report's figures per ward and per lead bureau, and the list of budgeted projects
    (its first ``project_limit`` with their total count, for a page; all of them for a file)."""
    by_ward, by_bureau = _figures(session, fiscal_year)
    wards = [
        Figures(ward.name, **by_ward.get(ward.id, {}))
        for ward in session.scalars(select(Ward).order_by(Ward.sort_order, Ward.id))
    ]
    bureaus = [
        Figures(bureau.name, **by_bureau.get(bureau.id, {}))
        for bureau in session.scalars(select(Bureau).order_by(Bureau.sort_order, Bureau.id))
        if bureau.active or bureau.id in by_bureau
    ]
    if None in by_bureau:
        bureaus.append(Figures(translate(NO_LEAD_BUREAU), **by_bureau[None]))
    budgeted = (
        BudgetLine.funding == Funding.BUREAU,
        BudgetLine.fiscal_year == fiscal_year,
        BudgetLine.cancelled_at.is_(None),
    )
    projects = [
        BudgetedProject(*row)
        for row in session.execute(
            select(
                BudgetLine.project_name,
                func.coalesce(Bureau.name, translate(NO_LEAD_BUREAU)),
                Ward.name,
                WardIssue.reference,
                BudgetLine.allocated_yen,
                BudgetLine.executed_yen,
            )
            .join(WardIssue, BudgetLine.ward_issue_id == WardIssue.id)
            .join(Ward, WardIssue.ward_id == Ward.id)
            .outerjoin(Bureau, WardIssue.lead_bureau_id == Bureau.id)
            .where(*budgeted)
            .order_by(Ward.sort_order, WardIssue.reference, BudgetLine.id)
            .limit(project_limit)
        )
    ]
    total = len(projects)
    if project_limit is not None:
        total = counters.budget_line_count(session, fiscal_year)
    return FiscalYearReport(fiscal_year, wards, bureaus, projects, int(total))


# --- the XLSX file -------------------------------------------------------------------------


def download_name(fiscal_year: int) -> str:
    """``区重要課題報告書_令和6年度.xlsx``: the name the file is saved under on the user's PC."""
    year = fiscal_year_label(fiscal_year).split(" ")[0]
    return say(N_("区重要課題報告書_%(year)s.xlsx"), year=year)


def report_dir() -> Path:
    return Path(current_app.config["REPORT_DIR"])


def _title(sheet: Worksheet, text: str) -> None:
    sheet.append([neutralise(text)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([say(N_("作成日時: %(moment)s"), moment=datetime_label(utcnow()))])
    sheet.append([])


def _header(sheet: Worksheet, headers) -> None:
    sheet.append([neutralise(translate(header)) for header in headers])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)


def _figures_sheet(sheet: Worksheet, report: FiscalYearReport, group: str, rows: list[Figures]) -> None:
    _title(sheet, say(N_("%(year)s 区重要課題 %(group)s別集計"), year=report.label, group=translate(group)))
    _header(sheet, (group, *FIGURE_HEADERS))
    for row in [*rows, report.total]:
        *counts, allocated_yen = row.counts()
        sheet.append([neutralise(row.name), *counts, _thousand_yen(allocated_yen)])
        sheet.cell(sheet.max_row, len(FIGURE_HEADERS) + 1).number_format = (
            "#,##0" if allocated_yen % 1000 == 0 else "#,##0.000"
        )
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["G"].width = 18


def _thousand_yen(amount: int) -> int | float:
    return amount // 1000 if amount % 1000 == 0 else amount / 1000


def _projects_sheet(sheet: Worksheet, report: FiscalYearReport) -> None:
    _title(sheet, say(N_("%(year)s 予算化された事業"), year=report.label))
    _header(sheet, PROJECT_HEADERS)
    for project in report.projects:
        sheet.append([neutralise(value) for value in dataclasses.astuple(project)])
        for column in (5, 6):
            sheet.cell(sheet.max_row, column).number_format = "#,##0"
    if not report.projects:
        sheet.append([translate(N_("(この年度に予算化された事業はありません)"))])
    for column, width in zip("ABCDEF", (36, 18, 10, 18, 16, 16), strict=True):
        sheet.column_dimensions[column].width = width


def write_workbook(report: FiscalYearReport, path: Path) -> None:
    """Write the three sheets; the file appears complete or not at all (written, then renamed)."""
    book = Workbook()
    _figures_sheet(book.active, report, N_("区"), report.wards)
    book.active.title = translate(N_("区別"))
    _figures_sheet(book.create_sheet(translate(N_("局別"))), report, N_("局"), report.bureaus)
    _projects_sheet(book.create_sheet(translate(N_("予算化事業"))), report)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    book.save(partial)
    os.replace(partial, path)


# --- the job, and who sees it --------------------------------------------------------------


def _requester_language(session: Session, outbox_id: int) -> str | None:
    """The language kept on the account of whoever asked for the report (None: the system)."""
    row = session.get(OutboxJob, outbox_id)
    return row.requested_by.locale if row is not None and row.requested_by is not None else None


@contextmanager
def in_language(language: str | None) -> Iterator[None]:
    """Texts in ``language`` while the file is written, also in a worker (outside any request).

    In a request (a job run inline) the request's own language already holds."""
    if not language or has_request_context():
        yield
        return
    with current_app.test_request_context(), force_locale(language):
        yield


def request_report(session: Session, user: User, fiscal_year: int) -> OutboxJob:
    """Ask for the XLSX report of ``fiscal_year`` for ``user``; it is made after the commit."""
    return jobs.request_job(session, JOB_NAME, {"fiscal_year": fiscal_year}, requested_by_id=user.id)


def recent_jobs(session: Session, user: User, limit: int = RECENT_JOBS) -> Sequence[OutboxJob]:
    """The report jobs ``user`` asked for last, newest first."""
    return session.scalars(
        select(OutboxJob)
        .where(OutboxJob.name == JOB_NAME, OutboxJob.requested_by_id == user.id)
        .order_by(OutboxJob.id.desc())
        .limit(limit)
    ).all()


def report_job(session: Session, outbox_id: int) -> OutboxJob | None:
    """The report job with this id; None if there is none, or it is a job of another kind."""
    row = session.get(OutboxJob, outbox_id)
    return row if row is not None and row.name == JOB_NAME else None


def may_see_job(user: User, row: OutboxJob) -> bool:
    """A report job is seen by whoever asked for it, and by the admin."""
    return user.role == Role.ADMIN or row.requested_by_id == user.id


def is_finished(row: OutboxJob) -> bool:
    return row.state in FINISHED


def report_file(row: OutboxJob) -> Path | None:
    """The file a job made; None until it is done, or if the file is no longer there."""
    name = (row.result or {}).get("file")
    if row.state != JobState.DONE or not name:
        return None
    path = report_dir() / name
    return path if path.is_file() else None


@jobs.job(JOB_NAME, N_("年度別 区重要課題報告書の作成"), timeout=600, max_attempts=2, retry_intervals=(30,))
def report_xlsx(ctx: jobs.JobContext, fiscal_year: int) -> None:
    with ctx.session() as session:
        language = _requester_language(session, ctx.outbox_id)
        with in_language(language):
            report = fiscal_year_report(session, fiscal_year)
    ctx.progress(1, 2)
    name = f"ward-issues-fy{fiscal_year}-{ctx.outbox_id}.xlsx"
    with in_language(language):
        write_workbook(report, report_dir() / name)
    ctx.progress(2, 2)
    ctx.set_result({"file": name, "fiscal_year": fiscal_year})
