-- 信用档案历史 (SCD type 2): every version of every subject's archive, valid_from/valid_to being the
-- as_of dates of the runs that first saw the change (from the snapshot in schema history, copied
-- into a table so that the published schema does not depend on another schema's objects).
select
    s.uscc,
    s.subject_name,
    s.subject_type,
    s.status,
    s.region_code,
    s.tax_rating,
    s.tax_paid_12m,
    s.utility_paid_share,
    s.properties,
    s.properties_seized,
    s.penalties_total,
    s.penalties_public,
    s.dishonest_active,
    s.commitments_unfulfilled,
    s.points_tax, s.points_utilities, s.points_real_estate, s.points_penalties, s.points_dishonest, s.points_commitments,
    s.credit_score,
    s.credit_grade,
    s.archive_hash,
    s.dbt_valid_from::date as valid_from,
    s.dbt_valid_to::date as valid_to,
    s.dbt_valid_to is null as is_current,
    s.dbt_scd_id as version_id
from {{ ref('subject_archive_snapshot') }} as s
