"""What the daily build would cost if the published tables were not rebuilt whole: an upper bound
of what building them incrementally could save (docs/performance.md "Targets").

    python bench/daily_floor.py --reuse DATABASE [--subjects 300000] [--rounds 3] [--share 0.01]
                                [--as-of YYYY-MM-DD] [--name daily_floor_city]

On a database kept by `bench/transform.py --keep` (raw loaded), in one warm dbt process as
bench/transform.py builds: a full build, one daily build (it re-tests the rebuilt staging rows),
then `--rounds` rounds of, for each variant, a build with nothing new and a daily build after
`share` of the subjects' corrections (bench/transform.py's). The variants:
  as built              every node (the baseline, measured in the same rounds)
  large published kept  LARGE_PUBLISHED left out (not rebuilt)
  all published kept    every model of marts and export left out
A variant that leaves tables out is a what-if, not a valid build: the tables it left out are stale,
so a complete build follows it (not measured) before the next build and publication mark.
Last, beside a build with nothing new as built: what copying the large published tables into a
fresh schema costs (indexes included, then ANALYZE), i.e. a publication swap that carried its tables
forward into the next build's schema by copying them. `--rounds 0` measures only that.
Prints the medians and their ratio to the full build; writes bench/results/<name>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import psycopg  # noqa: E402
from common import machine, print_table, ratio, write_results  # noqa: E402
from psycopg import sql  # noqa: E402
from transform import (  # noqa: E402
    DEFAULT_AS_OF,
    dbt_build,
    dbt_parse,
    deliver_corrections,
    existing_database,
    mark_published,
    sample_landing,
    say,
)

from tests.support.dbt_process import DbtProcess  # noqa: E402

# The published tables with a row per subject, record or returned row, and unit_returns, which
# summarises every returned row: what an incremental build could leave as it is when few of
# those change. The rest of marts are scorecards and bulletins, computed over the window anyway.
LARGE_PUBLISHED = (
    "credit_events",
    "subject_archive",
    "subject_archive_history",
    "unit_corrections",
    "unit_returns",
    "financing_profile",
    "financing_profile_changes",
    "financing_penalties",
    "financing_penalties_changes",
)
VARIANTS: dict[str, tuple[str, ...]] = {
    "as built": (),
    "large published kept": LARGE_PUBLISHED,
    "all published kept": ("path:models/marts", "path:models/export"),
}


def deliver(url: str, landing: Path, subjects: int, share: float, as_of: dt.date) -> int:
    """bench/transform.py's corrections, loaded; their row count."""
    corrections, _ = deliver_corrections(url, landing, subjects, share, as_of)
    return sum(rows for _, rows in corrections.values())


def summary(build: dict) -> dict:
    return {
        "seconds": build["seconds"],
        "nodes": len(build["nodes"]),
        "node_seconds": round(sum(n["seconds"] for n in build["nodes"]), 2),
    }


def copy_forward(url: str, reference: dict) -> dict:
    """Each large published table copied into a scratch schema (dropped afterwards) with its
    indexes, and analysed: seconds per table, beside what its model took in `reference`."""
    built = {n["node"].split(".")[-1]: n["seconds"] for n in reference["nodes"] if n["type"] == "model"}
    copied = {}
    with psycopg.connect(url, autocommit=True) as conn:
        scratch = sql.Identifier("bench_copy_forward")
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(scratch))
        conn.execute(sql.SQL("create schema {}").format(scratch))
        try:
            for name in LARGE_PUBLISHED:
                found = conn.execute(
                    "select table_schema from information_schema.tables"
                    " where table_schema in ('marts_build', 'export_build') and table_name = %s",
                    (name,),
                ).fetchone()
                if found is None:
                    raise RuntimeError(f"{name} is in neither marts_build nor export_build: did the build make it?")
                (schema,) = found
                source, target = sql.Identifier(schema, name), sql.Identifier("bench_copy_forward", name)
                started = time.perf_counter()
                conn.execute(sql.SQL("create table {} (like {} including all)").format(target, source))
                conn.execute(sql.SQL("insert into {} select * from {}").format(target, source))
                conn.execute(sql.SQL("analyze {}").format(target))
                copied[name] = round(time.perf_counter() - started, 2)
        finally:
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(scratch))
    return {
        "copy_seconds": copied,
        "copy_total": round(sum(copied.values()), 2),
        "model_seconds": {name: built.get(name) for name in LARGE_PUBLISHED},
        "model_total": round(sum(built.get(name) or 0 for name in LARGE_PUBLISHED), 2),
    }


