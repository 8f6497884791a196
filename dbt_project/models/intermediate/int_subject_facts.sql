-- Everything the archive and the evaluation need per registry subject, as of as_of (docs/spec/DOMAIN.md §4–§5).
-- The window W is the 12 months ending on as_of (macros/as_of.sql).
--
-- Incremental by subject: a run recomputes only the subjects whose facts can differ from their
-- stored row, so that the archive downstream is rewritten for them alone (docs/warehouse.md
-- "Incremental builds"). A subject is recomputed when
--   * its registry row was written since this model last built, or as_of crossed its
--     established_on or closed_on (is_existing / is_active_enterprise flip on those days);
--   * its tax or utility facts were rewritten by int_subject_history (which handles W moving), or
--     it had history and now has none (int_subject_history drops such rows; looked for among the
--     subjects of the tax and utility rows delivered since, or among all when W moved);
--   * its real estate, penalty or dishonest-debtor counts as of this as_of differ from its stored
--     ones. These three are compared, not inferred from changed rows: a correction that moves a
--     record to another subject, a repair ending a penalty's publicity, a new publicity regime, a
--     record crossing as_of or the window all show up as a difference;
--   * its commitment counts differ after a delivery changed a commitment (compared the same way),
--     or as_of crossed one of its commitment dates or moved W's first day over one. Commitment
--     counts depend on nothing else, and comparing them reads every commitment.
{{ config(materialized='incremental', unique_key='uscc', incremental_strategy='delete+insert',
          indexes=[{'columns': ['uscc'], 'unique': True}] + watermark_indexes()) }}
