{#- The date everything is computed for (dbt var `as_of`, YYYY-MM-DD). Validated at compile time so
    a typo fails the run with a clear message instead of silently computing for another day. -#}
{% macro as_of() -%}
    {%- set raw = var('as_of') | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', raw) -%}
        {{ exceptions.raise_compiler_error("dbt var as_of=" ~ raw ~ " is not a date: write YYYY-MM-DD, e.g. 2026-06-30") }}
    {%- endif -%}
    date '{{ raw }}'
{%- endmacro %}

{#- First day of the window W: the first day of the month 11 months before as_of's month (docs/spec/DOMAIN.md §6). -#}
{% macro window_start() -%}
    (date_trunc('month', {{ as_of() }}) - interval '11 months')::date
{%- endmacro %}

{% macro in_window(date_expr) -%}
    ({{ date_expr }} between {{ window_start() }} and {{ as_of() }})
{%- endmacro %}

{#- A delivery's arrival day in the office's time zone, independent of the session's time zone. -#}
{% macro arrival_day(ts_expr) -%}
    (({{ ts_expr }}) at time zone 'Asia/Shanghai')::date
{%- endmacro %}

{#- For an incremental model that stores the window it was computed for in `window_start`
    (int_subject_history): whether as_of has moved W since, i.e. every stored row is stale.
    Asked twice per build, on the same unchanged table: while the model's SQL is compiled (full-build
    SQL or incremental) and by its pre-hook (empty the table or not). Always false outside a run. -#}
{% macro window_moved() -%}
    {%- if not (execute and is_incremental()) -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set stale = run_query("select exists (select from " ~ this ~ " where window_start is distinct from "
                              ~ window_start() ~ ")") -%}
    {{ return(stale.columns[0].values()[0]) }}
{%- endmacro %}

{#- The pre-hook that goes with window_moved(): the same question asked again when the hook runs,
    just before the model's SQL (nothing writes the table in between), and if W has moved, the
    table emptied in the model's transaction, so that the full-build SQL refills it without
    deleting row by row. -#}
{% macro empty_when_window_moved() -%}
    {%- if window_moved() -%}
    truncate {{ this }}
    {%- endif -%}
{%- endmacro %}
