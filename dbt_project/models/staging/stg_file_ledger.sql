-- 文件台账（规范化）: every delivered file as audit.file_ledger records it (without its `detail`),
-- with the unit it is attributed to (the feed's reporting_unit) and, for a rejected file, what to do.
-- Ephemeral (a CTE in the marts that read it): Cosmos renders it as an empty task, where a table
-- cost a dbt invocation per run (docs/departments.md "Cost"); its marts carry the tests.
{{ config(materialized='ephemeral') }}
select
    l.id as ledger_id,
    l.feed,
    l.file_name,
    l.sha256,
    l.received_at,
    l.loaded_at,
    {{ arrival_day('l.received_at') }} as received_on,
    l.status,
    l.reason,
    l.instruction,
    l.rows_read,
    l.rows_loaded,
    l.rows_quarantined,
    coalesce(l.unit, '未指定报送单位') as unit,   -- NULL only for a row not written by the ingest
    coalesce(l.unit_uscc, '-') as unit_uscc
from {{ source('audit', 'file_ledger') }} as l
