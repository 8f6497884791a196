-- I02 双公示上报率 (docs/spec/DOMAIN.md §6): per department (台账) and month of the window,
-- min(records loaded and decided that month, decisions in the ledger), summed, over the ledger's
-- decisions. Together, and for licences and penalties apart (I02_license, I02_penalty): a unit's
-- surplus of licences can hide its missing penalties in the sum.
{{ config(materialized='ephemeral') }}
with ledger as (
    select unit_uscc, month, decisions, license_decisions, penalty_decisions
    from {{ ref('stg_ledgers') }}
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
sums as (
    select coalesce(sum(least(coalesce(r.records, 0), l.decisions)), 0) as records,
           coalesce(sum(l.decisions), 0) as decisions,
           coalesce(sum(least(coalesce(r.licenses, 0), l.license_decisions)), 0) as licenses,
           coalesce(sum(l.license_decisions), 0) as license_decisions,
           coalesce(sum(least(coalesce(r.penalties, 0), l.penalty_decisions)), 0) as penalties,
           coalesce(sum(l.penalty_decisions), 0) as penalty_decisions
    from ledger as l
    left join reported as r using (unit_uscc, month)
)
select 'I02'::text as indicator_id, 'all'::text as region_code, records as numerator, decisions as denominator,
       0 as unknown_calendar_rows
from sums
union all select 'I02_license', 'all', licenses, license_decisions, 0 from sums
union all select 'I02_penalty', 'all', penalties, penalty_decisions, 0 from sums
