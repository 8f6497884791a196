-- 信易贷 penalties (docs/spec/DOMAIN.md §7): one row per penalty public on as_of of an active
-- enterprise — the records behind financing_profile.penalties_public, as objections left them. A
-- penalty repaired, withdrawn by an objection or past its publicity is not here: it is no longer
-- shared (信用修复管理办法 第三条, 停止共享). record_hash (without as_of) lets
-- financing_penalties_changes see what changed since the previous publication.
with shared as (
    select p.record_key, p.subject_key as uscc, p.decision_no, p.source_unit_uscc, p.authority,
           p.violation_type, p.penalty_type, p.penalty_content, p.severity, p.fine_amount, p.decided_on,
           p.publicity_start, p.publicity_end, p.open_objections is not null as under_objection
    from {{ ref('int_penalty_publicity') }} as p
    join {{ ref('int_subject_archive') }} as a on a.uscc = p.subject_key and a.is_active_enterprise
    where p.is_public
)
select s.*, md5(to_jsonb(s)::text) as record_hash, {{ as_of() }} as as_of
from shared as s
