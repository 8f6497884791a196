"""Run one quality gate: a Great Expectations checkpoint over the warehouse tables of its suites.

A gate is `raw` (each feed's table after ingest), `staging` (dbt staging models) or `publication`
(`marts_build` + `export_build` before the swap). GX runs from Python on an ephemeral context (the
Airflow GX provider cannot be installed beside Airflow 3.3); the suites come from
`expectations/<checkpoint>/*.json`; every result is recorded in `audit.gate_results` and rendered
as Data Docs under `docs_dir/<checkpoint>/`.

Scope (include/quality/scope.py has the rules per expectation type): a gate may validate only
what is new. `scope={"raw.tax": {"_file_sha256": [...]}}` limits a table to the files an ingest
run loaded (none loaded: the table is not scanned, a passing `rows_in_scope` result says so).
`incremental=True` (the staging gate) limits each table with a `_load_xid` column to rows loaded
at or after the snapshot xmin recorded when that table last passed (`audit.gate_watermarks`), and
records a new one, read before validating, for each table that passes. No watermark, another
AS_OF, or no `_load_xid` column: the whole table. Expectations about the table as a whole (row
counts, column sets, uniqueness across old and new rows) always see the whole table.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TypedDict

import psycopg
from psycopg import sql

from include.quality import audit
from include.quality import scope as scoping
from include.quality.suites import Suite, load_suites

# No usage statistics from GX (and no network attempt): set before GX is first imported.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

CHECKPOINTS = ("raw", "staging", "publication")
# Overrides of the row-count bands written in the suites, e.g. CREDIT_GATE_ROW_BAND_WARNING=0.2.
ROW_BAND_ENV = "CREDIT_GATE_ROW_BAND_{severity}"
# GX result keys that only repeat the batch or are empty noise in the audit table.
_OBSERVED_SKIP = {
    "partial_unexpected_index_list",
    "unexpected_index_list",
    "unexpected_index_query",
    "unexpected_list",
    "details",
}


class GateResult(TypedDict):
    checkpoint: str
    as_of: str
    run_id: str
    success: bool
    blocking_failures: list[dict]
    warnings: list[dict]
    results: list[dict]
    docs_path: str | None


def run_gate(
    conninfo: str,
    checkpoint: str,
    as_of: dt.date,
    docs_dir: Path,
    *,
    tables: Iterable[str] | None = None,
    expectations_dir: Path | None = None,
    scope: dict[str, dict] | None = None,
    incremental: bool = False,
    watermark: int | None = None,
) -> GateResult:
    """Validate the tables of `checkpoint` and record the outcome.

    `tables` narrows the run to some of the checkpoint's tables (e.g. `["raw.tax"]` right after
    the tax feed was loaded). `scope` narrows a table to some of its rows (module docstring);
    `incremental` scopes every table to the rows loaded since it last passed; `watermark` is the
    snapshot xmin to record for the tables that pass (default: read now, before validating).
    `success` is False when any blocking expectation failed, including a table that should exist
    and does not; warnings never make it False.
    """
    if checkpoint not in CHECKPOINTS:
        raise ValueError(f"unknown checkpoint {checkpoint!r}: expected one of {CHECKPOINTS}")
    suites = _select(load_suites(checkpoint, expectations_dir), tables)
    scopes = _checked_scopes(scope or {}, suites)
    run_id = str(uuid.uuid4())
    with psycopg.connect(conninfo, autocommit=True) as conn:
        audit.ensure_gate_results(conn)
        present = [s for s in suites if _table_exists(conn, s.schema, s.table)]
        parameters, notes = _parameters(conn, present, as_of)
        notes_by_table: dict[str, dict] = {t: {"rows": "scoped", **spec} for t, spec in scopes.items()}
        if incremental:
            audit.ensure_gate_watermarks(conn)
            watermark = _watermark(conn) if watermark is None else watermark
            _since_last_pass(conn, checkpoint, present, as_of, scopes, notes_by_table)
        queries = {
            t: scoping.query(t.split(".", 1)[0], t.split(".", 1)[1], spec).as_string(conn)
            for t, spec in scopes.items()
            if not scoping.is_empty(spec)
        }
    missing = [s for s in suites if s not in present]
    skipped = [s for s in present if scoping.is_empty(scopes.get(s.qualified_table, {}))]
    to_validate = [s for s in present if s not in skipped]

    results: list[dict] = []
    docs_path = None
    if to_validate:
        site = Path(docs_dir) / checkpoint
        results, docs_path = _validate(
            conninfo, checkpoint, to_validate, parameters, notes, run_id, site, scopes, queries, notes_by_table
        )
    results += [_skipped_result(s, scopes[s.qualified_table]) for s in skipped]
    results += [_missing_table_result(s) for s in missing]

    with psycopg.connect(conninfo, autocommit=True) as conn, conn.transaction():
        audit.record(conn, run_id, as_of, checkpoint, results)
        if incremental:
            audit.advance_watermarks(conn, checkpoint, _passed_tables(to_validate, results), watermark, as_of, run_id)

    blocking = [r for r in results if not r["success"] and r["severity"] == "blocking"]
    warnings = [r for r in results if not r["success"] and r["severity"] == "warning"]
    return GateResult(
        checkpoint=checkpoint,
        as_of=as_of.isoformat(),
        run_id=run_id,
        success=not blocking,
        blocking_failures=blocking,
        warnings=warnings,
        results=results,
        docs_path=str(docs_path) if docs_path else None,
    )


def _checked_scopes(scope: dict[str, dict], suites: list[Suite]) -> dict[str, dict]:
    known = {s.qualified_table for s in suites}
    unknown = set(scope) - known
    if unknown:
        raise ValueError(f"scope names tables this gate does not check: {sorted(unknown)}")
    return {table: scoping.check(table, spec) for table, spec in scope.items()}


def _since_last_pass(
    conn: psycopg.Connection,
    checkpoint: str,
    present: list[Suite],
    as_of: dt.date,
    scopes: dict[str, dict],
    notes_by_table: dict[str, dict],
) -> None:
    """Scope each table (not scoped by the caller) to rows loaded since its last passing gate."""
    marks = audit.watermarks(conn, checkpoint)
    for suite in present:
        table = suite.qualified_table
        if table in scopes:
            continue
        mark = marks.get(table)
        if not _has_column(conn, suite.schema, suite.table, "_load_xid"):
            why = "the table has no _load_xid column"
        elif mark is None:
            why = "no earlier passing gate for this table"
        elif mark[1] != as_of and _uses_as_of(suite):
            # This suite's expectations depend on AS_OF: rows that passed for another day are
            # judged again. (Staging's do not: staging never depends on AS_OF, so the daily run,
            # with a new AS_OF each day, still validates only the new rows.)
            why = f"the last pass was for AS_OF {mark[1].isoformat()}"
        else:
            scopes[table] = {"_load_xid": {"min": mark[0]}}
            notes_by_table[table] = {"rows": "scoped", "_load_xid": {"min": mark[0]}}
            continue
        notes_by_table[table] = {"rows": "all", "why": why}


def _uses_as_of(suite: Suite) -> bool:
    """Whether an expectation of the suite takes the run's AS_OF (the `as_of_set` parameter)."""
    return '"as_of_set"' in json.dumps(suite.expectations)


