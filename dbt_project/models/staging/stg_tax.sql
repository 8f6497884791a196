-- 纳税信息: one row per taxpayer and month. Incremental: history only grows, and a run after a
-- small delivery recomputes only the (uscc, period) keys that received rows.
-- The few major tax violations are indexed apart: credit_events lists them, and finding them in the
-- whole history read every tax row in every build.
{{ config(unique_key=['uscc', 'period'], indexes=[{'columns': ['uscc', 'period'], 'unique': True}] + watermark_indexes(),
          post_hook="{{ partial_index_in_place(['period'], 'major_violation') }}") }}
-- depends_on: {{ ref('build_started') }}
with latest as (
    {{ latest_delivery(source('raw', 'tax'), ['uscc', 'period']) }}
)
select
    uscc,
    period,
    name as taxpayer_name,
    tax_due,
    tax_paid,
    coalesce(arrears, 0) as arrears,
    credit_rating,
    rating_year,
    coalesce(major_violation, false) as major_violation,
    authority,
    {{ delivery_columns() }}
from latest
