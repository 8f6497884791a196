{#- Working-day arithmetic on int_working_calendar (docs/spec/DOMAIN.md §2). `wd_seq` counts working days up to
    and including each day, so both rules become sequence arithmetic:
      "within N working days after D": on or before the working day whose wd_seq = wd_seq(D) + N;
      "working days between A and B": wd_seq(B) - wd_seq(A)  (days d with A < d <= B).
    A date outside the known calendar gives NULL — never a weekends-only guess. -#}
{% macro working_day_deadline(date_expr, n) -%}
(select deadline.day
   from {{ ref('int_working_calendar') }} as deadline
  where deadline.is_working_day
    and deadline.wd_seq = (select start_day.wd_seq from {{ ref('int_working_calendar') }} as start_day
                            where start_day.day = ({{ date_expr }})) + ({{ n }}))
{%- endmacro %}

{% macro working_days_between(from_expr, to_expr) -%}
((select b.wd_seq from {{ ref('int_working_calendar') }} as b where b.day = ({{ to_expr }}))
 - (select a.wd_seq from {{ ref('int_working_calendar') }} as a where a.day = ({{ from_expr }})))
{%- endmacro %}

{% macro calendar_knows(date_expr) -%}
exists (select 1 from {{ ref('int_working_calendar') }} as known where known.day = ({{ date_expr }}))
{%- endmacro %}

{#- For the scorecard's note: which years the calendar lacks among the given dates. -#}
{% macro missing_calendar_years(date_expr) -%}
string_agg(distinct extract(year from {{ date_expr }})::int::text, ', ')
    filter (where {{ date_expr }} is not null and not {{ calendar_knows(date_expr) }})
{%- endmacro %}