# dbt's first staging model records the oldest transaction running when the build began.
BUILD_STARTED = ("staging", "build_started")


def _watermark(conn: psycopg.Connection) -> int:
    """The W to record for tables that pass: no row staging will hold later may be below it.

    The snapshot xmin now (before validating: rows committed while we validate are the next
    run's), or, lower, the xmin of when the dbt build began (`staging.build_started`): a load
    that committed while dbt ran is not in staging yet, but its xid is at least that.
    """
    now = audit.snapshot_xmin(conn)
    if not _has_column(conn, *BUILD_STARTED, "build_xmin"):
        return now
    query = sql.SQL("select min(build_xmin)::text from {}").format(sql.Identifier(*BUILD_STARTED))
    build = conn.execute(query).fetchone()[0]
    return min(now, int(build)) if build is not None else now


def _passed_tables(validated: list[Suite], results: list[dict]) -> list[str]:
    failed = {r["table"] for r in results if not r["success"] and r["severity"] == "blocking"}
    return [s.qualified_table for s in validated if s.qualified_table not in failed]


def _has_column(conn: psycopg.Connection, schema: str, table: str, column: str) -> bool:
    qualified = sql.Identifier(schema, table).as_string(conn)
    return conn.execute(
        "select exists (select 1 from pg_attribute where attrelid = to_regclass(%s) "
        "and attname = %s and attnum > 0 and not attisdropped)",
        (qualified, column),
    ).fetchone()[0]


class GateBlocked(RuntimeError):
    """A gate had at least one blocking failure; `gate_result` is the gate's result, from which
    the failing task's alert names suite, table, column and expectation (include/alerts.py)."""

    def __init__(self, message: str, gate_result: GateResult):
        super().__init__(message)
        self.gate_result = gate_result


def raise_if_blocked(result: GateResult) -> None:
    """Raise GateBlocked naming each blocking failure; return quietly when the gate passed."""
    if result["success"]:
        return
    lines = [
        f"  {f['table']}{'.' + f['column'] if f.get('column') else ''}: "
        f"{f.get('description') or f['expectation']} (observed {f.get('observed')})"
        for f in result["blocking_failures"]
    ]
    raise GateBlocked(
        f"quality gate {result['checkpoint']!r} for AS_OF {result['as_of']} blocked: "
        f"{len(lines)} blocking failure(s); data docs: {result.get('docs_path')}\n" + "\n".join(lines),
        result,
    )


