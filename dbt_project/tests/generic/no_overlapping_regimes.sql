{#- For each severity at most one publicity regime is in force on any day. -#}
{% test no_overlapping_regimes(model) %}
select a.regime_id, b.regime_id as overlapping_regime_id
from {{ model }} as a
join {{ model }} as b
  on a.severity = b.severity and a.regime_id < b.regime_id
 and coalesce(a.effective_from, '-infinity'::date) <= coalesce(b.effective_to, 'infinity'::date)
 and coalesce(b.effective_from, '-infinity'::date) <= coalesce(a.effective_to, 'infinity'::date)
{% endtest %}
