-- 异议申诉: one row per objection number.
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
    _arrived_at as arrived_at
from latest
