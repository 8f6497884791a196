{#- Custom schema names are used verbatim (staging, intermediate, rules, history, marts_build…):
    the publish step swaps marts_build/export_build by name, so no target-prefixing. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
