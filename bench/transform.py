"""Transform benchmark (docs/spec/CONTRACT.md §6): `dbt build` at 1x and 10x subjects, and the daily
incremental run after 1 % new deliveries, measured side by side.

    python bench/transform.py [--subjects 2000] [--scales 1,10] [--share 0.01] [--explain 3]
                              [--as-of YYYY-MM-DD] [--keep] [--reuse DATABASE] [--name transform]

Per scale: the sample (include.sample_data.write_sample, cached under /tmp/bench-transform-<n>/)
is ingested with include.ingest.ingest_all into a fresh database of the embedded PostgreSQL
of STATE_DIR (or WAREHOUSE_URL's server; the database is dropped afterwards); then
  1. `dbt build --full-refresh`: wall time, peak RSS of the dbt process tree, peak PSS of the
     server, temp bytes the server spilled; per model from target/run_results.json;
  2. the build is recorded as published (audit.publication_log, as the publish step does);
  3. daily runs, each: corrections for `share` of the subjects (one tax file and one utilities
     file with their latest month, delivered later on as-of), loaded with include.ingest.load_file,
     then `dbt build` without --full-refresh, then recorded as published. The first after a full
     rebuild also re-tests the rebuilt staging rows; the next `--daily-runs` (3) are the steady
     state, and the median of them gives the ratio incremental/full (all are in the JSON); then a
     build with nothing delivered, the floor every build pays.
     Every build starts from one `dbt parse`'s cache, as a deployment's builds do, and runs in
     one dbt process that imported dbt once (tests/support/dbt_process.py: dbtRunner, as the transform DAG
     runs dbt); what a fresh process would add, dbt's import, is measured and reported beside;
  4. EXPLAIN (ANALYZE, BUFFERS) of the slowest models' compiled SQL.
Prints the tables and writes bench/results/<name>.json. Target: incremental ≤ 10 % of full.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

import psycopg  # noqa: E402
from common import MB, TreeMonitor, machine, postmaster_pid, print_table, ratio, write_results  # noqa: E402
from psycopg import sql  # noqa: E402

from tests.support.dbt_process import DbtProcess  # noqa: E402

DEFAULT_AS_OF = "2026-06-30"
TARGET_INCREMENTAL_SHARE = 0.10
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
CORRECTED_FEEDS = ("tax", "utilities")


# --- data -----------------------------------------------------------------------------------------
def sample_landing(subjects: int, as_of: dt.date) -> tuple[Path, float | None]:
    """The sample for `subjects`, written once and reused (seconds spent writing, None if reused)."""
    from include.sample_data import write_sample

    base = Path(f"/tmp/bench-transform-{subjects}")
    landing, marker = base / "landing", base / f".complete-{as_of}"
    if marker.exists():
        return landing, None
    shutil.rmtree(base, ignore_errors=True)
    started = time.perf_counter()
    write_sample(landing, subjects, as_of)
    seconds = time.perf_counter() - started
    marker.touch()
    return landing, seconds


def _cell(value, column_type: str) -> str:
    """A raw (normalised) value written back the way a department writes it."""
    if value is None:
        return ""
    if column_type == "month":
        return f"{value:%Y-%m}"
    if column_type == "flag":
        return "是" if value else "否"
    return str(value)


def write_corrections(
    url: str, landing: Path, subjects: int, share: float, as_of: dt.date
) -> dict[str, tuple[str, int]]:
    """For round(share × subjects) subjects: their latest-month rows of tax and utilities again,
    amounts changed, in one new file per feed delivered on as-of at 09:00, or a minute after the
    feed's latest delivery if that is later (a reused database's earlier corrections). Returns
    {feed: (file name, rows)}."""
    from include import feeds

    picked = max(1, round(subjects * share))
    written = {}
    with psycopg.connect(url) as conn:
        for feed in CORRECTED_FEEDS:
            contract = feeds.get(feed)
            columns = [(c.name, c.header, c.type) for c in contract.columns]
            # a required amount (tax_due, amount_due): an optional one may be blank on every row
            # picked at a small scale, and the next day's file would be the same bytes (a duplicate)
            money = [c.name for c in contract.columns if c.type == "money" and c.required][0]
            table = sql.Identifier("raw", feed)
            # the sample's own rows (not an earlier run's corrections, which a reused database holds:
            # they would multiply), with amounts changed by a factor new to each correction file
            originals = sql.SQL(
                "select t.* from {t} as t join audit.file_ledger as l"
                " on l.sha256 = t._file_sha256 and l.feed = %s"
                " where l.file_name not like 'bench\\_correction\\_%%'"
            ).format(t=table)
            query = sql.SQL(
                "with original as ({originals}), "
                "latest as (select max(period) as period from original), "
                "chosen as (select distinct uscc from original where period = (select period from latest) "
                "           order by uscc limit %s) "
                "select {cols} from original join chosen using (uscc) where period = (select period from latest)"
            ).format(originals=originals, cols=sql.SQL(", ").join(sql.Identifier("original", c) for c, _, _ in columns))
            rows = conn.execute(query, (feed, picked)).fetchall()
            earlier = conn.execute(
                "select count(*) from audit.file_ledger where feed = %s and file_name like 'bench\\_correction\\_%%'",
                (feed,),
            ).fetchone()[0]
            factor = Decimal(100 + earlier + 1) / 100
            # Named and dated after every earlier correction file, a reused database's too: the
            # latest delivery of a key wins by (arrival, file name, row), so a file that ties with
            # an earlier run's (same name, same arrival) changes nothing, and a "daily run" that
            # changes nothing measures nothing (it did, on reused databases, until 2026-11-30).
            sequence = earlier + 1
            last = conn.execute("select max(received_at) from audit.file_ledger where feed = %s", (feed,)).fetchone()[0]
            arrived = max(
                dt.datetime.combine(as_of, dt.time(9, 0), SHANGHAI),
                (last or dt.datetime.min.replace(tzinfo=SHANGHAI)) + dt.timedelta(minutes=1),
            ).timestamp()
            path = landing / feed / f"bench_correction_{feed}_{as_of:%Y%m%d}_{sequence:04d}.csv"
            with path.open("w", encoding="utf-8", newline="") as f:
                out = csv.writer(f)
                out.writerow([h for _, h, _ in columns])
                for row in rows:
                    values = dict(zip([c for c, _, _ in columns], row))
                    if values[money] is not None:
                        # a corrected amount, different in every correction file (a 0 too)
                        values[money] = round(values[money] * factor, 2) + factor / 100
                    out.writerow([_cell(values[c], t) for c, _, t in columns])
            os.utime(path, (arrived, arrived))
            written[feed] = (path.name, len(rows))
    return written


# --- dbt ------------------------------------------------------------------------------------------
def temp_bytes(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(
            conn.execute("select temp_bytes from pg_stat_database where datname = current_database()").fetchone()[0]
        )


def _dbt_command(url: str, as_of: dt.date, args: list[str], target: Path) -> tuple[list[str], dict]:
    """The arguments include.transform.run_dbt gives dbt, and the environment it adds."""
    from include.transform import dbt_arguments, dbt_run_env

    return dbt_arguments(args, as_of, target_path=target), dbt_run_env(url)


def dbt_parse(url: str, as_of: dt.date, target: Path) -> float:
    """`dbt parse` once per scale: its partial_parse.msgpack is given to every measured build, as a
    deployment keeps dbt_project/target between runs (and Cosmos its parse cache), so the builds
    compare the work of the build, not a cold parse (~3.5 s) each. Returns the parse's seconds."""
    from include.transform import PROJECT_DIR, dbt_executable

    shutil.rmtree(target, ignore_errors=True)
    arguments, env = _dbt_command(url, as_of, ["parse"], target)
    started = time.perf_counter()
    done = subprocess.run(
        [dbt_executable(), *arguments], cwd=PROJECT_DIR, env={**os.environ, **env}, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"dbt parse failed (exit {done.returncode}):\n{(done.stdout + done.stderr)[-4000:]}")
    return round(time.perf_counter() - started, 2)


