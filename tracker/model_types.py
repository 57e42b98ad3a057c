"""Column types the models share: UTC timestamps and enums stored by value; and what the rows
with budget lines share."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, Enum, TypeDecorator
from sqlalchemy.orm import mapped_column


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
