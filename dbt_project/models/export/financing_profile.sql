-- 信易贷 financing profile (DOMAIN §7): one row per active enterprise, public information only —
-- penalties count only while public on as_of; no personal identity numbers (registry USCCs only).
-- profile_hash (without as_of, kept per subject by int_subject_archive) lets
-- financing_profile_changes and lenders see what changed.
select
    {{ financing_profile_columns('a') }},
    a.profile_hash,
    {{ as_of() }} as as_of
from {{ ref('int_subject_archive') }} as a
-- depends_on: {{ ref('subject_archive') }}
where a.is_active_enterprise
