-- 异议申诉: one row per objection number.
{{ config(unique_key='objection_no', indexes=[{'columns': ['objection_no'], 'unique': True}] + watermark_indexes()) }}
-- depends_on: {{ ref('build_started') }}
with latest as (
    {{ latest_delivery(source('raw', 'objections'), ['objection_no']) }}
)
select
    objection_no,
    -- the subject: its USCC, or a natural person's pseudonym (never the clear number)
    coalesce(uscc_key, uscc) as uscc,
    coalesce(uscc_masked, uscc) as subject_masked,
    subject_name,
    info_category,
    decision_no,
    raised_on,
    completed_on,
    result,
    coalesce(valid, false) as valid,
    corrected_severity,
    corrected_penalty_type,
    corrected_fine_amount,
    corrected_valid_until,
    {{ delivery_columns() }}
from latest
