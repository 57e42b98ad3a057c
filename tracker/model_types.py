"""Column types the models share: UTC timestamps and enums stored by value; what the rows with
budget lines share; and the model boundary: every value the ORM writes is checked against what
its column can hold and what the pages can show (``install_bounds``)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Enum,
    Integer,
    Numeric,
    SmallInteger,
    String,
    TypeDecorator,
    event,
    inspect,
)
from sqlalchemy.orm import Session, mapped_column

from .wording import N_, say


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back as an aware UTC datetime.

    SQLite keeps no time zone, so without this a value read back would be naive.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; use an aware UTC datetime")
            value = value.astimezone(dt.UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


def enum_column(enum_cls, **kwargs) -> Any:
    """A portable enum column that stores the member's value (not its name) as text."""
    return mapped_column(
        Enum(
            enum_cls,
            native_enum=False,
            length=32,
            validate_strings=True,
            values_callable=lambda cls: [member.value for member in cls],
            name=enum_cls.__name__.lower(),
        ),
        **kwargs,
    )


class HasBudgetLines:
    """A row with ``budget_lines``: a ward issue (bureau budget), a request (its fund draws)."""

    @property
    def current_budget_lines(self) -> list:
        """The lines that count in every total and on every public page: 取消 lines left out."""
        return [line for line in self.budget_lines if line.cancelled_at is None]


# --- the model boundary ------------------------------------------------------------------------

# What a stored date may be: from 平成元年 (the earliest the city's records and era labels need)
# to the end of this century. A date outside is a typo or a probe, and some page would fail on it.
EARLIEST_STORED_DATE = dt.date(1989, 1, 8)
LATEST_STORED_DATE = dt.date(2099, 12, 31)
YEAR_COLUMNS = frozenset({"fiscal_year", "budget_year"})
# Control characters but newline and tab; a carriage return goes with them (CRLF becomes LF).
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_INTEGER_LIMITS = {SmallInteger: 2**15 - 1, BigInteger: 2**63 - 1, Integer: 2**31 - 1}


class StoredValueError(ValueError):
    """A value no column of its kind can hold or no page could show; nothing is written."""

    def __init__(self, table: str, column: str, value: Any):
        super().__init__(f"{table}.{column}: {value!r:.80}")
        self.table, self.column = table, column

    @property
    def message(self) -> str:
        return say(
            N_("保存できない値が含まれていたため、保存しませんでした (項目: %(column)s)。"),
            column=f"{self.table}.{self.column}",
        )


def _integer_limit(column_type) -> int | None:
    for kind, limit in _INTEGER_LIMITS.items():
        if isinstance(column_type, kind):
            return limit
    return None


def _in_range(column, value: Any) -> bool:
    column_type = column.type
    if isinstance(value, dt.datetime):
        return EARLIEST_STORED_DATE <= value.date() <= LATEST_STORED_DATE
    if isinstance(value, dt.date):
        return EARLIEST_STORED_DATE <= value <= LATEST_STORED_DATE
    if isinstance(value, bool):
        return True
    if isinstance(value, int) and (limit := _integer_limit(column_type)) is not None:
        if column.name in YEAR_COLUMNS:
            return EARLIEST_STORED_DATE.year <= value <= LATEST_STORED_DATE.year
        return -limit <= value <= limit
    if isinstance(value, int | Decimal) and isinstance(column_type, Numeric) and column_type.precision:
        return abs(Decimal(value)) < Decimal(10) ** (column_type.precision - (column_type.scale or 0))
    return True


def bounded(table: str, column, value: Any) -> Any:
    """``value`` as ``column`` may store it: text without control characters; else an error."""
    if value is None:
        return None
    column_type = column.type
    if isinstance(column_type, String) and not isinstance(column_type, Enum) and isinstance(value, str):
        value = _CONTROL_CHARACTERS.sub("", value.replace("\r\n", "\n"))
        if column_type.length is not None and len(value) > column_type.length:
            raise StoredValueError(table, column.name, value)
        return value
    if not _in_range(column, value):
        raise StoredValueError(table, column.name, value)
    return value


def bounded_row(table, values: dict[str, Any]) -> dict[str, Any]:
    """A bulk INSERT's row (column name → value) bounded as the ORM's rows are: a bulk insert
    passes no flush listener, so its writer calls this for each row."""
    return {
        name: bounded(table.name, table.c[name], value) if name in table.c else value
        for name, value in values.items()
    }


def _bound_instance(instance: Any, *, only_changed: bool) -> None:
    state = inspect(instance)
    table = state.mapper.local_table.name if state.mapper.local_table is not None else "?"
    for attribute in state.mapper.column_attrs:
        if len(attribute.columns) != 1 or attribute.key not in state.dict:
            continue
        if only_changed and not state.attrs[attribute.key].history.added:
            continue
        value = state.dict[attribute.key]
        checked = bounded(table, attribute.columns[0], value)
        if checked is not value:
            setattr(instance, attribute.key, checked)


def _bound_flush(session: Session, flush_context, instances) -> None:
    for instance in session.new:
        _bound_instance(instance, only_changed=False)
    for instance in session.dirty:
        _bound_instance(instance, only_changed=True)


def install_bounds() -> None:
    """Check every row the ORM writes, in every session, before it is flushed (idempotent)."""
    if not event.contains(Session, "before_flush", _bound_flush):
        event.listen(Session, "before_flush", _bound_flush)
