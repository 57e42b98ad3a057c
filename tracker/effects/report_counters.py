"""The fiscal-year report's figures (``issue_year_figures``, ``issue_budget_lines``,
``issue_budget_yen``) moved by a flush.

An issue counts in ``issue_year_figures`` under its fiscal year, ward, lead bureau, state,
decision and whether it is budgeted — budgeted depends on its budget lines too (a current bureau
line of any year, or within the existing budget). Each current bureau budget line counts, with
its yen, under its own fiscal year and its issue's ward and lead bureau. So a change of an issue
or of one of its budget lines can move any of its keys; rather than derive the old keys from the
attributes' history, the issues a flush touches are read from the database twice: before the
flush (their old keys lose one) and after it (their new keys gain one), in the same
transaction. Two small queries each time, and only in a flush that writes an issue or a line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import case, exists, func, inspect, or_, select
from sqlalchemy.orm import Session

from ..models import BudgetLine, WardIssue
from ..states import Funding
from ..summary_models import IssueBudgetLines, IssueBudgetYen, IssueYearFigure

ISSUE_COLUMNS = ("fiscal_year", "ward_id", "lead_bureau_id", "state", "decision", "within_existing_budget")
LINE_COLUMNS = ("ward_issue_id", "funding", "fiscal_year", "allocated_yen", "cancelled_at")
BEFORE = "counters_report_ids"  # session.info: the ids of the issues read before the flush
TABLES = (IssueYearFigure, IssueBudgetLines, IssueBudgetYen)


def _moves(obj, columns: tuple[str, ...], relationship: str) -> bool:
    state = inspect(obj)
    history = state.attrs[relationship].history
    return any(name in state.committed_state for name in columns) or bool(history.added or history.deleted)


def _line_issue_ids(line: BudgetLine) -> set[int]:
    """The issues a budget line belongs to now: by id, or by the relationship set as an object
    before its foreign key follows (the one it belonged to is read from the database)."""
    ids = {line.ward_issue_id}
    history = inspect(line).attrs["ward_issue"].history
    for issue in (*history.added, *history.unchanged, *history.deleted):
        if issue is not None and inspect(issue).identity:
            ids.add(inspect(issue).identity[0])
    return {issue_id for issue_id in ids if isinstance(issue_id, int)}


def _touched(session: Session) -> set[int]:
    """The ids of the issues already in the database whose figures this flush may move."""
    ids: set[int] = set()
    stored_lines: list[int] = []
    for obj in (*session.new, *session.dirty, *session.deleted):
        if type(obj) is WardIssue and inspect(obj).persistent:
            if obj in session.deleted or _moves(obj, ISSUE_COLUMNS, "lead_bureau"):
                ids.add(obj.id)
        elif type(obj) is BudgetLine:
            unchanged = obj in session.dirty and not _moves(obj, LINE_COLUMNS, "ward_issue")
            if unchanged and obj not in session.deleted:
                continue
            ids |= _line_issue_ids(obj)
            if inspect(obj).persistent:
                stored_lines.append(obj.id)
    if stored_lines:  # the issue each line belongs to in the database, whatever was loaded
        ids |= set(
            session.scalars(
                select(BudgetLine.ward_issue_id).where(
                    BudgetLine.id.in_(stored_lines), BudgetLine.ward_issue_id.is_not(None)
                )
            )
        )
    return ids


def _current_bureau_line():
    return (BudgetLine.funding == Funding.BUREAU, BudgetLine.cancelled_at.is_(None))


def keys_of(session: Session, issue_ids: Iterable[int]) -> dict[type, Counter]:
    """The rows the issues ``issue_ids`` count in, as the database has them now (two queries)."""
    ids = sorted(issue_ids)
    found: dict[type, Counter] = {table: Counter() for table in TABLES}
    if not ids:
        return found
    budgeted = or_(
        WardIssue.within_existing_budget,
        exists().where(BudgetLine.ward_issue_id == WardIssue.id, *_current_bureau_line()),
    )
    lead = func.coalesce(WardIssue.lead_bureau_id, 0)
    for row in session.execute(
        select(
            WardIssue.fiscal_year,
            WardIssue.ward_id,
            lead,
            WardIssue.state,
            WardIssue.decision,
            case((budgeted, 1), else_=0),
        ).where(WardIssue.id.in_(ids))
    ):
        fiscal_year, ward_id, lead_id, state, decision, is_budgeted = row
        key = (fiscal_year, ward_id, lead_id, _value(state), _value(decision) or "", is_budgeted)
        found[IssueYearFigure][key] += 1
    for fiscal_year, ward_id, lead_id, yen in session.execute(
        select(BudgetLine.fiscal_year, WardIssue.ward_id, lead, BudgetLine.allocated_yen)
        .join(WardIssue, BudgetLine.ward_issue_id == WardIssue.id)
        .where(WardIssue.id.in_(ids), *_current_bureau_line())
    ):
        found[IssueBudgetLines][(fiscal_year, ward_id, lead_id)] += 1
        found[IssueBudgetYen][(fiscal_year, ward_id, lead_id)] += int(yen)
    return found


def _value(value):
    return getattr(value, "value", value)


def before_flush(session: Session) -> None:
    """Read the touched issues' rows before the flush writes over them; they lose one after it."""
    ids = _touched(session)
    session.info[BEFORE] = (ids, keys_of(session, ids))


def add_deltas(session: Session, deltas: dict[type, Counter]) -> None:
    """Add this flush's changes of the report's figures to ``deltas`` (after the flush)."""
    ids, before = session.info.pop(BEFORE, (set(), {}))
    ids = ids | {obj.id for obj in session.new if type(obj) is WardIssue}
    after = keys_of(session, ids)
    for table in TABLES:
        counts = deltas.setdefault(table, Counter())
        for key, value in before.get(table, Counter()).items():
            counts[key] -= value
        for key, value in after[table].items():
            counts[key] += value


def fresh_queries() -> dict[type, str]:
    """The GROUP BYs that compute the three tables from scratch."""
    current = "budget_lines.funding = 'bureau' AND budget_lines.cancelled_at IS NULL"
    budgeted = (
        "CASE WHEN ward_issues.within_existing_budget OR EXISTS (SELECT 1 FROM budget_lines "
        f"WHERE budget_lines.ward_issue_id = ward_issues.id AND {current}) THEN 1 ELSE 0 END"
    )
    issue_key = (
        f"fiscal_year, ward_id, COALESCE(lead_bureau_id, 0), state, COALESCE(decision, ''), {budgeted}"
    )
    line_key = "budget_lines.fiscal_year, ward_issues.ward_id, COALESCE(ward_issues.lead_bureau_id, 0)"
    lines = (
        f"FROM budget_lines JOIN ward_issues ON budget_lines.ward_issue_id = ward_issues.id WHERE {current}"
    )
    return {
        IssueYearFigure: f"SELECT {issue_key}, COUNT(*) FROM ward_issues GROUP BY {issue_key}",
        IssueBudgetLines: f"SELECT {line_key}, COUNT(*) {lines} GROUP BY {line_key}",
        IssueBudgetYen: f"SELECT {line_key}, SUM(budget_lines.allocated_yen) {lines} GROUP BY {line_key}",
    }
