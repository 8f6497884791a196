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
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateObject, psycopg.errors.DuplicateSchema):
            if attempt == 2:
                raise


def ensure_gate_results(conn: psycopg.Connection) -> None:
    run_ddl(conn, GATE_RESULTS_DDL)


def record(conn: psycopg.Connection, run_id: str, as_of: dt.date, checkpoint: str, results: list[dict]) -> None:
    rows = [
        (
            run_id,
            position,
            as_of,
            checkpoint,
            r["table"],
            r["expectation"],
            r.get("description"),
            r.get("column"),
            r["severity"],
            r["success"],
            Jsonb(r.get("observed")),
        )
        for position, r in enumerate(results, start=1)
    ]
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "insert into audit.gate_results (run_id, position, as_of, checkpoint, table_name, "
            "expectation, description, column_name, severity, success, observed) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )


# The staging gate validates only rows loaded since it last passed for a table; this is where it
# remembers "since": the snapshot xmin read before that validation (docs/quality.md, "Scope").
GATE_WATERMARKS_DDL = """
create schema if not exists audit;
create table if not exists audit.gate_watermarks (
    checkpoint   text        not null,
    table_name   text        not null,
    snapshot_xmin xid8       not null,   -- `xmin` is a system column name
    as_of        date        not null,
    run_id       uuid        not null,
    recorded_at  timestamptz not null default now(),
    primary key (checkpoint, table_name)
);
"""


def ensure_gate_watermarks(conn: psycopg.Connection) -> None:
    run_ddl(conn, GATE_WATERMARKS_DDL)


def snapshot_xmin(conn: psycopg.Connection) -> int:
    """The oldest transaction still running: every row with a smaller load xid was committed (or
    rolled back) before now, so a later gate need only look at rows at or above it."""
    return int(conn.execute("select pg_snapshot_xmin(pg_current_snapshot())::text").fetchone()[0])


def watermarks(conn: psycopg.Connection, checkpoint: str) -> dict[str, tuple[int, dt.date]]:
    """table -> (xmin, as_of) of the last run of `checkpoint` that passed for that table."""
    rows = conn.execute(
        "select table_name, snapshot_xmin::text, as_of from audit.gate_watermarks where checkpoint = %s", (checkpoint,)
    ).fetchall()
    return {table: (int(xmin), as_of) for table, xmin, as_of in rows}


def advance_watermarks(
    conn: psycopg.Connection, checkpoint: str, tables: list[str], xmin: int, as_of: dt.date, run_id: str
) -> None:
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "insert into audit.gate_watermarks (checkpoint, table_name, snapshot_xmin, as_of, run_id) "
            "values (%s, %s, %s::text::xid8, %s, %s) "
            "on conflict (checkpoint, table_name) do update set snapshot_xmin = excluded.snapshot_xmin, "
            "as_of = excluded.as_of, run_id = excluded.run_id, recorded_at = now()",
            [(checkpoint, table, str(xmin), as_of, run_id) for table in tables],
        )
