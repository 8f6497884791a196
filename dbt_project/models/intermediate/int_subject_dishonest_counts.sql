-- 失信被执行人 per registry subject: cases published by as_of and whether one is active
-- (docs/spec/DOMAIN.md §4). Natural persons are left out. Ephemeral, like int_subject_property_counts.
{{ config(materialized='ephemeral') }}
select subject_key as uscc,
       count(*) as dishonest_cases,
       bool_or(is_active) as dishonest_active
from {{ ref('int_dishonest_records') }}
where published_on <= {{ as_of() }} and not {{ is_person_key('subject_key') }}
group by subject_key
