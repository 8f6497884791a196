{% macro delivery_columns() -%}
_file_name as source_file,
    _row_number as source_row,
    _arrived_at as arrived_at,
    _load_xid,
    {{ build_marks() }}
{%- endmacro %}
