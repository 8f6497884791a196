{% macro build_marks() -%}
pg_current_xact_id() as _built_xid,
pg_snapshot_xmin(pg_current_snapshot()) as _seen_xmin
{%- endmacro %}
