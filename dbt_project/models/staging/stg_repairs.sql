-- 信用修复申请: one row per application number.
{{ config(unique_key='repair_no', indexes=[{'columns': ['repair_no'], 'unique': True}] + watermark_indexes()) }}
-- depends_on: {{ ref('build_started') }}
with latest as (
    {{ latest_delivery(source('raw', 'repairs'), ['repair_no']) }}
)
select
    repair_no,
    -- the subject: its USCC, or a natural person's pseudonym (never the clear number)
    coalesce(uscc_key, uscc) as uscc,
    coalesce(uscc_masked, uscc) as subject_masked,
    subject_name,
    decision_no,
    applied_on,
    accepted_on,
    completed_on,
    result,
    unit,
    {{ delivery_columns() }}
from latest
