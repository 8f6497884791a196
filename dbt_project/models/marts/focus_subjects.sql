-- 屡禁不止重点治理对象 (docs/spec/DOMAIN.md §6, I14): subjects with at least N penalties decided, or N
-- dishonest-debtor cases filed, in the 3 years up to as_of (N = the parameter of I14). A penalty an
-- objection withdrew (撤销) by as_of does not count.
with threshold as (
    select parameter as n from {{ ref('indicator_definitions') }} where indicator_id = 'I14'
),
penalties as (
    select subject_key, count(*) as penalties_3y, max(subject_name) as subject_name
    from {{ ref('int_penalty_publicity') }}
    where decided_on > ({{ as_of() }} - interval '3 years')::date and decided_on <= {{ as_of() }}
      and withdrawn_on is null
    group by subject_key
),
cases as (
    select subject_key, count(distinct case_no) as dishonest_cases_3y, max(subject_name) as subject_name
    from {{ ref('stg_dishonest_debtors') }}
    where filed_on > ({{ as_of() }} - interval '3 years')::date and filed_on <= {{ as_of() }}
    group by subject_key
),
counted as (
    select coalesce(p.subject_key, c.subject_key) as subject_key,
           coalesce(p.subject_name, c.subject_name) as subject_name,
           coalesce(p.penalties_3y, 0) as penalties_3y,
           coalesce(c.dishonest_cases_3y, 0) as dishonest_cases_3y
    from penalties as p
    full join cases as c using (subject_key)
)
select
    k.subject_key,
    coalesce(s.subject_name, k.subject_name) as subject_name,
    s.subject_type,
    s.region_code,
    k.penalties_3y,
    k.dishonest_cases_3y,
    {{ as_of() }} as as_of
from counted as k
cross join threshold as t
-- lateral: one registry lookup per focus subject (a few hundred); a plain join was planned for the
-- half million subjects the counts were estimated at, hashing the whole registry; `offset 0` keeps
-- the planner from pulling the lookup up into such a join
left join lateral (
    select subject_name, subject_type, region_code from {{ ref('stg_subjects') }} where uscc = k.subject_key
    offset 0
) as s on true
where k.penalties_3y >= t.n or k.dishonest_cases_3y >= t.n
