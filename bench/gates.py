"""Gate benchmark: the raw gate scoped to one run's files vs the same gate over the whole table.

    python bench/gates.py [--rows 1000000] [--new-share 0.01] [--repeat 1]

A scratch database gets `raw.utilities` through the project's ingest: an "old" delivery of
rows × (1 - new share) and a "new" one of rows × new share (bench/ingest.py's generator). Then the
raw checkpoint runs, interleaved `repeat` times, over the whole table (what every ingest run did
before) and scoped to the new file (what `check_raw` does now); the fastest run of each counts.
GX is imported before the clock starts (a once-per-process cost). Prints a table and writes
bench/results/gates.json (machine, parameters, seconds, ratio).
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
TABLE = "raw.utilities"


def load_deliveries(url: str, rows: int, new_share: float, landing: Path) -> dict:
    """Load the old and the new delivery; return their sha256 and row counts."""
    from ingest import write_file

    from include.ingest import load_file

    new_rows = max(1, round(rows * new_share))
    folder = landing / "utilities"
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, count in (("old", rows - new_rows), ("new", new_rows)):
        path = folder / f"utilities_{name}.csv"
        write_file(path, count)
        result = load_file(url, "utilities", path.name, landing)
        assert result["status"] == "loaded", result
        out[name] = {"sha256": result["sha256"], "rows_loaded": result["rows_loaded"]}
    return out


def timed_gate(url: str, docs: Path, scope: dict | None) -> dict:
    from include import quality

    started = time.perf_counter()
    gate = quality.run_gate(url, "raw", AS_OF, docs, tables=[TABLE], scope=scope)
    seconds = time.perf_counter() - started
    counts = [
        r["observed"].get("element_count") for r in gate["results"] if r["observed"].get("element_count") is not None
    ]
    return {
        "seconds": seconds,
        "success": gate["success"],
        "expectations": len(gate["results"]),
        "rows_validated": max(counts, default=None),
    }


def bench(url: str, rows: int, new_share: float, repeat: int, work: Path) -> tuple[dict, list[dict]]:
    import great_expectations  # noqa: F401  (imported untimed: once per process)
    import psycopg

    started = time.perf_counter()
    files = load_deliveries(url, rows, new_share, work / "landing")
    load_seconds = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("analyze raw.utilities")  # as check_raw does after a load
        table_mb = conn.execute("select pg_total_relation_size('raw.utilities') / 1e6").fetchone()[0]
    modes = {
        "whole_table": None,
        "scoped_new_files": {TABLE: {"_file_sha256": [files["new"]["sha256"]]}},
        "nothing_loaded": {TABLE: {"_file_sha256": []}},
    }
    runs: dict[str, list[dict]] = {m: [] for m in modes}
    for _ in range(repeat):
        for mode, scope in modes.items():
            runs[mode].append(timed_gate(url, work / "docs" / mode, scope))
    results = []
    for mode, measured in runs.items():
        best = dict(min(measured, key=lambda r: r["seconds"]))
        best.update(mode=mode, all_seconds=[round(r["seconds"], 2) for r in measured])
        results.append(best)
    whole = results[0]["seconds"]
    for r in results:
        r["vs_whole_table"] = ratio(r["seconds"], whole)
        r["speedup"] = ratio(whole, r["seconds"])
    setup = {
        "rows": rows,
        "new_rows": files["new"]["rows_loaded"],
        "old_rows": files["old"]["rows_loaded"],
        "table_mb": round(float(table_mb), 1),
        "load_seconds": round(load_seconds, 1),
    }
    return setup, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in raw.utilities")
    parser.add_argument("--new-share", type=float, default=0.01, help="share of rows in the new delivery")
    parser.add_argument("--repeat", type=int, default=1, help="runs per mode, interleaved; the fastest counts")
    args = parser.parse_args(argv)

    machine_info = machine()
    with tempfile.TemporaryDirectory() as tmp, scratch_bench_database() as url:
        setup, results = bench(url, args.rows, args.new_share, args.repeat, Path(tmp))
    print(f"raw.utilities: {setup['rows']:,} rows ({setup['table_mb']} MB), new delivery {setup['new_rows']:,} rows")
    print_table(
        results,
        [
            ("mode", "gate", ""),
            ("seconds", "seconds", ".2f"),
            ("rows_validated", "rows validated", ",d"),
            ("expectations", "results", "d"),
            ("vs_whole_table", "vs whole", ".3f"),
            ("speedup", "speedup", ".1f"),
        ],
    )
    scoped = next(r for r in results if r["mode"] == "scoped_new_files")
    print(
        f"scoped raw gate: {scoped['seconds']:.2f} s vs whole table {results[0]['seconds']:.2f} s "
        f"= {scoped['speedup']:.1f}x faster"
    )
    path = write_results(
        "gates",
        {
            "benchmark": "gates",
            "machine": machine_info,
            "parameters": {**vars(args), "as_of": AS_OF.isoformat(), "table": TABLE},
            "setup": setup,
            "results": results,
            "scoped_vs_whole_ratio": scoped["vs_whole_table"],
            "scoped_speedup": scoped["speedup"],
        },
    )
    print(f"written {path}")
    return 0 if all(r["success"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