-- depends_on: {{ ref('stg_tax') }}, {{ ref('stg_utilities') }} (read in incremental runs only)
{%- set incremental = incremental_with(['_built_xid', '_seen_xmin', '_as_of', '_has_history']) %}
{%- set since_xmin = watermark_literal() if incremental else none %}
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
-- Real estate, penalties and dishonest debtors of registry subjects only: natural persons' records
-- (a third of a city's property owners) have no archive, and in the comparisons below every one of
-- them would look new at each run (the stored side holds registry subjects only).
properties as (
    -- registrations held on as_of
    select owner_key as uscc,
           count(*) as properties,
           count(*) filter (where mortgaged) as properties_mortgaged,
           count(*) filter (where seized) as properties_seized
    from {{ ref('stg_real_estate') }}
    where registered_on <= {{ as_of() }} and (cancelled_on is null or cancelled_on > {{ as_of() }})
      and not {{ is_person_key('owner_key') }}
    group by owner_key
),
penalties as (
    select subject_key as uscc,
           count(*) as penalties_total,
           count(*) filter (where is_public) as penalties_public,
           count(*) filter (where is_public and severity = '一般') as penalties_public_ordinary,
           count(*) filter (where is_public and severity = '严重') as penalties_public_serious
    from {{ ref('int_penalty_publicity') }}
    -- a penalty an objection withdrew (撤销) by as_of is void: no longer one of the subject's
    where decided_on <= {{ as_of() }} and withdrawn_on is null and not {{ is_person_key('subject_key') }}
    group by subject_key
),
dishonest as (
    select subject_key as uscc,
           count(*) as dishonest_cases,
           bool_or(is_active) as dishonest_active
    from {{ ref('int_dishonest_records') }}
    where published_on <= {{ as_of() }} and not {{ is_person_key('subject_key') }}
    group by subject_key
),
{%- set commitment_counts %}
    select uscc,
           count(*) as commitments_total,
           count(*) filter (where {{ in_window('committed_on') }} and fulfilment = '未履约') as commitments_unfulfilled
    from {{ ref('stg_commitments') }}
    where committed_on <= {{ as_of() }}
{%- endset %}
commitments as (
    {{ commitment_counts }}
    group by uscc
),
{%- if incremental %}
since as (
    select {{ since_xmin }} as xmin,
           -- the as_of of the latest run that wrote rows: the days since then are the ones crossed
           (select _as_of from {{ this }} order by _built_xid desc limit 1) as as_of
),
crossed as (
    select least(as_of, {{ as_of() }}) as after_day, greatest(as_of, {{ as_of() }}) as up_to_day from since
),
window_moved as (
    -- the first day of W then and now (W starts 11 months before as_of's month)
    select least(then_start, now_start) as from_day, greatest(then_start, now_start) as to_day
    from (select (date_trunc('month', as_of) - interval '11 months')::date as then_start,
                 {{ window_start() }} as now_start
          from since) as w
),
commitments_delivered as (
    -- max() by the watermark index; "exists … where _built_xid >= (subquery)" was planned as a scan
    select coalesce((select max(_built_xid) from {{ ref('stg_commitments') }}) >= (select xmin from since), false)
           as since_last_build
),
affected as (
    select uscc from {{ ref('stg_subjects') }} where {{ changed_since(since_xmin) }}
    union
    -- from the staging table, not the subjects CTE: its indexes on the two dates find the few
    -- subjects of the days crossed (none when as_of is unchanged) without reading the registry
    select uscc from {{ ref('stg_subjects') }}, crossed
    where established_on > after_day and established_on <= up_to_day
       or closed_on > after_day and closed_on <= up_to_day
    union
    select uscc from {{ ref('int_subject_history') }} where {{ changed_since(since_xmin) }}
    union
    -- had history and now has none (int_subject_history removes such rows). Only a subject whose
    -- tax or utility rows were written since this model last built can lose its history (the
    -- subjects int_subject_history recomputed, from the same rows), or any subject when W moved
    -- (int_subject_history was rebuilt whole): an anti-join of every stored row against the whole
    -- history read 2 × 230,000 rows at every run (0.37 s at city scale).
    select s.uscc
    from (select uscc from {{ ref('stg_tax') }} where {{ changed_since(since_xmin) }}
          union
          select unnest(_key_subjects || uscc) from {{ ref('stg_utilities') }}
          where {{ changed_since(since_xmin) }}) as delivered
    join {{ this }} as s using (uscc)
    where s._has_history and not exists (select from {{ ref('int_subject_history') }} as h where h.uscc = s.uscc)
    union
    select uscc from {{ this }} as s
    where (select from_day <> to_day from window_moved)
      and s._has_history and not exists (select from {{ ref('int_subject_history') }} as h where h.uscc = s.uscc)
    union
    select coalesce(n.uscc, s.uscc)
    from properties as n
    full join (select * from {{ this }} where properties > 0) as s using (uscc)
    where (n.properties, n.properties_mortgaged, n.properties_seized)
          is distinct from (s.properties, s.properties_mortgaged, s.properties_seized)
    union
    select coalesce(n.uscc, s.uscc)
    from penalties as n
    full join (select * from {{ this }} where penalties_total > 0) as s using (uscc)
    where (n.penalties_total, n.penalties_public, n.penalties_public_ordinary, n.penalties_public_serious)
          is distinct from (s.penalties_total, s.penalties_public, s.penalties_public_ordinary, s.penalties_public_serious)
    union
    select coalesce(n.uscc, s.uscc)
    from dishonest as n
    full join (select * from {{ this }} where dishonest_cases > 0) as s using (uscc)
    where (n.dishonest_cases, n.dishonest_active) is distinct from (s.dishonest_cases, s.dishonest_active)
    union
    -- Commitments are compared only after a delivery changed one (a record may have moved to
    -- another subject): the comparison aggregates every commitment (535,000 in a city, 1.4 s of
    -- the daily build). Otherwise only as_of changes a count, for the subjects whose commitment
    -- dates it crossed or the window's first day moved over: those are taken directly.
    select coalesce(n.uscc, s.uscc)
    from commitments as n
    full join (select * from {{ this }} where commitments_total > 0) as s using (uscc)
    where (select since_last_build from commitments_delivered)
      and (n.commitments_total, n.commitments_unfulfilled) is distinct from (s.commitments_total, s.commitments_unfulfilled)
    union
    select uscc from {{ ref('stg_commitments') }}
    -- the bounds as scalar subqueries, evaluated once: two ranges of stg_commitments' committed_on
    -- index, empty when as_of has not moved (a scan of every commitment took 0.4 s at city scale)
    where committed_on > (select after_day from crossed) and committed_on <= (select up_to_day from crossed)
       or committed_on >= (select from_day from window_moved) and committed_on < (select to_day from window_moved)
),
commitments_of_affected as (
    {{ commitment_counts }}
      and uscc in (select uscc from affected)
    group by uscc
),
{%- endif %}
history as (
    -- tax and utilities, kept incrementally (int_subject_history)
    select * from {{ ref('int_subject_history') }}
    {% if incremental %}where uscc in (select uscc from affected){% endif %}
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
left join properties as pr using (uscc)
left join penalties as pe using (uscc)
left join dishonest as d using (uscc)
left join {{ 'commitments_of_affected' if incremental else 'commitments' }} as c using (uscc)
{%- if incremental %}
where s.uscc in (select uscc from affected)
{%- endif %}
