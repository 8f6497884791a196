-- 市场主体登记: one row per USCC, the latest delivery wins.
{{ config(materialized='incremental', unique_key='uscc', incremental_strategy='delete+insert',
          indexes=[{'columns': ['uscc'], 'unique': True}]) }}
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
    _file_name as source_file,
    _row_number as source_row,
    _arrived_at as arrived_at,
    _load_xid,
    {{ build_marks() }}
from latest
