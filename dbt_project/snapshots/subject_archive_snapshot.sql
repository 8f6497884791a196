{#- SCD2 history of the credit archive (DOMAIN §4), timestamp strategy on as_of so that a rerun for
    the same inputs and as_of changes nothing. The snapshot reads only new archives and archives
    whose content hash differs from their current version, stamped with this as_of: an unchanged
    subject keeps its current version (and is not compared at all: 300,000 rows at city scale;
    deletes are not tracked, hard_deletes is 'ignore', and the registry never drops a subject). -#}
{% snapshot subject_archive_snapshot %}
{{ config(unique_key='uscc', strategy='timestamp', updated_at='archive_changed_as_of', schema='history') }}
{%- set existing = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) if execute else none %}
with archive as (
    select a.*, md5((to_jsonb(a) - 'as_of')::text) as archive_hash
    from {{ ref('subject_archive') }} as a
)
select
    archive.*,
    archive.as_of::timestamp as archive_changed_as_of
from archive
{% if existing -%}
left join {{ existing }} as previous
       on previous.uscc = archive.uscc and previous.dbt_valid_to is null
where previous.uscc is null or previous.archive_hash is distinct from archive.archive_hash
{%- endif %}
{% endsnapshot %}
