-- 水电气缴费: one row per account, utility and month. Incremental like stg_tax.
{{ config(materialized='incremental', unique_key=['account_no', 'utility', 'period'],
          incremental_strategy='delete+insert',
          indexes=[{'columns': ['uscc', 'period']}]) }}
{% set key = ['account_no', 'utility', 'period'] %}
with latest as (
    {{ latest_delivery(source('raw', 'utilities'), key,
        where=keys_with_new_rows(source('raw', 'utilities'), key) if is_incremental() else none) }}
)
select
    uscc,
    account_no,
    utility,
    period,
    name as account_name,
    amount_due,
    amount_paid,
    amount_paid >= amount_due as paid_in_full,
    paid_on,
    provider,
    _file_name as source_file,
    _row_number as source_row,
    _arrived_at as arrived_at,
    _last_loaded_at
from latest
