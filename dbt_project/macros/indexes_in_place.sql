{% macro indexes_in_place() -%}
    {%- set wanted = [] -%}
    {%- for index in (config.get('indexes') or []) if not index.get('unique') -%}
        {%- do wanted.append(index['columns']) -%}
    {%- endfor -%}
    {%- if execute and is_incremental() and wanted -%}
    {%- set relation = this.include(database=False) -%}
    do $indexes$ begin
        {%- for columns in wanted %}
        -- (a column not there yet, added by a later hook of this run, is indexed at the next run)
        if (select count(*) from pg_attribute
            where attrelid = '{{ relation }}'::regclass and not attisdropped
              and attname = any (array['{{ columns | join("', '") }}'])) = {{ columns | length }}
           and not exists (
               select from pg_index as i
               where i.indrelid = '{{ relation }}'::regclass
                 and array(select a.attname::text from unnest(i.indkey::int2[]) with ordinality as k (attnum, n)
                           join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = k.attnum order by k.n)
                     = array['{{ columns | join("', '") }}']) then
            create index on {{ relation }} ({{ columns | join(', ') }});
        end if;
        {%- endfor %}
    end $indexes$
    {%- endif -%}
{%- endmacro %}
