"""How the city writes money, fiscal years and dates.

Babel cannot write the Japanese era, so the era comes from ``japanera``; the rest is the
city's own convention: ``20,900千円``, ``令和6年度 (2024)``, ``2024年5月7日``. In English
(``language="en"``) the same values read ``¥20,900 thousand``, ``FY2024 (Reiwa 6)``,
``7 May 2024``. Without a ``language`` a helper writes in the current user's language
(``wording.language()``: Japanese outside a request), so a label built anywhere — a form's
choices, a chart, a message — reads in the language of the page it lands on.

Every ``*_label`` and amount helper is total: a page shows whatever is stored, so a value the
helper cannot write the city's way (a year no era covers, a number that is not one) is written
plainly instead of failing the page (``_total``).
"""

import datetime as dt
import functools
from collections.abc import Callable
from zoneinfo import ZoneInfo

from japanera import EraDate

from .wording import language as current_language

TOKYO = ZoneInfo("Asia/Tokyo")


ENGLISH = "en"
_MONTHS_IN_FULL = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def _total(plain: Callable[[object], str]) -> Callable:
    """Make a helper of one value (and a language) total: on any failure it returns ``plain(value)``."""

    def decorate(helper: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(helper)
        def written(value, language: str | None = None):
            try:
                return helper(value, language or current_language())
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


def era_year(year: int, month: int = 12, day: int = 31, language: str | None = None) -> tuple[str, int]:
    """The era (its kanji, or its English name) and the year of it for a date."""
    era_date = EraDate(year, month, day)
    name = era_date.era.english if (language or current_language()) == ENGLISH else era_date.era.kanji
    return name, year - era_date.era.since.year + 1


def _era_number(number: int) -> str:
    return "元" if number == 1 else str(number)


@_total(lambda year: f"{year}年度")
def fiscal_year_label(fiscal_year: int | None, language: str | None = None) -> str:
    """``令和6年度 (2024)``; in English ``FY2024 (Reiwa 6)``.

    The era is the one in force at the end of the fiscal year's first calendar year, as the city
    writes FY2019 as 令和元年度 though it began under 平成.
    """
    if fiscal_year is None:
        return ""
    if language == ENGLISH:
        era, number = era_year(fiscal_year, language=ENGLISH)
        return f"FY{fiscal_year} ({era} {number})"
    era, number = era_year(fiscal_year)
    return f"{era}{_era_number(number)}年度 ({fiscal_year})"


@_total(_plain)
def date_label(day: dt.date | dt.datetime | None, language: str | None = None) -> str:
    """``2024年5月7日`` (in English ``7 May 2024``); a datetime is shown as its date in Tokyo."""
    if day is None:
        return ""
    if isinstance(day, dt.datetime):
        day = day.astimezone(TOKYO).date()
    if language == ENGLISH:
        return f"{day.day} {_MONTHS_IN_FULL[day.month - 1]} {day.year}"
    return f"{day.year}年{day.month}月{day.day}日"


@_total(_plain)
def datetime_label(moment: dt.datetime | None, language: str | None = None) -> str:
    """``2024年5月7日 14:05`` (in English ``7 May 2024 14:05``) in Tokyo time."""
    if moment is None:
        return ""
    local = moment.astimezone(TOKYO)
    return f"{date_label(local.date(), language)} {local:%H:%M}"


@_total(lambda day: date_label(day))
def era_date_label(day: dt.date | None, language: str | None = None) -> str:
    """``令和6年5月7日``, for printed documents; in English ``7 May 2024 (Reiwa 6)``."""
    if day is None:
        return ""
    if language == ENGLISH:
        era, number = era_year(day.year, day.month, day.day, ENGLISH)
        return f"{date_label(day, ENGLISH)} ({era} {number})"
    era, number = era_year(day.year, day.month, day.day)
    return f"{era}{_era_number(number)}年{day.month}月{day.day}日"


@_total(_plain)
def thousand_yen(amount: int | None, language: str | None = None) -> str:
    """``20,900千円`` (in English ``¥20,900 thousand``) from 20,900,000 yen; amounts not a
    multiple of 1,000 keep a decimal."""
    if amount is None:
        return ""
    if language == ENGLISH:
        thousands = f"{amount // 1000:,}" if amount % 1000 == 0 else f"{amount / 1000:,.3f}".rstrip("0")
        return f"¥{thousands} thousand"
    if amount % 1000 == 0:
        return f"{amount // 1000:,}千円"
    return f"{amount / 1000:,.3f}".rstrip("0").rstrip(".") + "千円"


@_total(_plain)
def approximate_yen(amount: int | None, language: str | None = None) -> str:
    """``約10億円``, ``約4,954万円``: an amount as the city writes it in a sentence.

    From 1億円 up, in 億 to one decimal (``約12.5億円``, ``約10億円`` when the decimal is 0);
    below, in whole 万. Both round half up (4,953.7万 → 約4,954万円); an amount that rounds to
    10,000万 is written in 億 (99,995,000 → 約1億円). Below 1万円 the amount is exact (``5,000円``).
    """
    if amount is None:
        return ""
    if language == ENGLISH:
        return _approximate_in_english(amount)
    if amount < 10_000:
        return f"{amount:,}円"
    man = (amount + 5_000) // 10_000
    if man < 10_000:
        return f"約{man:,}万円"
    tenths = (amount + 5_000_000) // 10_000_000
    whole, decimal = divmod(tenths, 10)
    return f"約{whole:,}億円" if decimal == 0 else f"約{whole:,}.{decimal}億円"


@_total(_plain)
def yen(amount: int | None, language: str | None = None) -> str:
    """``20,900,000円``; in English ``¥20,900,000``."""
    if amount is None:
        return ""
    if language == ENGLISH:
        return f"¥{amount:,}"
    return f"{amount:,}円"


@_total(_plain)
def file_size(size: int | None, language: str | None = None) -> str:
    """``850バイト``, ``12.3KB``, ``4.0MB``: the size of a file as staff read it (``850 bytes``)."""
    if size is None:
        return ""
    if size < 1024:
        return f"{size:,} bytes" if language == ENGLISH else f"{size:,}バイト"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f}KB"
    return f"{size / (1024 * 1024):.1f}MB"


