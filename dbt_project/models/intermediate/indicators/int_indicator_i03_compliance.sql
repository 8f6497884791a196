-- I03 双公示合规率 (docs/spec/DOMAIN.md §6): of every 双公示 row read in the window (loaded or
-- quarantined, dated by the row's reference date), those loaded without any problem.
{{ config(materialized='ephemeral') }}
with problems as (
    select feed, sha256, row_number, bool_or(severity = 'error') as rejected, min(reference_date) as reference_date
    from {{ ref('stg_quarantine') }}
    where feed in ('penalties', 'licenses') and row_number is not null
    group by feed, sha256, row_number
),
rows_read as (
    select l.decided_on as reference_date, p.sha256 is null as without_issue
    from {{ ref('stg_double_publicity_rows') }} as l
    left join problems as p using (feed, sha256, row_number)
    union all
    select reference_date, false from problems where rejected
)
select 'I03'::text as indicator_id, 'all'::text as region_code,
       count(*) filter (where without_issue) as numerator, count(*) as denominator, 0 as unknown_calendar_rows
from rows_read
where {{ in_window('reference_date') }}
