{% macro bookkeeping_columns_in_place(columns) -%}
    {%- if execute and is_incremental() -%}
    {%- set present = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- set missing = columns.keys() | reject('in', present) | list -%}
    {%- if missing -%}
    alter table {{ this }} {% for name in missing %}add column {{ name }} {{ columns[name] }}{{ ", " if not loop.last }}{% endfor %}
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}
