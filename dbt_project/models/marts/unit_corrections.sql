-- 问题数据退回明细 (docs/departments.md): one row per problem of a rejected row (severity error), with
-- the data-source unit it goes back to, the file and row as a person counts it (the header row's
-- number + k, as in the file), the column's header, the value (personal numbers masked), the rule,
-- what to do (include/corrections.py), and when and by which later file it was corrected. The
-- same content as the units' correction workbooks (include/workbooks.py). As of as_of: files
-- delivered after it are not here yet, corrections after it are still open.
select
    q.unit,
    q.unit_uscc,
    q.feed,
    q.file_name,
    l.received_at,
    date_trunc('month', l.received_on)::date as month,
    q.row_number,
    q.column_name,
    q.column_header,
    q.value,
    q.rule,
    q.instruction,
    case when {{ arrival_day('q.corrected_at') }} <= {{ as_of() }} then q.corrected_at end as corrected_at,
    case when {{ arrival_day('q.corrected_at') }} <= {{ as_of() }} then q.corrected_by_file end as corrected_by_file,
    q.quarantine_id
from {{ ref('stg_quarantine') }} as q
join {{ ref('stg_file_ledger') }} as l
  on l.feed = q.feed and l.sha256 = q.sha256 and l.status = 'loaded'
where q.severity = 'error'
  and l.received_on <= {{ as_of() }}
