"""The tables the ingest writes: raw.<feed> (from the contracts) and the audit ledger/quarantine.

Idempotent: run before every load. A column added to a contract is added to its raw table
(`add column if not exists`), so evolving a feed needs no migration script.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from include import feeds as feed_contracts
from include.feeds import Feed

# Meta columns of every raw.<feed>, in order (docs/internals.md). Only what differs per row: the
# file's name and times are per-file constants and live once in audit.file_ledger (joined on
# feed + sha256, status 'loaded'); repeating them on every row made the row twice as wide.
RAW_META = (("_file_sha256", "text not null"), ("_row_number", "integer not null"))
# Columns of the first raw shape, moved to the ledger (dropped by `_migrate_to_lean`).
MOVED_TO_LEDGER = ("_file_name", "_arrived_at", "_loaded_at")
# Indexes earlier versions made on raw.<feed>, dropped (see `_create_raw_table`).
RAW_INDEXES_DROPPED = ("{feed}_by_file", "{feed}_by_file_brin")

LEDGER_DDL = """
create table if not exists audit.file_ledger (
    id               bigint generated always as identity primary key,
    feed             text not null,
    file_name        text not null,
    sha256           text not null,
    size_bytes       bigint not null,
    received_at      timestamptz not null,
    loaded_at        timestamptz not null default now(),
    load_xid         xid8 not null default pg_current_xact_id(),
    rows_read        integer not null default 0,
    rows_loaded      integer not null default 0,
    rows_quarantined integer not null default 0,
    status           text not null check (status in ('loaded', 'rejected', 'duplicate')),
    reason           text,
    detail           jsonb not null default '{}'::jsonb,
    check (status <> 'loaded' or rows_read = rows_loaded + rows_quarantined)
)"""
# The same bytes are taken once per feed: a second delivery can only be recorded as `duplicate`.
# This index is what makes two concurrent loads of the same bytes load once.
# The load's transaction id: a transform remembers the oldest transaction still running when it
# read (pg_snapshot_xmin), and takes as new every file with load_xid >= that. Unlike a loaded_at
# watermark this cannot miss a file whose load committed after a later-started one (commit order
# is not timestamp order). Ledgers made before the column get the migrating transaction's id:
# they look new once more, which only makes the next transform recompute them.
LEDGER_LOAD_XID = (
    "alter table audit.file_ledger add column if not exists load_xid xid8 not null default pg_current_xact_id()"
)
LEDGER_UNIQUE = """
create unique index if not exists file_ledger_taken_once
    on audit.file_ledger (feed, sha256) where status <> 'duplicate'"""
QUARANTINE_DDL = """
create table if not exists audit.quarantine (
    id             bigint generated always as identity primary key,
    feed           text not null,
    file_name      text not null,
    sha256         text not null,
    row_number     integer,
    column_name    text,
    rule           text not null,
    value          text,
    message        text not null,
    severity       text not null default 'error' check (severity in ('error', 'warning')),
    reference_date date
)"""
QUARANTINE_INDEX = "create index if not exists quarantine_by_file on audit.quarantine (feed, sha256)"
# What it takes to give a row back to the unit that sent it and to see it corrected
# (docs/departments.md): the data-source unit (the row's 数据来源单位 columns, else the feed's
# reporting_unit), the header as the file had it, the instruction (include/corrections.py), the
# row's cells as received (header → cell), its correction key (the contract's correction_key,
# normalised as raw stores it) and, once a later delivery loads a row with the same key, when and
# by which file it was corrected. Added in place: states made before keep their rows.
QUARANTINE_RETURNS = (
    ("unit", "text"),
    ("unit_uscc", "text"),
    ("column_header", "text"),
    ("instruction", "text"),
    ("cells", "jsonb"),
    ("correction_key", "jsonb"),
    ("corrected_at", "timestamptz"),
    ("corrected_by_file", "text"),
    ("corrected_by_sha256", "text"),
)
# The feed's reporting_unit, and for a rejected file what to do (include/corrections.py).
LEDGER_RETURNS = (("unit", "text"), ("unit_uscc", "text"), ("instruction", "text"))
# The open (uncorrected) rejected rows of a feed, by key: what each load matches its rows against.
QUARANTINE_OPEN_INDEX = """
create index if not exists quarantine_open on audit.quarantine (feed, correction_key)
    where corrected_at is null and severity = 'error'"""
# A loaded row as the file said it: `_received` with its elided cells (NULL elements, or a NULL
# array when every cell was elided) filled in from the raw columns they equal, and the header
# from the file's ledger row. Dynamic SQL, as raw.<feed> differs per feed; identifiers quoted
# with %I. The ledger's detail holds, per file: `received_headers` (the header text of each file
# column), `header_width`, and `received_from` (per file column, the raw column whose canonical
# text a NULL cell is — `<col>/month` for a month as YYYY-MM — or null).
RECEIVED_ROWS = r"""
create or replace function audit.received_rows(feed_id text, file_sha256 text default null)
returns table (file_name text, sha256 text, row_number integer, cells text[], received json)
language plpgsql stable as $fn$
declare
    names text[];
    canonical text;
