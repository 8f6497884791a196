"""`audit.gate_results`: one row per expectation per gate run, for the people who run the pipeline."""
from __future__ import annotations

import datetime as dt

import psycopg
from psycopg.types.json import Jsonb

# Several tasks may create audit tables at once (ingest, gates, publish); the advisory lock
# serialises our own DDL, and the retry covers a concurrent `create schema` by someone else.
_DDL_LOCK = 7_351_001

GATE_RESULTS_DDL = """
create schema if not exists audit;
create table if not exists audit.gate_results (
    run_id       uuid        not null,
    position     integer     not null,
    as_of        date        not null,
    checkpoint   text        not null,
    table_name   text        not null,
    expectation  text        not null,
    description  text,
    column_name  text,
    severity     text        not null check (severity in ('blocking', 'warning')),
    success      boolean     not null,
    observed     jsonb,
    recorded_at  timestamptz not null default now(),
    primary key (run_id, position)
);
create index if not exists gate_results_as_of_idx on audit.gate_results (as_of, checkpoint);
"""


def run_ddl(conn: psycopg.Connection, ddl: str) -> None:
    """Run idempotent DDL under our advisory lock; retry once if another session raced us."""
    for attempt in (1, 2):
        try:
            with conn.transaction():
                conn.execute("select pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
                for statement in filter(str.strip, ddl.split(";")):
                    conn.execute(statement)
            return
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateObject,
                psycopg.errors.DuplicateSchema):
            if attempt == 2:
                raise


def ensure_gate_results(conn: psycopg.Connection) -> None:
    run_ddl(conn, GATE_RESULTS_DDL)


def record(conn: psycopg.Connection, run_id: str, as_of: dt.date, checkpoint: str,
           results: list[dict]) -> None:
    rows = [
        (run_id, position, as_of, checkpoint, r["table"], r["expectation"], r.get("description"),
         r.get("column"), r["severity"], r["success"], Jsonb(r.get("observed")))
        for position, r in enumerate(results, start=1)
    ]
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "insert into audit.gate_results (run_id, position, as_of, checkpoint, table_name, "
            "expectation, description, column_name, severity, success, observed) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
