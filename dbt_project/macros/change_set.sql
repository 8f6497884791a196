{#- What changed for lenders (docs/spec/DOMAIN.md §7) in a published export dataset: the rows of
    `current` (a ref, keyed by `key`, fingerprinted by `hash_column`) inserted, updated or deleted
    since the latest publication for an EARLIER as_of, kept by the publish step in
    history.<archive> (as_of, version, key, hash and `kept_columns`). Comparing with an earlier
    as_of rather than with whatever is published now makes a rerun for the same as_of publish the
    same change set, and a lender applying the change sets in as_of order ends with the latest
    full table. Inserted and updated rows carry every column of `current`; a deleted row its key
    and `kept_columns` (no longer shareable: the row left the dataset). With no earlier
    publication every row is inserted. -#}
{% macro change_set(current, key, hash_column, archive, kept_columns=[]) -%}
{%- set history = adapter.get_relation(database=target.database, schema='history', identifier=archive) if execute else none -%}
{%- set columns = adapter.get_columns_in_relation(current) | map(attribute='name') | reject('in', [key, 'as_of']) | list if execute else [] -%}
with current_rows as (
    select * from {{ current }}
),
{%- if history %}
previous_publication as (
    select as_of, max(version) as version from {{ history }}
    where as_of = (select max(as_of) from {{ history }} where as_of < {{ as_of() }})
    group by as_of
),
previous_rows as (
    select h.* from {{ history }} as h join previous_publication as p using (as_of)
),
{%- else %}
previous_publication as (
    select null::date as as_of, null::text as version where false
),
previous_rows as (
    select null::text as {{ key }}, null::text as {{ hash_column }}
    {%- for column in kept_columns %}, null::text as {{ column }}{% endfor %}
    where false
),
{%- endif %}
changed as (
    select case when p.{{ key }} is null then 'insert' when c.{{ key }} is null then 'delete' else 'update' end
             as change_type,
           coalesce(c.{{ key }}, p.{{ key }}) as {{ key }}
           {%- for column in columns %},
           {% if column in kept_columns %}coalesce(c.{{ column }}, p.{{ column }}){% else %}c.{{ column }}{% endif %} as {{ column }}
           {%- endfor %}
    from current_rows as c
    full join previous_rows as p using ({{ key }})
    where p.{{ key }} is null or c.{{ key }} is null or c.{{ hash_column }} is distinct from p.{{ hash_column }}
)
select ch.*,
       (select as_of from previous_publication) as previous_as_of,
       (select version from previous_publication) as previous_version,
       {{ as_of() }} as as_of
from changed as ch
{%- endmacro %}
