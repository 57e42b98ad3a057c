"""The city's default indicators (指標), and demo targets and entered values.

The policy (第2 3(1)) asks for indicators that monitor resident satisfaction and the vitality of
community self-government. The defaults are one computed indicator per metric of
``tracker.reporting.indicators`` (code = metric key) and two entered ones from surveys:
住民満足度 and 地域活動への参加率. ``load_default_indicators`` runs with the master data and is
idempotent: an indicator whose code exists is left as the admin has it.

``load_demo_indicators`` (``flask seed --demo``) sets, through the same writes the admin uses
(so each has its history event), targets of the last three fiscal years for every ward and the
city, and the survey results of the two entered indicators. A target or value already there is
left alone.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..effects import indicators as writes
from ..formatting import fiscal_year_of
from ..models import User, Ward
from ..monitoring_models import Indicator, IndicatorTarget, IndicatorValue
from ..reporting.indicators import METRICS
from ..states import IndicatorKind, Role

SATISFACTION, PARTICIPATION = "resident_satisfaction", "community_participation"
ENTERED = (
    (SATISFACTION, "住民満足度", "市民アンケートで、区のまちづくりに「満足」「やや満足」と答えた人の割合"),
    (PARTICIPATION, "地域活動への参加率", "市民アンケートで、この1年に地域の活動に参加したと答えた人の割合"),
)
# Demo targets: (indicator code, target of the city, of a ward).
DEMO_TARGETS = (
    ("answered_on_time_rate", Decimal("90"), Decimal("90")),
    ("median_days_to_answer", Decimal("14"), Decimal("14")),
    ("activities_per_liaison", Decimal("200"), Decimal("200")),
    ("issues_adopted", Decimal("20"), Decimal("4")),
    (SATISFACTION, Decimal("70"), Decimal("70")),
    (PARTICIPATION, Decimal("40"), Decimal("40")),
)
DEMO_SURVEY = "市民アンケート調査 (地域政策課)"


def default_indicators() -> list[Indicator]:
    computed = [
        Indicator(
            code=metric.key,
            name=metric.name,
            description=metric.description,
            kind=IndicatorKind.COMPUTED,
            metric=metric.key,
            unit=metric.unit,
            higher_is_better=metric.higher_is_better,
            sort_order=order,
        )
        for order, metric in enumerate(METRICS.values())
    ]
    entered = [
        Indicator(
            code=code,
            name=name,
            description=description,
            kind=IndicatorKind.ENTERED,
            unit="%",
            higher_is_better=True,
            sort_order=len(computed) + order,
        )
        for order, (code, name, description) in enumerate(ENTERED)
    ]
    return computed + entered


def load_default_indicators(session: Session) -> None:
    existing = set(session.scalars(select(Indicator.code)))
    for indicator in default_indicators():
        if indicator.code not in existing:
            session.add(indicator)
    session.flush()


def load_demo_indicators(session: Session, today: dt.date) -> int:
    """Demo targets and survey values as the first admin account; returns how many were set."""
    admin = session.scalars(select(User).where(User.role == Role.ADMIN).order_by(User.id).limit(1)).first()
    if admin is None:
        return 0
    by_code = {row.code: row for row in session.scalars(select(Indicator))}
    wards = session.scalars(select(Ward).order_by(Ward.sort_order, Ward.id)).all()
    current = fiscal_year_of(today)
    years = range(current - 2, current + 1)
    have_targets = set(
        session.execute(
            select(IndicatorTarget.indicator_id, IndicatorTarget.ward_id, IndicatorTarget.fiscal_year)
        )
    )
    have_values = set(
        session.execute(
            select(IndicatorValue.indicator_id, IndicatorValue.ward_id, IndicatorValue.fiscal_year)
        )
    )
    count = 0
    for code, city_target, ward_target in DEMO_TARGETS:
        indicator = by_code.get(code)
        if indicator is None:
            continue
        for ward_id, target in [(None, city_target), *((ward.id, ward_target) for ward in wards)]:
            for year in years:
                if (indicator.id, ward_id, year) not in have_targets:
                    writes.set_target(session, admin, indicator, ward_id, year, target)
                    count += 1
    for code, base in ((SATISFACTION, 64), (PARTICIPATION, 35)):
        indicator = by_code.get(code)
        if indicator is None:
            continue
        for offset, year in enumerate(years[:-1]):  # the current year's survey is not in yet
            for position, ward_id in enumerate([None, *(ward.id for ward in wards)]):
                if (indicator.id, ward_id, year) in have_values:
                    continue
                value = Decimal(base + 3 * offset + position % 3 * 2) + Decimal("0.5")
                measured = dt.date(year + 1, 1, 31)
                writes.enter_value(session, admin, indicator, ward_id, year, value, DEMO_SURVEY, measured)
                count += 1
    return count
