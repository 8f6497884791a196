-- 异议申诉: one row per objection number.
{{ config(unique_key='objection_no', indexes=[{'columns': ['objection_no'], 'unique': True}] + watermark_indexes()) }}
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
    {{ delivery_columns() }}
from latest