def _select(suites: list[Suite], tables: Iterable[str] | None) -> list[Suite]:
    if tables is None:
        return suites
    wanted = set(tables)
    unknown = wanted - {s.qualified_table for s in suites}
    if unknown:
        raise ValueError(f"no suite checks {sorted(unknown)}; known: {[s.qualified_table for s in suites]}")
    return [s for s in suites if s.qualified_table in wanted]


def _table_exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    qualified = sql.Identifier(schema, table).as_string(conn)
    return conn.execute("select to_regclass(%s) is not null", (qualified,)).fetchone()[0]


def _row_count(conn: psycopg.Connection, qualified: str) -> int | None:
    schema, table = qualified.split(".", 1)
    if not _table_exists(conn, schema, table):
        return None
    query = sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))
    return conn.execute(query).fetchone()[0]


def _band(expectation: dict) -> float:
    meta = expectation["meta"]
    override = os.environ.get(ROW_BAND_ENV.format(severity=meta["severity"].upper()))
    return float(override) if override else float(meta["row_count_band"])


def _parameters(conn: psycopg.Connection, suites: list[Suite], as_of: dt.date) -> tuple[dict, dict]:
    """Suite parameters computed at run time: AS_OF, and row-count bounds from the published tables.

    Returns the parameters for GX and, per parameter name, a note for the audit trail (the
    previous count and the band), so a failed band check says what it compared against.
    """
    parameters: dict = {"as_of_set": [as_of.isoformat()]}
    notes: dict = {}
    for suite in suites:
        for expectation in suite.expectations:
            meta = expectation["meta"]
            if "previous_table" not in meta:
                continue
            previous = _row_count(conn, meta["previous_table"])
            band = _band(expectation)
            # First publication: nothing to compare with, so any count passes.
            low = 0 if previous is None else math.ceil(round(previous * (1 - band), 6))
            high = None if previous is None else math.floor(round(previous * (1 + band), 6))
            parameters[meta["min_parameter"]] = low
            if "max_parameter" in meta:
                parameters[meta["max_parameter"]] = high
            notes[meta["min_parameter"]] = {
                "previous_table": meta["previous_table"],
                "previous_row_count": previous,
                "band": band,
                "allowed_min": low,
                "allowed_max": high if "max_parameter" in meta else None,
            }
    return parameters, notes


def _sqlalchemy_url(conninfo: str) -> str:
    """GX wants an SQLAlchemy URL with a host; accept any libpq conninfo (URL or key=value)."""
    from sqlalchemy.engine import URL

    parts = psycopg.conninfo.conninfo_to_dict(conninfo)
    host = parts.pop("host", None) or "127.0.0.1"
    port = parts.pop("port", None)
    url = URL.create(
        "postgresql+psycopg2",
        username=_text(parts.pop("user", None)),
        password=_text(parts.pop("password", None)),
        host=str(host),
        port=int(port) if port else None,
        database=_text(parts.pop("dbname", None)),
        query={k: str(v) for k, v in parts.items()},
    )
    return url.render_as_string(hide_password=False)


def _text(value) -> str | None:
    return None if value is None else str(value)


def _teach_sqlalchemy_xid8() -> None:
    """GX reflects every column's type; SQLAlchemy does not know `xid8` (staging's `_load_xid`)
    and GX then fails each expectation on the table ("Can't generate DDL for NullType")."""
    from sqlalchemy.dialects.postgresql.base import PGDialect
    from sqlalchemy.types import UserDefinedType

    class XID8(UserDefinedType):
        cache_ok = True

        def get_col_spec(self, **kw) -> str:
            return "XID8"

    PGDialect.ischema_names.setdefault("xid8", XID8)


