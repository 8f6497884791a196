-- 行政处罚 per registry subject as of as_of, public ones by severity (docs/spec/DOMAIN.md §4). A penalty
-- an objection withdrew (撤销) by as_of is void: no longer one of the subject's. Natural persons'
-- penalties are left out. Ephemeral, like int_subject_property_counts.
{{ config(materialized='ephemeral') }}
select subject_key as uscc,
       count(*) as penalties_total,
       count(*) filter (where is_public) as penalties_public,
       count(*) filter (where is_public and severity = '一般') as penalties_public_ordinary,
       count(*) filter (where is_public and severity = '严重') as penalties_public_serious
from {{ ref('int_penalty_publicity') }}
where decided_on <= {{ as_of() }} and withdrawn_on is null and not {{ is_person_key('subject_key') }}
group by subject_key
