"""The pipeline's pieces in order, without Airflow: what `make run` does through its DAGs, at a
fraction of the start-up cost. Also runnable as a process, for the tests that kill or starve it:

    python -m tests.reliability.pipeline WAREHOUSE_URL LANDING EXPORT_DIR AS_OF TARGET_PATH
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from include import export, ingest, publish, quality, transform, workbooks

SUBJECTS = 100  # small: the machine is shared; the faults do not need volume
AS_OF = dt.date(2026, 6, 30)
DBT_TIMEOUT = 600  # one dbt build of the sample
# A reliability test may pay for the session's reference run (conftest.clean_run) and a run of its
# own: its pytest timeout outlasts both builds' own timeouts, so that a hung build ends in its
# TimeoutExpired, naming the command, rather than in pytest-timeout killing the session.
TEST_TIMEOUT = 2 * DBT_TIMEOUT + 300


def transform_build(url: str, as_of: dt.date, target_path: Path) -> None:
    result = transform.run_dbt(["build"], url, as_of, target_path=target_path, timeout=DBT_TIMEOUT)
    if result.returncode != 0:
        raise RuntimeError(f"dbt build failed (exit {result.returncode}):\n{result.stdout[-4000:]}")


def gate_and_publish(url: str, as_of: dt.date, export_dir: Path) -> dict:
    gate = quality.run_gate(url, "publication", as_of, Path(export_dir) / as_of.isoformat() / "quality")
    quality.raise_if_blocked(gate)
    published = publish.publish(url, as_of, [gate])
    export.write_exports(url, as_of, Path(export_dir), published["version"])
    workbooks.write_workbooks(url, as_of, workbooks.workbooks_folder(as_of, Path(export_dir)))
    return published


def run(url: str, landing: Path, export_dir: Path, as_of: dt.date, target_path: Path) -> dict:
    """Ingest every feed, dbt build, publication gate, atomic swap, export files, correction workbooks."""
    results = ingest.ingest_all(url, Path(landing))
    transform_build(url, as_of, target_path)
    published = gate_and_publish(url, as_of, export_dir)
    return {"files": results, "published": published}


def main(argv: list[str]) -> int:
    url, landing, export_dir, as_of, target = argv
    outcome = run(url, Path(landing), Path(export_dir), dt.date.fromisoformat(as_of), Path(target))
    print(f"published {outcome['published']['version']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
