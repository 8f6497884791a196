{#- The latest delivery of a business key wins (a department re-sends corrected rows):
    ordered by file arrival, then file name, then row number, all descending. -#}
{% macro latest_delivery(relation, key_columns, where=none) -%}
select *
from (
    select delivered.*,
           row_number() over (
               partition by {{ key_columns | join(', ') }}
               order by _arrived_at desc, _file_name desc, _row_number desc
           ) as _delivery_rank,
           max(_loaded_at) over (partition by {{ key_columns | join(', ') }}) as _last_loaded_at
    from {{ relation }} as delivered
    {% if where %}where {{ where }}{% endif %}
) as ranked
where _delivery_rank = 1
{%- endmacro %}

{#- Incremental staging: only business keys that received rows since the last run are recomputed,
    from all their deliveries (so a late file with an older arrival time cannot win wrongly). -#}
{% macro keys_with_new_rows(relation, key_columns) -%}
({{ key_columns | join(', ') }}) in (
    select {{ key_columns | join(', ') }} from {{ relation }}
    where _loaded_at > (select coalesce(max(_last_loaded_at), '-infinity'::timestamptz) from {{ this }})
)
{%- endmacro %}
