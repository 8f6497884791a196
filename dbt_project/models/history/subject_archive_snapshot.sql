{#- SCD2 history of the credit archive (docs/spec/DOMAIN.md §4): one version per subject and change,
    written by this incremental model with dbt's `merge` strategy. A version is the archive with
    dbt_valid_from = the as_of at which its content (archive_hash) first appeared, dbt_valid_to =
    the as_of at which it was replaced (NULL while current), dbt_scd_id = md5(uscc|valid_from).
    These are the columns, values and rules dbt's snapshot with the timestamp strategy on
    archive_changed_as_of wrote into this table before, so a table written by the snapshot carries on:
      - a subject without a version gets its first one;
      - a subject whose archive_hash differs from its current version's gets a new version, and the
        current one is closed at this as_of — only when this as_of is later than the current
        version's valid_from (a rerun for the same as_of changes nothing; a correction rerun for
        the same as_of is recorded at the next later as_of);
      - deletions are not tracked (the registry never drops a subject).
    An incremental run compares only the archives written since the last published build began
    (unpublished_rows): every older one was compared by a build that was published after it was
    written. Each is looked up against its own current version by the partial index on uscc where
    dbt_valid_to is null (made by the pre-hook on a table of an earlier release, before the
    query, and by the post-hook on a new table), so the work follows the day's changes, not the
    number of subjects. The merge updates only dbt_valid_to of the matched current versions.
    The history is never rebuilt (full_refresh: false): a full refresh of the warehouse keeps it,
    as it kept the snapshot. It runs after int_subject_archive has passed its tests. -#}
{%- set current_versions_index = "{{ partial_index_in_place(['uscc'], '(dbt_valid_to IS NULL)') }}" %}
{{ config(materialized='incremental', incremental_strategy='merge',
          unique_key=['uscc', 'dbt_scd_id'], merge_update_columns=['dbt_valid_to'],
          incremental_predicates=['DBT_INTERNAL_DEST.dbt_valid_to is null'],
          full_refresh=false,
          pre_hook=current_versions_index, post_hook=current_versions_index) }}

with archive as (
    select
        {{ subject_archive_columns('a') }},
        {{ as_of() }} as as_of,
        a.archive_hash,
        {{ as_of() }}::timestamp as archive_changed_as_of
    from {{ ref('int_subject_archive') }} as a
    {%- if is_incremental() %}
    where {{ unpublished_rows() }}
    {%- endif %}
),

{%- if is_incremental() %}

-- the archives that open a new version: new subjects, and changed content at a later as_of
changed as (
    select archive.*, current_version.uscc is not null as closes_current
    from archive
    left join lateral (
        -- `limit 1` keeps the planner from hashing every current version for a few thousand archives
        select v.uscc, v.archive_hash, v.dbt_valid_from
        from {{ this }} as v
        where v.uscc = archive.uscc and v.dbt_valid_to is null
        limit 1
    ) as current_version on true
    where current_version.archive_hash is distinct from archive.archive_hash
      and (current_version.uscc is null or current_version.dbt_valid_from < archive.archive_changed_as_of)
),

-- the current versions they replace, closed at this as_of (the merge writes only dbt_valid_to)
closed_versions as (
    select
        {{ subject_archive_columns('closing') }},
        closing.as_of,
        closing.archive_hash,
        closing.archive_changed_as_of,
        closing.dbt_scd_id,
        closing.dbt_updated_at,
        closing.dbt_valid_from,
        changed.archive_changed_as_of as dbt_valid_to
    from changed
    cross join lateral (
        select v.* from {{ this }} as v
        where v.uscc = changed.uscc and v.dbt_valid_to is null
        limit 1
    ) as closing
    where changed.closes_current
),
{%- else %}

changed as (
    select * from archive
),
{%- endif %}

new_versions as (
    select
        {{ subject_archive_columns('changed') }},
        changed.as_of,
        changed.archive_hash,
        changed.archive_changed_as_of,
        md5(coalesce(cast(changed.uscc as varchar), '') || '|'
            || coalesce(cast(changed.archive_changed_as_of as varchar), '')) as dbt_scd_id,
        changed.archive_changed_as_of as dbt_updated_at,
        changed.archive_changed_as_of as dbt_valid_from,
        null::timestamp as dbt_valid_to
    from changed
)

select * from new_versions
{%- if is_incremental() %}
union all
select * from closed_versions
{%- endif %}
