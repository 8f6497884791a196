"""The tables the ingest writes: raw.<feed> (from the contracts) and the audit ledger/quarantine.

Idempotent: run before every load. A column added to a contract is added to its raw table
(`add column if not exists`), so evolving a feed needs no migration script.
"""
from __future__ import annotations

import psycopg
from psycopg import sql

from include import feeds as feed_contracts
from include.feeds import Feed

# Meta columns of every raw.<feed>, in order (docs/internals.md).
RAW_META = (("_file_sha256", "text not null"), ("_file_name", "text not null"),
            ("_row_number", "integer not null"), ("_arrived_at", "timestamptz not null"),
            ("_loaded_at", "timestamptz not null"))

LEDGER_DDL = """
create table if not exists audit.file_ledger (
    id               bigint generated always as identity primary key,
    feed             text not null,
    file_name        text not null,
    sha256           text not null,
    size_bytes       bigint not null,
    received_at      timestamptz not null,
    loaded_at        timestamptz not null default now(),
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


def raw_columns(feed: Feed) -> list[tuple[str, str]]:
    """(name, PostgreSQL type) of raw.<feed>, in table order."""
    cols = list(RAW_META)
    cols += [(c.name, c.pg_type) for c in feed.columns]
    for c in feed.id_columns:
        cols += [(f"{c.name}_key", "text"), (f"{c.name}_masked", "text")]
    # json, not jsonb: the row as received is kept and shown, never queried by key in SQL, and
    # json stores the text as is, where jsonb's parse-and-rebuild was a third of the COPY's work.
    cols.append(("_received", "json not null"))
    return cols


def _create_raw_table(conn: psycopg.Connection, feed: Feed) -> None:
    table = sql.Identifier("raw", feed.id)
    columns = raw_columns(feed)
    body = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in columns)
    conn.execute(sql.SQL("create table if not exists {} ({})").format(table, body))
    for name, typ in columns:  # a column added to the contract later
        conn.execute(sql.SQL("alter table {} add column if not exists {} {}").format(
            table, sql.Identifier(name), sql.SQL(typ.replace(" not null", ""))))
    # BRIN, not a b-tree: a file's rows are written together, so block ranges find them, and a
    # b-tree insert per row (64-character keys) cost as much as the rest of the COPY.
    conn.execute(sql.SQL("drop index if exists {}").format(sql.Identifier("raw", f"{feed.id}_by_file")))
    conn.execute(sql.SQL("create index if not exists {} on {} using brin (_file_sha256)").format(
        sql.Identifier(f"{feed.id}_by_file_brin"), table))
    if _column_type(conn, feed.id, "_received") == "jsonb":   # raw tables made before json
        conn.execute(sql.SQL("alter table {} alter column _received type json using _received::text::json").format(table))
    conn.execute(sql.SQL("comment on table {} is {}").format(
        table, sql.Literal(f"{feed.title}: rows loaded from LANDING/{feed.id}/ (contract include/feeds/{feed.id}.yaml)")))


def _column_type(conn: psycopg.Connection, table: str, column: str) -> str | None:
    row = conn.execute("select data_type from information_schema.columns "
                       "where table_schema = 'raw' and table_name = %s and column_name = %s", (table, column)).fetchone()
    return row[0] if row else None


def _up_to_date(conn: psycopg.Connection, feeds: list[Feed]) -> bool:
    """Whether the audit tables and every wanted raw table exist with their columns and index."""
    names = ["audit.file_ledger", "audit.quarantine", "audit.file_ledger_taken_once", "audit.quarantine_by_file"]
    names += [f"raw.{f.id}_by_file_brin" for f in feeds]
    present = conn.execute("select count(to_regclass(n)) from unnest(%s::text[]) n", (names,)).fetchone()[0]
    if present != len(names):
        return False
    columns = conn.execute(
        "select c.relname, a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a"
        " join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = 'raw' and c.relname = any(%s) and a.attnum > 0 and not a.attisdropped",
        ([f.id for f in feeds],)).fetchall()
    have = {(table, name): typ for table, name, typ in columns}
    return all(have.get((f.id, name)) == typ.replace(" not null", "")
               for f in feeds for name, typ in raw_columns(f))


def ensure_schemas(conninfo: str, feed_ids: list[str] | None = None) -> None:
    """Create schemas raw and audit, raw.<feed> for every contract, audit.file_ledger/quarantine."""
    contracts = feed_contracts.load_contracts()
    wanted = [contracts[f] for f in (feed_ids or contracts)]
    with psycopg.connect(conninfo) as conn:
        if _up_to_date(conn, wanted):   # the usual case: one catalog query instead of ~20 DDL statements
            return
        # Serialise concurrent callers (one Airflow task per file may all call this at once):
        # `create ... if not exists` alone races on the catalog's unique indexes.
        conn.execute("select pg_advisory_xact_lock(hashtext('include.ingest.ensure_schemas'))")
        for schema in ("raw", "audit"):
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        conn.execute(LEDGER_DDL)
        conn.execute(LEDGER_UNIQUE)
        conn.execute(QUARANTINE_DDL)
        conn.execute(QUARANTINE_INDEX)
        for feed in wanted:
            _create_raw_table(conn, feed)
