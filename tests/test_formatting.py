"""How the city writes money, fiscal years and dates (tracker/formatting.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from tracker.formatting import (
    date_label,
    datetime_label,
    era_date_label,
    fiscal_year_label,
    fiscal_year_of,
    thousand_yen,
    yen,
)

JST = dt.timezone(dt.timedelta(hours=9))


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (20_900_000, "20,900千円"),
        (47_537_000, "47,537千円"),
        (2_000_000, "2,000千円"),
        (1_000, "1千円"),
        (0, "0千円"),
        (1_234, "1.234千円"),
        (1_500, "1.5千円"),
        (999, "0.999千円"),
        (20_900_500, "20,900.5千円"),
        (1_000_000_000, "1,000,000千円"),
        (None, ""),
    ],
)
def test_thousand_yen(amount, expected):
    assert thousand_yen(amount) == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(20_900_000, "20,900,000円"), (0, "0円"), (999, "999円"), (1_234_567, "1,234,567円"), (None, "")],
)
def test_yen(amount, expected):
    assert yen(amount) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2024, 3, 31), 2023),
        (dt.date(2024, 4, 1), 2024),
        (dt.date(2024, 1, 1), 2023),
        (dt.date(2024, 12, 31), 2024),
        (dt.date(2025, 3, 31), 2024),
    ],
)
def test_fiscal_year_of_runs_april_to_march(day, expected):
    assert fiscal_year_of(day) == expected


@pytest.mark.parametrize(
    ("fiscal_year", "expected"),
    [
        (2024, "令和6年度 (2024)"),
        (2020, "令和2年度 (2020)"),
        (2019, "令和元年度 (2019)"),  # began under 平成 (April 2019) but the city writes 令和元年度
        (2018, "平成30年度 (2018)"),
        (2013, "平成25年度 (2013)"),
        (1989, "平成元年度 (1989)"),
        (None, ""),
    ],
)
def test_fiscal_year_label(fiscal_year, expected):
    assert fiscal_year_label(fiscal_year) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2024, 5, 7), "2024年5月7日"),
        (dt.date(2024, 12, 25), "2024年12月25日"),
        # 15:00 UTC on May 6 is midnight of May 7 in Tokyo; a minute earlier is still May 6.
        (dt.datetime(2024, 5, 6, 15, 0, tzinfo=dt.UTC), "2024年5月7日"),
        (dt.datetime(2024, 5, 6, 22, 30, tzinfo=dt.UTC), "2024年5月7日"),
        (dt.datetime(2024, 5, 6, 14, 59, tzinfo=dt.UTC), "2024年5月6日"),
        (dt.datetime(2024, 5, 7, 8, 0, tzinfo=JST), "2024年5月7日"),
        (None, ""),
    ],
)
def test_date_label(value, expected):
    assert date_label(value) == expected


def test_datetime_label_is_in_tokyo_time():
    assert datetime_label(dt.datetime(2024, 5, 6, 15, 5, tzinfo=dt.UTC)) == "2024年5月7日 00:05"
    assert datetime_label(None) == ""


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2024, 5, 7), "令和6年5月7日"),
        (dt.date(2019, 5, 1), "令和元年5月1日"),
        (dt.date(2019, 4, 30), "平成31年4月30日"),
        (dt.date(1989, 1, 8), "平成元年1月8日"),
        (dt.date(1989, 1, 7), "昭和64年1月7日"),
        (None, ""),
    ],
)
def test_era_date_label(day, expected):
    assert era_date_label(day) == expected
