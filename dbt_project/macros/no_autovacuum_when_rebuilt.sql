{#- A table that every build writes anew (materialized 'table') is never updated or deleted from,
    the build analyses it itself, and the next build replaces it: autovacuum has nothing to do
    there, and while it scans one, the next build's rename and the publication's swap wait
    `deadlock_timeout` before it is cancelled. Anti-wraparound vacuum still runs (PostgreSQL
    ignores this setting for it). Incremental tables keep autovacuum: it owns their statistics. -#}
{% macro no_autovacuum_when_rebuilt() -%}
    {%- if config.get('materialized') == 'table' -%}
    alter table {{ this }} set (autovacuum_enabled = false, toast.autovacuum_enabled = false)
    {%- endif -%}
{%- endmacro %}
