-- 行政处罚（双公示）: one row per decision number and reporting unit (the contract's business key). Blank severity = 一般; blank report date = the
-- day the file arrived (docs/spec/CONTRACT.md §3). Persons appear only by key and masked id.
{{ config(unique_key='record_key', indexes=[{'columns': ['record_key'], 'unique': True}] + watermark_indexes()) }}
-- depends_on: {{ ref('build_started') }}
with latest as (
    {{ latest_delivery(source('raw', 'penalties'), ['decision_no', 'source_unit_uscc']) }}
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
    id_type,
    violation_type,
    violation_facts,
    legal_basis,
    penalty_type,
    penalty_content,
    fine_amount,
    confiscated_amount,
    license_affected,
    decided_on,
    valid_until,
    publicity_until,
    authority,
    authority_uscc,
    source_unit,
    source_unit_uscc,
    coalesce(severity, '一般') as severity,
    coalesce(summary_procedure, false) as summary_procedure,
    coalesce(reported_on, {{ arrival_day('_arrived_at') }}) as reported_on,
    remarks,
    {{ delivery_columns() }}
from latest
