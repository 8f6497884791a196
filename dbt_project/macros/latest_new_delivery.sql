{% macro latest_new_delivery(relation, key_columns, subject_column, current_key_columns) -%}
select ranked.*
    {%- if subject_column %},
    array(select distinct s from unnest(ranked._new_subjects || coalesce(current_row._key_subjects, '{}')) as s
          where s is not null order by s) as _key_subjects
    {%- endif %}
from ({{ ranked_deliveries(raw_with_delivery(relation) ~ "\n and delivery.load_xid >= " ~ seen_watermark(),
                           key_columns, subject_column, '_new_subjects') }}) as ranked
left join {{ this }} as current_row
       on {% for k in key_columns %}current_row.{{ current_key_columns[loop.index0] }} = ranked.{{ k }}{% if not loop.last %} and {% endif %}{% endfor %}
where ranked._delivery_rank = 1
  and (current_row.source_file is null
       or (ranked._arrived_at, ranked._file_name, ranked._row_number)
          > (current_row.arrived_at, current_row.source_file, current_row.source_row))
{%- endmacro %}
