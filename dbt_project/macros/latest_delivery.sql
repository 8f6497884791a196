{#- Every row of raw.<feed> with its delivery from the ledger: raw rows carry only the file's sha256
    and their row number; the file's name, arrival, load time and loading transaction live once
    per file in audit.file_ledger, unique per (feed, sha256) among loaded files (docs/internals.md). -#}
{% macro raw_with_delivery(relation) -%}
select raw_row.*,
       delivery.file_name as _file_name,
       delivery.received_at as _arrived_at,
       delivery.load_xid as _load_xid
from {{ relation }} as raw_row
join {{ source('audit', 'file_ledger') }} as delivery
  on delivery.feed = '{{ relation.identifier }}'
 and delivery.sha256 = raw_row._file_sha256
 and delivery.status = 'loaded'
{%- endmacro %}

{#- The latest delivery of a business key wins (a department re-sends corrected rows):
    ordered by file arrival, then file name, then row number, all descending.
    In an incremental model's incremental run, see latest_new_delivery.
    `subject_column`: also collect, per key, the subjects its deliveries named (_key_subjects), so
    that a correction moving a record to another subject marks both as changed. -#}
{% macro latest_delivery(relation, key_columns, subject_column=none, current_key_columns=none) -%}
{%- if is_incremental() -%}
{{ latest_new_delivery(relation, key_columns, subject_column, current_key_columns or key_columns) }}
{%- else -%}
select *
from ({{ ranked_deliveries(raw_with_delivery(relation), key_columns, subject_column, '_key_subjects') }}) as ranked
where _delivery_rank = 1
{%- endif %}
{%- endmacro %}

{#- The incremental case: only rows of files loaded since this model last read the ledger, and of
    those only each key's latest that also beats the key's current row in this model. The current
    row is already the latest of every earlier delivery, so the result is the latest of all
    deliveries — the row a full build picks — from one pass over the new files' rows instead of
    windowing the feed's whole history. "Since" is by transaction id, not time (see build_marks).
    A key whose new rows all lose (a late file with an older arrival) is not rewritten.
    _key_subjects then gathers the subjects of the deliveries that changed the row. -#}
{% macro latest_new_delivery(relation, key_columns, subject_column, current_key_columns) -%}
select ranked.*
    {%- if subject_column %},
    array(select distinct s from unnest(ranked._new_subjects || coalesce(current_row._key_subjects, '{}')) as s
          where s is not null order by s) as _key_subjects
    {%- endif %}
from ({{ ranked_deliveries(raw_with_delivery(relation) ~ "\n and delivery.load_xid >= " ~ seen_watermark(),
                           key_columns, subject_column, '_new_subjects') }}) as ranked
left join {{ this }} as current_row
       on {% for k in key_columns %}current_row.{{ current_key_columns[loop.index0] }} = ranked.{{ k }}{% if not loop.last %} and {% endif %}{% endfor %}
where ranked._delivery_rank = 1
  and (current_row.source_file is null
       or (ranked._arrived_at, ranked._file_name, ranked._row_number)
          > (current_row.arrived_at, current_row.source_file, current_row.source_row))
{%- endmacro %}

{#- Deliveries ranked within their business key, latest first (_delivery_rank 1 wins), with the
    subjects all of them named in `subjects_as` when `subject_column` is given. -#}
{% macro ranked_deliveries(deliveries_sql, key_columns, subject_column, subjects_as) -%}
select delivered.*,
       row_number() over (
           partition by {{ key_columns | join(', ') }}
           order by _arrived_at desc, _file_name desc, _row_number desc
       ) as _delivery_rank
       {%- if subject_column %},
       array_agg({{ subject_column }}) over (partition by {{ key_columns | join(', ') }}) as {{ subjects_as }}
       {%- endif %}
from ({{ deliveries_sql }}) as delivered
{%- endmacro %}

{#- The incremental bookkeeping every incremental model carries on its rows:
    _built_xid  the transaction that wrote the row (a consumer takes rows with _built_xid >= its own
                watermark as changed; tests take rows written since the last publication);
    _seen_xmin  the oldest transaction running when the row was computed: everything older was
                visible to that computation, so the next incremental run starts from max(_seen_xmin). -#}
{% macro build_marks() -%}
pg_current_xact_id() as _built_xid,
pg_snapshot_xmin(pg_current_snapshot()) as _seen_xmin
{%- endmacro %}

{#- The columns every staging model ends with: where its row came from (file, row, arrival), the
    winning delivery's load transaction, and the incremental bookkeeping. -#}
{% macro delivery_columns() -%}
_file_name as source_file,
    _row_number as source_row,
    _arrived_at as arrived_at,
    _load_xid,
    {{ build_marks() }}
{%- endmacro %}

{#- This model's watermark: what its previous builds had seen ('0' when it has no rows). A build that
    wrote no rows leaves it where it was, so the next run looks a little further back: the same
    inputs again, never fewer. -#}
{% macro seen_watermark() -%}
(select coalesce(max(_seen_xmin), '0'::xid8) from {{ this }})
{%- endmacro %}

{#- seen_watermark() as a literal xid8, read when dbt compiles the model, just before it runs (only
    this model writes its table, and its inputs are built by then): the planner then sees how few
    input rows are that new and takes them by index, where a subquery's value is unknown to it and
    estimated at a third of the table (int_subject_facts once hashed every stored row first).
    With `rules_version` (SQL giving the version of the rules the rows depend on, e.g. seeds):
    '0', every row, when it differs from the _rules_version of the rows stored. A run computes with
    one version and rewrites every row when it differs, so the stored rows all carry the one of
    the last run, which its latest row (by the _built_xid index) shows; "newer than the watermark,
    or any stored row of another version" read every input row and every stored row at each run
    (int_subject_archive at city scale 0.3–0.5 s). -#}
{% macro watermark_literal(rules_version=none) -%}
    {%- if not execute -%}
        {{- return("'0'::xid8") -}}
    {%- endif -%}
    {%- set watermark = "(select coalesce(max(_seen_xmin), '0'::xid8) from " ~ this ~ ")" -%}
    {%- if rules_version -%}
        {%- set watermark = "case when (select _rules_version from " ~ this ~ " order by _built_xid desc limit 1)"
                            ~ " is distinct from (" ~ rules_version ~ ") then '0'::xid8 else " ~ watermark ~ " end" -%}
    {%- endif -%}
    {%- set found = run_query("select (" ~ watermark ~ ")::text") -%}
    {{- return("'" ~ found.columns[0].values()[0] ~ "'::xid8") -}}
{%- endmacro %}

{#- Rows of `relation` written by a transaction `since` may not have seen (see build_marks). -#}
{% macro changed_since(since) -%}
_built_xid >= {{ since }}
{%- endmacro %}

{#- is_incremental(), and this model's table already has `columns` (the bookkeeping its incremental
    SQL reads). A table left by an older release without them is computed as in a full build, so
    that dbt's on_schema_change: fail stops the run with its own message to rebuild
    (`FULL_REFRESH=1 make run`) instead of a "column does not exist" error. -#}
{% macro incremental_with(columns) -%}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set present = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {{ return(columns | reject('in', present) | list | length == 0) }}
{%- endmacro %}

{#- The indexes on an incremental model's bookkeeping (build_marks): its watermark is
    max(_seen_xmin) of its own rows, read at every run, and its consumers and its tests take rows by
    _built_xid. Without them each of those reads the whole table (at city scale stg_commitments
    has 535,704 rows, stg_subjects 297,551); the daily run's new rows are a few thousand. -#}
{% macro watermark_indexes() -%}
    {{ return([{'columns': ['_built_xid']}, {'columns': ['_seen_xmin']}]) }}
{%- endmacro %}

{#- A pre-hook for an incremental model that a run can compute whole (its full-build SQL gives every
    row): a table an earlier release built without `columns` (name → type) gets them, empty, before
    dbt compares the columns, and incremental_with() has already chosen the full-build SQL for this
    run, so every row is rewritten with them. Without this the upgrade would stop the daily run
    (on_schema_change: fail) until someone ran a full refresh of everything. -#}
{% macro bookkeeping_columns_in_place(columns) -%}
    {%- if execute and is_incremental() -%}
    {%- set present = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- set missing = columns.keys() | reject('in', present) | list -%}
    {%- if missing -%}
    alter table {{ this }} {% for name in missing %}add column {{ name }} {{ columns[name] }}{{ ", " if not loop.last }}{% endfor %}
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- dbt creates a model's `indexes` only with its table (a first or full-refresh build). An
    incremental table built by an earlier release gets the plain (not unique) indexes its config
    now lists here, in the model's transaction (its pre-hook), instead of waiting for a full
    refresh: one catalog lookup a run. An index is there when one has exactly its columns in order. -#}
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

{#- A partial index, which dbt's `indexes` config cannot express (it has no predicate): made by the
    model's post-hook when the table has no index with this predicate, i.e. after each build that
    made the table anew; as a pre-hook, before a query that needs it on a table made by an earlier
    release (nothing while the table does not exist yet). `predicate` as PostgreSQL prints it back
    (pg_get_expr). -#}
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
