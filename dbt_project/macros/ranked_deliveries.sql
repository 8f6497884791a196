{% macro ranked_deliveries(deliveries_sql, key_columns, subject_column, subjects_as) -%}
select delivered.*,
       row_number() over (
           partition by {{ key_columns | join(', ') }}
           order by _arrived_at desc, _file_name desc, _row_number desc
       ) as _delivery_rank
       {%- if subject_column %},
       array_agg({{ subject_column }}) over (partition by {{ key_columns | join(', ') }}) as {{ subjects_as }}
       {%- endif %}
from ({{ deliveries_sql }}) as delivered
{%- endmacro %}