# The units the city writes after a count (an indicator's ``unit``): in English, a word after the
# number, and the unit's name where it stands alone. A unit not listed is shown as typed (data).
_UNITS_IN_ENGLISH = {
    "件": ("", "count"),
    "日": (" days", "days"),
    "人": (" people", "people"),
    "回": (" times", "times"),
    "世帯": (" households", "households"),
    "団体": (" groups", "groups"),
    "円": (" yen", "yen"),
    "千円": (" thousand yen", "thousand yen"),
}


def unit_suffix(unit: str, language: str | None = None) -> str:
    """What follows a number of ``unit``: ``件`` in Japanese, nothing in English (``12``)."""
    if (language or current_language()) == ENGLISH and unit in _UNITS_IN_ENGLISH:
        return _UNITS_IN_ENGLISH[unit][0]
    return unit


def unit_name(unit: str, language: str | None = None) -> str:
    """A unit standing alone (a column header, a hint): ``件``; in English ``count``."""
    if (language or current_language()) == ENGLISH and unit in _UNITS_IN_ENGLISH:
        return _UNITS_IN_ENGLISH[unit][1]
    return unit


def _approximate_in_english(amount: int) -> str:
    """``about ¥49.5 million``, ``about ¥1.2 billion``; below ¥10,000 exact (``¥5,000``)."""
    if amount < 10_000:
        return f"¥{amount:,}"
    if amount < 1_000_000:
        return f"about ¥{(amount + 500) // 1000:,} thousand"
    if amount < 999_950_000:
        tenths = (amount + 50_000) // 100_000
        return f"about ¥{tenths // 10:,}.{tenths % 10} million".replace(".0 million", " million")
    tenths = (amount + 50_000_000) // 100_000_000
    return f"about ¥{tenths // 10:,}.{tenths % 10} billion".replace(".0 billion", " billion")


def today_in_tokyo() -> dt.date:
    return dt.datetime.now(TOKYO).date()
