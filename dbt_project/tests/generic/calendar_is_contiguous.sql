{#- The working-day calendar has no gaps: wd_seq arithmetic would silently be wrong across one. -#}
{% test calendar_is_contiguous(model) %}
select day, next_day
from (select day, lead(day) over (order by day) as next_day from {{ model }}) as d
where next_day is not null and next_day <> day + 1
{% endtest %}
