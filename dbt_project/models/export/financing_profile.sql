-- 信易贷 financing profile (DOMAIN §7): one row per active enterprise, public information only —
-- penalties count only while public on as_of; no personal identity numbers (registry USCCs only).
-- profile_hash (without as_of) lets financing_profile_changes and lenders see what changed.
with profile as (
    select
        uscc,
        subject_name,
        subject_type,
        legal_rep,
        region_code,
        industry_code,
        established_on,
        registered_capital,
        credit_grade,
        credit_score,
        tax_rating,
        tax_rating_year,
        tax_paid_12m,
        coalesce(tax_arrears, 0) as tax_arrears,
        utility_bills,
        utility_paid_share,
        properties,
        properties_mortgaged,
        properties_seized,
        penalties_public,
        penalties_public_serious > 0 as penalties_public_any_serious,
        dishonest_active,
        commitments_unfulfilled
    from {{ ref('subject_archive') }}
    where is_active_enterprise
)
select
    p.*,
    md5(to_jsonb(p)::text) as profile_hash,
    {{ as_of() }} as as_of
from profile as p
