-- 不动产 per registry subject: registrations held on as_of (docs/spec/DOMAIN.md §4). Natural persons'
-- registrations have no archive and are left out. Ephemeral: int_subject_facts joins these counts,
-- int_subject_facts__affected compares them with the stored ones.
{{ config(materialized='ephemeral') }}
select owner_key as uscc,
       count(*) as properties,
       count(*) filter (where mortgaged) as properties_mortgaged,
       count(*) filter (where seized) as properties_seized
from {{ ref('stg_real_estate') }}
where registered_on <= {{ as_of() }} and (cancelled_on is null or cancelled_on > {{ as_of() }})
  and not {{ is_person_key('owner_key') }}
group by owner_key
