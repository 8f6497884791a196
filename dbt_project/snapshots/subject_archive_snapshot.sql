{#- SCD2 history of the credit archive (DOMAIN §4), timestamp strategy on as_of so that a rerun for
    the same inputs and as_of changes nothing. The snapshot reads only new archives and archives
    whose content hash differs from their current version, stamped with this as_of: an unchanged
    subject keeps its current version (deletes are not tracked, hard_deletes is 'ignore', and the
    registry never drops a subject). The archive and its hash come from int_subject_archive, which
    keeps archive_hash per subject; it runs after int_subject_archive has passed its tests (the
    rules on points, score and grade), beside the copies in marts and export.
    Only archives written since the last published build began are compared (unpublished_rows):
    every older one was compared by the snapshot of a build that was published after it was
    written, and a build that was not published leaves the marker where it was. -#}
{% snapshot subject_archive_snapshot %}
{{ config(unique_key='uscc', strategy='timestamp', updated_at='archive_changed_as_of', schema='history') }}
{%- set existing = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) if execute else none %}
select
    {{ subject_archive_columns('archive') }},
    {{ as_of() }} as as_of,
    archive.archive_hash,
    {{ as_of() }}::timestamp as archive_changed_as_of
{% if existing -%}
from (select * from {{ ref('int_subject_archive') }} where {{ unpublished_rows() }}) as archive
left join {{ existing }} as previous
       on previous.uscc = archive.uscc and previous.dbt_valid_to is null
where previous.uscc is null or previous.archive_hash is distinct from archive.archive_hash
{%- else %}
from {{ ref('int_subject_archive') }} as archive
{%- endif %}
{% endsnapshot %}
