-- I08–I14 (docs/spec/DOMAIN.md §6), per region and for `all`, from one pass over the registry:
-- int_subject_facts holds each subject's state on as_of as the archive uses it (active enterprise,
-- an active dishonest-debtor record, real estate held); which enterprises have tax and
-- water/electricity/gas records in W is int_subject_history's. Grouping sets read each subject
-- once, and the regions are the registry's (the groups), not a separate scan of it.
--   I08 失信被执行企业占比, I09 信用承诺总量与企业总数比, I10 履约践诺与信用承诺比,
--   I11_* 涉企信息共享覆盖率 (reported, not assessed), I12/I13 机关/事业单位失信被执行人数,
--   I14 屡禁不止重点治理对象数 (focus_subjects).
{{ config(materialized='ephemeral') }}
with registry_totals as (
    select case when grouping(f.region_code) = 1 then 'all' else f.region_code end as region_code,
           count(*) filter (where f.is_active_enterprise) as enterprises,
           count(*) filter (where f.is_active_enterprise and f.dishonest_active) as dishonest,
           count(*) filter (where f.is_active_enterprise and h.tax_months_12m > 0) as has_tax,
           count(*) filter (where f.is_active_enterprise and h.has_water_12m) as has_water,
           count(*) filter (where f.is_active_enterprise and h.has_electricity_12m) as has_electricity,
           count(*) filter (where f.is_active_enterprise and h.has_gas_12m) as has_gas,
           count(*) filter (where f.is_active_enterprise and f.properties > 0) as has_real_estate,
           count(*) filter (where f.subject_type = '机关' and f.dishonest_active) as agencies_dishonest,
           count(*) filter (where f.subject_type = '事业单位' and f.dishonest_active) as institutions_dishonest
    from {{ ref('int_subject_facts') }} as f
    left join {{ ref('int_subject_history') }} as h on h.uscc = f.uscc
    group by grouping sets ((f.region_code), ())
),
commitments_in_window as (
    -- the registry from a table whose size the planner knows (int_subject_facts): joined to a
    -- view over raw.subjects (estimated at a fraction of its rows) it once chose a nested loop
    select c.fulfilment, s.region_code
    from {{ ref('stg_commitments') }} as c
    left join {{ ref('int_subject_facts') }} as s using (uscc)
    where {{ in_window('c.committed_on') }}
),
commitment_totals as (
    -- `all` counts every commitment; a region counts those of its registered subjects (a commitment
    -- of an unregistered code falls in the NULL region group, which no region joins)
    select case when grouping(region_code) = 1 then 'all' else region_code end as region_code,
           count(*) as made,
           count(*) filter (where fulfilment in ('履约', '未履约')) as settled
    from commitments_in_window
    group by grouping sets ((region_code), ())
),
commitment_counts as (
    select r.region_code, coalesce(t.made, 0) as made, coalesce(t.settled, 0) as settled
    from registry_totals as r
    left join commitment_totals as t using (region_code)
),
focus_counts as (
    -- I14: `all` counts every focus subject; a region counts its own
    select case when grouping(region_code) = 1 then 'all' else region_code end as region_code, count(*) as subjects
    from {{ ref('focus_subjects') }}
    group by grouping sets ((region_code), ())
)
select 'I08'::text as indicator_id, e.region_code, e.dishonest as numerator, e.enterprises as denominator,
       0 as unknown_calendar_rows
from registry_totals as e
union all select 'I09', e.region_code, c.made, e.enterprises, 0 from registry_totals as e join commitment_counts as c using (region_code)
union all select 'I10', c.region_code, c.settled, c.made, 0 from commitment_counts as c
union all select 'I11_tax', region_code, has_tax, enterprises, 0 from registry_totals
union all select 'I11_water', region_code, has_water, enterprises, 0 from registry_totals
union all select 'I11_electricity', region_code, has_electricity, enterprises, 0 from registry_totals
union all select 'I11_gas', region_code, has_gas, enterprises, 0 from registry_totals
union all select 'I11_real_estate', region_code, has_real_estate, enterprises, 0 from registry_totals
union all select 'I12', region_code, agencies_dishonest, null::bigint, 0 from registry_totals
union all select 'I13', region_code, institutions_dishonest, null::bigint, 0 from registry_totals
union all
select 'I14', r.region_code, coalesce(f.subjects, 0), null::bigint, 0
from registry_totals as r
left join focus_counts as f using (region_code)
