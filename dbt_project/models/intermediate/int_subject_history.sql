-- What the long monthly histories (纳税, 水电气) say about each subject as of as_of: the inputs of
-- the archive that cost the most to recompute (tens of millions of rows at city scale), kept
-- incrementally. A run recomputes a subject only when
--   * rows of its tax or utility history were written since this model last built (by
--     transaction id, see build_marks), including an account a correction moved away from it; or
--   * as_of moved to another month, and with it the window W: then every row is stale, and the
--     table is rebuilt whole (below).
-- Within one month the facts below do not depend on the day of as_of: periods are first days of
-- months, so `period <= as_of` and the window W change only when the month does.
-- A changed subject left with no history at all (its only account moved to another subject) is
-- written too, so that its old row is replaced, and then removed by the post-hook: the table is
-- the same as a full build's.
-- When W has moved, the pre-hook empties the table (in the build's transaction) and the full-build
-- SQL refills it: one scan of each history instead of an index lookup per subject and a delete of
-- every row, which cost more than a full build (docs/performance.md).
{{ config(materialized='incremental', unique_key='uscc', incremental_strategy='delete+insert',
          indexes=[{'columns': ['uscc'], 'unique': True}] + watermark_indexes(),
          pre_hook="{{ empty_when_window_moved() }}",
          post_hook="delete from {{ this }} where not has_history") }}
{%- set incremental = is_incremental() and not window_moved() %}
{% if incremental %}
with since as (
    select {{ seen_watermark() }} as xmin
),
changed as (
    select uscc from {{ ref('stg_tax') }} where {{ changed_since('(select xmin from since)') }}
    union
    select unnest(_key_subjects || uscc) from {{ ref('stg_utilities') }} where {{ changed_since('(select xmin from since)') }}
),
tax as (
    select * from {{ ref('stg_tax') }} where uscc in (select uscc from changed)
),
utilities as (
    select * from {{ ref('stg_utilities') }} where uscc in (select uscc from changed)
),
{% else %}
with tax as (
    select * from {{ ref('stg_tax') }}
),
utilities as (
    select * from {{ ref('stg_utilities') }}
),
{% endif %}
tax_by_subject as (
    select uscc,
           max(period) filter (where period <= {{ as_of() }}) as tax_latest_period,
           count(*) filter (where {{ in_window('period') }}) as tax_months_12m,
           coalesce(sum(tax_paid) filter (where {{ in_window('period') }}), 0) as tax_paid_12m,
           coalesce(bool_or(major_violation) filter (where {{ in_window('period') }}), false) as tax_major_violation
    from tax
    group by uscc
),
tax_latest as (
    -- the latest tax row up to as_of: one (uscc, period) lookup per subject
    select b.uscc, t.credit_rating as tax_rating, t.rating_year as tax_rating_year, t.arrears as tax_arrears
    from tax_by_subject as b
    join {{ ref('stg_tax') }} as t on t.uscc = b.uscc and t.period = b.tax_latest_period
),
utility_months as (
    -- per subject and month of W first: a plain count of months afterwards instead of a
    -- count(distinct) that sorts every bill
    select uscc, period,
           count(*) as bills,
           count(*) filter (where paid_in_full) as bills_paid_in_full,
           bool_or(utility = '水') as water, bool_or(utility = '电') as electricity, bool_or(utility = '气') as gas
    from utilities
    where {{ in_window('period') }}
    group by uscc, period
),
utilities_by_subject as (
    select uscc,
           sum(bills) as utility_bills,
           count(*) as utility_months,
           sum(bills_paid_in_full) as utility_bills_paid_in_full,
           bool_or(water) as has_water_12m, bool_or(electricity) as has_electricity_12m, bool_or(gas) as has_gas_12m
    from utility_months
    group by uscc
),
with_utilities as (
    select distinct uscc from {{ ref('stg_utilities') }}
    {% if incremental %}where uscc in (select uscc from changed){% endif %}
)
{%- if not incremental %},
changed as (
    select uscc from tax_by_subject union select uscc from with_utilities
)
{%- endif %}
select
    c.uscc,
    tb.tax_latest_period,
    tl.tax_rating,
    tl.tax_rating_year,
    tl.tax_arrears,
    coalesce(tb.tax_months_12m, 0) as tax_months_12m,
    coalesce(tb.tax_paid_12m, 0) as tax_paid_12m,
    coalesce(tb.tax_major_violation, false) as tax_major_violation,
    coalesce(u.utility_bills, 0)::bigint as utility_bills,
    coalesce(u.utility_months, 0) as utility_months,
    coalesce(u.utility_bills_paid_in_full, 0)::bigint as utility_bills_paid_in_full,
    coalesce(u.has_water_12m, false) as has_water_12m,
    coalesce(u.has_electricity_12m, false) as has_electricity_12m,
    coalesce(u.has_gas_12m, false) as has_gas_12m,
    tb.uscc is not null or wu.uscc is not null as has_history,
    {{ window_start() }} as window_start,
    {{ build_marks() }}
from changed as c
left join tax_by_subject as tb using (uscc)
left join tax_latest as tl using (uscc)
left join utilities_by_subject as u using (uscc)
left join with_utilities as wu using (uscc)
