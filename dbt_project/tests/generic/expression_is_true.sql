{#- A row rule of the domain that must hold on every row (rows violating it are returned). -#}
{% test expression_is_true(model, expression) %}
select * from {{ model }} where not coalesce(({{ expression }}), false)
{% endtest %}
