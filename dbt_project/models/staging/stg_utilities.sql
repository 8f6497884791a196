-- 水电气缴费: one row per account, utility and month. Incremental like stg_tax. An account's
-- subject is not part of its key: _key_subjects lists every subject its deliveries named, so a
-- correction that moves an account to another subject marks the old subject as changed too.
{{ config(materialized='incremental', unique_key=['account_no', 'utility', 'period'],
          incremental_strategy='delete+insert',
          indexes=[{'columns': ['account_no', 'utility', 'period'], 'unique': True},
                   {'columns': ['uscc', 'period']}, {'columns': ['_built_xid']}]) }}
-- depends_on: {{ ref('build_started') }}
with latest as (
    {{ latest_delivery(source('raw', 'utilities'), ['account_no', 'utility', 'period'], subject_column='uscc') }}
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
    _key_subjects,
    _load_xid,
    {{ build_marks() }}
from latest
