{% macro commitment_counts(subjects_sql=none) -%}
select uscc,
       count(*) as commitments_total,
       count(*) filter (where {{ in_window('committed_on') }} and fulfilment = '未履约') as commitments_unfulfilled
from {{ ref('stg_commitments') }}
where committed_on <= {{ as_of() }}
{%- if subjects_sql %}
  and uscc in ({{ subjects_sql }})
{%- endif %}
group by uscc
{%- endmacro %}
