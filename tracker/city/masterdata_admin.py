"""Rules for editing the city's master data: wards, centers, bureaus, categories, activity kinds,
ward funds.

Each function checks its input, changes the rows and flushes; a broken rule raises
``WorkflowError`` with a Japanese message before anything is changed. The caller commits.
Nothing is ever deleted: requests and issues point at these rows, so an entry that is no
longer used is deactivated, which hides it from the choices of new requests, issues and users.
``overview`` reads the whole of it for the admin's master-data page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..activity_models import ActivityKind
from ..effects import funds
from ..formatting import fiscal_year_label, fiscal_year_of, thousand_yen
from ..models import Bureau, Category, Center, User, Ward, WardFund
from ..parsing import MAX_YEN
from ..states import Role
from ..wording import N_, translate
from ..workflow import WorkflowError

MAX_COUNT = 10**8
MAX_AREA_KM2 = Decimal("999999.99")
MIN_FISCAL_YEAR, MAX_FISCAL_YEAR = 1989, 2200

LABELS = {
    Ward: N_("区"),
    Center: N_("まちづくりセンター"),
    Bureau: N_("局"),
    Category: N_("分野"),
    ActivityKind: N_("活動区分"),
}


def _name(model, value: Any) -> str:
    label = LABELS[model]
    name = (value or "").strip()
    if not name:
        raise WorkflowError("%(label)sの名称を入力してください。", label=translate(label))
    limit = model.__table__.c.name.type.length
    if len(name) > limit:
        raise WorkflowError(
            "%(label)sの名称は%(limit)s文字以内にしてください。", label=translate(label), limit=limit
        )
    return name


def _check_unique(session: Session, entry, name: str, **scope: Any) -> None:
    """No other row of the same kind (within ``scope``) has this name.

    Checked before the new name is set, so the query's autoflush cannot hit the unique index.
    """
    model = type(entry)
    query = select(model.id).where(model.name == name).filter_by(**scope)
    if entry.id is not None:
        query = query.where(model.id != entry.id)
    if session.execute(query).first():
        raise WorkflowError(
            "%(label)s「%(name)s」は既にあります。", label=translate(LABELS[model]), name=name
        )


def _whole(value: Any, message: str, maximum: int, minimum: int = 0, required: bool = False) -> int | None:
    """A whole number within the range, or None when left empty and not required."""
    if value is None or value == "":
        if required:
            raise WorkflowError(message)
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise WorkflowError(message)
    try:
        number = int(value)
    except ValueError:
        raise WorkflowError(message) from None
    if not minimum <= number <= maximum:
        raise WorkflowError(message)
    return number


def _sort_order(value: Any) -> int:
    return _whole(value, "表示順は整数で入力してください。", MAX_COUNT, -MAX_COUNT) or 0


def _area(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        area = Decimal(str(value))
    except InvalidOperation:
        raise WorkflowError("面積は0以上の数値 (km²) で入力してください。") from None
    if not area.is_finite() or not 0 <= area <= MAX_AREA_KM2:
        raise WorkflowError("面積は0以上の数値 (km²) で入力してください。")
    return area.quantize(Decimal("0.01"))


def update_ward(session: Session, ward: Ward, fields: dict[str, Any]) -> None:
    """Name and figures; the code stays, as it is part of every reference number."""
    name = _name(Ward, fields.get("name"))
    _check_unique(session, ward, name)
    population = _whole(fields.get("population"), "人口は0以上の整数で入力してください。", MAX_COUNT)
    households = _whole(fields.get("households"), "世帯数は0以上の整数で入力してください。", MAX_COUNT)
    area = _area(fields.get("area_km2"))
    ward.name, ward.population, ward.households, ward.area_km2 = name, population, households, area
    session.flush()


def _check_can_deactivate(session: Session, entry) -> None:
    """A center whose liaisons can still log in stays active: they could no longer log requests."""
    if not isinstance(entry, Center) or not entry.active:
        return
    liaisons = session.execute(
        select(func.count(User.id)).where(
            User.center_id == entry.id, User.role == Role.LIAISON, User.active.is_(True)
        )
    ).scalar_one()
    if liaisons:
        raise WorkflowError(
            "%(name)sには有効な地域担当職員が%(liaisons)s人います。先にその職員の所属を変えるか、無効にしてください。",
            name=entry.name,
            liaisons=liaisons,
        )


def set_active(session: Session, entry: Center | Bureau | Category, active: bool) -> None:
    if not active:
        _check_can_deactivate(session, entry)
    entry.active = bool(active)
    session.flush()


def _apply(session: Session, entry, fields: dict[str, Any], **scope: Any) -> None:
    """The fields a center, a bureau and a category share: name, order, active."""
    name = _name(type(entry), fields.get("name"))
    _check_unique(session, entry, name, **scope)
    sort_order = _sort_order(fields.get("sort_order"))
    active = bool(fields.get("active", True))
    if not active:
        _check_can_deactivate(session, entry)
    entry.name, entry.sort_order, entry.active = name, sort_order, active


def add_center(session: Session, fields: dict[str, Any]) -> Center:
    ward = session.get(Ward, fields.get("ward_id")) if fields.get("ward_id") else None
    if ward is None:
        raise WorkflowError("区を選んでください。")
    center = Center(ward_id=ward.id)
    update_center(session, center, fields)
    return center


def update_center(session: Session, center: Center, fields: dict[str, Any]) -> None:
    """A center keeps its ward: its requests and its liaisons carry that ward."""
    note = (fields.get("note") or "").strip()
    limit = Center.__table__.c.note.type.length
    if len(note) > limit:
        raise WorkflowError("備考は%(limit)s文字以内にしてください。", limit=limit)
    _apply(session, center, fields, ward_id=center.ward_id)
    center.note = note
    session.add(center)
    session.flush()


def add_entry(
    session: Session, model: type[Bureau] | type[Category] | type[ActivityKind], fields: dict[str, Any]
):
    """A new bureau, category or activity kind."""
    entry = model()
    update_entry(session, entry, fields)
    return entry


def update_entry(session: Session, entry: Bureau | Category | ActivityKind, fields: dict[str, Any]) -> None:
    """Name, order, active; and an activity kind's heading (会議出席), which groups it in a list."""
    group = (fields.get("group") or "").strip()
    if isinstance(entry, ActivityKind):
        limit = ActivityKind.__table__.c.group.type.length
        if len(group) > limit:
            raise WorkflowError("見出しは%(limit)s文字以内にしてください。", limit=limit)
    _apply(session, entry, fields)
    if isinstance(entry, ActivityKind):
        entry.group = group
    session.add(entry)
    session.flush()


