-- 失信被执行人: one row per case and debtor; active from published_on until removed_on.
{{ config(unique_key='record_key', indexes=[{'columns': ['record_key'], 'unique': True}] + watermark_indexes()) }}
-- depends_on: {{ ref('build_started') }}
with latest as (
    {{ latest_delivery(source('raw', 'dishonest_debtors'), ['case_no', 'subject_id_key'], current_key_columns=['case_no', 'subject_key']) }}
)
select
    case_no || '|' || subject_id_key as record_key,
    case_no,
    subject_id_key as subject_key,
    subject_id_masked as subject_masked,
    subject_name,
    legal_rep,
    court,
    filed_on,
    basis_no,
    circumstance,
    performance,
    published_on,
    removed_on,
    {{ delivery_columns() }}
from latest