def dbt_import_seconds(tries: int = 3) -> float:
    """What a fresh `dbt` process pays before any work: Python importing dbt and its adapter (best
    of `tries`). The builds run in one warm process (DbtProcess) and do not pay it; it is reported
    beside them, and added to both sides for the ratio a fresh process per build would see."""
    command = [sys.executable, "-c", "import dbt.cli.main, dbt.adapters.postgres"]
    best = None
    for _ in range(tries):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        seconds = time.perf_counter() - started
        best = seconds if best is None else min(best, seconds)
    return round(best, 2)


def dbt_build(
    dbt: DbtProcess,
    url: str,
    as_of: dt.date,
    target: Path,
    full_refresh: bool,
    parse_cache: Path | None = None,
    exclude: tuple[str, ...] = (),
) -> dict:
    """One `dbt build` (the arguments include.transform.run_dbt gives) in the warm dbt process,
    with its tree's memory polled. `exclude`: dbt selectors left out (bench/daily_floor.py's what-if)."""
    from include import settings
    from include.transform import PRODUCTION_DBT_ENV

    command = ["build", *(["--full-refresh"] if full_refresh else []), *(["--exclude", *exclude] if exclude else [])]
    arguments, env = _dbt_command(url, as_of, command, target)
    shutil.rmtree(target, ignore_errors=True)
    if parse_cache is not None:
        target.mkdir(parents=True)
        shutil.copy2(parse_cache / "partial_parse.msgpack", target / "partial_parse.msgpack")
    spilled_before = temp_bytes(url)
    monitor = TreeMonitor(dbt.proc.pid, postgres_pid=postmaster_pid(settings.state_dir()), interval=0.25)
    monitor.start()
    started = time.perf_counter()
    reply = dbt.invoke(arguments, env={**env, **PRODUCTION_DBT_ENV})  # what the transform DAG builds
    seconds = time.perf_counter() - started
    memory = monitor.stop()
    if not reply["success"]:
        raise RuntimeError(f"dbt build failed: {reply['error'] or 'a node failed'}; dbt's output: {dbt.log.name}")
    nodes = node_timings(target / "run_results.json", monitor)
    return {
        "seconds": round(seconds, 2),
        **memory,
        "server_temp_mb": round((temp_bytes(url) - spilled_before) / MB, 1),
        "seconds_by_type": _by_type(nodes),
        "nodes": nodes,
    }


