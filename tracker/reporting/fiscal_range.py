"""The city's published figures over a range of fiscal years: issues by decision, and the budget.

The city writes them as one sentence, 「98件の区重要課題について「対応する」との協議結果となり、
約10億円を予算化した」, a cumulative count and a cumulative budget. The two figures belong to
different years, and each row here says which:
- the counts (登録 / 対応する / 一部対応 / 対応しない / 継続協議) are of the issues whose own fiscal
  year is the row's year (registered: ``REGISTERED_ISSUE_STATES``);
- the budget is the sum of the current (not cancelled) bureau budget lines whose fiscal year is
  the row's year, whatever the issue's year, so each line is counted once, in the year it is for.

A year's row is therefore the single-year report's total (``reports.fiscal_year_report``), and the
range costs two reads of summary rows however many years it spans and however many issues
they hold.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from sqlalchemy.orm import Session

from ..formatting import approximate_yen, fiscal_year_label
from ..states import REGISTERED_ISSUE_STATES, Decision
from ..wording import N_, say, translate
from . import counters

# The export's headers, in Japanese (marked): the export writes them in the user's language.
COUNT_HEADERS = (
    N_("課題の年度で数えた件数: 登録"),
    N_("対応する"),
    N_("一部対応"),
    N_("対応しない"),
    N_("継続協議"),
)
COUNTED_DECISIONS = (Decision.ADOPT, Decision.PARTIAL, Decision.REJECT, Decision.CONTINUE)
BUDGET_HEADER = N_("予算の年度で合計した予算額")
BUDGET_YEN_HEADER = N_("予算の年度で合計した予算額 (円)")


@dataclass(frozen=True)
class YearRow:
    """One fiscal year: the issues of that year by decision, and the budget lines of that year."""

    fiscal_year: int | None  # None on the total row
    registered: int = 0
    adopted: int = 0
    partial: int = 0
    rejected: int = 0
    continued: int = 0
    allocated_yen: int = 0

    @property
    def label(self) -> str:
        return translate(N_("合計")) if self.fiscal_year is None else fiscal_year_label(self.fiscal_year)

    def counts(self) -> tuple[int, ...]:
        return (self.registered, self.adopted, self.partial, self.rejected, self.continued)


@dataclass(frozen=True)
class RangeReport:
    first: int
    last: int
    years: list[YearRow]  # oldest first

    @property
    def total(self) -> YearRow:
        sums = {
            field.name: sum(getattr(row, field.name) for row in self.years)
            for field in fields(YearRow)
            if field.name != "fiscal_year"
        }
        return YearRow(None, **sums)

    @property
    def period(self) -> str:
        """``令和6年度`` for one year, ``令和4年度から令和6年度まで`` for a range."""
        first, last = (fiscal_year_label(year).split(" ")[0] for year in (self.first, self.last))
        return (
            first if self.first == self.last else say(N_("%(first)sから%(last)sまで"), first=first, last=last)
        )

    @property
    def sentence(self) -> str:
        """The figures as the city publishes them, for the whole range."""
        total = self.total
        return say(
            N_(
                "%(period)sに%(count)s件の区重要課題について「対応する」との協議結果となり、%(amount)sを予算化した。"
            ),
            period=self.period,
            count=f"{total.adopted:,}",
            amount=approximate_yen(total.allocated_yen),
        )


def data_years(session: Session) -> tuple[int, int] | None:
    """The first and last fiscal year with a registered issue or a current bureau budget line."""
    return counters.issue_and_budget_years(session, REGISTERED_ISSUE_STATES)


def range_report(session: Session, first: int, last: int) -> RangeReport:
    """The figures of each fiscal year from ``first`` to ``last`` (either order): two reads of
    the summary rows (``issue_counts``, ``issue_budget_yen``), a few per year."""
    first, last = min(first, last), max(first, last)

    decisions = counters.decisions_by_year(session, first, last, REGISTERED_ISSUE_STATES)
    amounts: dict[int, int] = {}
    for year, _, _, yen in counters.budget_yen(session, first, last):
        amounts[year] = amounts.get(year, 0) + yen
    by_year = {
        year: (
            sum(counts.values()),
            *(counts.get(decision.value, 0) for decision in COUNTED_DECISIONS),
        )
        for year, counts in decisions.items()
    }
    years = [
        YearRow(year, *by_year.get(year, (0, 0, 0, 0, 0)), allocated_yen=int(amounts.get(year) or 0))
        for year in range(first, last + 1)
    ]
    return RangeReport(first, last, years)
