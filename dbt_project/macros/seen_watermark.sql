{% macro seen_watermark() -%}
(select coalesce(max(_seen_xmin), '0'::xid8) from {{ this }})
{%- endmacro %}
