-- 双公示 records (penalties and licenses) with their 7-working-day report deadline (docs/spec/DOMAIN.md §2/§6,
-- the day count is the parameter of I04 in indicator_definitions). deadline NULL = calendar unknown.
--
-- Incremental by record: a deadline depends on the record's decision date, the working-day
-- calendar and the day count, not on as_of. A run computes the records whose staging rows were
-- written since this model last built, and every record when the calendar or the day count differ
-- from the ones its rows were computed with (_rules_version: a year's schedule dropped in fills the
-- deadlines that were unknown). Staging never drops a business key, so neither does this table.
-- A table of an earlier release (a plain table, without the bookkeeping) is computed whole once.
{{ config(materialized='incremental', unique_key='record_key', incremental_strategy='delete+insert',
          indexes=[{'columns': ['record_key'], 'unique': True}] + watermark_indexes(),
          pre_hook="{{ bookkeeping_columns_in_place({'_rules_version': 'text', '_built_xid': 'xid8', '_seen_xmin': 'xid8'}) }}") }}
{%- set incremental = incremental_with(['_built_xid', '_seen_xmin', '_rules_version']) %}
{%- set rules_version %}
    select md5(
        -- to_char: the version must not depend on the session's DateStyle
        coalesce((select string_agg(to_char(c.day, 'YYYY-MM-DD') || ':' || c.is_working_day || ':' || c.wd_seq, '|'
                                    order by c.day)
                  from {{ ref('int_working_calendar') }} as c), '')
        || ':' || coalesce((select d.parameter::text from {{ ref('indicator_definitions') }} as d
                            where d.indicator_id = 'I04'), '')
    )
{%- endset %}
{%- set since = watermark_literal(rules_version) if incremental else none %}
with rules_version as (
    select ({{ rules_version }}) as version
),
records as (
    select 'penalty' as record_type, 'penalty|' || record_key as record_key, decision_no, subject_key, decided_on, reported_on, source_unit_uscc
    from {{ ref('stg_penalties') }}
    {%- if incremental %}
    where {{ changed_since(since) }}
    {%- endif %}
    union all
    select 'license', 'license|' || record_key, decision_no, subject_key, decided_on, reported_on, source_unit_uscc
    from {{ ref('stg_licenses') }}
    {%- if incremental %}
    where {{ changed_since(since) }}
    {%- endif %}
)
select
    r.*,
    {{ working_day_deadline('r.decided_on',
        "(select d.parameter from " ~ ref('indicator_definitions') ~ " as d where d.indicator_id = 'I04')") }} as report_deadline,
    (select version from rules_version) as _rules_version,
    {{ build_marks() }}
from records as r
