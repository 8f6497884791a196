-- I05 有效异议占比 (docs/spec/DOMAIN.md §6): valid objections raised in the window on 双公示 records
-- (信息类别 行政许可 or 行政处罚, the seed's definition), over the 双公示 records decided in the window.
{{ config(materialized='ephemeral') }}
select 'I05'::text as indicator_id, 'all'::text as region_code,
       (select count(*) from {{ ref('stg_objections') }}
        where valid and {{ in_window('raised_on') }} and info_category in ('行政许可', '行政处罚')) as numerator,
       (select count(*) from {{ ref('int_double_publicity') }} where {{ in_window('decided_on') }}) as denominator,
       0 as unknown_calendar_rows
