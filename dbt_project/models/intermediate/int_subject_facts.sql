-- Everything the archive and the evaluation need per registry subject, as of as_of (docs/spec/DOMAIN.md §4–§5).
-- The window W is the 12 months ending on as_of (macros/as_of.sql).
--
-- Incremental by subject: a run recomputes only the subjects int_subject_facts__affected names (the
-- ones whose facts can differ from their stored row), so that the archive downstream is rewritten
-- for them alone (docs/warehouse.md "Incremental builds").
{{ config(materialized='incremental', unique_key='uscc', incremental_strategy='delete+insert',
          indexes=[{'columns': ['uscc'], 'unique': True}] + watermark_indexes()) }}
{%- set incremental = incremental_with(['_built_xid', '_seen_xmin', '_as_of', '_has_history']) %}
{%- set affected = "select uscc from " ~ ref('int_subject_facts__affected') %}
with subjects as (
    -- the registry as of as_of. "Active enterprise" (docs/spec/DOMAIN.md §6): type 企业 and in existence on
    -- as_of — established by then (or date unknown), and either 存续 or closed only after as_of.
    select s.*,
           (s.established_on is null or s.established_on <= {{ as_of() }})
             and (s.status = '存续' or s.closed_on > {{ as_of() }}) as is_existing,
           s.subject_type = '企业'
             and (s.established_on is null or s.established_on <= {{ as_of() }})
             and (s.status = '存续' or s.closed_on > {{ as_of() }}) as is_active_enterprise
    from {{ ref('stg_subjects') }} as s
),
history as (
    -- tax and utilities, kept incrementally (int_subject_history)
    select * from {{ ref('int_subject_history') }}
    {% if incremental %}where uscc in ({{ affected }}){% endif %}
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
    coalesce(c.commitments_unfulfilled, 0) as commitments_unfulfilled,
    h.uscc is not null as _has_history,
    {{ as_of() }} as _as_of,
    {{ build_marks() }}
from subjects as s
left join history as h using (uscc)
-- natural persons' records have no archive: these counts are of registry subjects only
left join {{ ref('int_subject_property_counts') }} as pr using (uscc)
left join {{ ref('int_subject_penalty_counts') }} as pe using (uscc)
left join {{ ref('int_subject_dishonest_counts') }} as d using (uscc)
left join ({{ commitment_counts(affected if incremental else none) }}) as c using (uscc)
{%- if incremental %}
where s.uscc in ({{ affected }})
{%- endif %}
