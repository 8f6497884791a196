{% macro watermark_literal(rules_version=none, relation=none) -%}
    {%- if not execute -%}
        {{- return("'0'::xid8") -}}
    {%- endif -%}
    {%- set relation = relation or this -%}
    {%- set watermark = "(select coalesce(max(_seen_xmin), '0'::xid8) from " ~ relation ~ ")" -%}
    {%- if rules_version -%}
        {%- set watermark = "case when (select _rules_version from " ~ relation ~ " order by _built_xid desc limit 1)"
                            ~ " is distinct from (" ~ rules_version ~ ") then '0'::xid8 else " ~ watermark ~ " end" -%}
    {%- endif -%}
    {%- set found = run_query("select (" ~ watermark ~ ")::text") -%}
    {{- return("'" ~ found.columns[0].values()[0] ~ "'::xid8") -}}
{%- endmacro %}
