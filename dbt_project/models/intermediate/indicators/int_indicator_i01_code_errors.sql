-- I01 重错码率 (docs/spec/DOMAIN.md §6): codes rejected for format or check character that the
-- registry does not have, plus valid codes delivered under two or more names, over the codes
-- delivered (the registry's, stg_subjects' keys, and the rejected ones it does not have).
{{ config(materialized='ephemeral') }}
with rejected_unregistered as (
    -- not exists, not `not in`: NOT IN over the registry's codes re-scans them per rejected code
    select p.code
    from {{ ref('stg_registry_code_problems') }} as p
    where p.problem = 'rejected'
      and not exists (select 1 from {{ ref('stg_subjects') }} as g where g.uscc = p.code)
)
select 'I01'::text as indicator_id, 'all'::text as region_code,
       (select count(*) from rejected_unregistered)
       + (select count(*) from {{ ref('stg_registry_code_problems') }} where problem = 'many_names') as numerator,
       (select count(*) from {{ ref('stg_subjects') }}) + (select count(*) from rejected_unregistered) as denominator,
       0 as unknown_calendar_rows
