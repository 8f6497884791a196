{% macro raw_with_delivery(relation) -%}
select raw_row.*,
       delivery.file_name as _file_name,
       delivery.received_at as _arrived_at,
       delivery.load_xid as _load_xid
from {{ relation }} as raw_row
join {{ source('audit', 'file_ledger') }} as delivery
  on delivery.feed = '{{ relation.identifier }}'
 and delivery.sha256 = raw_row._file_sha256
 and delivery.status = 'loaded'
{%- endmacro %}
