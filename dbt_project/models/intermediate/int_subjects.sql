-- The registry as of as_of. "Active enterprise" (DOMAIN §6): type 企业 and in existence on as_of —
-- established by then (or date unknown), and either 存续 or closed only after as_of.
select
    s.*,
    (s.established_on is null or s.established_on <= {{ as_of() }})
      and (s.status = '存续' or s.closed_on > {{ as_of() }}) as is_existing,
    s.subject_type = '企业'
      and (s.established_on is null or s.established_on <= {{ as_of() }})
      and (s.status = '存续' or s.closed_on > {{ as_of() }}) as is_active_enterprise
from {{ ref('stg_subjects') }} as s
