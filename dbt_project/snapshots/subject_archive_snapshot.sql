{#- SCD2 history of the credit archive (DOMAIN §4), timestamp strategy on as_of so that a rerun for
    the same inputs and as_of changes nothing. The timestamp is the as_of at which the archive's
    content last changed: carried over from the current version while the content hash is equal,
    so an unchanged subject does not get a new version every day. -#}
{% snapshot subject_archive_snapshot %}
{{ config(unique_key='uscc', strategy='timestamp', updated_at='archive_changed_as_of', schema='history') }}
{%- set existing = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) if execute else none %}
with archive as (
    select a.*, md5((to_jsonb(a) - 'as_of')::text) as archive_hash
    from {{ ref('subject_archive') }} as a
)
select
    archive.*,
    {% if existing -%}
    case when previous.archive_hash = archive.archive_hash then previous.archive_changed_as_of
         else archive.as_of::timestamp end
    {%- else -%}
    archive.as_of::timestamp
    {%- endif %} as archive_changed_as_of
from archive
{% if existing -%}
left join {{ existing }} as previous
       on previous.uscc = archive.uscc and previous.dbt_valid_to is null
-- Only new and changed archives: an unchanged one would keep its current version anyway, and
-- leaving it out spares dbt comparing 300,000 rows at city scale (deletes are not tracked:
-- hard_deletes is 'ignore', and the registry never drops a subject).
where previous.uscc is null or previous.archive_hash is distinct from archive.archive_hash
{%- endif %}
{% endsnapshot %}
