{% macro latest_delivery(relation, key_columns, subject_column=none, current_key_columns=none) -%}
{%- if is_incremental() -%}
{{ latest_new_delivery(relation, key_columns, subject_column, current_key_columns or key_columns) }}
{%- else -%}
select *
from ({{ ranked_deliveries(raw_with_delivery(relation), key_columns, subject_column, '_key_subjects') }}) as ranked
where _delivery_rank = 1
{%- endif %}
{%- endmacro %}
