{#- ANALYZE after a model is built, so that the next model's plan sees real row counts (as views
    or without statistics the planner mis-estimated and chose quadratic plans: docs/performance.md).
    A table written anew (table models, an incremental model's first or full-refresh build) is
    always analysed. An incremental model only when it has no statistics yet or more than a tenth of
    its rows changed since they were taken, counting this build's own writes (autovacuum's default
    threshold): a daily run writes a few thousand rows into tables of millions, and re-sampling them
    all cost time in every model for statistics that had not moved.
    A model whose meta sets `statistics_target` (the published tables, dbt_project.yml) is sampled
    at that target for this ANALYZE only (`set local`: the model's transaction). -#}
{% macro refresh_statistics() -%}
    {%- if config.get('materialized') == 'incremental' -%}
    do $refresh$ begin
        if exists (
            select from pg_stat_user_tables as t
            join pg_stat_xact_user_tables as x using (relid)
            where t.relid = '{{ this.include(database=False) }}'::regclass
              and (coalesce(t.last_analyze, t.last_autoanalyze) is null
                   or t.n_mod_since_analyze + x.n_tup_ins + x.n_tup_upd + x.n_tup_del > 0.1 * greatest(t.n_live_tup, 1)))
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
