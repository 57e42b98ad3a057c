"""まちづくり推進経費: each ward's own fund per fiscal year, and what has been drawn from it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import BudgetLine, WardFund
from ..states import Funding


@dataclass(frozen=True)
class FundYear:
    fiscal_year: int
    allocated_yen: int
    used_yen: int

    @property
    def remaining_yen(self) -> int:
        return self.allocated_yen - self.used_yen


def used_yen(session: Session, ward_id: int, fiscal_year: int) -> int:
    return session.execute(
        select(func.coalesce(func.sum(BudgetLine.allocated_yen), 0)).where(
            BudgetLine.funding == Funding.WARD_FUND,
            BudgetLine.ward_id == ward_id,
            BudgetLine.fiscal_year == fiscal_year,
            BudgetLine.cancelled_at.is_(None),
        )
    ).scalar_one()


def allocated_yen(session: Session, ward_id: int, fiscal_year: int, *, lock: bool = False) -> int | None:
    """The year's allocation; with ``lock``, the fund row stays locked until the transaction ends,
    so that two draws at once are taken one after the other and cannot overspend together."""
    statement = select(WardFund.allocated_yen).where(
        WardFund.ward_id == ward_id, WardFund.fiscal_year == fiscal_year
    )
    if lock:
        statement = statement.with_for_update()
    return session.execute(statement).scalar_one_or_none()


def fund_years(session: Session, ward_id: int) -> list[FundYear]:
    """Allocated and used per fiscal year, newest first, in two queries."""
    allocated = dict(
        session.execute(
            select(WardFund.fiscal_year, WardFund.allocated_yen).where(WardFund.ward_id == ward_id)
        ).all()
    )
    used = dict(
        session.execute(
            select(BudgetLine.fiscal_year, func.sum(BudgetLine.allocated_yen))
            .where(
                BudgetLine.funding == Funding.WARD_FUND,
                BudgetLine.ward_id == ward_id,
                BudgetLine.cancelled_at.is_(None),
            )
            .group_by(BudgetLine.fiscal_year)
        ).all()
    )
    years = sorted(set(allocated) | set(used), reverse=True)
    return [FundYear(year, allocated.get(year, 0), int(used.get(year, 0))) for year in years]
