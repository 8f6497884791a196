{#- ANALYZE after a model is built, so that the next model's plan sees real row counts (as views
    or without statistics the planner mis-estimated and chose quadratic plans: docs/performance.md).
    A table written anew (table models, an incremental model's first or full-refresh build) is
    analysed here, in the build, because the next model reads it at once. An incremental table that
    already has statistics is left to autovacuum, which re-samples it once a tenth of its rows changed:
    a daily build writes a few thousand rows into tables of millions, and sampling them again inside
    the build only moved that work onto the build's critical path.
    A model whose meta sets `statistics_target` (the published tables, dbt_project.yml) is sampled
    at that target for this ANALYZE only (`set local`: the model's transaction). -#}
{% macro refresh_statistics() -%}
    {%- if config.get('materialized') == 'incremental' -%}
    do $refresh$ begin
        if exists (
            select from pg_stat_user_tables as t
            where t.relid = '{{ this.include(database=False) }}'::regclass
              and coalesce(t.last_analyze, t.last_autoanalyze) is null)
        then
            analyze {{ this.include(database=False) }};
        end if;
    end $refresh$
    {%- else -%}
    {%- set sample_target = (config.get('meta') or {}).get('statistics_target') -%}
    {%- if sample_target %}set local default_statistics_target = {{ sample_target | int }}; {% endif -%}
    analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