def _context(site_dir: Path):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # Only our site: the ephemeral context's default one would litter a temporary directory.
    for name in list(context.list_data_docs_sites()):
        context.delete_data_docs_site(name)
    site_dir.mkdir(parents=True, exist_ok=True)
    context.add_data_docs_site(
        "quality",
        {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    return context


def _validate(
    conninfo: str,
    checkpoint: str,
    suites: list[Suite],
    parameters: dict,
    notes: dict,
    run_id: str,
    site_dir: Path,
    scopes: dict[str, dict],
    queries: dict[str, str],
    notes_by_table: dict[str, dict],
) -> tuple[list[dict], Path]:
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    _teach_sqlalchemy_xid8()
    context = _context(site_dir)
    # A scoped batch (a query) is read once into a temporary table, and every expectation runs on
    # that: the big table is scanned once, not once per expectation. Table assets are unaffected.
    source = context.data_sources.add_postgres(
        "warehouse", connection_string=_sqlalchemy_url(conninfo), create_temp_table=True
    )
    definitions = []
    by_name: dict[str, tuple[Suite, dict | None]] = {}
    for suite in suites:
        table = suite.qualified_table
        spec = scopes.get(table)
        scoped, whole = scoping.split(suite.expectations, spec) if spec else ([], suite.expectations)
        # Whole-table results of a scoped or incremental run say why they saw every row.
        whole_note = notes_by_table.get(table)
        if spec:
            whole_note = {"rows": "all", "why": "a statement about the whole table"}
        parts = [
            (" [new rows]", scoped, queries.get(table), {**(notes_by_table.get(table) or {})}),
            ("", whole, None, whole_note),
        ]
        for suffix, expectations, query, note in parts:
            if not expectations:
                continue
            name = suite.document["name"] + suffix
            if query:
                asset = source.add_query_asset(table + suffix, query=query)
                batch = asset.add_batch_definition_whole_table("new rows")
            else:
                asset = source.add_table_asset(table, table_name=suite.table, schema_name=suite.schema)
                batch = asset.add_batch_definition_whole_table("whole table")
            definitions.append(
                context.validation_definitions.add(
                    gx.ValidationDefinition(name=name, data=batch, suite=_gx_suite(context, suite, name, expectations))
                )
            )
            by_name[name] = (suite, note)
    gx_checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=checkpoint,
            validation_definitions=definitions,
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data docs", site_names=["quality"])],
            result_format={"result_format": "SUMMARY"},
        )
    )
    outcome = gx_checkpoint.run(
        expectation_parameters=parameters, run_id=RunIdentifier(run_name=f"{checkpoint}-{run_id}")
    )
    results = []
    for validation in outcome.run_results.values():
        suite, note = by_name[validation.suite_name]
        results += [_result(suite, r, notes, note) for r in validation.results]
    return results, site_dir / "index.html"


def _gx_suite(context, suite: Suite, name: str, expectations: list[dict]):
    from great_expectations.core.expectation_suite import ExpectationSuite

    document = json.loads(json.dumps({**suite.document, "name": name, "expectations": expectations}))
    return context.suites.add(ExpectationSuite(**document))


def _column(kwargs: dict) -> str | None:
    if kwargs.get("column"):
        return kwargs["column"]
    if kwargs.get("column_list"):
        return ",".join(kwargs["column_list"])
    if kwargs.get("column_A"):
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    return None


def _json_safe(value):
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def _result(suite: Suite, validation_result, notes: dict, scope_note: dict | None = None) -> dict:
    config = validation_result.expectation_config
    meta = config.meta or {}
    observed = {k: v for k, v in (validation_result.result or {}).items() if k not in _OBSERVED_SKIP}
    if scope_note:
        observed["scope"] = scope_note
    note = notes.get(meta.get("min_parameter"))
    if note:
        observed["compared_with"] = note
    error = _exception_message(validation_result.exception_info)
    if error:
        # A broken expectation (e.g. a column the model no longer has) must not pass quietly.
        observed["error"] = error
    return {
        "suite": suite.document["name"],
        "expectation": config.type,
        "description": config.description,
        "table": suite.qualified_table,
        "column": _column(config.kwargs or {}),
        "severity": meta["severity"],
        "success": bool(validation_result.success) and not error,
        "observed": _json_safe(observed),
    }


def _exception_message(info) -> str | None:
    """GX reports exceptions either flat or keyed by metric; return the first message, if any."""
    if not info:
        return None
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for entry in entries:
        if entry.get("raised_exception"):
            return str(entry.get("exception_message") or "expectation raised an exception")
    return None


def _skipped_result(suite: Suite, spec: dict) -> dict:
    """Nothing loaded for this table in this run: recorded, so 'not scanned' is visible, and passing."""
    return {
        "suite": suite.document["name"],
        "expectation": "rows_in_scope",
        "description": f"{suite.qualified_table}: no rows in this run's scope (no file loaded), table not scanned",
        "table": suite.qualified_table,
        "column": None,
        "severity": "warning",
        "success": True,
        "observed": {"scope": {"rows": "none", **spec}, "skipped": True},
    }


def _missing_table_result(suite: Suite) -> dict:
    return {
        "suite": suite.document["name"],
        "expectation": "table_exists",
        "description": f"{suite.qualified_table} exists",
        "table": suite.qualified_table,
        "column": None,
        "severity": suite.missing_table_severity,
        "success": False,
        "observed": {"error": f"table {suite.qualified_table} does not exist"},
    }
