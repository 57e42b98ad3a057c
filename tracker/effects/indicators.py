"""指標: the writes of the indicators. Defining or editing one and setting its targets are the
admin's; entering (or correcting) an entered indicator's value is the admin's for any ward or the
city, and a ward manager's for their own ward.

Every write is one function that checks the actor, then every input, before anything changes:
a refusal raises ``IndicatorDenied`` (the view answers 403) or ``IndicatorInputError`` naming
the field it is about, in Japanese, and leaves the database as it was. A save that changes
nothing is refused too. Each change writes its history event on the indicator in the same
transaction, with the ward, the fiscal year and the old and new values (``ACTION_LABELS`` say
how the history reads). The caller commits.

Which computed metrics exist is the reporting layer's (``tracker.reporting.indicators``); the
caller passes their keys in, since this layer never imports a service.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Collection
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..models import HistoryEvent, User, Ward
from ..monitoring_models import Indicator, IndicatorTarget, IndicatorValue
from ..states import IndicatorKind, Role
from ..wording import N_, say, translate
from .support import WorkflowError, is_flag_set

DEFINE, EDIT, SET_TARGET, ENTER_VALUE = "define_indicator", "edit_indicator", "set_target", "enter_value"
ACTION_LABELS = {  # in Japanese (marked): ``translate`` them to show them
    DEFINE: N_("指標を定義"),
    EDIT: N_("指標の定義を変更"),
    SET_TARGET: N_("目標値を設定"),
    ENTER_VALUE: N_("実績値を入力"),
}
FIELD_LABELS = {
    "code": N_("コード"),
    "name": N_("指標名"),
    "description": N_("説明"),
    "kind": N_("種類"),
    "metric": N_("算出方法"),
    "unit": N_("単位"),
    "higher_is_better": N_("方向"),
    "active": N_("有効"),
    "sort_order": N_("表示順"),
    "ward_id": N_("区"),
    "fiscal_year": N_("年度"),
    "target": N_("目標値"),
    "value": N_("実績値"),
    "source": N_("出典"),
    "measured_on": N_("調査日"),
}
TEXT_LIMITS = {"code": 40, "name": 120, "description": 2000, "unit": 20, "source": 200}
DEFINITION_FIELDS = ("code", "name", "description", "kind", "metric", "unit", "higher_is_better", "active")
MAX_NUMBER = Decimal("999999999999.99")  # Numeric(14, 2)
MIN_YEAR, MAX_YEAR = 1989, 2200


class IndicatorInputError(WorkflowError):
    """An input that cannot be saved; ``field`` names it (a key of ``FIELD_LABELS``).

    ``template`` and ``params`` as in ``WorkflowError``; a ``label`` param is a field's label
    (Japanese, marked) and is read in the user's language too."""

    def __init__(self, field: str, template: str, **params: object):
        super().__init__(template, **params)
        self.field = field

    @property
    def message(self) -> str:
        params = {name: translate(value) if name == "label" else value for name, value in self.params.items()}
        return say(self.template, **params)


class IndicatorDenied(WorkflowError):
    """The actor may not make this change."""


# --- cleaning ------------------------------------------------------------------------------------


def _text(fields: dict, key: str, *, required: bool = True) -> str:
    text = str(fields.get(key) or "").strip()
    if required and not text:
        raise IndicatorInputError(key, N_("%(label)sを入力してください。"), label=FIELD_LABELS[key])
    if len(text) > TEXT_LIMITS[key] or any(
        unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in text
    ):
        raise IndicatorInputError(
            key,
            N_("%(label)sは%(limit)s文字以内の文字で入力してください。"),
            label=FIELD_LABELS[key],
            limit=TEXT_LIMITS[key],
        )
    return text


def clean_number(value: Any, key: str) -> Decimal:
    """A number as typed (全角 digits, ``1,234.5``, ``80%``) with at most two decimals."""
    label = FIELD_LABELS[key]
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        number = Decimal(value)
    else:
        text = unicodedata.normalize("NFKC", str(value or "")).strip().replace(",", "").removesuffix("%")
        if not text:
            raise IndicatorInputError(key, N_("%(label)sを入力してください。"), label=label)
        try:
            number = Decimal(text.strip())
        except InvalidOperation:
            raise IndicatorInputError(
                key, N_("%(label)sは数値で入力してください (例: 75.5)。"), label=label
            ) from None
    if not number.is_finite() or abs(number) > MAX_NUMBER:
        raise IndicatorInputError(key, N_("%(label)sは数値で入力してください (例: 75.5)。"), label=label)
    if number != number.quantize(Decimal("0.01")):
        raise IndicatorInputError(key, N_("%(label)sは小数第2位までで入力してください。"), label=label)
    return number.quantize(Decimal("0.01"))


