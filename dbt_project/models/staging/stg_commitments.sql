-- 信用承诺: one row per commitment number.
with latest as (
    {{ latest_delivery(source('raw', 'commitments'), ['commitment_no']) }}
)
select
    commitment_no,
    uscc,
    subject_name,
    commitment_type,
    reason,
    committed_on,
    unit,
    unit_uscc,
    fulfilment,
    fulfilment_on,
    _file_name as source_file,
    _row_number as source_row,
    _arrived_at as arrived_at
from latest
