-- 双公示台账: decisions per department and month (what it decided, to measure what it reported).
{{ config(unique_key=['unit_uscc', 'month'], indexes=[{'columns': ['unit_uscc', 'month'], 'unique': True}] + watermark_indexes()) }}
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
    {{ delivery_columns() }}
from latest
