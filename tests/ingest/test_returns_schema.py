"""audit.quarantine / audit.file_ledger of a state made before returns (docs/departments.md) are
upgraded in place by ensure_schemas: the new columns added, earlier rows attributed to their
feed's reporting unit (include/feeds/<feed>.yaml), nothing lost."""

from __future__ import annotations

import psycopg

from include.ingest import ensure_schemas

TAX_UNIT = ("国家税务总局银川市税务局", "11640100000000924B")  # include/feeds/tax.yaml reporting_unit


def test_an_earlier_audit_schema_is_upgraded_in_place(scratch_db):
    with psycopg.connect(scratch_db) as conn:
        conn.execute("drop schema if exists audit cascade")
        conn.execute("drop schema if exists raw cascade")
        conn.execute("create schema audit")
        # the tables as the release before returns made them (include/ingest/schema.py then)
        conn.execute(
            "create table audit.file_ledger (id bigint generated always as identity primary key,"
            " feed text not null, file_name text not null, sha256 text not null, size_bytes bigint not null,"
            " received_at timestamptz not null, loaded_at timestamptz not null default now(),"
            " load_xid xid8 not null default pg_current_xact_id(), rows_read integer not null default 0,"
            " rows_loaded integer not null default 0, rows_quarantined integer not null default 0,"
            " status text not null, reason text, detail jsonb not null default '{}'::jsonb)"
        )
        conn.execute(
            "create table audit.quarantine (id bigint generated always as identity primary key,"
            " feed text not null, file_name text not null, sha256 text not null, row_number integer,"
            " column_name text, rule text not null, value text, message text not null,"
            " severity text not null default 'error', reference_date date)"
        )
        conn.execute(
            "insert into audit.file_ledger (feed, file_name, sha256, size_bytes, received_at, rows_read,"
            " rows_loaded, rows_quarantined, status) values ('tax', 't.csv', 'ab', 1, now(), 2, 1, 1, 'loaded')"
        )
        conn.execute(
            "insert into audit.quarantine (feed, file_name, sha256, row_number, column_name, rule, value,"
            " message) values ('tax', 't.csv', 'ab', 3, 'uscc', 'uscc_check', 'X', 'm')"
        )
    ensure_schemas(scratch_db)
    ensure_schemas(scratch_db)  # twice: nothing more to do
    with psycopg.connect(scratch_db) as conn:
        quarantine = conn.execute(
            "select row_number, rule, value, unit, unit_uscc, corrected_at, corrected_by_file from audit.quarantine"
        ).fetchall()
        ledger = conn.execute("select file_name, unit, unit_uscc from audit.file_ledger").fetchall()
        index = conn.execute("select to_regclass('audit.quarantine_open') is not null").fetchone()[0]
    assert quarantine == [(3, "uscc_check", "X", *TAX_UNIT, None, None)]
    assert ledger == [("t.csv", *TAX_UNIT)]
    assert index
