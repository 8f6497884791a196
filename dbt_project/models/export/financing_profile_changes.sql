-- What changed since the currently published export.financing_profile (DOMAIN §7): added, changed
-- (profile_hash differs) or removed enterprises. With no publication yet, every row is added.
{%- set published_schema = var('published_export_schema') %}
{%- set published = adapter.get_relation(database=target.database, schema=published_schema,
                                          identifier='financing_profile')
      if execute and published_schema != var('export_schema') else none %}
with current_profile as (
    select uscc, subject_name, profile_hash from {{ ref('financing_profile') }}
)
{%- if published %}
, previous_profile as (
    select uscc, subject_name, profile_hash, as_of from {{ published }}
)
select
    coalesce(c.uscc, p.uscc) as uscc,
    coalesce(c.subject_name, p.subject_name) as subject_name,
    case when p.uscc is null then 'added' when c.uscc is null then 'removed' else 'changed' end as change_type,
    p.as_of as previous_as_of,
    {{ as_of() }} as as_of
from current_profile as c
full join previous_profile as p using (uscc)
where p.uscc is null or c.uscc is null or c.profile_hash is distinct from p.profile_hash
{%- else %}
select uscc, subject_name, 'added'::text as change_type, null::date as previous_as_of, {{ as_of() }} as as_of
from current_profile
{%- endif %}
