-- 信用事件时间线 (docs/spec/DOMAIN.md §4): every credit record of every subject up to as_of, one row each.
-- `uscc` is the subject key: the USCC, or for a natural person the pseudonymised key (p:…).
-- Publicity: penalties per int_penalty_publicity, licences per int_license_publicity (both after
-- objections and repairs); dishonest-debtor records while active; other records are not publicised.
-- `status` is the record's state on as_of in words a reader of a credit report understands;
-- `under_objection` marks a record with an objection raised and not yet completed (异议处理中).
-- A repair or an objection completed after as_of is still in progress on as_of (办理中: a repair
-- dated by its application), and its result is not shown yet, as int_objection_outcomes has it.
with events as (
    select subject_key as uscc, '行政处罚' as event_type, decided_on as event_date, 'penalties' as source_feed,
           record_key as source_key, decision_no as record_no, authority, penalty_content as content,
           publicity_start, publicity_end, is_public,
           case when never_public then '不予公示'
                when withdrawn_on <= {{ as_of() }} then '已撤销'
                when is_public then '公示中'
                when honoured_repair_on <= {{ as_of() }} then '已修复'
                else '公示期满' end as status,
           open_objections is not null as under_objection,
           severity || coalesce('；' || never_public_reason || '，不予公示', '')
             || case when premature_repair_flagged then '；信用修复早于最短公示期（' || premature_repair_on || '），不予采纳' else '' end
             || coalesce('；异议撤销（' || withdrawn_by || '，' || withdrawn_on || '）', '')
             || coalesce('；异议更正（' || corrected_on || '）', '') as detail
    from {{ ref('int_penalty_publicity') }}
    union all
    select subject_key, '行政许可', decided_on, 'licenses', record_key, decision_no, authority, content,
           publicity_start, publicity_end, is_public,
           case when withdrawn_on <= {{ as_of() }} then '已撤销' when is_public then '有效' else '已到期' end,
           open_objections is not null,
           license_type || coalesce('；异议撤销（' || withdrawn_by || '，' || withdrawn_on || '）', '')
             || coalesce('；异议更正（' || corrected_on || '）', '')
    from {{ ref('int_license_publicity') }}
    union all
    select subject_key, '失信被执行人', published_on, 'dishonest_debtors', record_key, case_no, court, circumstance,
           published_on, removed_on, is_active, case when is_active then '失信中' else '已移出' end, false,
           circumstance
    from {{ ref('int_dishonest_records') }}
    union all
    select uscc, '信用承诺', committed_on, 'commitments', commitment_no, commitment_no, unit, reason,
           null::date, null::date, false, coalesce(fulfilment, '未填报'), false,
           commitment_type || coalesce('：' || fulfilment, '')
    from {{ ref('stg_commitments') }}
    union all
    select uscc, '信用修复', case when completed_on <= {{ as_of() }} then completed_on else applied_on end,
           'repairs', repair_no, repair_no, unit, '行政处罚决定书 ' || decision_no, null::date, null::date, false,
           case when completed_on <= {{ as_of() }} then coalesce(result, '已办结') else '办理中' end, false,
           case when completed_on <= {{ as_of() }} then coalesce(result, '已办结') else '办理中' end
             || '（' || decision_no || '）'
    from {{ ref('stg_repairs') }}
    union all
    select uscc, '异议申诉', raised_on, 'objections', objection_no, objection_no, null::text,
           info_category || coalesce('：' || decision_no, ''), null::date, null::date, false,
           case when completed_on <= {{ as_of() }} then coalesce(result, '已办结') else '办理中' end, false,
           info_category || case when completed_on <= {{ as_of() }} then coalesce('：' || result, '') else '' end
    from {{ ref('stg_objections') }}
    union all
    select uscc, '重大税收违法失信', period, 'tax', uscc || '|' || period::text, null::text, authority, null::text,
           null::date, null::date, false, '重大税收违法失信主体', false, authority
    from {{ ref('stg_tax') }}
    where major_violation
)
select uscc, event_type, event_date, source_feed, source_key, record_no, authority, content,
       publicity_start, publicity_end, is_public, status, under_objection, detail, {{ as_of() }} as as_of
from events
where event_date <= {{ as_of() }} and uscc is not null
