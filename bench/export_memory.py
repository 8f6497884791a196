"""Export memory benchmark: the export's Python peak vs the same published table read at once.

    python bench/export_memory.py [--rows 300000] [--repeat 1]

A scratch database gets a published `export` schema with `rows` generated enterprises and its
publication log row (tests/publish/builders.py published_export, as the streaming test builds it). In one process,
tracemalloc measures the peak of Python allocations of
  - read_at_once: `select * … order by uscc` fetched whole, the baseline: what the export held
    before it streamed (every row as Python tuples, before any CSV text or Parquet bytes);
  - export: `export.write_exports`, every dataset's Parquet and CSV files, the data dictionary
    and the manifest, from server-side cursors, export.BATCH_ROWS rows at a time.
Modes run interleaved `repeat` times; the smallest peak of each counts. Imports (pyarrow) and one
untimed export happen first, so that neither mode pays a once-per-process cost. tracemalloc sees
Python's allocations only, not pyarrow's memory pool: a ratio of Python peaks, which is what
streaming changes. Prints a table and writes bench/results/export_memory.json.
A ratio, not a pass/fail: tests/publish/test_export_streaming.py checks the streaming itself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common import MB, machine, print_table, ratio, scratch_bench_database, write_results  # noqa: E402

AS_OF = dt.date(2026, 6, 30)
VERSION = f"{AS_OF.isoformat()}.1"


def published_table(url: str, rows: int) -> float:
    """The published export schema (tests/publish/builders.py) with `rows` enterprises; the size of
    export.financing_profile in MB."""
    import psycopg

    from tests.publish.builders import published_export

    published_export(url, rows, AS_OF, VERSION, changed_share=0.01)
    with psycopg.connect(url) as conn:
        return float(conn.execute("select pg_total_relation_size('export.financing_profile') / 1e6").fetchone()[0])


def measured(fn) -> dict:
    """Peak of Python allocations (tracemalloc) while `fn` runs, and its wall time."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        fn()
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return {"peak_bytes": peak, "seconds": seconds}


def bench(url: str, rows: int, repeat: int, work: Path) -> tuple[dict, list[dict]]:
    import psycopg

    from include import export

    table_mb = published_table(url, rows)

    def read_at_once():
        with psycopg.connect(url) as conn:
            conn.execute("select * from export.financing_profile order by uscc").fetchall()

    def export_files():
        manifest = export.write_exports(url, AS_OF, work, VERSION)
        assert manifest["row_count"] == rows, manifest["row_count"]

    export_files()  # imports and first-use costs, untimed
    modes = {"read_at_once": read_at_once, "export": export_files}
    runs: dict[str, list[dict]] = {m: [] for m in modes}
    for _ in range(repeat):
        for mode, fn in modes.items():
            runs[mode].append(measured(fn))
    results = []
    for mode, measurements in runs.items():
        best = min(measurements, key=lambda r: r["peak_bytes"])
        results.append(
            {
                "mode": mode,
                "rows": rows,
                "peak_python_mb": round(best["peak_bytes"] / MB, 1),
                "seconds": round(best["seconds"], 2),
                "all_peaks_mb": [round(r["peak_bytes"] / MB, 1) for r in measurements],
            }
        )
    baseline = results[0]["peak_python_mb"]
    for r in results:
        r["vs_read_at_once"] = ratio(r["peak_python_mb"], baseline)
    setup = {"rows": rows, "table_mb": round(table_mb, 1), "batch_rows": export.BATCH_ROWS}
    return setup, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000, help="rows in export.financing_profile (city scale)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per mode, interleaved; the smallest peak counts")
    args = parser.parse_args(argv)

    machine_info = machine()
    with tempfile.TemporaryDirectory() as tmp, scratch_bench_database() as url:
        setup, results = bench(url, args.rows, args.repeat, Path(tmp))
    print(
        f"export.financing_profile: {setup['rows']:,} rows ({setup['table_mb']} MB), batches of {setup['batch_rows']:,}"
    )
    print_table(
        results,
        [
            ("mode", "mode", ""),
            ("rows", "rows", ",d"),
            ("peak_python_mb", "Python peak MB", ".1f"),
            ("vs_read_at_once", "vs read at once", ".3f"),
            ("seconds", "seconds", ".2f"),
        ],
    )
    exporting = results[1]
    print(
        f"export Python peak: {exporting['peak_python_mb']:.1f} MB = {exporting['vs_read_at_once']:.1%} "
        f"of reading the table at once ({results[0]['peak_python_mb']:.1f} MB)"
    )
    path = write_results(
        "export_memory",
        {
            "benchmark": "export_memory",
            "machine": machine_info,
            "parameters": {**vars(args), "as_of": AS_OF.isoformat()},
            "setup": setup,
            "results": results,
            "export_vs_read_at_once": exporting["vs_read_at_once"],
        },
    )
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
