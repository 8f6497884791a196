-- Everything the archive and the evaluation need per registry subject, as of as_of (DOMAIN §4–§5).
-- The window W is the 12 months ending on as_of (macros/as_of.sql).
with subjects as (
    select * from {{ ref('int_subjects') }}
),
history as (
    -- tax and utilities, kept incrementally (int_subject_history)
    select * from {{ ref('int_subject_history') }}
),
properties as (
    -- registrations held on as_of
    select owner_key as uscc,
           count(*) as properties,
           count(*) filter (where mortgaged) as properties_mortgaged,
           count(*) filter (where seized) as properties_seized
    from {{ ref('stg_real_estate') }}
    where registered_on <= {{ as_of() }} and (cancelled_on is null or cancelled_on > {{ as_of() }})
    group by owner_key
),
penalties as (
    select subject_key as uscc,
           count(*) as penalties_total,
           count(*) filter (where is_public) as penalties_public,
           count(*) filter (where is_public and severity = '一般') as penalties_public_ordinary,
           count(*) filter (where is_public and severity = '严重') as penalties_public_serious
    from {{ ref('int_penalty_publicity') }}
    where decided_on <= {{ as_of() }}
    group by subject_key
),
dishonest as (
    select subject_key as uscc,
           count(*) as dishonest_cases,
           bool_or(is_active) as dishonest_active
    from {{ ref('int_dishonest_records') }}
    where published_on <= {{ as_of() }}
    group by subject_key
),
commitments as (
    select uscc,
           count(*) as commitments_total,
           count(*) filter (where {{ in_window('committed_on') }} and fulfilment = '未履约') as commitments_unfulfilled
    from {{ ref('stg_commitments') }}
    where committed_on <= {{ as_of() }}
    group by uscc
)
select
    s.uscc,
    s.subject_name,
    s.subject_type,
    s.legal_rep,
    s.established_on,
    s.status,
    s.closed_on,
    s.region_code,
    s.industry_code,
    s.registered_capital,
    s.is_existing,
    s.is_active_enterprise,
    h.tax_latest_period,
    h.tax_rating,
    h.tax_rating_year,
    h.tax_arrears,
    coalesce(h.tax_paid_12m, 0) as tax_paid_12m,
    coalesce(h.tax_major_violation, false) as tax_major_violation,
    coalesce(h.utility_bills, 0) as utility_bills,
    coalesce(h.utility_months, 0) as utility_months,
    coalesce(h.utility_bills_paid_in_full, 0) as utility_bills_paid_in_full,
    round(h.utility_bills_paid_in_full::numeric / nullif(h.utility_bills, 0), 4) as utility_paid_share,
    coalesce(pr.properties, 0) as properties,
    coalesce(pr.properties_mortgaged, 0) as properties_mortgaged,
    coalesce(pr.properties_seized, 0) as properties_seized,
    coalesce(pe.penalties_total, 0) as penalties_total,
    coalesce(pe.penalties_public, 0) as penalties_public,
    coalesce(pe.penalties_public_ordinary, 0) as penalties_public_ordinary,
    coalesce(pe.penalties_public_serious, 0) as penalties_public_serious,
    coalesce(d.dishonest_cases, 0) as dishonest_cases,
    coalesce(d.dishonest_active, false) as dishonest_active,
    coalesce(c.commitments_total, 0) as commitments_total,
    coalesce(c.commitments_unfulfilled, 0) as commitments_unfulfilled
from subjects as s
left join history as h using (uscc)
left join properties as pr using (uscc)
left join penalties as pe using (uscc)
left join dishonest as d using (uscc)
left join commitments as c using (uscc)
