{% macro changed_since(since) -%}
_built_xid >= {{ since }}
{%- endmacro %}
