"""How the city writes money, fiscal years and dates.

Babel cannot write the Japanese era, so the era comes from ``japanera``; the rest is the
city's own convention: ``20,900千円``, ``令和6年度 (2024)``, ``2024年5月7日``.

Every ``*_label`` and amount helper is total: a page shows whatever is stored, so a value the
helper cannot write the city's way (a year no era covers, a number that is not one) is written
plainly instead of failing the page (``_total``).
"""

import datetime as dt
import functools
from collections.abc import Callable
from zoneinfo import ZoneInfo

from japanera import EraDate

TOKYO = ZoneInfo("Asia/Tokyo")


def _total(plain: Callable[[object], str]) -> Callable:
    """Make a helper of one value total: on any failure it returns ``plain(value)``."""

    def decorate(helper: Callable[[object], str]) -> Callable[[object], str]:
        @functools.wraps(helper)
        def written(value):
            try:
                return helper(value)
            except Exception:  # whatever is stored, the page is shown
                return plain(value)

        return written

    return decorate


def _plain(value: object) -> str:
    return "" if value is None else str(value)


def fiscal_year_of(day: dt.date) -> int:
    """The fiscal year (年度) a date falls in: April 1 to March 31, named by its first year."""
    return day.year if day.month >= 4 else day.year - 1


def fiscal_years_between(first: int, current: int) -> list[int]:
    """Every fiscal year from the later of the two to the earlier, both included, newest first."""
    return list(range(max(current, first), min(first, current) - 1, -1))


def era_year(year: int, month: int = 12, day: int = 31) -> tuple[str, int]:
    era_date = EraDate(year, month, day)
    return era_date.era.kanji, year - era_date.era.since.year + 1


def _era_number(number: int) -> str:
    return "元" if number == 1 else str(number)


@_total(lambda year: f"{year}年度")
def fiscal_year_label(fiscal_year: int | None) -> str:
    """``令和6年度 (2024)``.

    The era is the one in force at the end of the fiscal year's first calendar year, as the city
    writes FY2019 as 令和元年度 though it began under 平成.
    """
    if fiscal_year is None:
        return ""
    era, number = era_year(fiscal_year)
    return f"{era}{_era_number(number)}年度 ({fiscal_year})"


@_total(_plain)
def date_label(day: dt.date | dt.datetime | None) -> str:
    """``2024年5月7日``; a datetime is shown as its date in Tokyo."""
    if day is None:
        return ""
    if isinstance(day, dt.datetime):
        day = day.astimezone(TOKYO).date()
    return f"{day.year}年{day.month}月{day.day}日"


@_total(_plain)
def datetime_label(moment: dt.datetime | None) -> str:
    """``2024年5月7日 14:05`` in Tokyo time."""
    if moment is None:
        return ""
    local = moment.astimezone(TOKYO)
    return f"{date_label(local.date())} {local:%H:%M}"


@_total(lambda day: date_label(day))
def era_date_label(day: dt.date | None) -> str:
    """``令和6年5月7日``, for printed documents."""
    if day is None:
        return ""
    era, number = era_year(day.year, day.month, day.day)
    return f"{era}{_era_number(number)}年{day.month}月{day.day}日"


@_total(_plain)
def thousand_yen(amount: int | None) -> str:
    """``20,900千円`` from 20,900,000 yen; amounts not a multiple of 1,000 keep a decimal."""
    if amount is None:
        return ""
    if amount % 1000 == 0:
        return f"{amount // 1000:,}千円"
    return f"{amount / 1000:,.3f}".rstrip("0").rstrip(".") + "千円"


@_total(_plain)
def approximate_yen(amount: int | None) -> str:
    """``約10億円``, ``約4,954万円``: an amount as the city writes it in a sentence.

    From 1億円 up, in 億 to one decimal (``約12.5億円``, ``約10億円`` when the decimal is 0);
    below, in whole 万. Both round half up (4,953.7万 → 約4,954万円); an amount that rounds to
    10,000万 is written in 億 (99,995,000 → 約1億円). Below 1万円 the amount is exact (``5,000円``).
    """
    if amount is None:
        return ""
    if amount < 10_000:
        return f"{amount:,}円"
    man = (amount + 5_000) // 10_000
    if man < 10_000:
        return f"約{man:,}万円"
    tenths = (amount + 5_000_000) // 10_000_000
    whole, decimal = divmod(tenths, 10)
    return f"約{whole:,}億円" if decimal == 0 else f"約{whole:,}.{decimal}億円"


@_total(_plain)
def yen(amount: int | None) -> str:
    """``20,900,000円``."""
    if amount is None:
        return ""
    return f"{amount:,}円"


@_total(_plain)
def file_size(size: int | None) -> str:
    """``850バイト``, ``12.3KB``, ``4.0MB``: the size of a file as staff read it."""
    if size is None:
        return ""
    if size < 1024:
        return f"{size:,}バイト"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f}KB"
    return f"{size / (1024 * 1024):.1f}MB"


def today_in_tokyo() -> dt.date:
    return dt.datetime.now(TOKYO).date()
