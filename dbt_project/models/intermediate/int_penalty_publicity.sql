-- Publicity of each penalty (docs/spec/DOMAIN.md §3) from the regime in force on its decision date
-- (seed publicity_regimes). Publicity runs from the decision date (inclusive) to publicity_end
-- (exclusive): the maximum period, or an approved repair's completion date — but only a repair
-- completed once the minimum period had passed; an earlier one is flagged and not honoured — or
-- the day an objection withdrew the penalty (撤销). An objection's 更正 replaces the severity, the
-- penalty types and the fine it corrected, and the regime and periods follow the corrected values
-- (int_objection_outcomes).
-- Its two readers (int_subject_facts, credit_events) read every row, so a small statistics sample
-- serves their plans as well and costs a fraction of the default's (macros/refresh_statistics.sql).
{{ config(meta={'statistics_target': 10}) }}
-- One pass: each penalty with its regime and periods computed on the same row, then its repairs
-- (rather than joining the penalties to themselves three times by record_key).
with corrected as (
    -- the penalty as its objections left it by as_of
    select p.record_key, p.decision_no, p.source_unit_uscc, p.subject_key, p.uscc, p.subject_name,
           p.decided_on, p.summary_procedure, p.authority, p.violation_type, p.penalty_content,
           coalesce(o.corrected_severity, p.severity) as severity,
           coalesce(o.corrected_penalty_type, p.penalty_type) as penalty_type,
           coalesce(o.corrected_fine_amount, p.fine_amount) as fine_amount,
           o.corrected_on, o.withdrawn_on, o.withdrawn_by, o.open_objections
    from {{ ref('stg_penalties') }} as p
    left join {{ ref('int_objection_outcomes') }} as o on o.feed = 'penalties' and o.record_key = p.record_key
),
penalties as (
    select p.*, r.regime_id, r.document as regime_document,
           -- not shown at all: summary procedure, or only the "light" penalty types of the regime
           (r.hide_summary_procedure and p.summary_procedure) as hidden_summary,
           string_to_array(replace(p.penalty_type, ' ', ''), ';') <@ string_to_array(r.hidden_penalty_types, ';') as hidden_light,
           (p.decided_on + make_interval(months => r.min_months))::date as min_publicity_end,
           (p.decided_on + make_interval(months => r.max_months))::date as max_publicity_end
    from corrected as p
    left join {{ ref('publicity_regimes') }} as r
      on r.severity = p.severity
     and p.decided_on >= coalesce(r.effective_from, '-infinity'::date)
     and p.decided_on <= coalesce(r.effective_to, 'infinity'::date)
),
repairs as (
    -- approved repairs completed by as_of, split by whether the minimum period had passed
    select p.record_key,
           min(r.completed_on) filter (where r.completed_on >= p.min_publicity_end) as honoured_repair_on,
           min(r.completed_on) filter (where r.completed_on < p.min_publicity_end) as premature_repair_on
    from {{ ref('stg_repairs') }} as r
    join penalties as p using (decision_no)
    where r.result = '同意' and r.completed_on <= {{ as_of() }}
    group by p.record_key
)
select
    p.record_key,
    p.decision_no,
    p.source_unit_uscc,
    p.subject_key,
    p.uscc,
    p.subject_name,
    p.severity,
    p.penalty_type,
    p.fine_amount,
    p.authority,
    p.violation_type,
    p.penalty_content,
    p.summary_procedure,
    p.decided_on,
    p.regime_id,
    p.regime_document,
    coalesce(p.hidden_summary or p.hidden_light, false) as never_public,
    case when p.hidden_summary then '简易程序' when p.hidden_light then '仅' || p.penalty_type end as never_public_reason,
    p.min_publicity_end,
    p.max_publicity_end,
    rp.honoured_repair_on,
    rp.premature_repair_on,
    rp.premature_repair_on is not null as premature_repair_flagged,
    p.corrected_on,
    p.withdrawn_on,
    p.withdrawn_by,
    p.open_objections,
    case when not coalesce(p.hidden_summary or p.hidden_light, false) then p.decided_on end as publicity_start,
    case when not coalesce(p.hidden_summary or p.hidden_light, false)
         then least(p.max_publicity_end, rp.honoured_repair_on, p.withdrawn_on) end as publicity_end,
    -- why publicity ends (or ended) where it does: the earliest of the three
    case when coalesce(p.hidden_summary or p.hidden_light, false) then null
         when p.withdrawn_on <= least(p.max_publicity_end, rp.honoured_repair_on) then '异议撤销'
         when rp.honoured_repair_on <= p.max_publicity_end then '信用修复'
         else '最长公示期届满' end as publicity_end_reason,
    coalesce(not (p.hidden_summary or p.hidden_light)
             and p.decided_on <= {{ as_of() }}
             and {{ as_of() }} < least(p.max_publicity_end, rp.honoured_repair_on, p.withdrawn_on), false) as is_public
from penalties as p
left join repairs as rp using (record_key)
