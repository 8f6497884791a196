-- 行政许可（双公示）: one row per decision number and reporting unit; blank report date = arrival day.
{{ config(unique_key='record_key', indexes=[{'columns': ['record_key'], 'unique': True}] + watermark_indexes()) }}
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
    {{ delivery_columns() }}
from latest
