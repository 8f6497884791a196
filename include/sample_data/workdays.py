"""Chinese working days for the generator (docs/spec/DOMAIN.md §2), from the `chinesecalendar` package.

The generator only uses them to decide when a department reports, so for years the package does
not know yet it falls back to Monday-Friday rather than fail: the pipeline's own calendar table is
what the indicators trust, not this.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import chinese_calendar


@lru_cache(maxsize=8192)
def is_workday(day: dt.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def add_workdays(day: dt.date, n: int) -> dt.date:
    """The n-th working day strictly after `day` (n = 0 gives `day` itself)."""
    current = day
    while n > 0:
        current += dt.timedelta(days=1)
        if is_workday(current):
            n -= 1
    return current


def deadline(day: dt.date, n: int = 7) -> dt.date:
    """Last day to report a decision of `day` "within n working days" (docs/spec/DOMAIN.md §2)."""
    return add_workdays(day, n)


def holiday_soon(day: dt.date, horizon: int = 6, min_days_off: int = 3) -> bool:
    """True when a run of >= min_days_off non-working days starts within `horizon` days.

    Decisions made just before 春节 or 国庆 are the ones reported late in real life.
    """
    run = 0
    for k in range(1, horizon + min_days_off + 1):
        if is_workday(day + dt.timedelta(days=k)):
            if run >= min_days_off:
                return True
            run = 0
        else:
            run += 1
    return run >= min_days_off
