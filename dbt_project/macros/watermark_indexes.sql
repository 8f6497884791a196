{% macro watermark_indexes() -%}
    {{ return([{'columns': ['_built_xid']}, {'columns': ['_seen_xmin']}]) }}
{%- endmacro %}
