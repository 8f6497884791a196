-- I06 异议平均处理时间 (docs/spec/DOMAIN.md §6): working days from raising to completion of the
-- objections on 双公示 records completed in the window, summed, over their number.
{{ config(materialized='ephemeral') }}
with objections_done as (
    select {{ working_days_between('raised_on', 'completed_on') }} as working_days
    from {{ ref('stg_objections') }}
    where {{ in_window('completed_on') }} and info_category in ('行政许可', '行政处罚')
)
select 'I06'::text as indicator_id, 'all'::text as region_code,
       coalesce(sum(working_days), 0) as numerator, count(*) as denominator,
       count(*) filter (where working_days is null) as unknown_calendar_rows
from objections_done
