"""Publication: the gated build becomes what analysts and lenders read, in one atomic step.

dbt builds the next publication into `marts_build` / `export_build`; the publication gate checks
it; `publish` then renames the schemas (`marts_build` → `marts`, `export_build` → `export`) in ONE
transaction, after granting the readers on the new schemas. Readers see the previous version or
the new one, never a mix: the swap first takes ACCESS EXCLUSIVE locks on every table involved,
so a reader that already touched the old tables finishes on them, and one arriving during the
swap waits and then resolves the names to the new tables.

Roles (docs/spec/DOMAIN.md §8): `credit_loader` writes raw/audit, `credit_analyst` reads marts,
`credit_financing` reads export; nothing else is granted to them.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from include.quality.audit import run_ddl
from include.settings import REPO_ROOT

BUILD_SCHEMAS = {"marts_build": "marts", "export_build": "export"}
READERS = {"marts": "credit_analyst", "export": "credit_financing"}
LOADER = "credit_loader"
LOADER_SCHEMAS = ("raw", "audit")
ROLES = (LOADER, *READERS.values())
# The swap's lock wait: a reader transaction still open on the old tables delays it this long.
LOCK_TIMEOUT = os.environ.get("CREDIT_PUBLISH_LOCK_TIMEOUT", "60s")
SWAP_ATTEMPTS = 5
_PUBLISH_LOCK = 7_351_002
_ROLES_LOCK = 7_351_003

PUBLICATION_LOG_DDL = """
create schema if not exists audit;
create table if not exists audit.publication_log (
    version          text        primary key,
    as_of            date        not null,
    published_at     timestamptz not null default now(),
    pipeline_version text        not null,
    row_counts       jsonb       not null,
    gate_results     jsonb       not null
);
create index if not exists publication_log_as_of_idx on audit.publication_log (as_of, published_at);
-- Where the published build began (staging.build_started): the big incremental tables' tests check
-- only rows written since then (dbt macro unpublished_rows).
alter table audit.publication_log add column if not exists build_xmin xid8;
-- What lenders were given per AS_OF: financing_profile_changes compares the next build with the
-- latest EARLIER AS_OF here, so a rerun for the same AS_OF publishes the same changes.
create schema if not exists history;
create table if not exists history.financing_profile_publications (
    as_of        date not null,
    version      text not null,
    uscc         text not null,
    subject_name text,
    profile_hash text not null,
    primary key (as_of, uscc)
);
create table if not exists history.financing_penalties_publications (
    as_of       date not null,
    version     text not null,
    record_key  text not null,
    uscc        text not null,
    record_hash text not null,
    primary key (as_of, record_key)
);
-- Every publication's indicator scorecard, kept (marts.indicator_scorecard is replaced at each
-- one): the jurisdiction's rows (level 'jurisdiction', per region_code, unit_uscc '', month NULL)
-- and the per-unit rows (level 'unit', per 数据来源单位 and month). The latest publication of an
-- AS_OF replaces that AS_OF's rows. Analysts read the trend here.
create table if not exists history.indicator_scorecard_history (
    as_of          date        not null,
    version        text        not null,
    level          text        not null check (level in ('jurisdiction', 'unit')),
    region_code    text        not null default '',
    unit_uscc      text        not null default '',
    unit           text,
    month          date,
    indicator_id   text        not null,
    indicator_name text,
    numerator      numeric,
    denominator    numeric,
    value          numeric,
    target         numeric,
    comparator     text,
    passed         boolean,
    note           text
);
create unique index if not exists indicator_scorecard_history_key on history.indicator_scorecard_history
    (as_of, level, region_code, unit_uscc, coalesce(month, '-infinity'::date), indicator_id)
