-- 行政许可（双公示）: one row per decision number and reporting unit; blank report date = arrival day.
{{ config(materialized='incremental', unique_key='record_key', incremental_strategy='delete+insert',
          indexes=[{'columns': ['record_key'], 'unique': True}]) }}
-- depends_on: {{ ref('build_started') }}
with latest as (
    {{ latest_delivery(source('raw', 'licenses'), ['decision_no', 'source_unit_uscc']) }}
)
select
    decision_no || '|' || source_unit_uscc as record_key,
    decision_no,
    coalesce(uscc, id_no_key) as subject_key,
    subject_name,
    subject_category,
    uscc,
    id_no_key as subject_id_key,
    id_no_masked as subject_id_masked,
    legal_rep,
    decision_title,
    license_type,
    certificate_name,
    license_no,
    content,
    decided_on,
    valid_from,
    valid_until,
    authority,
    authority_uscc,
    state,
    source_unit,
    source_unit_uscc,
    coalesce(reported_on, {{ arrival_day('_arrived_at') }}) as reported_on,
    remarks,
    _file_name as source_file,
    _row_number as source_row,
    _arrived_at as arrived_at,
    _load_xid,
    {{ build_marks() }}
from latest
