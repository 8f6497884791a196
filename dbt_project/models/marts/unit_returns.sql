-- 退回与纠正 (docs/departments.md): per data-source unit and month of delivery, the rows returned
-- (rejected rows: a row with several problems counts once), those corrected by a later delivery
-- (same feed and correction key, as of as_of), those still open, 纠正率 = corrected / returned, the
-- median days from the bad file's delivery to the correcting one's (Asia/Shanghai calendar days),
-- and the files rejected whole.
with returned_rows as (
    select unit, unit_uscc, month, feed, file_name, row_number,
           max(received_at) as received_at, max(corrected_at) as corrected_at
    from {{ ref('unit_corrections') }}
    group by unit, unit_uscc, month, feed, file_name, row_number
),
rows_per_month as (
    select unit_uscc, month, max(unit) as unit,
           count(*) as returned_rows,
           count(corrected_at) as corrected_rows,
           percentile_cont(0.5) within group (
               order by {{ arrival_day('corrected_at') }} - {{ arrival_day('received_at') }})
               filter (where corrected_at is not null) as median_days_to_correct
    from returned_rows
    group by unit_uscc, month
),
files_per_month as (
    select unit_uscc, month, max(unit) as unit, count(*) as rejected_files
    from {{ ref('unit_rejected_files') }}
    group by unit_uscc, month
)
select
    {{ as_of() }} as as_of,
    coalesce(r.unit, f.unit) as unit,
    coalesce(r.unit_uscc, f.unit_uscc) as unit_uscc,
    coalesce(r.month, f.month) as month,
    coalesce(r.returned_rows, 0) as returned_rows,
    coalesce(r.corrected_rows, 0) as corrected_rows,
    coalesce(r.returned_rows, 0) - coalesce(r.corrected_rows, 0) as open_rows,
    case when r.returned_rows > 0 then round(r.corrected_rows::numeric / r.returned_rows, 6) end as correction_rate,
    round(r.median_days_to_correct::numeric, 1) as median_days_to_correct,
    coalesce(f.rejected_files, 0) as rejected_files
from rows_per_month as r
full join files_per_month as f using (unit_uscc, month)