begin
    -- Each raw column a cell may stand for, with its canonical text (checks.elision in Python).
    select coalesce(array_agg(c.name order by c.k), '{}'), coalesce(string_agg(c.expr, ', ' order by c.k), '')
      into names, canonical
      from (select a.attnum * 2 as k, a.attname::text as name,
                   case a.atttypid when 'date'::regtype then format('to_char(r.%I, ''YYYY-MM-DD'')', a.attname)
                                   when 'text'::regtype then format('r.%I', a.attname)
                                   else format('r.%I::text', a.attname) end as expr
              from pg_attribute a
             where a.attrelid = format('raw.%I', feed_id)::regclass and a.attnum > 0 and not a.attisdropped
               and a.atttypid in ('text'::regtype, 'date'::regtype, 'numeric'::regtype, 'bigint'::regtype)
            union all
            select a.attnum * 2 + 1, a.attname || '/month', format('to_char(r.%I, ''YYYY-MM'')', a.attname)
              from pg_attribute a
             where a.attrelid = format('raw.%I', feed_id)::regclass and a.attnum > 0 and not a.attisdropped
               and a.atttypid = 'date'::regtype) as c;
    return query execute format($q$
        with files as (
            select l.id, l.file_name, l.sha256, h.headers,
                   coalesce((l.detail ->> 'header_width')::int, cardinality(h.headers)) as width,
                   array(select array_position($2, f) from jsonb_array_elements_text(
                         coalesce(l.detail -> 'received_from', '[]')) with ordinality as t(f, k) order by k) as pick
              from audit.file_ledger as l
             cross join lateral (select array(select t.h from jsonb_array_elements_text(l.detail -> 'received_headers')
                                              with ordinality as t(h, k) order by t.k) as headers) as h
             where l.feed = $1 and l.status = 'loaded' and ($3 is null or l.sha256 = $3))
        select f.file_name, r._file_sha256, r._row_number, c.cells,
               json_object(f.headers[1:cardinality(c.cells)], c.cells)
          from files as f
          join raw.%I as r on r._file_sha256 = f.sha256
         cross join lateral (select coalesce(r._received, array_fill(null::text, array[f.width])) as stored) as x
         cross join lateral (
               select array_agg(coalesce(x.stored[i], (array[%s]::text[])[f.pick[i]]) order by i)
                 from generate_subscripts(x.stored, 1) as i) as c(cells)
         order by f.id, r._row_number$q$, feed_id, canonical)
    using feed_id, names, file_sha256;
