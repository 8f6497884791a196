-- 信用承诺: one row per commitment number.
-- Indexed by subject and by date for int_subject_facts' daily run, which counts the commitments of
-- the few subjects it recomputes and finds those whose commitment dates AS_OF crossed.
{{ config(unique_key='commitment_no',
          indexes=[{'columns': ['commitment_no'], 'unique': True}, {'columns': ['uscc']}, {'columns': ['committed_on']}]
                  + watermark_indexes()) }}
-- depends_on: {{ ref('build_started') }}
with latest as (
    {{ latest_delivery(source('raw', 'commitments'), ['commitment_no']) }}
)
select
    commitment_no,
    -- the subject: its USCC, or a natural person's pseudonym (never the clear number)
    coalesce(uscc_key, uscc) as uscc,
    coalesce(uscc_masked, uscc) as subject_masked,
    subject_name,
    commitment_type,
    reason,
    committed_on,
    unit,
    unit_uscc,
    fulfilment,
    fulfilment_on,
    {{ delivery_columns() }}
from latest