def mark_published(url: str, as_of: dt.date) -> None:
    """The daily run follows a publication. Record the full build as published the way the publish
    step does for the next build (audit.publication_log with the build's build_xmin), without the
    swap: tests of the big incremental tables then check the rows written since, as they do daily."""
    from include.publish import PUBLICATION_LOG_DDL

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(PUBLICATION_LOG_DDL)
        conn.execute(
            "insert into audit.publication_log (version, as_of, pipeline_version, row_counts, gate_results,"
            " build_xmin) select %s, %s, 'bench', '{}', '[]', build_xmin from staging.build_started",
            (f"{as_of.isoformat()}.bench-{time.time_ns()}", as_of),
        )


def _unix(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def node_timings(run_results: Path, monitor: TreeMonitor) -> list[dict]:
    """Every node's execute time from run_results.json, slowest first, with the memory peaks seen
    while it executed (dbt runs 2 threads: a peak may belong to the node running beside it)."""
    results = json.loads(run_results.read_text())["results"]
    nodes = []
    for r in results:
        execute = next((t for t in r.get("timing", []) if t["name"] == "execute"), None)
        row = {
            "node": r["unique_id"],
            "type": r["unique_id"].split(".")[0],
            "status": r["status"],
            "seconds": round(r.get("execution_time") or 0, 3),
            "rows_affected": (r.get("adapter_response") or {}).get("rows_affected"),
        }
        if execute and execute.get("started_at") and execute.get("completed_at"):
            row["dbt_tree_peak_mb"], row["server_peak_mb"] = monitor.peak_between(
                _unix(execute["started_at"]), _unix(execute["completed_at"])
            )
        nodes.append(row)
    return sorted(nodes, key=lambda n: -n["seconds"])


def _by_type(nodes: list[dict]) -> dict:
    totals: dict[str, float] = {}
    for n in nodes:
        totals[n["type"]] = round(totals.get(n["type"], 0) + n["seconds"], 2)
    return totals


def explain_slowest(url: str, target: Path, nodes: list[dict], count: int) -> list[dict]:
    """EXPLAIN (ANALYZE, BUFFERS) of the compiled SELECT of the `count` slowest models (read only,
    in a transaction rolled back), with the plan's most expensive lines."""
    plans = []
    for node in [n for n in nodes if n["type"] == "model"][:count]:
        name = node["node"].split(".")[-1]
        compiled = next((target / "compiled").rglob(f"{name}.sql"), None)
        if compiled is None:
            continue
        query = compiled.read_text()
        with psycopg.connect(url) as conn:
            conn.execute("set statement_timeout = '10min'")
            lines = [r[0] for r in conn.execute(sql.SQL("explain (analyze, buffers) ") + sql.SQL(query)).fetchall()]
            conn.rollback()
        plans.append(
            {
                "model": name,
                "build_seconds": node["seconds"],
                "hot_nodes": hot_nodes(lines),
                "plan": lines[:400],
                "execution_line": next((ln for ln in lines if ln.startswith("Execution Time")), None),
                "seq_scans": sum("Seq Scan" in ln for ln in lines),
                "sorts_on_disk": sum("external merge" in ln for ln in lines),
            }
        )
    return plans


ACTUAL = re.compile(r"actual time=[\d.]+\.\.(?P<total>[\d.]+) rows=(?P<rows>\d+) loops=(?P<loops>\d+)")


def hot_nodes(plan: list[str], count: int = 8) -> list[dict]:
    """The plan nodes with the most time (last row's time × loops, inclusive of their children):
    a node run once per outer row (loops in the thousands) is what makes a model quadratic."""
    nodes = []
    for line in plan:
        match = ACTUAL.search(line)
        if match and "->" in line:
            loops = int(match["loops"])
            nodes.append(
                {"node": line.strip()[:160], "ms_total": round(float(match["total"]) * loops, 1), "loops": loops}
            )
    return sorted(nodes, key=lambda n: -n["ms_total"])[:count]


def table_sizes(url: str) -> dict:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select n.nspname || '.' || c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid) "
            "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where c.relkind = 'r' and n.nspname in ('raw', 'staging', 'intermediate', 'marts_build', 'export_build') "
            "order by 3 desc limit 12"
        ).fetchall()
    return {name: {"rows": rows_, "mb": round(size / MB, 1)} for name, rows_, size in rows}


