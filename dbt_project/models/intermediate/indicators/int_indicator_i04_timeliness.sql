-- I04 双公示及时率 (docs/spec/DOMAIN.md §6): records decided in the window and reported within the
-- working-day deadline, over the records decided in the window. A deadline beyond the working
-- calendar is unknown (unknown_calendar_rows).
{{ config(materialized='ephemeral') }}
select 'I04'::text as indicator_id, 'all'::text as region_code,
       count(*) filter (where reported_on <= report_deadline) as numerator, count(*) as denominator,
       count(*) filter (where report_deadline is null) as unknown_calendar_rows
from {{ ref('int_double_publicity') }}
where {{ in_window('decided_on') }}
