{#- The known years have no gap: wd_seq arithmetic would silently be wrong across one. -#}
{% test calendar_years_are_contiguous(model) %}
select calendar_year, next_year
from (select calendar_year, lead(calendar_year) over (order by calendar_year) as next_year from {{ model }}) as y
where next_year is not null and next_year <> calendar_year + 1
{% endtest %}
