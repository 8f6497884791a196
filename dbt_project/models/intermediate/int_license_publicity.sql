-- Publicity of each licence (双公示, docs/spec/DOMAIN.md §3): from its decision date while valid
-- (valid_until inclusive), until an objection withdraws it (撤销, from its completion date); an
-- objection's 更正 of the expiry replaces valid_until (int_objection_outcomes).
with licences as (
    select l.record_key, l.decision_no, l.subject_key, l.uscc, l.subject_name, l.license_type, l.decision_title,
           l.content, l.authority, l.decided_on, l.valid_from,
           coalesce(o.corrected_valid_until, l.valid_until) as valid_until,
           o.corrected_on, o.withdrawn_on, o.withdrawn_by, o.open_objections
    from {{ ref('stg_licenses') }} as l
    left join {{ ref('int_objection_outcomes') }} as o on o.feed = 'licenses' and o.record_key = l.record_key
)
select
    l.*,
    l.decided_on as publicity_start,
    case when l.withdrawn_on <= l.valid_until or l.valid_until is null then l.withdrawn_on else l.valid_until end
      as publicity_end,
    l.decided_on <= {{ as_of() }}
      and (l.valid_until is null or l.valid_until >= {{ as_of() }})
      and (l.withdrawn_on is null or {{ as_of() }} < l.withdrawn_on) as is_public
from licences as l
