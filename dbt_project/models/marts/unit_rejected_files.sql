-- 退回文件 (docs/departments.md): every rejected file (audit.file_ledger status rejected) delivered
-- up to as_of, attributed to its feed's reporting unit, with the reason and what to do. The first
-- sheet of the units' correction workbooks.
select
    unit,
    unit_uscc,
    feed,
    file_name,
    received_at,
    date_trunc('month', received_on)::date as month,
    reason,
    instruction
from {{ ref('stg_file_ledger') }}
where status = 'rejected'
  and received_on <= {{ as_of() }}
