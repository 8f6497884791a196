-- 问题数据退回明细 (docs/departments.md): one row per problem of a rejected row (severity error), with
-- the data-source unit it goes back to, the file and row as a person counts it (the header row's
-- number + k, as in the file), the column's header, the value (personal numbers masked), the rule,
-- what to do (include/corrections.py), and when and by which later file it was corrected. The
-- same content as the units' correction workbooks (include/workbooks.py). As of as_of: files
-- delivered after it are not here yet, corrections after it are still open. No surrogate id: the
-- quarantine's identity values depend on loads rolled back before, the table must not.
-- A unit's name from its rows, for the few rows that give the unit's code but leave its name blank:
-- looked up only for those (MATERIALIZED: computed once, and not at all when no row lacks a name,
-- where a join would read every penalty and licence row each build).
with unit_names as materialized (
    select unit_uscc, max(unit) as unit
    from (select unit_uscc, unit from {{ ref('stg_quarantine') }} where unit is not null
          union all
          select source_unit_uscc, source_unit from {{ ref('stg_double_publicity_rows') }}) as n
    group by unit_uscc
)
select
    coalesce(q.unit, (select n.unit from unit_names as n where n.unit_uscc = q.unit_uscc), '（未填单位名称）') as unit,
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
    q.sha256 as file_sha256
from {{ ref('stg_quarantine') }} as q
join {{ ref('stg_file_ledger') }} as l
  on l.feed = q.feed and l.sha256 = q.sha256 and l.status = 'loaded'
where q.severity = 'error'
  and l.received_on <= {{ as_of() }}
