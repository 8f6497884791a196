-- 隔离区（规范化）: every problem of a delivered row as audit.quarantine holds it, for the marts of
-- returns and corrections (docs/departments.md). Only what may leave `audit`: the row's cells and
-- the message (which quote the value in clear) stay there; a value that is, or may be, a personal
-- identity number is masked (`640102********1234`, docs/spec/DOMAIN.md §8) — every value of an
-- `id` column, and any value shaped like a resident ID.
-- Ephemeral (a CTE in the marts that read it): Cosmos renders it as an empty task, where a table
-- cost a dbt invocation per run (docs/departments.md "Cost"); its marts carry the tests.
{{ config(materialized='ephemeral') }}
select
    q.id as quarantine_id,
    q.feed,
    q.file_name,
    q.sha256,
    q.row_number,
    q.column_name,
    coalesce(q.column_header, q.column_name) as column_header,
    q.rule,
    case
        when q.value is null then null
        when (q.feed, q.column_name) in (('penalties', 'id_no'), ('licenses', 'id_no'), ('dishonest_debtors', 'subject_id'),
                                         ('commitments', 'uscc'), ('objections', 'uscc'))
             or btrim(q.value) ~ '^[1-8][0-9]{5}(18|19|20)[0-9]{2}[01][0-9][0-3][0-9]{4}[0-9Xx]$'
        then case when length(btrim(q.value)) > 10
                  then left(btrim(q.value), 6) || repeat('*', length(btrim(q.value)) - 10) || right(btrim(q.value), 4)
                  else repeat('*', length(btrim(q.value))) end
        else q.value
    end as value,
    q.severity,
    q.reference_date,
    -- written by the ingest (the ledger's reporting unit when the row names none); a row written
    -- otherwise (by hand, by an older version whose state was not migrated) goes to its file's
    -- (NULL for a row naming its unit's code but not its name: marts name it from the unit's other rows)
    case when q.unit_uscc is null then coalesce(q.unit, l.unit, '未指定报送单位') else q.unit end as unit,
    coalesce(q.unit_uscc, l.unit_uscc, '-') as unit_uscc,
    coalesce(q.instruction, '请按问题核对后重新报送该行') as instruction,
    q.corrected_at,
    q.corrected_by_file,
    q.corrected_by_sha256
from {{ source('audit', 'quarantine') }} as q
left join {{ source('audit', 'file_ledger') }} as l
  on l.feed = q.feed and l.sha256 = q.sha256 and l.status = 'loaded'