"""
# What the analysts may read beyond `marts`: the kept scorecards (not what lenders were given).
ANALYST_HISTORY = ("history", "indicator_scorecard_history")


class PublicationRefused(RuntimeError):
    """The build did not pass its gates (or was never gated): the previous publication stays."""


# ---------------------------------------------------------------------------------------------
# Roles and grants


def _role_password_env(role: str) -> str:
    """`credit_loader` → CREDIT_LOADER_PASSWORD (set in the environment, never in the repo)."""
    return f"{role.upper()}_PASSWORD"


def _ensure_role(conn: psycopg.Connection, role: str) -> None:
    exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
    verb = "alter" if exists else "create"
    conn.execute(
        sql.SQL("{} role {} with login nosuperuser nocreatedb nocreaterole noreplication").format(
            sql.SQL(verb), sql.Identifier(role)
        )
    )
    password = os.environ.get(_role_password_env(role))
    if password:
        # Utility statements take no bind parameters; Literal quotes the value client-side.
        conn.execute(sql.SQL("alter role {} with password {}").format(sql.Identifier(role), sql.Literal(password)))


def _schema_exists(conn: psycopg.Connection, schema: str) -> bool:
    return conn.execute("select 1 from pg_namespace where nspname = %s", (schema,)).fetchone() is not None


def _grant_readers(conn: psycopg.Connection, schema: str, role: str) -> None:
    """Read access to every table of `schema`, now and (default privileges) created later."""
    s, r = sql.Identifier(schema), sql.Identifier(role)
    conn.execute(sql.SQL("grant usage on schema {} to {}").format(s, r))
    conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(s, r))
    conn.execute(sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(s, r))


def _grant_loader(conn: psycopg.Connection, schema: str) -> None:
    s, r = sql.Identifier(schema), sql.Identifier(LOADER)
    conn.execute(sql.SQL("create schema if not exists {}").format(s))
    conn.execute(sql.SQL("revoke all on schema {} from public").format(s))
    conn.execute(sql.SQL("grant usage, create on schema {} to {}").format(s, r))
    conn.execute(sql.SQL("grant select, insert, update, delete on all tables in schema {} to {}").format(s, r))
    conn.execute(sql.SQL("grant usage, select, update on all sequences in schema {} to {}").format(s, r))
    conn.execute(
        sql.SQL("alter default privileges in schema {} grant select, insert, update, delete on tables to {}").format(
            s, r
        )
    )
    conn.execute(
        sql.SQL("alter default privileges in schema {} grant usage, select, update on sequences to {}").format(s, r)
    )


def ensure_roles(conninfo: str) -> None:
    """Create or align the three roles and their grants in the connected database. Idempotent.

    Passwords come from CREDIT_LOADER_PASSWORD, CREDIT_ANALYST_PASSWORD, CREDIT_FINANCING_PASSWORD
    when set; the embedded server gives each role its generated password itself at every start
    (include/embedded_pg.py), and a role without a password here keeps the one it has. Default privileges cover
    tables the connected user creates later in raw/audit; the published schemas are re-granted at
    every publication, since each one is a new schema.
    """
    with psycopg.connect(conninfo, autocommit=True) as conn, conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (_ROLES_LOCK,))
        for role in ROLES:
            _ensure_role(conn, role)
        database = conn.info.dbname
        for role in ROLES:
            conn.execute(
                sql.SQL("grant connect on database {} to {}").format(sql.Identifier(database), sql.Identifier(role))
            )
        for schema in LOADER_SCHEMAS:
            _grant_loader(conn, schema)
        for schema, role in READERS.items():
            if _schema_exists(conn, schema):
                _grant_readers(conn, schema, role)


# ---------------------------------------------------------------------------------------------
# Publication


def pipeline_version() -> str:
    """`CREDIT_PIPELINE_VERSION`, else the git commit of the checkout (with `-dirty`), else `unknown`."""
    configured = os.environ.get("CREDIT_PIPELINE_VERSION")
    if configured:
        return configured
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def _gate_summary(gate: dict) -> dict:
    return {
        "checkpoint": gate.get("checkpoint"),
        "as_of": gate.get("as_of"),
        "run_id": gate.get("run_id"),
        "success": gate.get("success"),
        "expectations": len(gate.get("results") or []),
        "blocking_failures": gate.get("blocking_failures") or [],
        "warnings": gate.get("warnings") or [],
    }


def _describe(failure: dict) -> str:
    what = failure.get("description") or failure.get("expectation")
    where = failure["table"] + (f".{failure['column']}" if failure.get("column") else "")
    return f"{where}: {what} (observed {failure.get('observed')})"


def check_gates(gate_results: list[dict], as_of: dt.date) -> None:
    """Refuse unless the publication gate ran for this AS_OF and no gate has a blocking failure."""
    if not any(g.get("checkpoint") == "publication" and g.get("as_of") == as_of.isoformat() for g in gate_results):
        raise PublicationRefused(f"refusing to publish AS_OF {as_of}: the publication gate did not run for it")
    failures = [(g.get("checkpoint"), f) for g in gate_results for f in (g.get("blocking_failures") or [])]
    failed_gates = [g.get("checkpoint") for g in gate_results if not g.get("success")]
    if failures or failed_gates:
        lines = [f"  [{checkpoint}] {_describe(f)}" for checkpoint, f in failures]
        raise PublicationRefused(
            f"refusing to publish AS_OF {as_of}: gate(s) {sorted(set(failed_gates))} failed with "
            f"{len(failures)} blocking failure(s); the previous publication stays in place.\n" + "\n".join(lines)
        )


def _relations(conn: psycopg.Connection, schemas: list[str]) -> list[tuple[str, str]]:
    return conn.execute(
        """select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = any(%s) and c.relkind in ('r', 'p', 'v', 'm', 'f')
           order by n.nspname, c.relname""",
        (schemas,),
    ).fetchall()


def _next_version(conn: psycopg.Connection, as_of: dt.date) -> str:
    n = conn.execute("select count(*) from audit.publication_log where as_of = %s", (as_of,)).fetchone()[0]
    return f"{as_of.isoformat()}.{n + 1}"


def _swap(conn: psycopg.Connection, as_of: dt.date, gate_results: list[dict]) -> dict:
    """The one transaction: lock, count, grant, rename, drop the old, log. Caller commits."""
    conn.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
    conn.execute("select pg_advisory_xact_lock(%s)", (_PUBLISH_LOCK,))
    missing = [b for b in BUILD_SCHEMAS if not _schema_exists(conn, b)]
    if missing:
        raise PublicationRefused(f"nothing to publish: schema(s) {missing} do not exist (run the transform first)")
    # Published tables first, marts before export: the order analysts' joins usually take, which
    # makes a lock cycle with a reader (and a retry) rarer.
    order = [*BUILD_SCHEMAS.values(), *BUILD_SCHEMAS]
    relations = sorted(_relations(conn, order), key=lambda r: (order.index(r[0]), r[1]))
    if relations:
        conn.execute(
            sql.SQL("lock table {} in access exclusive mode").format(
                sql.SQL(", ").join(sql.Identifier(s, t) for s, t in relations)
            )
        )
    row_counts = {}
    for schema, table in relations:
        if schema in BUILD_SCHEMAS:
            n = conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))).fetchone()[0]
            row_counts[f"{BUILD_SCHEMAS[schema]}.{table}"] = n
    for build, published in BUILD_SCHEMAS.items():
        _grant_readers(conn, build, READERS[published])
    for build, published in BUILD_SCHEMAS.items():
        previous = f"{published}_previous"
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(previous)))
        if _schema_exists(conn, published):
            conn.execute(
                sql.SQL("alter schema {} rename to {}").format(sql.Identifier(published), sql.Identifier(previous))
            )
        conn.execute(sql.SQL("alter schema {} rename to {}").format(sql.Identifier(build), sql.Identifier(published)))
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(previous)))
    version = _next_version(conn, as_of)
    _keep_what_lenders_were_given(conn, as_of, version)
    _keep_scorecard_history(conn, as_of, version)
    conn.execute(
        "insert into audit.publication_log (version, as_of, pipeline_version, row_counts, gate_results, build_xmin) "
        "values (%s, %s, %s, %s, %s, %s::xid8)",
        (
            version,
            as_of,
            pipeline_version(),
            Jsonb(row_counts),
            Jsonb([_gate_summary(g) for g in gate_results]),
            _build_xmin(conn),
        ),
    )
    return {"version": version, "as_of": as_of.isoformat(), "row_counts": row_counts}


def _keep_what_lenders_were_given(conn: psycopg.Connection, as_of: dt.date, version: str) -> None:
    """The keys and fingerprints of each export dataset as published for `as_of` (the latest
    publication of an AS_OF replaces its earlier ones): the next AS_OF's change sets are against these."""
    conn.execute("delete from history.financing_profile_publications where as_of = %s", (as_of,))
    conn.execute(
        "insert into history.financing_profile_publications (as_of, version, uscc, subject_name, profile_hash)"
        " select %s, %s, uscc, subject_name, profile_hash from export.financing_profile",
        (as_of, version),
    )
    conn.execute("delete from history.financing_penalties_publications where as_of = %s", (as_of,))
    if conn.execute("select to_regclass('export.financing_penalties') is not null").fetchone()[0]:
        conn.execute(
            "insert into history.financing_penalties_publications (as_of, version, record_key, uscc, record_hash)"
            " select %s, %s, record_key, uscc, record_hash from export.financing_penalties",
            (as_of, version),
        )


