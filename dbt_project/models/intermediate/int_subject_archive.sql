-- 信用档案 + 公共信用综合评价 (docs/spec/DOMAIN.md §4–§5) per registry subject, without as_of: the facts, each
-- dimension's points, score and grade, plus the two fingerprints the history and the lenders'
-- change list compare (archive_hash, profile_hash). Points come from the seed scoring_rules (a rule
-- change is a row, not code).
--
-- Incremental by subject: a run evaluates the subjects whose facts int_subject_facts rewrote since
-- this model last built, and every subject when the scoring rules or the grade bands differ from
-- the ones its rows were evaluated with (_rules_version). marts.subject_archive and
-- export.financing_profile are copies of it for one as_of.
{{ config(materialized='incremental', unique_key='uscc', incremental_strategy='delete+insert',
          indexes=[{'columns': ['uscc'], 'unique': True}] + watermark_indexes()) }}
{%- set incremental = incremental_with(['_built_xid', '_seen_xmin', '_rules_version']) %}
{%- set rules_version %}
    select md5(
        coalesce((select string_agg(to_jsonb(r)::text, '|' order by r.rule_id) from {{ ref('scoring_rules') }} as r), '')
        || coalesce((select string_agg(to_jsonb(g)::text, '|' order by g.grade) from {{ ref('credit_grades') }} as g), '')
    )
{%- endset %}
with rules_version as (
    select ({{ rules_version }}) as version
),
facts as (
    select * from {{ ref('int_subject_facts') }}
    {%- if incremental %}
    where {{ changed_since(watermark_literal(rules_version)) }}
    {%- endif %}
),
rules as (
    select rule_id, dimension, match_value, points, cap, min_months, min_share, forced_grade
    from {{ ref('scoring_rules') }}
),
r as (
    -- one row holding the scalar rules by id
    select
        max(points) filter (where rule_id = 'base') as base,
        max(points) filter (where rule_id = 'tax_arrears') as tax_arrears,
        max(points) filter (where rule_id = 'utilities_good') as util_good,
        max(min_months) filter (where rule_id = 'utilities_good') as util_good_months,
        max(min_share) filter (where rule_id = 'utilities_good') as util_good_share,
        max(points) filter (where rule_id = 'utilities_poor') as util_poor,
        max(min_share) filter (where rule_id = 'utilities_poor') as util_poor_share,
        max(points) filter (where rule_id = 'real_estate_seized') as seized,
        max(points) filter (where rule_id = 'dishonest_active') as dishonest,
        max(forced_grade) filter (where rule_id = 'dishonest_active') as dishonest_grade,
        max(forced_grade) filter (where rule_id = 'tax_major_violation') as major_violation_grade,
        max(points) filter (where rule_id = 'score_floor') as floor_points,
        max(points) filter (where rule_id = 'score_ceiling') as ceiling_points
    from rules
),
per_item as (
    select dimension, match_value, points, cap from rules where dimension in ('tax_rating', 'penalty', 'commitment')
),
scored as materialized (
    -- materialized: inlined, each later reference to a points column re-ran its rule lookup (once
    -- per reference and subject)
    select
        f.*,
        r.base as points_base,
        coalesce((select i.points from per_item i where i.dimension = 'tax_rating' and i.match_value = f.tax_rating), 0)
          + case when f.tax_arrears > 0 then r.tax_arrears else 0 end as points_tax,
        case
            when f.utility_bills = 0 then 0
            when f.utility_months >= r.util_good_months
                 and f.utility_bills_paid_in_full >= r.util_good_share * f.utility_bills then r.util_good
            when f.utility_bills_paid_in_full < r.util_poor_share * f.utility_bills then r.util_poor
            else 0
        end as points_utilities,
        case when f.properties_seized > 0 then r.seized else 0 end as points_real_estate,
        (select coalesce(sum(greatest(i.points * case i.match_value when '一般' then f.penalties_public_ordinary
                                                          when '严重' then f.penalties_public_serious else 0 end,
                                      coalesce(i.cap, -2147483647))), 0)
           from per_item i where i.dimension = 'penalty') as points_penalties,
        case when f.dishonest_active then r.dishonest else 0 end as points_dishonest,
        (select coalesce(sum(greatest(i.points * f.commitments_unfulfilled, coalesce(i.cap, -2147483647))), 0)
           from per_item i where i.dimension = 'commitment') as points_commitments,
        r.floor_points, r.ceiling_points, r.dishonest_grade, r.major_violation_grade
    from facts as f
    cross join r
),
grade_bands as (
    -- each grade's score range [min_score, next grade's min_score): a join per subject instead of
    -- a sorted lookup per subject
    select grade, min_score, lead(min_score) over (order by min_score) as next_min_score
    from {{ ref('credit_grades') }}
),
totalled as (
    select s.*,
           least(greatest(points_base + points_tax + points_utilities + points_real_estate + points_penalties
                          + points_dishonest + points_commitments, floor_points), ceiling_points) as credit_score
    from scored as s
),
graded as (
    select
        t.*,
        case
            when t.dishonest_active and t.dishonest_grade is not null then t.dishonest_grade
            when t.tax_major_violation and t.major_violation_grade is not null then t.major_violation_grade
            else g.grade
        end as credit_grade,
        case
            when t.dishonest_active and t.dishonest_grade is not null then '失信被执行人'
            when t.tax_major_violation and t.major_violation_grade is not null then '重大税收违法失信主体'
        end as grade_override_reason
    from totalled as t
    left join grade_bands as g
           on t.credit_score >= g.min_score and (g.next_min_score is null or t.credit_score < g.next_min_score)
),
archive as (
    -- exactly the columns of marts.subject_archive but as_of, in its order (the one list the mart
    -- and the snapshot select too): archive_hash is over them
    select {{ subject_archive_columns('g') }}
    from graded as g
)
select
    a.*,
    md5(to_jsonb(a)::text) as archive_hash,
    (select md5(to_jsonb(p)::text) from (select {{ financing_profile_columns('a') }}) as p) as profile_hash,
    (select version from rules_version) as _rules_version,
    {{ build_marks() }}
from archive as a
