-- I07 信用修复3个工作日办结率 (docs/spec/DOMAIN.md §6): repairs completed in the window within the
-- seed's number of working days of acceptance (of application when not accepted), over the repairs
-- completed in the window.
{{ config(materialized='ephemeral') }}
with repairs_done as (
    select completed_on,
           {{ working_day_deadline('coalesce(accepted_on, applied_on)',
               "(select d.parameter from " ~ ref('indicator_definitions') ~ " as d where d.indicator_id = 'I07')") }}
           as deadline
    from {{ ref('stg_repairs') }}
    where {{ in_window('completed_on') }}
)
select 'I07'::text as indicator_id, 'all'::text as region_code,
       count(*) filter (where completed_on <= deadline) as numerator, count(*) as denominator,
       count(*) filter (where deadline is null) as unknown_calendar_rows
from repairs_done
