-- 双公示台账: decisions per department and month (what it decided, to measure what it reported).
{{ config(materialized='incremental', unique_key=['unit_uscc', 'month'], incremental_strategy='delete+insert',
          indexes=[{'columns': ['unit_uscc', 'month'], 'unique': True}]) }}
-- depends_on: {{ ref('build_started') }}
with latest as (
    {{ latest_delivery(source('raw', 'ledgers'), ['unit_uscc', 'month']) }}
)
select
    unit_uscc,
    month,
    unit,
    license_decisions,
    penalty_decisions,
    license_decisions + penalty_decisions as decisions,
    _file_name as source_file,
    _row_number as source_row,
    _arrived_at as arrived_at,
    _load_xid,
    {{ build_marks() }}
from latest
