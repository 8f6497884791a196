-- 信用事件时间线 (docs/spec/DOMAIN.md §4): every credit record of every subject up to as_of, one row each.
-- `uscc` is the subject key: the USCC, or for a natural person the pseudonymised key (p:…).
-- Publicity: penalties per int_penalty_publicity; dishonest-debtor records while active; licenses
-- are published (双公示) from their decision date while valid; other records are not publicised.
with events as (
    select subject_key as uscc, '行政处罚' as event_type, decided_on as event_date, 'penalties' as source_feed,
           record_key as source_key, publicity_start, publicity_end, is_public,
           severity || coalesce('；' || never_public_reason || '，不予公示', '')
             || case when premature_repair_flagged then '；信用修复早于最短公示期（' || premature_repair_on || '），不予采纳' else '' end as detail
    from {{ ref('int_penalty_publicity') }}
    union all
    select subject_key, '行政许可', decided_on, 'licenses', record_key, decided_on, valid_until,
           decided_on <= {{ as_of() }} and (valid_until is null or valid_until >= {{ as_of() }}), license_type
    from {{ ref('stg_licenses') }}
    union all
    select subject_key, '失信被执行人', published_on, 'dishonest_debtors', record_key, published_on, removed_on,
           is_active, circumstance
    from {{ ref('int_dishonest_records') }}
    union all
    select uscc, '信用承诺', committed_on, 'commitments', commitment_no, null::date, null::date, false,
           commitment_type || coalesce('：' || fulfilment, '')
    from {{ ref('stg_commitments') }}
    union all
    select uscc, '信用修复', coalesce(completed_on, applied_on), 'repairs', repair_no, null::date, null::date, false,
           coalesce(result, '办理中') || '（' || decision_no || '）'
    from {{ ref('stg_repairs') }}
    union all
    select uscc, '异议申诉', raised_on, 'objections', objection_no, null::date, null::date, false,
           info_category || coalesce('：' || result, '')
    from {{ ref('stg_objections') }}
    union all
    select uscc, '重大税收违法失信', period, 'tax', uscc || '|' || period::text, null::date, null::date, false,
           authority
    from {{ ref('stg_tax') }}
    where major_violation
)
select uscc, event_type, event_date, source_feed, source_key, publicity_start, publicity_end, is_public,
       detail, {{ as_of() }} as as_of
from events
where event_date <= {{ as_of() }} and uscc is not null
