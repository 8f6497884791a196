-- 市场主体登记: one row per USCC, the latest delivery wins.
-- established_on and closed_on are indexed for int_subject_facts, which looks up the subjects whose
-- dates a change of as_of crossed.
{{ config(unique_key='uscc', indexes=[{'columns': ['uscc'], 'unique': True}, {'columns': ['established_on']},
                                      {'columns': ['closed_on']}] + watermark_indexes()) }}
-- depends_on: {{ ref('build_started') }}
with latest as (
    {{ latest_delivery(source('raw', 'subjects'), ['uscc']) }}
)
select
    uscc,
    name as subject_name,
    subject_type,
    legal_rep,
    established_on,
    status,
    closed_on,
    region_code,
    industry_code,
    registered_capital,
    {{ delivery_columns() }}
from latest
