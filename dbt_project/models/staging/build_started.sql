-- 本次构建起点: one row written before any staging model (they depend on it), holding the oldest
-- transaction running when this build began. Every row a later model writes has a transaction id
-- at least this. The publish step records it with the publication (audit.publication_log.build_xmin),
-- so tests of the large incremental tables can check only rows written since the build that was
-- last published (macro unpublished_rows): what is already published passed its tests then, and
-- a build that failed its tests is checked again by the next one.
{{ config(materialized='table') }}
select
    pg_snapshot_xmin(pg_current_snapshot()) as build_xmin,
    {{ as_of() }} as as_of