def _keep_scorecard_history(conn: psycopg.Connection, as_of: dt.date, version: str) -> None:
    """This publication's scorecard rows into history.indicator_scorecard_history, replacing any
    earlier publication of the same AS_OF (so re-publishing an AS_OF leaves one set of rows)."""
    conn.execute("delete from history.indicator_scorecard_history where as_of = %s", (as_of,))
    if conn.execute("select to_regclass('marts.indicator_scorecard') is not null").fetchone()[0]:
        conn.execute(
            """insert into history.indicator_scorecard_history (as_of, version, level, region_code, unit_uscc,
                   indicator_id, indicator_name, numerator, denominator, value, target, comparator, passed, note)
               select %s, %s, 'jurisdiction', region_code, '', indicator_id, indicator_name, numerator,
                      denominator, value, target, comparator, passed, note
               from marts.indicator_scorecard where as_of = %s""",
            (as_of, version, as_of),
        )
    _keep_unit_scorecard_history(conn, as_of, version)


def _keep_unit_scorecard_history(conn: psycopg.Connection, as_of: dt.date, version: str) -> None:
    """The per-unit rows, filled from marts.unit_indicator_scorecard (one row per 数据来源单位,
    month and indicator) when the publication has that mart; a publication without it keeps only
    the jurisdiction's rows."""
    if not conn.execute("select to_regclass('marts.unit_indicator_scorecard') is not null").fetchone()[0]:
        return
    conn.execute(
        """insert into history.indicator_scorecard_history (as_of, version, level, unit_uscc, unit, month,
               indicator_id, indicator_name, numerator, denominator, value, target, comparator, passed)
           select %s, %s, 'unit', unit_uscc, unit, month, indicator_id, indicator_name, numerator, denominator,
                  value, target, comparator, meets_target
           from marts.unit_indicator_scorecard where as_of = %s""",
        (as_of, version, as_of),
    )


