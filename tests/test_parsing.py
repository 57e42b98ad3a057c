"""``tracker.parsing``: amounts and dates as the city writes them, and every guess refused."""

from __future__ import annotations

import datetime as dt

import pytest

from tracker.parsing import (
    EARLIEST_DATE,
    MAX_YEN,
    Amount,
    AmountError,
    AmountUnit,
    DateError,
    check_date,
    parse_amount,
    parse_date,
)

THOUSAND, YEN = AmountUnit.THOUSAND_YEN, AmountUnit.YEN


@pytest.mark.parametrize(
    ("text", "unit", "yen"),
    [
        ("2,000", THOUSAND, 2_000_000),  # the city's own example: ごみステーション 2,000千円
        ("２，０００", THOUSAND, 2_000_000),  # full-width digits and comma
        ("2000千円", YEN, 2_000_000),  # a typed unit overrides the field's
        ("2,000,000円", THOUSAND, 2_000_000),
        ("20,900", THOUSAND, 20_900_000),
        ("47,537千円", THOUSAND, 47_537_000),
        (" 1 500 ", YEN, 1500),  # spaces dropped
        ("1.5", THOUSAND, 1500),  # a decimal that is whole yen
        ("12.25千円", THOUSAND, 12_250),
        ("300万円", THOUSAND, 3_000_000),
        ("1億円", YEN, 100_000_000),
        ("2百万円", YEN, 2_000_000),
        ("¥12,345", THOUSAND, 12_345),  # a yen sign means yen
        ("￥980", THOUSAND, 980),
        ("2、000", THOUSAND, 2_000_000),  # an IME's 、 as the separator
        (2000, YEN, 2000),  # a number already
    ],
)
def test_reads_what_staff_type(text, unit, yen):
    assert parse_amount(text, unit) == Amount(yen)


@pytest.mark.parametrize(
    ("text", "unit", "says"),
    [
        ("", THOUSAND, "金額を入力してください"),
        ("   ", THOUSAND, "金額を入力してください"),
        (None, THOUSAND, "金額を入力してください"),
        ("2,00", THOUSAND, "カンマの位置"),
        ("20,00,000", YEN, "カンマの位置"),
        ("1,5", THOUSAND, "カンマの位置"),
        ("2.000", THOUSAND, "小数点か桁区切りか"),  # 2千円 or 2,000千円?
        ("1.5", YEN, "1円未満の端数"),
        ("1.2345", THOUSAND, "1円未満の端数"),
        ("-100", YEN, "0以上"),
        ("△2,000", THOUSAND, "0以上"),
        ("0", THOUSAND, "0より大きい"),
        ("二千", THOUSAND, "数字で入力"),
        ("2千", THOUSAND, "単位は"),
        ("2000ドル", THOUSAND, "数字で入力"),
        ("2,000 3,000", THOUSAND, "カンマの位置"),
        ("1e6", YEN, "数字で入力"),
        ("abc", YEN, "数字で入力"),
        (True, YEN, "数字で入力"),
        (f"{MAX_YEN + 1}", YEN, "大きすぎます"),
        ("10,000,000,001", THOUSAND, "大きすぎます"),
    ],
)
def test_refuses_what_would_need_a_guess(text, unit, says):
    with pytest.raises(AmountError) as raised:
        parse_amount(text, unit)
    assert says in raised.value.message


def test_zero_only_where_the_field_allows_it():
    assert parse_amount("0", YEN, allow_zero=True) == Amount(0)
    with pytest.raises(AmountError):
        parse_amount("0", YEN)


def test_a_field_may_set_a_lower_ceiling():
    assert parse_amount("5,000", YEN, maximum=5000) == Amount(5000)
    with pytest.raises(AmountError, match="5千円まで"):
        parse_amount("5,001", YEN, maximum=5000)


@pytest.mark.parametrize(
    ("yen", "words"),
    [
        (2_000_000, "2,000千円 (2,000,000円)"),
        (20_900_000, "20,900千円 (20,900,000円)"),
        (1_234, "1,234円"),
        (1_500, "1,500円"),
        (0, "0円"),
    ],
)
def test_in_words_as_the_city_writes_it(yen, words):
    assert Amount(yen).in_words() == words


def test_units_say_their_label_and_factor():
    assert (THOUSAND.label, THOUSAND.factor) == ("千円", 1000)
    assert (YEN.label, YEN.factor) == ("円", 1)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026/12/1", dt.date(2026, 12, 1)),
        ("令和8年12月1日", dt.date(2026, 12, 1)),
        ("Ｒ８．１２．１", dt.date(2026, 12, 1)),  # full width, as an IME may leave it
        (" 2026-12-01 ", dt.date(2026, 12, 1)),
        (dt.datetime(2026, 12, 1, 9, 30), dt.date(2026, 12, 1)),
        ("", None),
        (None, None),
    ],
)
def test_dates_as_the_city_writes_them(text, day):
    assert parse_date(text) == day


@pytest.mark.parametrize("text", ["令和8年2月30日", "2026/13/1", "来週", "12/1"])
def test_a_date_that_cannot_be_read_is_a_date_error(text):
    with pytest.raises(DateError, match="日付として読み取れません"):
        parse_date(text)


def test_check_date_keeps_dates_within_what_the_product_shows():
    latest = dt.date(2027, 12, 1)
    assert check_date(EARLIEST_DATE, "受付日", latest=latest) == EARLIEST_DATE
    assert check_date(latest, "受付日", latest=latest) == latest
    with pytest.raises(DateError, match="受付日は平成元年"):
        check_date(EARLIEST_DATE - dt.timedelta(days=1), "受付日", latest=latest)
    with pytest.raises(DateError, match="受付日は2027年12月1日までの日付"):
        check_date(latest + dt.timedelta(days=1), "受付日", latest=latest)
