"""Change-set benchmark: writing a publication's change set vs writing its full table.

    python bench/export_delta.py [--rows 300000] [--changed-share 0.01] [--repeat 3]

A scratch database gets a published `export` schema (tests/publish/builders.py published_export)
with `rows` enterprises, of which `changed_share` changed since the previous publication (the
daily case: 1 % of the subjects at city scale). In one process and one snapshot, as
`export.write_exports` does it, each dataset's Parquet and CSV files are written by the export's
own writer (`export._write_dataset`): the full financing_profile (the baseline) and
financing_penalties, then their change sets. Modes run interleaved `repeat` times; the fastest
of each counts. Prints a table and writes bench/results/export_delta.json. A ratio, not a
pass/fail: the target (a change set in at most 10 % of the full table's time) is read off here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common import machine, print_table, ratio, scratch_bench_database, write_results  # noqa: E402

AS_OF = dt.date(2026, 6, 30)
VERSION = f"{AS_OF.isoformat()}.1"
MODES = ("financing_profile", "financing_penalties", "financing_profile_changes", "financing_penalties_changes")


def bench(url: str, rows: int, changed_share: float, repeat: int, work: Path) -> list[dict]:
    import psycopg

    from include import export
    from tests.publish.builders import published_export

    published_export(url, rows, AS_OF, VERSION, changed_share=changed_share)
    datasets = {d.table: d for d in export.DATASETS}
    runs: dict[str, list[dict]] = {m: [] for m in MODES}
    with psycopg.connect(url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            columns = {m: export._columns(conn, datasets[m]) for m in MODES}
            for attempt in range(repeat + 1):  # the first round pays imports and caches, untimed
                for mode in MODES:
                    started = time.perf_counter()
                    written, files = export._write_dataset(conn, work, datasets[mode], columns[mode])
                    seconds = time.perf_counter() - started
                    for tmp in files.values():
                        tmp.unlink()
                    if attempt:
                        runs[mode].append({"seconds": seconds, "rows": written})
    results = []
    for mode in MODES:
        best = min(runs[mode], key=lambda r: r["seconds"])
        results.append(
            {
                "dataset": mode,
                "rows": best["rows"],
                "seconds": round(best["seconds"], 3),
                "all_seconds": [round(r["seconds"], 3) for r in runs[mode]],
            }
        )
    baseline = results[0]["seconds"]
    for r in results:
        r["vs_full_profile"] = ratio(r["seconds"], baseline)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000, help="enterprises in export.financing_profile")
    parser.add_argument(
        "--changed-share", type=float, default=0.01, help="share of them changed since the last publication"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per dataset, interleaved; the fastest counts")
    args = parser.parse_args(argv)

    machine_info = machine()
    with tempfile.TemporaryDirectory() as tmp, scratch_bench_database() as url:
        results = bench(url, args.rows, args.changed_share, args.repeat, Path(tmp))
    print_table(
        results,
        [
            ("dataset", "dataset", ""),
            ("rows", "rows", ",d"),
            ("seconds", "seconds", ".3f"),
            ("vs_full_profile", "vs full profile", ".3f"),
        ],
    )
    delta = results[2]["seconds"] + results[3]["seconds"]
    full = results[0]["seconds"] + results[1]["seconds"]
    share = ratio(delta, full)
    print(f"change sets written in {delta:.3f} s = {share:.1%} of the full tables' {full:.3f} s")
    path = write_results(
        "export_delta",
        {
            "benchmark": "export_delta",
            "machine": machine_info,
            "parameters": {**vars(args), "as_of": AS_OF.isoformat()},
            "results": results,
            "change_sets_vs_full_tables": share,
        },
    )
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
