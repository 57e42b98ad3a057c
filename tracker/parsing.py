"""Reading amounts and dates as the city's staff type them: 千円 by default, never a guess.

The city writes money in 千円 (``20,900千円``) and so do its staff, in half- or full-width digits,
with or without separators, sometimes with the unit typed in. ``parse_amount`` is the one reader
of every amount the product takes (the forms, the workflow's payloads, the Excel import): it
normalises the text (NFKC), lets a unit typed after the number override the field's unit, and
refuses — with a Japanese message saying what to type — anything it would otherwise have to
guess: a misplaced separator, a point that may be a separator (``2.000``), a fraction of a yen,
a negative, a word. ``parse_date`` reads a date as the city writes it (2024/5/7, 2024年5月7日,
令和6年5月7日, R6.5.7, an Excel date cell) for the forms and the import alike, and ``check_date``
keeps a date within the years the product can show (from 平成元年 to a few years ahead).

No Flask, no database: the foundation every layer may use.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from japanera import EraDate, EraType

from .formatting import date_label
from .wording import N_, language, say, translate

MAX_YEN = 10**13  # ten trillion yen is beyond any ward or bureau budget: a typo, not an amount


class AmountUnit(enum.StrEnum):
    """The unit an amount field takes when the typed text names none."""

    THOUSAND_YEN = "thousand"
    YEN = "yen"

    @property
    def label(self) -> str:
        return translate(N_("千円") if self is AmountUnit.THOUSAND_YEN else N_("円"))

    @property
    def factor(self) -> int:
        return 1000 if self is AmountUnit.THOUSAND_YEN else 1

    @classmethod
    def chosen(cls, value: object, default: AmountUnit) -> AmountUnit:
        """The unit a form's switch sent, or ``default`` for anything else."""
        return cls(value) if value in cls._value2member_map_ else default


# A unit typed after the number, longest first so that 千円 is not read as 円.
_SUFFIXES: tuple[tuple[str, int], ...] = (
    ("百万円", 1_000_000),
    ("千円", 1000),
    ("万円", 10_000),
    ("億円", 100_000_000),
    ("円", 1),
)
_GROUPED = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?")
_PLAIN = re.compile(r"\d+(\.\d+)?")
_SEPARATORS = str.maketrans({"、": ",", "，": ",", "．": ".", "。": "."})
_NEGATIVE_MARKS = ("-", "−", "△", "▲")  # the last two are how Japanese accounts write a minus


class InputError(ValueError):
    """A typed value that cannot be read without guessing; ``message`` says what to type instead,
    in the current user's language (``template`` and ``params`` as in ``WorkflowError``)."""

    def __init__(self, template: str, **params: object):
        super().__init__(template % params if params else template)
        self.template = template
        self.params = params

    @property
    def message(self) -> str:
        return say(self.template, **self.params)


class AmountError(InputError):
    pass


DATE_EXAMPLES = N_("例: 2024/5/7、令和6年5月7日、R6.5.7")


class DateError(InputError):
    pass


class UnreadableDate(DateError):
    """Text that is no date at all; its message repeats the text (the forms show what was typed)."""


