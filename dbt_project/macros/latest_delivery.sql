{#- Every row of raw.<feed> with its delivery from the ledger: raw rows carry only the file's sha256
    and their row number; the file's name, arrival and load times live once per file in
    audit.file_ledger, unique per (feed, sha256) among loaded files (docs/internals.md). -#}
{% macro raw_with_delivery(relation) -%}
select raw_row.*,
       delivery.file_name as _file_name,
       delivery.received_at as _arrived_at,
       delivery.loaded_at as _loaded_at
from {{ relation }} as raw_row
join {{ source('audit', 'file_ledger') }} as delivery
  on delivery.feed = '{{ relation.identifier }}'
 and delivery.sha256 = raw_row._file_sha256
 and delivery.status = 'loaded'
{%- endmacro %}

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
    from ({{ raw_with_delivery(relation) }}) as delivered
    {% if where %}where {{ where }}{% endif %}
) as ranked
where _delivery_rank = 1
{%- endmacro %}

{#- Incremental staging: only business keys that received rows since the last run are recomputed,
    from all their deliveries (so a late file with an older arrival time cannot win wrongly). -#}
{% macro keys_with_new_rows(relation, key_columns) -%}
({{ key_columns | join(', ') }}) in (
    select {{ key_columns | join(', ') }} from {{ relation }}
    where _file_sha256 in (
        select sha256 from {{ source('audit', 'file_ledger') }}
        where feed = '{{ relation.identifier }}' and status = 'loaded'
          and loaded_at > (select coalesce(max(_last_loaded_at), '-infinity'::timestamptz) from {{ this }}))
)
{%- endmacro %}