# --- one scale --------------------------------------------------------------------------------------
@contextlib.contextmanager
def existing_database(server_url: str, name: str):
    """A database kept by an earlier `--keep` run (its raw tables already loaded), left in place."""
    yield psycopg.conninfo.make_conninfo(server_url, dbname=name)


def bench_scale(
    server_url: str,
    subjects: int,
    as_of: dt.date,
    share: float,
    explain: int,
    keep: bool,
    reuse: str | None = None,
    daily_runs: int = 3,
) -> dict:
    from include.ingest import ingest_all
    from tests.support.scratch_db import scratch_database

    say(f"transform: {subjects:,} subjects — sample")
    landing, sample_seconds = sample_landing(subjects, as_of)
    for stale in landing.glob("*/bench_correction_*"):
        stale.unlink()  # a previous run's corrections
    work = Path(f"/tmp/bench-transform-{subjects}")
    database = (
        existing_database(server_url, reuse)
        if reuse
        else scratch_database(server_url, f"bench_tx_{subjects}", keep=keep)
    )
    with database as url:
        say(f"transform: {subjects:,} subjects — ingest" + (f" (reusing database {reuse})" if reuse else ""))
        started = time.perf_counter()
        loaded = [] if reuse else ingest_all(url, landing)
        ingest_seconds = time.perf_counter() - started
        if reuse:
            from include.ingest.schema import ensure_schemas

            ensure_schemas(url)  # the ledger as this code has it (e.g. load_xid)
            with psycopg.connect(url) as conn:
                rows, files = conn.execute(
                    "select coalesce(sum(rows_loaded), 0), count(*) from audit.file_ledger where status = 'loaded'"
                ).fetchone()
            loaded = [{}] * files
        else:
            rows = sum(r.get("rows_loaded") or 0 for r in loaded)
        parse_cache = work / "target-parse"
        parse_seconds = dbt_parse(url, as_of, parse_cache)
        with DbtProcess(work / "dbt-process.log") as dbt:
            say(f"transform: {subjects:,} subjects — dbt build --full-refresh ({rows:,} raw rows)")
            full = dbt_build(dbt, url, as_of, work / "target-full", full_refresh=True, parse_cache=parse_cache)
            sizes = table_sizes(url)
            # Two daily runs, each after a publication: the first after a full rebuild re-tests the
            # rebuilt staging rows (written since the published build began); the second is the
            # steady state of a daily run, and the one compared with the full build. Then a run with
            # nothing delivered: what every build costs whatever arrived (dbt, the published copies, tests).
            mark_published(url, as_of)
            first, _, _ = daily_run(dbt, url, landing, subjects, share, as_of, work, day=1, parse_cache=parse_cache)
            mark_published(url, as_of)
            # The steady state `daily_runs` times (days 2, 3, …), the median run compared: one run
            # of ~20 s moves by up to a third on this machine from one minute to the next.
            steady = []
            for day in range(2, 2 + daily_runs):
                steady.append(
                    daily_run(dbt, url, landing, subjects, share, as_of, work, day=day, parse_cache=parse_cache)
                )
                mark_published(url, as_of)
            incremental, corrections, correction_ingest = sorted(steady, key=lambda run: run[0]["seconds"])[
                (len(steady) - 1) // 2
            ]
            say(f"transform: {subjects:,} subjects — dbt build (nothing new)")
            nothing_new = dbt_build(
                dbt, url, as_of, work / "target-nothing-new", full_refresh=False, parse_cache=parse_cache
            )
        plans = explain_slowest(url, work / "target-full", full["nodes"], explain) if explain else []
    incremental_seconds = {n["node"]: n["seconds"] for n in incremental["nodes"]}
    imported = dbt_import_seconds()
    slowest = [
        dict(n, incremental_seconds=incremental_seconds.get(n["node"]))
        for n in full["nodes"]
        if n["type"] in ("model", "snapshot")
    ][:5]
    return {
        "subjects": subjects,
        "raw_rows_loaded": rows,
        "files": len(loaded),
        "sample_seconds": round(sample_seconds, 1) if sample_seconds is not None else None,
        "ingest_seconds": round(ingest_seconds, 1),
        "full": _summary(full),
        "incremental": _summary(incremental),
        "first_incremental_after_full": _summary(first),
        "first_incremental_vs_full": ratio(first["seconds"], full["seconds"]),
        "nothing_new": _summary(nothing_new),
        "nothing_new_vs_full": ratio(nothing_new["seconds"], full["seconds"]),
        "parse_seconds": parse_seconds,
        "dbt_import_seconds": imported,
        # the same ratios for a fresh dbt process per build: its import added to both sides
        "fresh_process_incremental_vs_full": ratio(incremental["seconds"] + imported, full["seconds"] + imported),
        "fresh_process_nothing_new_vs_full": ratio(nothing_new["seconds"] + imported, full["seconds"] + imported),
        "correction_rows": {f: n for f, (_, n) in corrections.items()},
        "correction_ingest_seconds": round(correction_ingest, 2),
        "incremental_vs_full": ratio(incremental["seconds"], full["seconds"]),
        "daily_runs_seconds": [run[0]["seconds"] for run in steady],
        "daily_runs_vs_full": [ratio(run[0]["seconds"], full["seconds"]) for run in steady],
        "slowest_models": slowest,
        "table_sizes": sizes,
        "explain": plans,
        "all_nodes_full": full["nodes"],
        "all_nodes_incremental": incremental["nodes"],
        "all_nodes_nothing_new": nothing_new["nodes"],
    }


