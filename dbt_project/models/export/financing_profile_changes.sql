-- What changed for lenders (docs/spec/DOMAIN.md §7): enterprises added, changed (profile_hash differs) or
-- removed since the latest publication for an EARLIER as_of (history.financing_profile_publications,
-- kept by the publish step). Comparing with an earlier as_of rather than with whatever is published
-- now makes a rerun for the same as_of publish the same changes. With no earlier publication, every
-- row is added.
{%- set archive = adapter.get_relation(database=target.database, schema='history',
                                        identifier='financing_profile_publications') if execute else none %}
with current_profile as (
    select uscc, subject_name, profile_hash from {{ ref('financing_profile') }}
)
{%- if archive %}
, previous_as_of as (
    select max(as_of) as as_of from {{ archive }} where as_of < {{ as_of() }}
)
, previous_profile as (
    select a.uscc, a.subject_name, a.profile_hash, a.as_of
    from {{ archive }} as a
    join previous_as_of as p on a.as_of = p.as_of
)
select
    coalesce(c.uscc, p.uscc) as uscc,
    coalesce(c.subject_name, p.subject_name) as subject_name,
    case when p.uscc is null then 'added' when c.uscc is null then 'removed' else 'changed' end as change_type,
    (select as_of from previous_as_of) as previous_as_of,
    {{ as_of() }} as as_of
from current_profile as c
full join previous_profile as p using (uscc)
where p.uscc is null or c.uscc is null or c.profile_hash is distinct from p.profile_hash
{%- else %}
select uscc, subject_name, 'added'::text as change_type, null::date as previous_as_of, {{ as_of() }} as as_of
from current_profile
{%- endif %}
