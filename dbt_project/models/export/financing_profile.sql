-- 信易贷 financing profile (docs/spec/DOMAIN.md §7): one row per active enterprise, public information only —
-- penalties count only while public on as_of; no personal identity numbers (registry USCCs only).
-- profile_hash (without as_of, kept per subject by int_subject_archive) lets
-- financing_profile_changes and lenders see what changed. Built beside marts.subject_archive, both
-- copies of int_subject_archive (not after it: that put both copies and their tests in a row on
-- the build's critical path); the relationships test checks the two agree.
select
    {{ financing_profile_columns('a') }},
    a.profile_hash,
    {{ as_of() }} as as_of
from {{ ref('int_subject_archive') }} as a
where a.is_active_enterprise
