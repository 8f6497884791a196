{#- Every listed column has a value on every row. One test and one scan of the table for all of a
    model's required columns, instead of dbt's not_null per column: each test node has a fixed
    overhead even when it reads a handful of rows, and the daily build ran one per column
    (docs/performance.md). A failure returns one row per column that has nulls, with
    how many rows. -#}
{% test not_null_columns(model, columns) %}
with null_rows as (
    select
        {%- for column in columns %}
        count(*) filter (where {{ adapter.quote(column) }} is null) as {{ adapter.quote(column) }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}
)
select column_name, rows_without_value
from (
    {%- for column in columns %}
    select '{{ column }}'::text as column_name, {{ adapter.quote(column) }} as rows_without_value from null_rows
    {{- ' union all' if not loop.last }}
    {%- endfor %}
) as per_column
where rows_without_value > 0
{% endtest %}
