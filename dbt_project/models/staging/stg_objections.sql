-- 异议申诉: one row per objection number.
{{ config(materialized='incremental', unique_key='objection_no', incremental_strategy='delete+insert',
          indexes=[{'columns': ['objection_no'], 'unique': True}]) }}
-- depends_on: {{ ref('build_started') }}
with latest as (
    {{ latest_delivery(source('raw', 'objections'), ['objection_no']) }}
)
select
    objection_no,
    uscc,
    subject_name,
    info_category,
    decision_no,
    raised_on,
    completed_on,
    result,
    coalesce(valid, false) as valid,
    _file_name as source_file,
    _row_number as source_row,
    _arrived_at as arrived_at,
    _load_xid,
    {{ build_marks() }}
from latest
