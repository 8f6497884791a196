-- 异议处理结果 (docs/spec/DOMAIN.md §3): what the objections did, as of as_of, to each 双公示
-- record they name. An objection names a record by its category (行政处罚 → penalties, 行政许可 →
-- licenses), decision number and subject; its outcome takes effect on its completion date:
--   撤销  the record is withdrawn from that day (the earliest completed 撤销 counts);
--   更正  its corrected values replace the record's, each field from the latest completed 更正 that
--         corrected it (two objections may correct different fields of one record);
--   维持, or not completed by as_of: the record stays as it is; an objection raised by as_of and
--         not completed by then marks the record as under objection (异议处理中).
-- One row per record named by at least one objection raised by as_of.
with named as (
    select case o.info_category when '行政处罚' then 'penalties' when '行政许可' then 'licenses' end as feed,
           o.*
    from {{ ref('stg_objections') }} as o
    where o.info_category in ('行政处罚', '行政许可')
      and o.decision_no is not null
      and o.raised_on <= {{ as_of() }}
),
records as (
    select 'penalties' as feed, record_key, decision_no, subject_key from {{ ref('stg_penalties') }}
    union all
    select 'licenses', record_key, decision_no, subject_key from {{ ref('stg_licenses') }}
),
matched as (
    select r.feed, r.record_key, n.objection_no, n.raised_on, n.corrected_severity,
           n.corrected_penalty_type, n.corrected_fine_amount, n.corrected_valid_until,
           -- an outcome is in force from its completion date: one completed after as_of is still open
           case when n.completed_on <= {{ as_of() }} then n.completed_on end as completed_on,
           case when n.completed_on <= {{ as_of() }} then n.result end as result
    from named as n
    join records as r on r.feed = n.feed and r.decision_no = n.decision_no and r.subject_key = n.uscc
)
select
    feed,
    record_key,
    min(completed_on) filter (where result = '撤销') as withdrawn_on,
    (array_agg(objection_no order by completed_on, objection_no) filter (where result = '撤销'))[1]
      as withdrawn_by,
    (array_agg(corrected_severity order by completed_on desc, objection_no desc)
       filter (where result = '更正' and corrected_severity is not null))[1] as corrected_severity,
    (array_agg(corrected_penalty_type order by completed_on desc, objection_no desc)
       filter (where result = '更正' and corrected_penalty_type is not null))[1] as corrected_penalty_type,
    (array_agg(corrected_fine_amount order by completed_on desc, objection_no desc)
       filter (where result = '更正' and corrected_fine_amount is not null))[1] as corrected_fine_amount,
    (array_agg(corrected_valid_until order by completed_on desc, objection_no desc)
       filter (where result = '更正' and corrected_valid_until is not null))[1] as corrected_valid_until,
    max(completed_on) filter (where result = '更正') as corrected_on,
    -- raised by as_of, not completed by then
    string_agg(objection_no, ';' order by objection_no) filter (where completed_on is null) as open_objections,
    count(*) as objections
from matched
group by feed, record_key
