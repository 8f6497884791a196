-- 水电气缴费: one row per account, utility and month. Incremental like stg_tax. An account's
-- subject is not part of its key: _key_subjects lists every subject its deliveries named, so a
-- correction that moves an account to another subject marks the old subject as changed too.
{{ config(unique_key=['account_no', 'utility', 'period'], indexes=[{'columns': ['account_no', 'utility', 'period'], 'unique': True},
                   {'columns': ['uscc', 'period']}] + watermark_indexes()) }}
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
    _key_subjects,
    {{ delivery_columns() }}
from latest