def _fiscal_year(value: Any) -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise IndicatorInputError("fiscal_year", N_("年度を選んでください。")) from None
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise IndicatorInputError("fiscal_year", N_("年度を選んでください。"))
    return year


def _ward_id(session: Session, value: Any) -> int | None:
    """A ward's id, or None for the city as a whole (an empty choice)."""
    if value in (None, ""):
        return None
    try:
        ward_id = int(value)
    except (TypeError, ValueError):
        raise IndicatorInputError("ward_id", N_("区を選んでください。")) from None
    if not 0 < ward_id < 2**31 or session.get(Ward, ward_id) is None:
        raise IndicatorInputError("ward_id", N_("区を選んでください。"))
    return ward_id


def _require_admin(actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise IndicatorDenied(N_("指標の定義と目標値を変更する権限はシステム管理者だけにあります。"))


def _record(
    session: Session, actor: User, indicator: Indicator, action: str, data: dict, comment: str = ""
) -> HistoryEvent:
    event = HistoryEvent(
        indicator_id=indicator.id,
        actor=actor,
        actor_role=actor.role.value,
        action=action,
        comment=comment,
        data=data,
        created_at=dt.datetime.now(dt.UTC),
    )
    session.add(event)
    return event


def _shown(value: Any) -> Any:
    """A value as the history's JSON keeps it."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, IndicatorKind):
        return value.value
    return value


# --- definitions -------------------------------------------------------------------------------


def _definition(
    session: Session, fields: dict, metric_keys: Collection[str], current: Indicator | None
) -> dict:
    code = _text(fields, "code")
    if not all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in code):
        raise IndicatorInputError("code", N_("コードは半角英数字と _ - で入力してください。"))
    taken = session.scalar(select(Indicator.id).where(Indicator.code == code))
    if taken is not None and (current is None or taken != current.id):
        raise IndicatorInputError("code", N_("このコードの指標は既にあります。"))
    try:
        kind = IndicatorKind(fields.get("kind"))
    except ValueError:
        raise IndicatorInputError("kind", N_("種類を選んでください。")) from None
    metric = str(fields.get("metric") or "").strip() or None
    if kind == IndicatorKind.COMPUTED and metric not in metric_keys:
        raise IndicatorInputError("metric", N_("データから算出する指標は算出方法を選んでください。"))
    if kind == IndicatorKind.ENTERED:
        metric = None
    return {
        "code": code,
        "name": _text(fields, "name"),
        "description": _text(fields, "description", required=False),
        "kind": kind,
        "metric": metric,
        "unit": _text(fields, "unit"),
        "higher_is_better": is_flag_set(fields.get("higher_is_better")),
        "active": is_flag_set(fields.get("active", True)),
    }


def define_indicator(
    session: Session, actor: User, fields: dict, *, metric_keys: Collection[str]
) -> Indicator:
    """A new indicator (admin), shown after the others."""
    _require_admin(actor)
    values = _definition(session, fields, metric_keys, None)
    last = session.scalar(select(Indicator.sort_order).order_by(Indicator.sort_order.desc()).limit(1))
    indicator = Indicator(**values, sort_order=(last or 0) + 1)
    session.add(indicator)
    session.flush()
    _record(session, actor, indicator, DEFINE, {"new": {k: _shown(v) for k, v in values.items()}})
    session.flush()
    return indicator


def edit_indicator(
    session: Session, actor: User, indicator: Indicator, fields: dict, *, metric_keys: Collection[str]
) -> Indicator:
    """Change an indicator's definition (admin); its targets and values stay."""
    _require_admin(actor)
    values = _definition(session, fields, metric_keys, indicator)
    changed = {name: value for name, value in values.items() if getattr(indicator, name) != value}
    if not changed:
        raise IndicatorInputError("name", N_("変更された項目がありません。"))
    old = {name: _shown(getattr(indicator, name)) for name in changed}
    for name, value in changed.items():
        setattr(indicator, name, value)
    _record(session, actor, indicator, EDIT, {"old": old, "new": {k: _shown(v) for k, v in changed.items()}})
    session.flush()
    return indicator


# --- targets and entered values ------------------------------------------------------------------


def set_target(
    session: Session, actor: User, indicator: Indicator, ward_id: Any, fiscal_year: Any, target: Any
) -> IndicatorTarget:
    """The target of ``indicator`` for a ward (None: the city) and fiscal year (admin)."""
    _require_admin(actor)
    ward = _ward_id(session, ward_id)
    year = _fiscal_year(fiscal_year)
    number = clean_number(target, "target")
    row = session.scalar(
        select(IndicatorTarget).where(
            IndicatorTarget.indicator_id == indicator.id,
            IndicatorTarget.ward_id.is_(None) if ward is None else IndicatorTarget.ward_id == ward,
            IndicatorTarget.fiscal_year == year,
        )
    )
    old = row.target if row is not None else None
    if old is not None and Decimal(old) == number:
        raise IndicatorInputError("target", N_("目標値が今の値と同じです。変更してから保存してください。"))
    if row is None:
        row = IndicatorTarget(indicator_id=indicator.id, ward_id=ward, fiscal_year=year, target=number)
        session.add(row)
    row.target = number
    row.updated_by_id = actor.id
    data = {"ward_id": ward, "fiscal_year": year, "old": _shown(old), "new": _shown(number)}
    _record(session, actor, indicator, SET_TARGET, data)
    session.flush()
    return row


def may_enter_value(actor: User, ward_id: int | None) -> bool:
    """The admin for any ward and the city; a ward manager for their own ward only."""
    return actor.role == Role.ADMIN or (
        actor.role == Role.WARD_MANAGER and ward_id is not None and ward_id == actor.ward_id
    )


def enter_value(
    session: Session,
    actor: User,
    indicator: Indicator,
    ward_id: Any,
    fiscal_year: Any,
    value: Any,
    source: Any,
    measured_on: Any,
) -> IndicatorValue:
    """Enter, or correct, the actual value of an entered indicator, with its source and date."""
    if actor.role not in (Role.ADMIN, Role.WARD_MANAGER):
        raise IndicatorDenied(N_("実績値を入力する権限は区役所の管理職とシステム管理者にあります。"))
    if indicator.kind != IndicatorKind.ENTERED:
        raise IndicatorInputError("value", N_("この指標はデータから算出するため、実績値は入力できません。"))
    ward = _ward_id(session, ward_id)
    if not may_enter_value(actor, ward):
        raise IndicatorDenied(N_("自分の区の実績値だけを入力する権限があります。"))
    year = _fiscal_year(fiscal_year)
    number = clean_number(value, "value")
    text = _text({"source": source}, "source")
    if not isinstance(measured_on, dt.date):
        raise IndicatorInputError("measured_on", N_("調査日を入力してください (例: 2026/12/1)。"))
    row = session.scalar(
        select(IndicatorValue).where(
            IndicatorValue.indicator_id == indicator.id,
            IndicatorValue.ward_id.is_(None) if ward is None else IndicatorValue.ward_id == ward,
            IndicatorValue.fiscal_year == year,
        )
    )
    old = (row.value, row.source, row.measured_on) if row is not None else (None, None, None)
    if row is not None and (Decimal(row.value), row.source, row.measured_on) == (number, text, measured_on):
        raise IndicatorInputError(
            "value", N_("実績値・出典・調査日が今の内容と同じです。変更してから保存してください。")
        )
    if row is None:
        row = IndicatorValue(indicator_id=indicator.id, ward_id=ward, fiscal_year=year)
        session.add(row)
    row.value, row.source, row.measured_on, row.entered_by_id = number, text, measured_on, actor.id
    data = {
        "ward_id": ward,
        "fiscal_year": year,
        "old": _shown(old[0]),
        "new": _shown(number),
        "old_source": old[1],
        "new_source": text,
        "old_measured_on": _shown(old[2]),
        "new_measured_on": _shown(measured_on),
    }
    _record(session, actor, indicator, ENTER_VALUE, data)
    session.flush()
    return row


def history(session: Session, indicator: Indicator) -> list[HistoryEvent]:
    """The indicator's events, newest first, with their actors (one query)."""
    return session.scalars(
        select(HistoryEvent)
        .options(joinedload(HistoryEvent.actor))
        .where(HistoryEvent.indicator_id == indicator.id)
        .order_by(HistoryEvent.id.desc())
    ).all()
