-- 信易贷处罚变化: the penalties inserted, updated or deleted (no longer shareable: repaired,
-- withdrawn by an objection, past their publicity, or their enterprise no longer active) in
-- financing_penalties since the publication of the latest earlier as_of (macros/change_set.sql).
{{ change_set(ref('financing_penalties'), 'record_key', 'record_hash', 'financing_penalties_publications', ['uscc']) }}
