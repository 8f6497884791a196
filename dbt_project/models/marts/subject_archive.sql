-- 信用档案与公共信用综合评价 (docs/spec/DOMAIN.md §4–§5): one row per registry subject, each dimension's points as
-- a column, for as_of. Evaluated per subject and kept incrementally by int_subject_archive; the
-- mart is its copy (the publication swaps whole schemas, so each build writes the table anew).
{{ config(indexes=[{'columns': ['uscc'], 'unique': True}]) }}
select
    {{ subject_archive_columns('a') }},
    {{ as_of() }} as as_of
from {{ ref('int_subject_archive') }} as a
