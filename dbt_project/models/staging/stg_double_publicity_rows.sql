-- 双公示入库行: every loaded row of penalties and licenses (all deliveries, not only the latest: the
-- per-unit I03 counts every row read, as the jurisdiction's does), with its data-source unit and
-- decision date. One narrow row per raw row.
-- Ephemeral (a CTE in the marts that read it): Cosmos renders it as an empty task, where a table
-- cost a dbt invocation per run (docs/departments.md "Cost"); its marts carry the tests.
{{ config(materialized='ephemeral') }}
select 'penalties'::text as feed, _file_sha256 as sha256, _row_number as row_number, decided_on,
       source_unit, source_unit_uscc, uscc
from {{ source('raw', 'penalties') }}
union all
select 'licenses', _file_sha256, _row_number, decided_on, source_unit, source_unit_uscc, uscc
from {{ source('raw', 'licenses') }}
