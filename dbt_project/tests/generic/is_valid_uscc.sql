{#- GB 32100-2015 (docs/spec/DOMAIN.md §1): 18 characters of the alphabet without I, O, Z, S, V, digits in the
    region part, and the check character = (31 − Σ value·3^i mod 31) mod 31. -#}
{% test is_valid_uscc(model, column_name) %}
{%- set alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY' -%}
{%- set weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] -%}
select {{ column_name }} as invalid_code
from {{ model }}
where {{ column_name }} is not null
  and not (
      {{ column_name }} ~ '^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$'
      and substr('{{ alphabet }}',
                 ((31 - ((
                     {%- for w in weights %}
                     (strpos('{{ alphabet }}', substr({{ column_name }}, {{ loop.index }}, 1)) - 1) * {{ w }}{{ ' +' if not loop.last }}
                     {%- endfor %}
                 ) % 31)) % 31) + 1, 1) = substr({{ column_name }}, 18, 1)
  )
{% endtest %}
