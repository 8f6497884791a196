-- 指标评分表 (docs/spec/DOMAIN.md §6): one row per indicator and region for as_of. Each indicator yields
-- numerator/denominator (or a count); names, targets, comparators and parameters come from the
-- seed indicator_definitions. A zero denominator gives value NULL and passed false. Indicators that
-- need working days outside the known calendar give value NULL, passed false and say so in `note`.
with defs as (
    select * from {{ ref('indicator_definitions') }}
),
calendar_end as (
    select max(day) as last_known_day from {{ ref('int_working_calendar') }}
),

-- I01 重错码率 ---------------------------------------------------------------------------------
-- The codes delivered in the registry are stg_subjects' keys: one row per code of every loaded
-- registry row (a code's latest delivery), found by its unique index.
codes_with_many_names as (
    -- over every delivery: min <> max, not count(distinct name) >= 2 (the same for non-null names),
    -- a hash aggregate, where count(distinct) sorted the 300,000 codes of a city
    select count(*) as codes
    from (select uscc from {{ source('raw', 'subjects') }} group by uscc having min(name) <> max(name)) as c
),
rejected_codes as (
    select distinct {{ normalise_code('value') }} as code
    from {{ source('audit', 'quarantine') }}
    where feed = 'subjects' and column_name = 'uscc' and severity = 'error'
      and coalesce({{ normalise_code('value') }}, '') <> ''
),
rejected_unregistered as (
    -- not exists, not `not in`: NOT IN over 300,000 codes re-scanned them per rejected code
    select code from rejected_codes as r
    where not exists (select 1 from {{ ref('stg_subjects') }} as g where g.uscc = r.code)
),
i01 as (
    -- the codes delivered are the registry's and the rejected ones it does not have: counted apart,
    -- not as a union of both that sorts them all again
    select 'I01'::text as indicator_id, 'all'::text as region_code,
           (select count(*) from rejected_unregistered) + (select codes from codes_with_many_names) as numerator,
           (select count(*) from {{ ref('stg_subjects') }}) + (select count(*) from rejected_unregistered) as denominator,
           0 as unknown_calendar_rows
),

-- I02 上报率 ------------------------------------------------------------------------------------
ledger as (
    select unit_uscc, month, decisions, license_decisions, penalty_decisions from {{ ref('stg_ledgers') }}
    where month between date_trunc('month', {{ window_start() }})::date and {{ as_of() }}
),
reported as (
    select source_unit_uscc as unit_uscc, date_trunc('month', decided_on)::date as month, count(*) as records,
           count(*) filter (where record_type = 'license') as licenses,
           count(*) filter (where record_type = 'penalty') as penalties
    from {{ ref('int_double_publicity') }}
    where decided_on <= {{ as_of() }}
    group by 1, 2
),
-- I02 together, and for licences and penalties apart (I02_license, I02_penalty): a unit's surplus
-- of licences can hide its missing penalties in the sum.
i02_sums as (
    select coalesce(sum(least(coalesce(r.records, 0), l.decisions)), 0) as records,
           coalesce(sum(l.decisions), 0) as decisions,
           coalesce(sum(least(coalesce(r.licenses, 0), l.license_decisions)), 0) as licenses,
           coalesce(sum(l.license_decisions), 0) as license_decisions,
           coalesce(sum(least(coalesce(r.penalties, 0), l.penalty_decisions)), 0) as penalties,
           coalesce(sum(l.penalty_decisions), 0) as penalty_decisions
    from ledger as l
    left join reported as r using (unit_uscc, month)
),
i02 as (
    select 'I02'::text, 'all'::text, records, decisions, 0 from i02_sums
    union all select 'I02_license', 'all', licenses, license_decisions, 0 from i02_sums
    union all select 'I02_penalty', 'all', penalties, penalty_decisions, 0 from i02_sums
),

-- I03 合规率: every row read (loaded or quarantined), dated by the row's reference date ----------
problems as (
    select feed, sha256, row_number, bool_or(severity = 'error') as rejected, min(reference_date) as reference_date
    from {{ source('audit', 'quarantine') }}
    where feed in ('penalties', 'licenses') and row_number is not null
    group by feed, sha256, row_number
),
loaded_rows as (
    select 'penalties'::text as feed, _file_sha256 as sha256, _row_number as row_number, decided_on as reference_date
    from {{ source('raw', 'penalties') }}
    union all
    select 'licenses', _file_sha256, _row_number, decided_on from {{ source('raw', 'licenses') }}
),
rows_read as (
    select l.reference_date, p.sha256 is null as without_issue
    from loaded_rows as l
    left join problems as p using (feed, sha256, row_number)
    union all
    select reference_date, false from problems where rejected
),
i03 as (
    select 'I03'::text, 'all'::text,
           count(*) filter (where without_issue), count(*), 0
    from rows_read
    where {{ in_window('reference_date') }}
),

-- I04 及时率 / I05 有效异议占比 ---------------------------------------------------------------------
dp_window as (
    select * from {{ ref('int_double_publicity') }} where {{ in_window('decided_on') }}
),
i04 as (
    select 'I04'::text, 'all'::text,
           count(*) filter (where reported_on <= report_deadline), count(*),
           count(*) filter (where report_deadline is null)
    from dp_window
),
-- I05 and I06 count objections on 双公示 records only (the seed's definition): 信息类别 行政许可 or 行政处罚
i05 as (
    select 'I05'::text, 'all'::text,
           (select count(*) from {{ ref('stg_objections') }}
            where valid and {{ in_window('raised_on') }} and info_category in ('行政许可', '行政处罚')),
           (select count(*) from dp_window), 0
),

-- I06 异议平均处理时间 (sum of working days / objections) ------------------------------------------
objections_done as (
    select {{ working_days_between('raised_on', 'completed_on') }} as working_days
    from {{ ref('stg_objections') }}
    where {{ in_window('completed_on') }} and info_category in ('行政许可', '行政处罚')
),
i06 as (
    select 'I06'::text, 'all'::text, coalesce(sum(working_days), 0), count(*),
           count(*) filter (where working_days is null)
    from objections_done
),

-- I07 信用修复3个工作日办结率 ------------------------------------------------------------------------
repairs_done as (
    select completed_on,
           {{ working_day_deadline('coalesce(accepted_on, applied_on)',
               "(select d.parameter from defs as d where d.indicator_id = 'I07')") }} as deadline
    from {{ ref('stg_repairs') }}
    where {{ in_window('completed_on') }}
),
i07 as (
    select 'I07'::text, 'all'::text,
           count(*) filter (where completed_on <= deadline), count(*), count(*) filter (where deadline is null)
    from repairs_done
),

-- I08–I13: one pass over the registry, per region and for `all` ------------------------------------
-- int_subject_facts holds each subject's state on as_of as the archive uses it: active enterprise,
-- an active dishonest-debtor record, real estate held (registrations held on as_of); which
-- enterprises have tax and water/electricity/gas records in W is int_subject_history's.
-- Grouping sets read each subject once, where a union of the rows with 'all' doubled every join,
-- and the regions are the registry's (the groups), not a separate scan of it.
registry_totals as (
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
    -- the registry from a table whose size the planner knows (int_subject_facts). Joined to a view
    -- over raw.subjects (estimated at 0.5 % of its rows) it once chose a nested loop: quadratic.
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
),
per_region as (
    select 'I08'::text as indicator_id, e.region_code, e.dishonest as numerator, e.enterprises as denominator from registry_totals e
    union all select 'I09', e.region_code, c.made, e.enterprises from registry_totals e join commitment_counts c using (region_code)
    union all select 'I10', c.region_code, c.settled, c.made from commitment_counts c
    union all select 'I11_tax', region_code, has_tax, enterprises from registry_totals
    union all select 'I11_water', region_code, has_water, enterprises from registry_totals
    union all select 'I11_electricity', region_code, has_electricity, enterprises from registry_totals
    union all select 'I11_gas', region_code, has_gas, enterprises from registry_totals
    union all select 'I11_real_estate', region_code, has_real_estate, enterprises from registry_totals
),

-- I12–I14: counts, per region and for `all` ---------------------------------------------------------
counts as (
    select 'I12'::text as indicator_id, region_code, agencies_dishonest as numerator, null::bigint as denominator
    from registry_totals
    union all
    select 'I13', region_code, institutions_dishonest, null::bigint from registry_totals
    union all
    select 'I14', r.region_code, coalesce(f.subjects, 0), null::bigint
    from registry_totals as r
    left join focus_counts as f using (region_code)
),

measures as (
    select * from i01 union all select * from i02 union all select * from i03 union all select * from i04
    union all select * from i05 union all select * from i06 union all select * from i07
    union all select indicator_id, region_code, numerator, denominator, 0 from per_region
    union all select indicator_id, region_code, numerator, denominator, 0 from counts
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
