-- 不动产登记: one row per unit and certificate. The owner's identity number never leaves raw: only its key
-- (USCC for organisations, keyed hash for persons) and masked form.
{{ config(unique_key='record_key', indexes=[{'columns': ['record_key'], 'unique': True}] + watermark_indexes()) }}
-- depends_on: {{ ref('build_started') }}
with latest as (
    {{ latest_delivery(source('raw', 'real_estate'), ['unit_no', 'certificate_no']) }}
)
select
    unit_no || '|' || certificate_no as record_key,
    certificate_no,
    unit_no,
    owner_name,
    owner_id_key as owner_key,
    owner_id_masked as owner_masked,
    location,
    area_m2,
    usage,
    registered_on,
    coalesce(mortgaged, false) as mortgaged,
    mortgage_amount,
    mortgagee,
    coalesce(seized, false) as seized,
    seized_by,
    cancelled_on,
    {{ delivery_columns() }}
from latest
