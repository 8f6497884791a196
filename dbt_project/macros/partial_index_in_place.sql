{% macro partial_index_in_place(columns, predicate) -%}
    {%- set relation = this.include(database=False) -%}
    do $partial$ begin
        if to_regclass('{{ relation }}') is not null
           and not exists (select from pg_index
                           where indrelid = to_regclass('{{ relation }}')
                             and pg_get_expr(indpred, indrelid) = '{{ predicate }}') then
            create index on {{ relation }} ({{ columns | join(', ') }}) where {{ predicate }};
        end if;
    end $partial$
{%- endmacro %}
