-- 信用承诺: one row per commitment number.
{{ config(materialized='incremental', unique_key='commitment_no', incremental_strategy='delete+insert',
          indexes=[{'columns': ['commitment_no'], 'unique': True}]) }}
-- depends_on: {{ ref('build_started') }}
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
    _arrived_at as arrived_at,
    _load_xid,
    {{ build_marks() }}
from latest