def deliver_corrections(
    url: str, landing: Path, subjects: int, share: float, as_of: dt.date
) -> tuple[dict[str, tuple[str, int]], float]:
    """write_corrections' files, loaded as the ingest loads them: (the corrections, seconds loading)."""
    from include.ingest import load_file

    corrections = write_corrections(url, landing, subjects, share, as_of)
    started = time.perf_counter()
    for feed, (file_name, _) in corrections.items():
        result = load_file(url, feed, file_name, landing)
        assert result["status"] == "loaded", result
    return corrections, time.perf_counter() - started


def daily_run(
    dbt: DbtProcess,
    url: str,
    landing: Path,
    subjects: int,
    share: float,
    as_of: dt.date,
    work: Path,
    day: int,
    parse_cache: Path | None = None,
):
    """Corrections for `share` of the subjects delivered and loaded, then `dbt build` without
    --full-refresh (what the daily run does): (build, corrections, seconds loading them)."""
    corrections, loading = deliver_corrections(url, landing, subjects, share, as_of)
    say(
        f"transform: {subjects:,} subjects — dbt build (incremental day {day}, "
        f"{sum(n for _, n in corrections.values())} new rows)"
    )
    build = dbt_build(dbt, url, as_of, work / f"target-incremental-{day}", full_refresh=False, parse_cache=parse_cache)
    written = {
        n["node"].split(".")[-1]: n["rows_affected"]
        for n in build["nodes"]
        if n["node"].split(".")[-1] in ("stg_tax", "stg_utilities", "int_subject_facts")
    }
    if not all(written.values()):
        raise RuntimeError(f"daily run {day} rewrote nothing ({written}): it would measure a build with nothing new")
    build["rows_written"] = written
    return build, corrections, loading


def _summary(build: dict) -> dict:
    return {k: v for k, v in build.items() if k != "nodes"}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- report -----------------------------------------------------------------------------------------
