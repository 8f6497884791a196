{#- The rows of an incremental model not yet covered by a publication: written by the build last
    published or later (see models/staging/build_started.sql). Tests of the staging
    models say `where: __unpublished__`; with no publication yet, every row. -#}
{% macro unpublished_rows() -%}
    {%- set log = adapter.get_relation(database=target.database, schema='audit', identifier='publication_log') if execute else none -%}
    {%- set marker = none -%}
    {%- if log -%}
        {#- one query per test: through jsonb, so a log made before the build_xmin column still works -#}
        {%- set found = run_query("select to_jsonb(l) ->> 'build_xmin' from " ~ log ~ " as l"
                                  ~ " where to_jsonb(l) ->> 'build_xmin' is not null"
                                  ~ " order by l.published_at desc limit 1") -%}
        {%- set marker = found.columns[0].values()[0] if found and found.rows | length else none -%}
    {%- endif -%}
    {#- a literal, not a subquery: the planner then sees how few rows are that new and uses the
        index on _built_xid instead of scanning the table -#}
    {%- if marker is not none and modules.re.match('^[0-9]+$', marker | string) -%}
    _built_xid >= '{{ marker }}'::xid8
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}

{#- dbt's `where` for tests, with one placeholder of ours: `__unpublished__` (above). -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- if '__unpublished__' in where -%}
            {%- set where = where | replace('__unpublished__', unpublished_rows()) -%}
        {%- endif -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
