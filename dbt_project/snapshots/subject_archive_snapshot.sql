{#- SCD2 history of the credit archive (docs/spec/DOMAIN.md §4), timestamp strategy on as_of so that a rerun for
    the same inputs and as_of changes nothing. The snapshot reads only new archives and archives
    whose content hash differs from their current version, stamped with this as_of: an unchanged
    subject keeps its current version (deletes are not tracked, hard_deletes is 'ignore', and the
    registry never drops a subject). The archive and its hash come from int_subject_archive, which
    keeps archive_hash per subject; it runs after int_subject_archive has passed its tests (the
    rules on points, score and grade), beside the copies in marts and export.
    Only archives written since the last published build began are compared (unpublished_rows):
    every older one was compared by the snapshot of a build that was published after it was
    written, and a build that was not published leaves the marker where it was. Only the current
    versions of these archives' subjects are read (macros/snapshot_staging.sql). -#}
{% snapshot subject_archive_snapshot %}
{%- set current_versions_index = "{{ partial_index_in_place(['uscc'], '(dbt_valid_to IS NULL)') }}" %}
{{ config(unique_key='uscc', strategy='timestamp', updated_at='archive_changed_as_of', schema='history',
          pre_hook=current_versions_index, post_hook=current_versions_index) }}
{%- set existing = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) if execute else none %}
select
    {{ subject_archive_columns('archive') }},
    {{ as_of() }} as as_of,
    archive.archive_hash,
    {{ as_of() }}::timestamp as archive_changed_as_of
{% if existing -%}
from (select * from {{ ref('int_subject_archive') }} where {{ unpublished_rows() }}) as archive
left join lateral (
    -- by the partial index on the current versions (made by the pre-hook on a snapshot table of an
    -- earlier release, before this query: without it each lookup would read the whole table), one
    -- lookup per archive written; the `limit` keeps the planner from hashing all 297,551 current
    -- versions of a city for a few thousand archives
    select p.archive_hash from {{ existing }} as p where p.uscc = archive.uscc and p.dbt_valid_to is null limit 1
) as previous on true
where previous.archive_hash is distinct from archive.archive_hash
{%- else %}
from {{ ref('int_subject_archive') }} as archive
{%- endif %}
{% endsnapshot %}
