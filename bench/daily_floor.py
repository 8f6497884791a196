"""What the daily build would cost if the published tables were not rebuilt whole: an upper bound
of what building them incrementally could save (docs/performance.md "Targets").

    python bench/daily_floor.py --reuse DATABASE [--subjects 300000] [--rounds 3] [--share 0.01]
                                [--as-of YYYY-MM-DD] [--name daily_floor_city]

On a database kept by `bench/transform.py --keep` (raw loaded), in one warm dbt process as
bench/transform.py builds: a full build, one daily build (it re-tests the rebuilt staging rows),
then `--rounds` rounds of, for each variant, a build with nothing new and a daily build after
`share` of the subjects' corrections (bench/transform.py's). The variants:
  as built              every node (the baseline, measured in the same rounds)
  large published kept  the published tables of more than ~10,000 rows left out (not rebuilt)
  all published kept    every model of marts and export left out
A variant that leaves tables out is a what-if, not a valid build: the tables it left out are stale,
so a complete build follows it (not measured) before the next build and publication mark.
Prints the medians and their ratio to the full build; writes bench/results/<name>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from common import machine, print_table, ratio, write_results  # noqa: E402
from transform import (  # noqa: E402
    DEFAULT_AS_OF,
    dbt_build,
    dbt_parse,
    existing_database,
    mark_published,
    sample_landing,
    say,
    write_corrections,
)

from tests.support.dbt_process import DbtProcess  # noqa: E402

# Rebuilt whole by every build; at city scale each holds 8,000–800,000 rows (the rest of marts
# are scorecards and returns of a few hundred rows, computed over the window anyway).
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
    """bench/transform.py's corrections, loaded as the ingest loads them; their row count."""
    from include.ingest import load_file

    corrections = write_corrections(url, landing, subjects, share, as_of)
    for feed, (file_name, _) in corrections.items():
        result = load_file(url, feed, file_name, landing)
        assert result["status"] == "loaded", result
    return sum(rows for _, rows in corrections.values())


def summary(build: dict) -> dict:
    return {
        "seconds": build["seconds"],
        "nodes": len(build["nodes"]),
        "node_seconds": round(sum(n["seconds"] for n in build["nodes"]), 2),
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
    medians = {
        kind: {
            variant: {
                "median_seconds": statistics.median(b["seconds"] for b in runs),
                "vs_full": ratio(statistics.median(b["seconds"] for b in runs), full["seconds"]),
                "runs": runs,
            }
            for variant, runs in by_variant.items()
        }
        for kind, by_variant in builds.items()
    }
    return {"full": full, **medians}


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
