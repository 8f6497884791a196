-- 信用修复申请: one row per application number.
{{ config(materialized='incremental', unique_key='repair_no', incremental_strategy='delete+insert',
          indexes=[{'columns': ['repair_no'], 'unique': True}]) }}
-- depends_on: {{ ref('build_started') }}
with latest as (
    {{ latest_delivery(source('raw', 'repairs'), ['repair_no']) }}
)
select
    repair_no,
    uscc,
    subject_name,
    decision_no,
    applied_on,
    accepted_on,
    completed_on,
    result,
    unit,
    _file_name as source_file,
    _row_number as source_row,
    _arrived_at as arrived_at,
    _load_xid,
    {{ build_marks() }}
from latest
