"""include/working_calendar.py: the seed is the package's calendar, and a dropped-in schedule extends it."""

from __future__ import annotations

import csv
import datetime as dt

from include import working_calendar


def _as_dict(rows):
    return {day: working for day, working, _name, _source in rows}


def test_seed_files_are_current_and_know_make_up_days():
    assert working_calendar.main(["--check"]) == 0
    with working_calendar.EXCEPTIONS_PATH.open(encoding="utf-8") as f:
        exceptions = {r["day"]: r["is_working_day"] for r in csv.DictReader(f)}
    assert exceptions["2022-10-08"] == "true" and exceptions["2022-10-09"] == "true"  # 调休 weekend
    assert exceptions["2022-10-03"] == "false"  # National Day Monday
    assert exceptions["2021-09-26"] == "true" and exceptions["2021-10-09"] == "true"
    assert "2022-10-15" not in exceptions  # an ordinary Saturday
    with working_calendar.YEARS_PATH.open(encoding="utf-8") as f:
        years = [int(r["calendar_year"]) for r in csv.DictReader(f)]
    assert years == list(range(2004, 2027))


def test_dropped_in_schedule_extends_the_calendar(tmp_path):
    (tmp_path / "2027.csv").write_text(
        "day,kind,name\n2027-01-01,holiday,元旦\n2027-01-02,workday,调休\n", encoding="utf-8"
    )
    days = _as_dict(working_calendar.build_rows(tmp_path))
    assert days[dt.date(2027, 1, 1)] is False and days[dt.date(2027, 1, 2)] is True
    assert days[dt.date(2027, 1, 3)] is False and days[dt.date(2027, 1, 4)] is True  # Sun off, Mon on
    assert max(days) == dt.date(2027, 12, 31)


def test_a_gap_year_ends_the_calendar(tmp_path):
    # 2028 without 2027 cannot be used: working-day counts would run through an unknown year
    (tmp_path / "2028.csv").write_text("day,kind,name\n", encoding="utf-8")
    assert max(_as_dict(working_calendar.build_rows(tmp_path))) == dt.date(2026, 12, 31)


def test_malformed_schedule_is_refused_with_the_row(tmp_path):
    (tmp_path / "2027.csv").write_text("day,kind,name\n2027-02-30,holiday,x\n", encoding="utf-8")
    try:
        working_calendar.build_rows(tmp_path)
    except ValueError as exc:
        assert "2027.csv" in str(exc) and "row 2" in str(exc)
    else:
        raise AssertionError("a malformed schedule must not be accepted")
