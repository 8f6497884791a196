{#- Personal identity numbers never leave raw/audit (docs/spec/DOMAIN.md §8): fail on any value that is a valid
    GB 11643 resident identity number (17 digits + check, a plausible birth date). -#}
{% test no_clear_person_id(model, column_name) %}
{%- set weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] -%}
select {{ column_name }} as leaked_identity
from {{ model }}
where {{ column_name }} ~ '^[0-9]{6}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9X]$'
  and substr('10X98765432',
             ((
                 {%- for w in weights %}
                 substr({{ column_name }}, {{ loop.index }}, 1)::int * {{ w }}{{ ' +' if not loop.last }}
                 {%- endfor %}
             ) % 11) + 1, 1) = substr({{ column_name }}, 18, 1)
{% endtest %}
