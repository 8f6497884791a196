-- 双公示 records (penalties and licenses) with their 7-working-day report deadline (DOMAIN §2/§6,
-- the day count is the parameter of I04 in indicator_definitions). deadline NULL = calendar unknown.
with records as (
    select 'penalty' as record_type, 'penalty|' || record_key as record_key, decision_no, subject_key, decided_on, reported_on, source_unit_uscc
    from {{ ref('stg_penalties') }}
    union all
    select 'license', 'license|' || record_key, decision_no, subject_key, decided_on, reported_on, source_unit_uscc
    from {{ ref('stg_licenses') }}
)
select
    r.*,
    {{ working_day_deadline('r.decided_on',
        "(select d.parameter from " ~ ref('indicator_definitions') ~ " as d where d.indicator_id = 'I04')") }} as report_deadline
from records as r
