-- The subjects int_subject_facts recomputes in an incremental run: those whose facts can differ from
-- their stored row (docs/warehouse.md "Incremental builds"). A subject is affected when
--   * its registry row was written since int_subject_facts last built, or as_of crossed its
--     established_on or closed_on (is_existing / is_active_enterprise flip on those days);
--   * its tax or utility facts were rewritten by int_subject_history (which handles W moving), or
--     it had history and now has none (int_subject_history drops such rows; looked for among the
--     subjects of the tax and utility rows delivered since, or among all when W moved);
--   * its real estate, penalty or dishonest-debtor counts as of this as_of differ from its stored
--     ones. These three are compared, not inferred from changed rows: a correction that moves a
--     record to another subject, a repair ending a penalty's publicity, a new publicity regime, a
--     record crossing as_of or the window all show up as a difference;
--   * its commitment counts differ after a delivery changed a commitment (compared the same way),
--     or as_of crossed one of its commitment dates or moved W's first day over one.
-- "Stored" is intermediate.int_subject_facts as the previous build left it, read by name: it is the
-- table of the model downstream (a ref would be a cycle). Empty when int_subject_facts is built
-- whole (a full refresh, a first build, a table without the bookkeeping columns).
{{ config(materialized='table') }}
{%- set facts = adapter.get_relation(database=this.database, schema=this.schema, identifier='int_subject_facts') if execute else none %}
{%- set bookkeeping = ['_built_xid', '_seen_xmin', '_as_of', '_has_history'] %}
{%- set present = adapter.get_columns_in_relation(facts) | map(attribute='name') | list if facts else [] %}
{#- at parse time (execute false) every ref below is rendered, so that dbt knows them all -#}
{%- set compare = not execute or (facts is not none and not flags.FULL_REFRESH
                                  and bookkeeping | reject('in', present) | list | length == 0) %}
{%- if not compare %}
select uscc from {{ ref('stg_subjects') }} where false
{%- else %}
{%- set stored = facts if execute else this %}
{%- set since_xmin = watermark_literal(relation=stored) %}
with since as (
    select {{ since_xmin }} as xmin,
           -- the as_of of the latest run that wrote rows: the days since then are the ones crossed
           (select _as_of from {{ stored }} order by _built_xid desc limit 1) as as_of
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
)
select uscc from {{ ref('stg_subjects') }} where {{ changed_since(since_xmin) }}
union
-- from the staging table: its indexes on the two dates find the few subjects of the days crossed
-- (none when as_of is unchanged) without reading the registry
select uscc from {{ ref('stg_subjects') }}, crossed
where established_on > after_day and established_on <= up_to_day
   or closed_on > after_day and closed_on <= up_to_day
union
select uscc from {{ ref('int_subject_history') }} where {{ changed_since(since_xmin) }}
union
-- had history and now has none (int_subject_history removes such rows). Only a subject whose
-- tax or utility rows were written since int_subject_facts last built can lose its history (the
-- subjects int_subject_history recomputed, from the same rows), or any subject when W moved
-- (int_subject_history was rebuilt whole): an anti-join of every stored row against the whole
-- history would read both tables at every run.
select s.uscc
from (select uscc from {{ ref('stg_tax') }} where {{ changed_since(since_xmin) }}
      union
      select unnest(_key_subjects || uscc) from {{ ref('stg_utilities') }}
      where {{ changed_since(since_xmin) }}) as delivered
join {{ stored }} as s using (uscc)
where s._has_history and not exists (select from {{ ref('int_subject_history') }} as h where h.uscc = s.uscc)
union
select uscc from {{ stored }} as s
where (select from_day <> to_day from window_moved)
  and s._has_history and not exists (select from {{ ref('int_subject_history') }} as h where h.uscc = s.uscc)
union
select coalesce(n.uscc, s.uscc)
from {{ ref('int_subject_property_counts') }} as n
full join (select * from {{ stored }} where properties > 0) as s using (uscc)
where (n.properties, n.properties_mortgaged, n.properties_seized)
      is distinct from (s.properties, s.properties_mortgaged, s.properties_seized)
union
select coalesce(n.uscc, s.uscc)
from {{ ref('int_subject_penalty_counts') }} as n
full join (select * from {{ stored }} where penalties_total > 0) as s using (uscc)
where (n.penalties_total, n.penalties_public, n.penalties_public_ordinary, n.penalties_public_serious)
      is distinct from (s.penalties_total, s.penalties_public, s.penalties_public_ordinary, s.penalties_public_serious)
union
select coalesce(n.uscc, s.uscc)
from {{ ref('int_subject_dishonest_counts') }} as n
full join (select * from {{ stored }} where dishonest_cases > 0) as s using (uscc)
where (n.dishonest_cases, n.dishonest_active) is distinct from (s.dishonest_cases, s.dishonest_active)
union
-- Commitments are compared only after a delivery changed one (a record may have moved to
-- another subject): the comparison aggregates every commitment. Otherwise only as_of changes a
-- count, for the subjects whose commitment dates it crossed or the window's first day moved
-- over: those are taken directly.
select coalesce(n.uscc, s.uscc)
from ({{ commitment_counts() }}) as n
full join (select * from {{ stored }} where commitments_total > 0) as s using (uscc)
where (select since_last_build from commitments_delivered)
  and (n.commitments_total, n.commitments_unfulfilled) is distinct from (s.commitments_total, s.commitments_unfulfilled)
union
select uscc from {{ ref('stg_commitments') }}
-- the bounds as scalar subqueries, evaluated once: two ranges of stg_commitments' committed_on
-- index, empty when as_of has not moved
where committed_on > (select after_day from crossed) and committed_on <= (select up_to_day from crossed)
   or committed_on >= (select from_day from window_moved) and committed_on < (select to_day from window_moved)
{%- endif %}
