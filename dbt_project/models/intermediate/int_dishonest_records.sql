-- 失信被执行人 records with their state on as_of: active from published_on until removed_on
-- (exclusive). A record published after as_of is not active yet.
select
    d.*,
    d.published_on <= {{ as_of() }} and (d.removed_on is null or d.removed_on > {{ as_of() }}) as is_active
from {{ ref('stg_dishonest_debtors') }} as d