def _build_xmin(conn: psycopg.Connection) -> str | None:
    """Where the build being published began, if dbt recorded it (staging.build_started). A newer
    transform may already have begun: then its start is recorded, which only makes its own rows
    count as unpublished — they are, and its tests check them."""
    if conn.execute("select to_regclass('staging.build_started') is null").fetchone()[0]:
        return None
    row = conn.execute("select build_xmin::text from staging.build_started").fetchone()
    return row[0] if row else None


def publish(conninfo: str, as_of: dt.date, gate_results: list[dict]) -> dict:
    """Swap the gated build into `marts` / `export`; returns {version, as_of, row_counts}.

    Raises PublicationRefused (and changes nothing) when a gate has a blocking failure, when the
    publication gate did not run for `as_of`, or when there is no build. A deadlock with a reader
    or a lock timeout rolls the whole swap back and it is tried again.
    """
    check_gates(gate_results, as_of)
    ensure_roles(conninfo)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        run_ddl(conn, PUBLICATION_LOG_DDL)
        schema, table = ANALYST_HISTORY
        conn.execute(
            sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(schema), sql.Identifier(READERS["marts"]))
        )
        conn.execute(
            sql.SQL("grant select on {} to {}").format(sql.Identifier(schema, table), sql.Identifier(READERS["marts"]))
        )
        for attempt in range(1, SWAP_ATTEMPTS + 1):
            try:
                with conn.transaction():
                    return _swap(conn, as_of, gate_results)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.LockNotAvailable):
                if attempt == SWAP_ATTEMPTS:
                    raise
                time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")