@dataclass(frozen=True)
class Amount:
    """An amount read from text: whole yen, and how it was understood."""

    yen: int

    def in_words(self) -> str:
        """``2,000千円 (2,000,000円)``, or ``1,234円`` when it is not whole thousands."""
        if self.yen and self.yen % 1000 == 0:
            return say(
                N_("%(value)s千円 (%(yen)s円)"),
                value=format(self.yen // 1000, ","),
                yen=format(self.yen, ","),
            )
        return say(N_("%(yen)s円"), yen=format(self.yen, ","))

    def said_back(self) -> str:
        """What a form says before saving: 「2,000千円 (2,000,000円) で登録します」."""
        return say(N_("%(value)s で登録します"), value=self.in_words())


def _split_unit(text: str, default: AmountUnit) -> tuple[str, int]:
    if text.startswith("¥"):
        return text[1:], 1
    for suffix, factor in _SUFFIXES:
        if text.endswith(suffix):
            return text[: -len(suffix)], factor
    if text.endswith(("千", "万", "億")):
        raise AmountError(N_("単位は「千円」「円」のように「円」まで書いてください (例: 2,000千円)。"))
    return text, default.factor


def _number(digits: str) -> Decimal:
    if _GROUPED.fullmatch(digits):
        return Decimal(digits.replace(",", ""))
    if "," in digits:
        raise AmountError(N_("桁区切りのカンマの位置が正しくありません (例: 2,000 または 2000)。"))
    if not _PLAIN.fullmatch(digits):
        raise AmountError(N_("金額は数字で入力してください (例: 2,000)。"))
    whole, _, fraction = digits.partition(".")
    if len(fraction) == 3 and len(whole) <= 3:
        raise AmountError(
            say(
                N_(
                    "「%(digits)s」の「.」が小数点か桁区切りか分かりません。桁区切りはカンマで書いてください。"
                ),
                digits=digits,
            )
        )
    return Decimal(digits)


def parse_amount(
    text: object,
    unit: AmountUnit = AmountUnit.THOUSAND_YEN,
    *,
    allow_zero: bool = False,
    maximum: int = MAX_YEN,
) -> Amount:
    """Read ``text`` as an amount in ``unit`` (or in the unit typed after it); raise
    ``AmountError`` for anything that would need a guess."""
    if isinstance(text, bool):
        raise AmountError(N_("金額は数字で入力してください (例: 2,000)。"))
    if isinstance(text, int):
        text = str(text)
    normalised = unicodedata.normalize("NFKC", str(text or "")).translate(_SEPARATORS)
    normalised = re.sub(r"\s+", "", normalised)
    if not normalised:
        raise AmountError(N_("金額を入力してください。"))
    if not re.search(r"\d", normalised):
        raise AmountError(N_("金額は数字で入力してください (例: 2,000)。"))
    if normalised.startswith(_NEGATIVE_MARKS):
        raise AmountError(N_("金額は0以上で入力してください。減額や取消しは取消しの操作で行います。"))
    digits, factor = _split_unit(normalised, unit)
    value = _number(digits) * factor
    if value != value.to_integral_value():
        raise AmountError(
            say(
                N_("%(value)s円になり、1円未満の端数が出ます。円単位で入力してください。"),
                value=format(value.normalize(), "f"),
            )
        )
    yen = int(value)
    if yen == 0 and not allow_zero:
        raise AmountError(N_("0より大きい金額を入力してください。"))
    if yen > maximum:
        raise AmountError(
            say(
                N_("金額が大きすぎます (%(value)s千円まで)。単位を確かめてください。"),
                value=format(maximum // 1000, ","),
            )
        )
    return Amount(yen)


# --- dates -----------------------------------------------------------------------------------

EARLIEST_DATE = dt.date(1989, 1, 8)  # 平成元年1月8日: nothing the city tracks is older
_WESTERN_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")
# 令和6年5月7日, 令和元年5月7日, 令和六年五月七日, R6.5.7, R6/5/7 (japanera's directives)
_ERA_FORMATS = ("%-K%-y年%m月%d日", "%-K%-n年%-m月%-d日", "%-h%-y.%m.%d", "%-h%-y/%m/%d")


def parse_date(value: object) -> dt.date | None:
    """A date cell or text: 2024/5/7, 2024-05-07, 2024年5月7日, 令和6年5月7日 or R6.5.7; None if
    empty; ``DateError`` for a date that does not exist or cannot be read."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = unicodedata.normalize("NFKC", "" if value is None else str(value)).strip()
    return _parse_date_text(text) if text else None


@functools.lru_cache(maxsize=4096)
def _parse_date_text(text: str) -> dt.date:
    unreadable = UnreadableDate(
        say(
            N_("「%(text)s」を日付として読み取れません (%(examples)s)。"),
            text=text,
            examples=translate(DATE_EXAMPLES),
        )
    )
    western = _WESTERN_DATE.fullmatch(text)
    if western:
        try:
            return dt.date(*(int(part) for part in western.groups()))
        except ValueError:
            raise unreadable from None
    for era_format in _ERA_FORMATS:
        try:
            candidates = EraDate.strptime(text.replace(" ", "").upper(), era_format)
        except ValueError:
            continue
        # "R" or "S" can also be the initial of a far older era: the latest era is the one meant.
        modern = [day for day in candidates if day.era.era_type != EraType.COMMON]
        if modern:
            return max(modern, key=lambda day: day.era.since).to_date()
    raise unreadable


def check_date(day: dt.date, label: str, *, latest: dt.date) -> dt.date:
    """``day`` if it lies between 平成元年 and ``latest``; else ``DateError`` naming the field."""
    if day < EARLIEST_DATE:
        raise DateError(
            say(
                N_("%(label)sは平成元年 (1989年1月8日) 以降の日付で入力してください。"),
                label=translate(label),
            )
        )
    if day > latest:
        raise DateError(
            say(
                N_("%(label)sは%(value)sまでの日付で入力してください。"),
                label=translate(label),
                value=date_label(latest, language()),
            )
        )
    return day
