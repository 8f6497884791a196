"""Value normalisation of every docs/spec/CONTRACT.md §3 format, and its errors."""

from __future__ import annotations

import datetime as dt

import pytest

from include import feeds
from include.ingest import values
from include.ingest.values import Bad


@pytest.mark.parametrize(
    "cell",
    [
        "2022-03-05",
        "2022/3/5",
        "2022年3月5日",
        "20220305",
        " ２０２２－０３－０５ ",
        "2022.03.05",
        "2022-03-05 00:00:00",
        dt.datetime(2022, 3, 5),
        dt.date(2022, 3, 5),
        44625,
        44625.0,
    ],
)
def test_dates(cell):
    assert values.to_date(cell) == "2022-03-05"


@pytest.mark.parametrize(
    "cell",
    ["2022-02-30", "2022/2/30", "2022年2月30日", "20220230", "2022-13-01", "3/5/2022", "昨天", "1800-01-01", True],
)
def test_impossible_dates_are_errors(cell):
    with pytest.raises(Bad) as err:
        values.to_date(cell)
    assert err.value.rule == "date"


@pytest.mark.parametrize("cell", ["2022-03", "2022年3月", "202203", "2022/03", "2022-03-01", dt.datetime(2022, 3, 1)])
def test_months(cell):
    assert values.to_month(cell) == "2022-03-01"


@pytest.mark.parametrize("cell", ["2022-13", "202213", "2022年", "三月"])
def test_bad_months(cell):
    with pytest.raises(Bad, match="not a month"):
        values.to_month(cell)


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("1,234.50", "1234.50"),
        ("１２３４．５", "1234.5"),
        (" 12 ", "12"),
        (1234.5, "1234.5"),
        (1234.0, "1234"),
        ("-3", "-3"),
        ("¥1,000", "1000"),
    ],
)
def test_money(cell, expected):
    assert values.to_money(cell) == expected


@pytest.mark.parametrize("cell", ["12元", "1.2.3", "abc", "--1"])
def test_bad_money(cell):
    with pytest.raises(Bad, match="not an amount"):
        values.to_money(cell)


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("是", "t"),
        ("否", "f"),
        ("Y", "t"),
        ("n", "f"),
        ("1", "t"),
        ("0", "f"),
        ("true", "t"),
        ("FALSE", "f"),
        (True, "t"),
        (0, "f"),
    ],
)
def test_flags(cell, expected):
    assert values.to_flag(cell) == expected


def test_bad_flag_and_int():
    with pytest.raises(Bad, match="not a flag"):
        values.to_flag("也许")
    assert values.to_int("1,200") == "1200" and values.to_int(12.0) == "12"
    with pytest.raises(Bad, match="whole number"):
        values.to_int("1.5")
    with pytest.raises(Bad, match="too large"):
        values.to_int("99999999999999999999")


def test_codes_are_normalised_before_checking():
    assert values.to_uscc(" ９１３３０１００７１６１０５８５２ｆ ") == "91330100716105852F"
    assert values.to_id("11010519491231002x") == "11010519491231002X"
    assert values.id_kind("11010519491231002X") == "person"
    assert values.id_kind("91330100716105852F") == "organisation"
    with pytest.raises(Bad) as err:
        values.to_id("110105194912310021")
    assert err.value.rule == "id_check" and "check digit" in err.value.problem


def test_enums():
    convert = values.make_converter(feeds.get("tax").column("credit_rating"))
    assert convert("a") == "A" and convert("Ｂ") == "B"
    with pytest.raises(Bad, match="not one of"):
        convert("E")
    multi = values.make_converter(feeds.get("penalties").column("penalty_type"))
    assert multi("警告；罚款") == "警告;罚款"
    assert multi("罚款、没收违法所得、罚款") == "罚款;没收违法所得"
    with pytest.raises(Bad, match="'打板子' is not one of"):
        multi("罚款;打板子")


def test_text_pattern():
    region = values.make_converter(feeds.get("subjects").column("region_code"))
    assert region("６４０１０２") == "640102"
    with pytest.raises(Bad, match="6 digits"):
        region("64010")
