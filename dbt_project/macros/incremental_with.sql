{% macro incremental_with(columns) -%}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set present = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {{ return(columns | reject('in', present) | list | length == 0) }}
{%- endmacro %}