def fund_years(today: dt.date) -> range:
    """The fiscal years a ward's fund may be set for: fifteen years back (a city's past
    allocations, brought in) to five years ahead (a budget decided early)."""
    current = fiscal_year_of(today)
    return range(max(MIN_FISCAL_YEAR, current - 15), current + 6)


def set_ward_fund(session: Session, ward_id: Any, fiscal_year: Any, allocated_yen: Any) -> WardFund:
    """まちづくり推進経費 of one ward for one fiscal year: created, or replaced if already set.

    Never below what the ward has already drawn from it that year.
    """
    ward = session.get(Ward, ward_id) if ward_id else None
    if ward is None:
        raise WorkflowError("区を選んでください。")
    year = _whole(fiscal_year, "年度を西暦で入力してください。", MAX_FISCAL_YEAR, MIN_FISCAL_YEAR, True)
    amount = _whole(allocated_yen, "配分額は0円以上の整数 (円) で入力してください。", MAX_YEN, 0, True)
    used = funds.used_yen(session, ward.id, year)
    if amount < used:
        raise WorkflowError(
            "%(name)sの%(fiscal_year_label)sは既に%(thousand_yen)sを充当しています。配分額はそれ以上にしてください。",
            name=ward.name,
            fiscal_year_label=fiscal_year_label(year),
            thousand_yen=thousand_yen(used),
        )
    fund = session.execute(
        select(WardFund).where(WardFund.ward_id == ward.id, WardFund.fiscal_year == year)
    ).scalar_one_or_none()
    if fund is None:
        fund = WardFund(ward=ward, fiscal_year=year, allocated_yen=amount)
        session.add(fund)
    else:
        fund.allocated_yen = amount
    session.flush()
    return fund


@dataclass(frozen=True)
class Overview:
    wards: Sequence[Ward]  # each with its centers
    entries: dict[str, Sequence[Bureau] | Sequence[Category]]  # every entry of each kind, in order
    funds: dict[int, dict[int, int]]  # fiscal year (newest first) -> ward id -> allocated yen


def overview(session: Session, kinds: Mapping[str, type[Bureau] | type[Category]]) -> Overview:
    """The master data as the admin's page shows it: wards with their centers, the entries of
    each kind in ``kinds`` (active or not), and the ward funds of every fiscal year."""
    wards = session.scalars(select(Ward).options(selectinload(Ward.centers)).order_by(Ward.sort_order)).all()
    entries = {
        kind: session.scalars(select(model).order_by(model.sort_order, model.id)).all()
        for kind, model in kinds.items()
    }
    funds: dict[int, dict[int, int]] = {}
    for fund in session.scalars(select(WardFund).order_by(WardFund.fiscal_year.desc())):
        funds.setdefault(fund.fiscal_year, {})[fund.ward_id] = fund.allocated_yen
    return Overview(wards, entries, funds)
