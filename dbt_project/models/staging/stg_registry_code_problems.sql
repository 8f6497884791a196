-- 登记代码问题: what I01 (重错码率) needs of the registry's deliveries beyond stg_subjects' latest
-- rows — each code delivered under two or more different names over all deliveries, and each code
-- the ingest rejected (audit.quarantine), normalised. Ephemeral: a CTE in the indicator that reads it.
{{ config(materialized='ephemeral') }}
select 'many_names'::text as problem, uscc as code
from {{ source('raw', 'subjects') }}
-- min <> max, not count(distinct name) >= 2 (the same for non-null names): a hash aggregate
group by uscc
having min(name) <> max(name)
union all
select distinct 'rejected', {{ normalise_code('value') }}
from {{ source('audit', 'quarantine') }}
where feed = 'subjects' and column_name = 'uscc' and severity = 'error'
  and coalesce({{ normalise_code('value') }}, '') <> ''