def measure(server_url: str, database: str, subjects: int, share: float, rounds: int, as_of: dt.date) -> dict:
    landing, _ = sample_landing(subjects, as_of)
    for stale in landing.glob("*/bench_correction_*"):
        stale.unlink()  # a previous run's corrections
    work = Path(f"/tmp/bench-transform-{subjects}")
    builds: dict[str, dict[str, list[dict]]] = {kind: {v: [] for v in VARIANTS} for kind in ("nothing_new", "daily")}
    with existing_database(server_url, database) as url:
        parse_cache = work / "target-parse"
        dbt_parse(url, as_of, parse_cache)
        with DbtProcess(work / "dbt-process.log") as dbt:

            def build(name: str, exclude: tuple[str, ...] = (), full_refresh: bool = False) -> dict:
                target = work / f"target-floor-{name}"
                return dbt_build(dbt, url, as_of, target, full_refresh, parse_cache, exclude=exclude)

            say(f"daily floor: {subjects:,} subjects — full build")
            full = summary(build("full", full_refresh=True))
            mark_published(url, as_of)
            deliver(url, landing, subjects, share, as_of)
            build("first-daily")
            mark_published(url, as_of)
            for round_no in range(1, rounds + 1):
                for kind in ("nothing_new", "daily"):
                    for variant, exclude in VARIANTS.items():
                        rows = deliver(url, landing, subjects, share, as_of) if kind == "daily" else 0
                        say(f"daily floor: round {round_no}, {kind}, {variant} ({rows} new rows)")
                        builds[kind][variant].append(summary(build(kind, exclude)))
                        if exclude:
                            build("complete")  # the tables left out are stale: not a publication
                        mark_published(url, as_of)
            say(f"daily floor: {subjects:,} subjects — nothing new, then the large published tables copied")
            reference = build("reference")
            carried = copy_forward(url, reference)
    medians = {
        kind: {
            variant: {
                "median_seconds": statistics.median(b["seconds"] for b in runs),
                "vs_full": ratio(statistics.median(b["seconds"] for b in runs), full["seconds"]),
                "runs": runs,
            }
            for variant, runs in by_variant.items()
            if runs
        }
        for kind, by_variant in builds.items()
    }
    return {"full": full, **medians, "reference_nothing_new": summary(reference), "copy_forward": carried}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reuse", required=True, metavar="DATABASE", help="a database kept by bench/transform.py --keep"
    )
    parser.add_argument("--subjects", type=int, default=300_000, help="the sample the database was loaded from")
    parser.add_argument("--share", type=float, default=0.01)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--as-of", default=os.environ.get("AS_OF", DEFAULT_AS_OF))
    parser.add_argument("--name", default="daily_floor_city")
    args = parser.parse_args(argv)
    from include import warehouse

    info = machine()
    server_url = warehouse.start("postgres")
    as_of = dt.date.fromisoformat(args.as_of)
    result = measure(server_url, args.reuse, args.subjects, args.share, args.rounds, as_of)
    rows = [
        {"kind": kind, "variant": variant, "median": m["median_seconds"], "ratio": 100 * m["vs_full"]}
        for kind in ("nothing_new", "daily")
        for variant, m in result[kind].items()
    ]
    print(f"full build: {result['full']['seconds']} s, {result['full']['nodes']} nodes")
    carried = result["copy_forward"]
    print(
        f"the large published tables: copied {carried['copy_total']} s, built {carried['model_total']} s"
        f" (node time in a build with nothing new, {result['reference_nothing_new']['seconds']} s)"
    )
    print_table(
        rows,
        [
            ("kind", "build", ""),
            ("variant", "variant", ""),
            ("median", "median s", ".2f"),
            ("ratio", "% of full", ".1f"),
        ],
    )
    write_results(
        args.name,
        {
            "benchmark": "daily_floor",
            "machine": info,
            "parameters": {
                "subjects": args.subjects,
                "share": args.share,
                "rounds": args.rounds,
                "as_of": args.as_of,
                "dbt_threads": os.environ.get("DBT_THREADS", "2"),
                "variants": VARIANTS,
            },
            "results": result,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
