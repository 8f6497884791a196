-- 信易贷变化: the enterprises inserted, updated or deleted (no longer active) in financing_profile
-- since the publication of the latest earlier as_of (macros/change_set.sql: the lenders' delta).
{{ change_set(ref('financing_profile'), 'uscc', 'profile_hash', 'financing_profile_publications', ['subject_name']) }}
