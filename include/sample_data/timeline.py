"""Months, quarters and delivery times relative to as-of."""

from __future__ import annotations

import calendar
import datetime as dt

from .workdays import add_workdays


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def month_end(first: dt.date) -> dt.date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def months_up_to(as_of: dt.date, count: int) -> list[dt.date]:
    """First days of the `count` months ending with as-of's month, oldest first."""
    last = month_start(as_of)
    return [add_months(last, -k) for k in range(count - 1, -1, -1)]


def quarter_of(day: dt.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_end(year: int, quarter: int) -> dt.date:
    return month_end(dt.date(year, quarter * 3, 1))


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


class Clock:
    """Delivery times: a file arrives some working days after its period, never after as-of."""

    def __init__(self, as_of: dt.date):
        self.as_of = as_of
        self._minute = 0

    def arrival(self, period_end: dt.date, workdays: int, hour: int = 9) -> dt.datetime:
        # Distinct minutes keep arrival order stable and readable in the ledger.
        self._minute = (self._minute + 7) % 60
        day = add_workdays(period_end, workdays)
        if day > self.as_of:
            return dt.datetime.combine(self.as_of, dt.time(7, self._minute))
        return dt.datetime.combine(day, dt.time(hour, self._minute))
