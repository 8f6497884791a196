-- 信用修复申请: one row per application number.
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
    _arrived_at as arrived_at
from latest