def print_results(results: list[dict]) -> None:
    base = results[0]
    rows = []
    for r in results:
        rows.append(
            {
                "subjects": r["subjects"],
                "rows": r["raw_rows_loaded"],
                "full_s": r["full"]["seconds"],
                "x_full": ratio(r["full"]["seconds"], base["full"]["seconds"]),
                "x_rows": ratio(r["raw_rows_loaded"], base["raw_rows_loaded"]),
                "incr_s": r["incremental"]["seconds"],
                "incr_full": r["incremental_vs_full"],
                "none_s": r["nothing_new"]["seconds"],
                "none_full": r["nothing_new_vs_full"],
                "import_s": r["dbt_import_seconds"],
                "fresh_incr_full": r["fresh_process_incremental_vs_full"],
                "dbt_mb": r["full"]["peak_tree_rss_mb"],
                "pg_mb": r["full"]["peak_postgres_pss_mb"],
                "temp_mb": r["full"]["server_temp_mb"],
            }
        )
    print("\ntransform (`dbt build`):")
    print_table(
        rows,
        [
            ("subjects", "subjects", ","),
            ("rows", "raw rows", ","),
            ("full_s", "full s", ".1f"),
            ("x_full", "x full", ".2f"),
            ("x_rows", "x rows", ".2f"),
            ("incr_s", "incr s", ".1f"),
            ("incr_full", "incr/full", ".0%"),
            ("none_s", "nothing new s", ".1f"),
            ("none_full", "nothing/full", ".0%"),
            ("import_s", "dbt import s", ".1f"),
            ("fresh_incr_full", "incr/full, fresh process", ".0%"),
            ("dbt_mb", "dbt MB", ".0f"),
            ("pg_mb", "pg MB", ".0f"),
            ("temp_mb", "spill MB", ".0f"),
        ],
    )
    for r in results:
        runs = ", ".join(
            f"{sec:.1f} s ({share:.1%})" for sec, share in zip(r["daily_runs_seconds"], r["daily_runs_vs_full"])
        )
        print(f"steady daily runs at {r['subjects']:,} subjects: {runs}; the median one is in the table")
    for r in results:
        print(f"\nfive slowest models at {r['subjects']:,} subjects (full build; incremental beside it):")
        print_table(
            [dict(n, node=n["node"].split(".")[-1]) for n in r["slowest_models"]],
            [
                ("node", "model", ""),
                ("seconds", "full s", ".1f"),
                ("incremental_seconds", "incr s", ".1f"),
                ("dbt_tree_peak_mb", "dbt MB", ".0f"),
                ("server_peak_mb", "pg MB", ".0f"),
            ],
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=2000, help="subjects at 1x")
    parser.add_argument("--scales", default="1,10", help="multiples of --subjects, comma-separated")
    parser.add_argument("--share", type=float, default=0.01, help="share of subjects with new deliveries")
    parser.add_argument("--explain", type=int, default=3, help="EXPLAIN ANALYZE the N slowest models (0: none)")
    parser.add_argument("--as-of", default=os.environ.get("AS_OF", DEFAULT_AS_OF))
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    parser.add_argument("--name", default="transform")
    parser.add_argument(
        "--daily-runs",
        type=int,
        default=3,
        help="steady-state daily runs per scale; the median one is compared with the full build",
    )
    parser.add_argument(
        "--reuse",
        metavar="DATABASE",
        help="use this database kept by an earlier --keep run instead of ingesting again (one scale)",
    )
    args = parser.parse_args(argv)
    as_of = dt.date.fromisoformat(args.as_of)
    scales = [int(s) for s in args.scales.split(",")]
    from include import warehouse

    info = machine()
    server_url = warehouse.start("postgres")  # scratch databases beside the warehouse
    if args.reuse and len(scales) != 1:
        parser.error("--reuse takes one scale")
    results = [
        bench_scale(
            server_url,
            args.subjects * k,
            as_of,
            args.share,
            args.explain,
            args.keep,
            args.reuse,
            daily_runs=args.daily_runs,
        )
        for k in scales
    ]
    print_results(results)
    targets = {
        "incremental_at_most_10_percent": all(r["incremental_vs_full"] <= TARGET_INCREMENTAL_SHARE for r in results)
    }
    print(f"targets: {targets}")
    write_results(
        args.name,
        {
            "benchmark": "transform",
            "machine": info,
            "parameters": {
                "subjects_1x": args.subjects,
                "scales": scales,
                "share": args.share,
                "daily_runs": args.daily_runs,
                "as_of": args.as_of,
                "dbt_threads": os.environ.get("DBT_THREADS", "2"),
            },
            "results": results,
            "targets": targets,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
