"""The Chinese working-day calendar as data (docs/spec/DOMAIN.md §2): writes the dbt seeds
`working_calendar_years` (the years known, and from where) and `working_calendar_exceptions` (the
days that break the Mon–Fri rule: holidays on weekdays, 调休 weekends worked). The model
int_working_calendar expands them to every day; keeping only exceptions keeps the seed small and
every `dbt build` fast.

Statutory holidays are off and some weekends are make-up working days (调休), so "N working days"
cannot be computed from weekdays. The `chinesecalendar` package knows 2004–2026 only; the State
Council publishes each next year's schedule late in the year before. To extend the calendar, drop
that schedule in `dbt_project/calendar_schedules/<year>.csv` (columns `day,kind,name`, kind
`holiday` or `workday`; every day not listed follows the week: Mon–Fri working, Sat/Sun off) and
rerun `python -m include.working_calendar`. Years neither the package nor a schedule knows are
absent from the seed, and the models report the affected indicators as unknown instead of
silently counting weekends only.

    python -m include.working_calendar [--check]
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
from pathlib import Path

import chinese_calendar

from include.settings import REPO_ROOT

FIRST_YEAR = 2004
SEEDS_DIR = REPO_ROOT / "dbt_project" / "seeds"
YEARS_PATH = SEEDS_DIR / "working_calendar_years.csv"
EXCEPTIONS_PATH = SEEDS_DIR / "working_calendar_exceptions.csv"
SCHEDULES_DIR = REPO_ROOT / "dbt_project" / "calendar_schedules"
YEARS_HEADER = ("calendar_year", "source")
EXCEPTIONS_HEADER = ("day", "is_working_day", "holiday_name")


def _days(year: int):
    day = dt.date(year, 1, 1)
    while day.year == year:
        yield day
        day += dt.timedelta(days=1)


def package_year(year: int) -> list[tuple[dt.date, bool, str, str]] | None:
    """The year from chinesecalendar, or None when the package does not know it."""
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return None
    rows = []
    for day in _days(year):
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        working = chinese_calendar.is_workday(day)
        # A make-up working day (调休) carries the festival's name but is a working day.
        rows.append((day, working, name or "", "chinesecalendar"))
    return rows


def read_schedule(path: Path) -> list[tuple[dt.date, bool, str, str]]:
    """A dropped-in year schedule: listed days override the Mon–Fri rule."""
    year = int(path.stem)
    overrides: dict[dt.date, tuple[bool, str]] = {}
    with path.open(encoding="utf-8-sig", newline="") as f:
        for n, rec in enumerate(csv.DictReader(f), start=2):
            try:
                day = dt.date.fromisoformat(rec["day"].strip())
                kind = rec["kind"].strip().lower()
            except (KeyError, ValueError, AttributeError) as exc:
                raise ValueError(f"{path}: row {n}: need day (YYYY-MM-DD) and kind: {exc}") from None
            if day.year != year or kind not in ("holiday", "workday"):
                raise ValueError(f"{path}: row {n}: day {day} must be in {year}, kind holiday|workday, got {kind!r}")
            overrides[day] = (kind == "workday", (rec.get("name") or "").strip())
    return [(d, *overrides.get(d, (d.weekday() < 5, "")), f"schedule:{path.name}") for d in _days(year)]


def build_rows(schedules_dir: Path = SCHEDULES_DIR):
    """Every known day from 2004 on, contiguous: a gap year ends the calendar, because working-day
    counts run through it (a dropped-in 2028 without 2027 would be unusable)."""
    schedules = (
        {int(p.stem): p for p in schedules_dir.glob("[0-9][0-9][0-9][0-9].csv")} if schedules_dir.exists() else {}
    )
    rows: list[tuple] = []
    year = FIRST_YEAR
    while True:
        # A dropped-in schedule wins over the package (a corrected year can be dropped in too).
        year_rows = read_schedule(schedules[year]) if year in schedules else package_year(year)
        if year_rows is None:
            return rows
        rows.extend(year_rows)
        year += 1


def _csv(header, records) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(records)
    return out.getvalue()


def render(rows) -> dict[Path, str]:
    """The two seed files' contents for the given days."""
    years: dict[int, str] = {}
    exceptions = []
    for day, working, name, source in rows:
        years.setdefault(day.year, source)
        if working != (day.weekday() < 5):
            exceptions.append((day.isoformat(), "true" if working else "false", name))
    return {YEARS_PATH: _csv(YEARS_HEADER, sorted(years.items())), EXCEPTIONS_PATH: _csv(EXCEPTIONS_HEADER, exceptions)}


def write_seed() -> int:
    rows = build_rows()
    for path, text in render(rows).items():
        path.write_text(text, encoding="utf-8")
    return len(rows)


def main(argv: list[str]) -> int:
    if "--check" in argv:
        for path, text in render(build_rows()).items():
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                print(f"{path} is stale: run python -m include.working_calendar", file=sys.stderr)
                return 1
        return 0
    n = write_seed()
    print(f"wrote {n} days to {YEARS_PATH.name} and {EXCEPTIONS_PATH.name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