end
$fn$"""


def raw_columns(feed: Feed) -> list[tuple[str, str]]:
    """(name, PostgreSQL type) of raw.<feed>, in table order."""
    cols = list(RAW_META)
    cols += [(c.name, c.pg_type) for c in feed.columns]
    for c in feed.id_columns:
        cols += [(f"{c.name}_key", "text"), (f"{c.name}_masked", "text")]
    # The cells as received, in file column order; the header is stored once per file in the
    # ledger's detail. A NULL element is a cell that is exactly its raw column's canonical text
    # (checks.elision), a NULL array a row of such cells only: storing them twice was most of the
    # row. audit.received_rows(feed) shows every row in full.
    cols.append(("_received", "text[]"))
    return cols


def _create_raw_table(conn: psycopg.Connection, feed: Feed) -> None:
    table = sql.Identifier("raw", feed.id)
    columns = raw_columns(feed)
    body = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in columns)
    conn.execute(sql.SQL("create table if not exists {} ({})").format(table, body))
    _migrate_to_lean(conn, feed)
    for name, typ in columns:  # a column added to the contract later
        conn.execute(
            sql.SQL("alter table {} add column if not exists {} {}").format(
                table, sql.Identifier(name), sql.SQL(typ.replace(" not null", ""))
            )
        )
    # No index on raw.<feed>: maintaining one is paid on every row loaded (a BRIN on _file_sha256
    # was a fifth of the server's COPY work, a b-tree as much as the rest of it), and no query of
    # the pipeline would use one: staging reads whole tables (the incremental filter too, see
    # macros/latest_new_delivery.sql); a file's rows (audit.received_rows) are an operator's query.
    for index in RAW_INDEXES_DROPPED:
        conn.execute(sql.SQL("drop index if exists {}").format(sql.Identifier("raw", index.format(feed=feed.id))))
    conn.execute(
        sql.SQL("comment on table {} is {}").format(
            table,
            sql.Literal(
                f"{feed.title}: rows loaded from LANDING/{feed.id}/ (contract include/feeds/{feed.id}.yaml); "
                f"file name and times in audit.file_ledger, rows as received: audit.received_rows('{feed.id}')"
            ),
        )
    )


def _migrate_to_lean(conn: psycopg.Connection, feed: Feed) -> None:
    """A raw table of the first shape (file name and times on every row, `_received` a JSON object
    keyed by header) → the lean shape, keeping every cell: the header goes to the file's ledger
    row once (the keys of its widest row), the cells stay in file order. Staging views over the
    dropped columns go with them (`cascade`); the next dbt build re-creates them."""
    table = sql.Identifier("raw", feed.id)
    if _column_type(conn, feed.id, "_received") in ("json", "jsonb"):
        conn.execute(
            sql.SQL(
                "update audit.file_ledger as l set detail = l.detail || jsonb_build_object('received_headers', h.headers)"
                " from (select distinct on (_file_sha256) _file_sha256 as sha256,"
                "              (select jsonb_agg(k order by n) from json_object_keys(_received::json)"
                "                      with ordinality as t(k, n)) as headers"
                "         from {} order by _file_sha256, length(_received::text) desc) as h"
                " where l.feed = %s and l.status = 'loaded' and l.sha256 = h.sha256"
            ).format(table),
            (feed.id,),
        )
        # ALTER ... USING allows no subquery: a temporary function does the unpacking.
        conn.execute(
            "create or replace function pg_temp.json_cells(json) returns text[] language sql immutable as"
            " 'select array(select v from json_each_text($1) with ordinality as t(k, v, n) order by n)'"
        )
        conn.execute(
            sql.SQL(
                "alter table {} alter column _received type text[] using pg_temp.json_cells(_received::json)"
            ).format(table)
        )
    for column in MOVED_TO_LEDGER:
        conn.execute(sql.SQL("alter table {} drop column if exists {} cascade").format(table, sql.Identifier(column)))
    conn.execute(sql.SQL("alter table {} alter column _received drop not null").format(table))


def _column_type(conn: psycopg.Connection, table: str, column: str) -> str | None:
    row = conn.execute(
        "select data_type from information_schema.columns "
        "where table_schema = 'raw' and table_name = %s and column_name = %s",
        (table, column),
    ).fetchone()
    return row[0] if row else None


def _up_to_date(conn: psycopg.Connection, feeds: list[Feed]) -> bool:
    """Whether the audit tables and every wanted raw table exist with their columns and index."""
    names = [
        "audit.file_ledger",
        "audit.quarantine",
        "audit.file_ledger_taken_once",
        "audit.quarantine_by_file",
        "audit.quarantine_open",
    ]
    present = conn.execute("select count(to_regclass(n)) from unnest(%s::text[]) n", (names,)).fetchone()[0]
    if present != len(names):
        return False
    dropped = [f"raw.{index.format(feed=f.id)}" for f in feeds for index in RAW_INDEXES_DROPPED]
    if conn.execute("select count(to_regclass(n)) from unnest(%s::text[]) n", (dropped,)).fetchone()[0]:
        return False
    columns = conn.execute(
        "select c.relname, a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a"
        " join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = 'raw' and c.relname = any(%s) and a.attnum > 0 and not a.attisdropped",
        ([f.id for f in feeds],),
    ).fetchall()
    have = {(table, name): typ for table, name, typ in columns}
    if any((f.id, moved) in have for f in feeds for moved in MOVED_TO_LEDGER):
        return False
    if conn.execute("select to_regprocedure('audit.received_rows(text, text)') is null").fetchone()[0]:
        return False
    if (
        conn.execute(
            "select count(*) from pg_attribute where attrelid = any(array['audit.file_ledger'::regclass,"
            " 'audit.quarantine'::regclass]) and attname = any(%s) and not attisdropped",
            (["load_xid", "corrected_by_sha256", "unit_uscc"],),
        ).fetchone()[0]
        != 4
    ):
        return False
    return all(have.get((f.id, name)) == typ.replace(" not null", "") for f in feeds for name, typ in raw_columns(f))


def ensure_schemas(conninfo: str, feed_ids: list[str] | None = None) -> None:
    """Create schemas raw and audit, raw.<feed> for every contract, audit.file_ledger/quarantine."""
    contracts = feed_contracts.load_contracts()
    wanted = [contracts[f] for f in (feed_ids or contracts)]
    with psycopg.connect(conninfo) as conn:
        if _up_to_date(conn, wanted):  # the usual case: one catalog query instead of ~20 DDL statements
            return
        # Serialise concurrent callers (one Airflow task per file may all call this at once):
        # `create ... if not exists` alone races on the catalog's unique indexes.
        conn.execute("select pg_advisory_xact_lock(hashtext('include.ingest.ensure_schemas'))")
        for schema in ("raw", "audit"):
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        conn.execute(LEDGER_DDL)
        conn.execute(LEDGER_LOAD_XID)
        conn.execute(LEDGER_UNIQUE)
        conn.execute(QUARANTINE_DDL)
        conn.execute(QUARANTINE_INDEX)
        _add_return_columns(conn, contracts)
        conn.execute(RECEIVED_ROWS)
        for feed in wanted:
            _create_raw_table(conn, feed)


def _add_return_columns(conn: psycopg.Connection, contracts: dict) -> None:
    """The columns of returns and corrections, added in place; rows recorded before them are
    attributed to their feed's reporting unit (their rows' own units were not kept)."""
    for table, columns in (("quarantine", QUARANTINE_RETURNS), ("file_ledger", LEDGER_RETURNS)):
        for name, typ in columns:
            conn.execute(
                sql.SQL("alter table {} add column if not exists {} {}").format(
                    sql.Identifier("audit", table), sql.Identifier(name), sql.SQL(typ)
                )
            )
        conn.execute(
            sql.SQL(
                "update {} as t set unit = u.unit, unit_uscc = u.uscc"
                " from unnest(%s::text[], %s::text[], %s::text[]) as u(feed, unit, uscc)"
                " where t.feed = u.feed and t.unit_uscc is null"
            ).format(sql.Identifier("audit", table)),
            (
                [f.id for f in contracts.values()],
                [f.reporting_unit[0] for f in contracts.values()],
                [f.reporting_unit[1] for f in contracts.values()],
            ),
        )
    conn.execute(QUARANTINE_OPEN_INDEX)


def analyze_feed(conninfo: str, feed: str) -> None:
    """Refresh the planner's statistics of raw.<feed> after a load, so dbt's plans see its real size."""
    feed_contracts.get(feed)  # only contract feeds name a table
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("analyze {}").format(sql.Identifier("raw", feed)))
