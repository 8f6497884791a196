-- The working-day calendar: every day of the known years (seed working_calendar_years), Mon–Fri
-- working unless listed in working_calendar_exceptions (holidays, 调休 weekends), with a running
-- count of working days (wd_seq) so that deadlines and durations are lookups
-- (macros/working_days.sql). Days outside the known years are absent on purpose: lookups then give
-- NULL and the indicators say the calendar is missing.
{{ config(indexes=[{'columns': ['day'], 'unique': True}, {'columns': ['wd_seq']}]) }}
with known_years as (
    select calendar_year, source from {{ ref('working_calendar_years') }}
),
days as (
    select d::date as day, y.calendar_year, y.source
    from known_years as y
    cross join lateral generate_series(make_date(y.calendar_year, 1, 1), make_date(y.calendar_year, 12, 31),
                                       interval '1 day') as d
),
flagged as (
    select days.day, days.calendar_year, days.source,
           coalesce(x.is_working_day, extract(isodow from days.day) < 6) as is_working_day,
           nullif(x.holiday_name, '') as holiday_name
    from days
    left join {{ ref('working_calendar_exceptions') }} as x on x.day = days.day
)
select
    day,
    is_working_day,
    holiday_name,
    source,
    calendar_year,
    count(*) filter (where is_working_day) over (order by day rows between unbounded preceding and current row) as wd_seq
from flagged
