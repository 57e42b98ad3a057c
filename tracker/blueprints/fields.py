"""Form fields for what the city writes its own way: amounts in 千円, Japanese dates, fiscal years.

Each field reads the typed text with ``tracker.parsing`` (the same reader as the workflow and
the import), keeps the text exactly as typed when the form comes back with an error, and puts
the reader's Japanese message next to the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from flask import url_for
from flask_babel import lazy_gettext as _
from markupsafe import Markup, escape
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.utils import unset_value
from wtforms.widgets import html_params

from ..formatting import fiscal_year_label, fiscal_year_of, today_in_tokyo
from ..parsing import (
    MAX_YEN,
    Amount,
    AmountError,
    AmountUnit,
    DateError,
    check_date,
    parse_amount,
    parse_date,
)

UNIT_SUFFIX = "_unit"  # the unit switch of an amount field is posted as <name>_unit
YEARS_AHEAD = 5  # a date field takes dates up to this many years from today


class AmountInput:
    """The amount's text box, its unit switch (千円 / 円), and the line that says it back."""

    def __call__(self, field: AmountField, **kwargs) -> Markup:
        words_id = f"{field.id}-words"
        kwargs.setdefault("id", field.id)
        box = html_params(
            type="text",
            name=field.name,
            value=field._value(),
            inputmode="decimal",
            autocomplete="off",
            required=bool(field.flags.required),
            aria_describedby=words_id,
            aria_invalid="true" if field.errors else False,
            data_amount_words=words_id,
            data_amount_unit=field.name + UNIT_SUFFIX,
            data_amount_url=url_for("api.amount"),
            data_amount_zero="1" if field.allow_zero else False,
            **kwargs,
        )
        units = "".join(
            f'<option value="{unit.value}"{" selected" if unit is field.unit else ""}>{unit.label}</option>'
            for unit in AmountUnit
        )
        switch = html_params(name=field.name + UNIT_SUFFIX, id=f"{field.id}-unit", aria_label=_("単位"))
        words = escape(field.words())
        return Markup(
            f'<span class="amount-input"><input {box}><select {switch}>{units}</select></span>'
            f'<output id="{words_id}" class="amount-words" aria-live="polite">{words}</output>'
        )


class AmountField(StringField):
    """An amount in 千円 unless the user switches the unit to 円 or types one (``2,000,000円``).

    ``data`` is whole yen, or None when left empty (``required`` fields say so in Japanese).
    """

    widget = AmountInput()

    def __init__(
        self, label=None, validators=None, *, allow_zero: bool = False, maximum: int = MAX_YEN, **kwargs
    ):
        super().__init__(label, validators, **kwargs)
        self.allow_zero = allow_zero
        self.maximum = maximum
        self.unit = AmountUnit.THOUSAND_YEN
        self.typed: str | None = None

    def process(self, formdata, data=unset_value, extra_filters=None):
        if formdata is not None and (self.name + UNIT_SUFFIX) in formdata:
            self.unit = AmountUnit.chosen(formdata.get(self.name + UNIT_SUFFIX), self.unit)
        super().process(formdata, data, extra_filters)
        if self.typed is None and self.data is not None and self.data % 1000:
            self.unit = AmountUnit.YEN  # a stored amount that is not whole 千円 is shown in yen

    def process_formdata(self, valuelist):
        self.typed = valuelist[0] if valuelist else ""
        self.data = None
        if self.typed.strip():
            try:
                amount = parse_amount(self.typed, self.unit, allow_zero=self.allow_zero, maximum=self.maximum)
            except AmountError as refused:
                raise ValueError(refused.message) from None
            self.data = amount.yen

    def _value(self) -> str:
        if self.typed is not None:
            return self.typed
        if self.data is None:
            return ""
        return f"{self.data // self.unit.factor:,}"

    def words(self) -> str:
        """What will be stored, in words (``Amount.said_back``); empty before anything is read."""
        return "" if self.data is None else Amount(self.data).said_back()


class JapaneseDateField(StringField):
    """A date typed as 2026/12/1, 2026-12-01, 令和8年12月1日 or R8.12.1; ``data`` is a date or
    None. Dates before 平成元年 or more than ``YEARS_AHEAD`` years from today are refused."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {}).setdefault("placeholder", _("例: 2026/12/1、令和8年12月1日"))
        super().__init__(label, validators, **kwargs)
        self.typed: str | None = None

    def process_formdata(self, valuelist):
        self.typed = valuelist[0] if valuelist else ""
        self.data = None
        try:
            day = parse_date(self.typed)
            if day is not None:
                today = today_in_tokyo()
                latest = today.replace(year=today.year + YEARS_AHEAD, day=min(today.day, 28))
                self.data = check_date(day, self.label.text, latest=latest)
        except DateError as refused:
            raise ValueError(refused.message) from None

    def _value(self) -> str:
        if self.typed is not None:
            return self.typed
        return f"{self.data.year}/{self.data.month}/{self.data.day}" if isinstance(self.data, dt.date) else ""


class FiscalYearField(SelectField):
    """A fiscal year chosen as 「令和8年度 (2026)」; the view offers the years with ``offer``."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, coerce=int, choices=[], **kwargs)

    def offer(self, years: Iterable[int], default: int | None = None) -> None:
        """Offer ``years``; when nothing was sent, choose ``default`` (the subject's fiscal year,
        else the current one). A year sent from outside them is refused like any unknown choice."""
        self.choices = [SelectChoice(year, fiscal_year_label(year)) for year in years]
        if self.data is None and not self.raw_data:
            self.data = default or fiscal_year_of(today_in_tokyo())
