-- 单位指标评分表 (docs/spec/DOMAIN.md §6): I01–I04 per data-source unit and month of the window W,
-- the units' share of the jurisdiction's figures in marts.indicator_scorecard, with the same columns
-- (a unit and a month instead of a region). Targets and comparators from indicator_definitions.
--   I01 (the 双公示 feeds, whose rows carry the subject's code): distinct subject codes the unit
--       delivered that were rejected for their format or check character / distinct codes it
--       delivered (loaded or rejected), in the month of the file's delivery;
--   I02 / I02_license / I02_penalty: the ledger's units and months: min(records reported, decided)
--       / decided, licences and penalties together and apart;
--   I03: rows read without any problem / rows read (loaded + rejected), by the row's reference date;
--   I04: records decided in the month and reported within the deadline / records decided.
-- A month without a denominator has no row; one whose deadlines need unknown working days has
-- value NULL (passed false), as the jurisdiction's.
-- Each staging source is read once (a CTE read twice is computed once), and the window's filters
-- come before the joins: the marts read all deliveries, the window holds a year of them.
with defs as (
    select * from {{ ref('indicator_definitions') }}
),
months as (
    select date_trunc('month', {{ window_start() }})::date as first_month
),
double_publicity_rows as (
    select feed, sha256, row_number, decided_on, source_unit, source_unit_uscc, uscc
    from {{ ref('stg_double_publicity_rows') }}
),
double_publicity_problems as (
    select feed, sha256, row_number, column_name, rule, severity, value, reference_date, unit_uscc, unit
    from {{ ref('stg_quarantine') }}
    where feed in ('penalties', 'licenses')
),
files_delivered_in_window as (
    select feed, sha256, date_trunc('month', received_on)::date as month
    from {{ ref('stg_file_ledger') }}
    where status = 'loaded'
      and date_trunc('month', received_on)::date between (select first_month from months) and {{ as_of() }}
),

-- I01 ------------------------------------------------------------------------------------------
delivered_codes as (
    select r.source_unit_uscc as unit_uscc, r.source_unit as unit, l.month, r.uscc as code
    from double_publicity_rows as r
    join files_delivered_in_window as l on l.feed = r.feed and l.sha256 = r.sha256
    where r.uscc is not null
),
rejected_codes as (
    select q.unit_uscc, q.unit, l.month, {{ normalise_code('q.value') }} as code
    from double_publicity_problems as q
    join files_delivered_in_window as l on l.feed = q.feed and l.sha256 = q.sha256
    where q.column_name = 'uscc' and q.rule = 'uscc_check'
      and q.severity = 'error' and coalesce({{ normalise_code('q.value') }}, '') <> ''
),
i01 as (
    select 'I01'::text as indicator_id, unit_uscc, max(unit) as unit, month,
           count(distinct code) filter (where rejected) as numerator,
           count(distinct code) as denominator,
           0 as unknown_calendar_rows
    from (select unit_uscc, unit, month, code, false as rejected from delivered_codes
          union all
          select unit_uscc, unit, month, code, true from rejected_codes) as c
    group by unit_uscc, month
),

-- I02 ------------------------------------------------------------------------------------------
ledger as (
    select unit_uscc, unit, month, license_decisions, penalty_decisions from {{ ref('stg_ledgers') }}
    where month between (select first_month from months) and {{ as_of() }}
),
reported as (
    select source_unit_uscc as unit_uscc, date_trunc('month', decided_on)::date as month,
           count(*) filter (where record_type = 'license') as licenses,
           count(*) filter (where record_type = 'penalty') as penalties
    from {{ ref('int_double_publicity') }}
    where decided_on between (select first_month from months) and {{ as_of() }}
    group by 1, 2
),
ledger_reported as (
    select l.unit_uscc, l.unit, l.month, l.license_decisions, l.penalty_decisions,
           least(coalesce(r.licenses, 0) + coalesce(r.penalties, 0), l.license_decisions + l.penalty_decisions)
               as records_counted,
           least(coalesce(r.licenses, 0), l.license_decisions) as licenses_counted,
           least(coalesce(r.penalties, 0), l.penalty_decisions) as penalties_counted
    from ledger as l
    left join reported as r using (unit_uscc, month)
),
i02 as (
    -- together as the jurisdiction's I02 (min of all records and all decisions of the unit-month):
    -- a surplus of licences can hide missing penalties there, which I02_penalty shows.
    select 'I02'::text, unit_uscc, unit, month, records_counted,
           license_decisions + penalty_decisions, 0
    from ledger_reported
    union all
    select 'I02_license', unit_uscc, unit, month, licenses_counted, license_decisions, 0 from ledger_reported
    union all
    select 'I02_penalty', unit_uscc, unit, month, penalties_counted, penalty_decisions, 0 from ledger_reported
),

-- I03 ------------------------------------------------------------------------------------------
problems as (
    select feed, sha256, row_number, bool_or(severity = 'error') as rejected, min(reference_date) as reference_date,
           max(unit_uscc) as unit_uscc, max(unit) as unit
    from double_publicity_problems
    where row_number is not null
    group by feed, sha256, row_number
),
rows_read_in_window as (
    select r.source_unit_uscc as unit_uscc, r.source_unit as unit, r.decided_on as reference_date,
           p.sha256 is null as without_issue
    from double_publicity_rows as r
    left join problems as p using (feed, sha256, row_number)
    where {{ in_window('r.decided_on') }}
    union all
    select unit_uscc, unit, reference_date, false from problems where rejected and {{ in_window('reference_date') }}
),
i03 as (
    select 'I03'::text, unit_uscc, max(unit), date_trunc('month', reference_date)::date as month,
           count(*) filter (where without_issue), count(*), 0
    from rows_read_in_window
    group by unit_uscc, date_trunc('month', reference_date)
),

-- I04 ------------------------------------------------------------------------------------------
unit_names as (
    -- a unit's name from every row read of it (in the window or not), as in I03
    select unit_uscc, max(unit) as unit
    from (select source_unit_uscc as unit_uscc, source_unit as unit from double_publicity_rows
          union all
          select unit_uscc, unit from problems where rejected) as n
    group by unit_uscc
),
i04 as (
    select 'I04'::text, d.source_unit_uscc, max(s.unit), date_trunc('month', d.decided_on)::date,
           count(*) filter (where d.reported_on <= d.report_deadline), count(*),
           count(*) filter (where d.report_deadline is null)
    from {{ ref('int_double_publicity') }} as d
    left join unit_names as s on s.unit_uscc = d.source_unit_uscc
    where {{ in_window('d.decided_on') }}
    group by d.source_unit_uscc, date_trunc('month', d.decided_on)
),

measures as (
    select * from i01 union all select * from i02 union all select * from i03 union all select * from i04
),
valued as (
    select m.*, d.indicator_name, d.target, d.comparator,
           case
               when m.unknown_calendar_rows > 0 or m.denominator = 0 then null
               else round(m.numerator::numeric / m.denominator, 6)
           end as value
    from measures as m
    join defs as d using (indicator_id)
    where m.denominator > 0
)
select
    {{ as_of() }} as as_of,
    v.unit,
    v.unit_uscc,
    v.month,
    v.indicator_id,
    v.indicator_name,
    case when v.unknown_calendar_rows > 0 then null else v.numerator end as numerator,
    v.denominator,
    v.value,
    v.target,
    v.comparator,
    {%- set passed %}
    case
        when v.target is null then null
        when v.value is null then false
        when v.comparator = '<' then v.value < v.target
        when v.comparator = '<=' then v.value <= v.target
        when v.comparator = '>=' then v.value >= v.target
        when v.comparator = '>' then v.value > v.target
        when v.comparator = '=' then v.value = v.target
    end
    {%- endset %}
    {{ passed }} as passed,
    {{ passed }} as meets_target,
    case when v.unknown_calendar_rows > 0 then
        v.unknown_calendar_rows || ' 条记录的工作日无法计算：工作日历只到 '
        || (select max(day) from {{ ref('int_working_calendar') }}) end as note
from valued as v
