-- 指标评分表 (docs/spec/DOMAIN.md §6): one row per indicator and region for as_of. Each indicator is
-- its own model (intermediate/indicators/int_indicator_*: numerator/denominator, or a count); names,
-- targets, comparators and parameters come from the seed indicator_definitions. A zero denominator
-- gives value NULL and passed false. Indicators that need working days outside the known calendar
-- give value NULL, passed false and say so in `note`.
with defs as (
    select * from {{ ref('indicator_definitions') }}
),
calendar_end as (
    select max(day) as last_known_day from {{ ref('int_working_calendar') }}
),
measures as (
    select * from {{ ref('int_indicator_i01_code_errors') }}
    union all select * from {{ ref('int_indicator_i02_reporting') }}
    union all select * from {{ ref('int_indicator_i03_compliance') }}
    union all select * from {{ ref('int_indicator_i04_timeliness') }}
    union all select * from {{ ref('int_indicator_i05_valid_objections') }}
    union all select * from {{ ref('int_indicator_i06_objection_days') }}
    union all select * from {{ ref('int_indicator_i07_repairs') }}
    union all select * from {{ ref('int_indicator_i08_i14_registry') }}
),
valued as (
    select m.*, d.indicator_name, d.kind, d.target, d.comparator,
           case
               when m.unknown_calendar_rows > 0 then null
               when d.kind = 'count' then m.numerator::numeric
               when m.denominator = 0 then null
               else round(m.numerator::numeric / m.denominator, 6)
           end as value
    from measures as m
    join defs as d using (indicator_id)
)
select
    {{ as_of() }} as as_of,
    v.region_code,
    v.indicator_id,
    v.indicator_name,
    case when v.unknown_calendar_rows > 0 then null else v.numerator end as numerator,
    v.denominator,
    v.value,
    v.target,
    v.comparator,
    case
        when v.target is null then null
        when v.value is null then false
        when v.comparator = '<' then v.value < v.target
        when v.comparator = '<=' then v.value <= v.target
        when v.comparator = '>=' then v.value >= v.target
        when v.comparator = '>' then v.value > v.target
        when v.comparator = '=' then v.value = v.target
    end as passed,
    case
        when v.unknown_calendar_rows > 0 then
            v.unknown_calendar_rows || ' 条记录的工作日无法计算：工作日历只到 ' || (select last_known_day from calendar_end)
            || '，请放入之后年份的调休安排（dbt_project/calendar_schedules/<年>.csv）'
        when v.kind <> 'count' and v.denominator = 0 then '分母为0，无法计算'
        when v.target is null then '只报告，不考核'
    end as note
from valued as v
