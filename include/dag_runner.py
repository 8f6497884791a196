"""Run DAGs through Airflow, one DagRun each, in ONE process: `airflow dags test` without paying
Airflow's start-up (imports, the in-process execution API) once per DAG.

    python -m include.dag_runner [--stop-on-failure] --conf '{"as_of": "2026-06-30"}' DAG_ID...

Prints `dag <id> <state> <seconds>s` per DAG on stderr; exit 1 when any run did not succeed.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path


def dag_file(dag_id: str) -> str | None:
    """The one file defining `dag_id`, as Airflow's metadata last recorded it (`dags reserialize`).

    Parsing only it keeps what the other DAG files import out of this process: the ingest runners
    never load Cosmos' dbt graph (a `dbt ls` in-process on a cache miss, +200 MB), the transform
    runner not the ingest DAGs. None (parse the whole folder) when Airflow does not know the DAG yet.
    """
    from airflow.configuration import conf
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.query(DagModel).filter(DagModel.dag_id == dag_id).one_or_none()
        relative = row.relative_fileloc if row is not None else None
    # Relative to THIS dags folder: the recorded absolute path may be another copy of the project.
    path = Path(conf.get("core", "dags_folder")) / relative if relative else None
    return str(path) if path is not None and path.is_file() else None


def settle_heap() -> None:
    """Move what this process holds by now (Airflow, Cosmos, dbt, the parsed DAG) out of the
    garbage collector's sight before the tasks run.

    Cosmos runs a full `gc.collect()` after every dbt command, and a full collection walks every
    tracked object: in this process that is the whole of Airflow and dbt, again for each of the
    transform's dbt tasks. Frozen objects are never freed, so collect first; what the tasks create
    afterwards is collected as usual.
    """
    gc.collect()
    gc.freeze()


def run(dag_ids: list[str], conf: dict, stop_on_failure: bool) -> bool:
    from airflow.utils.cli import get_bagged_dag
    from airflow.utils.state import DagRunState

    ok = True
    for dag_id in dag_ids:
        started = time.monotonic()
        try:
            dag = get_bagged_dag(None, dag_id, dagfile_path=dag_file(dag_id))
            settle_heap()
            state = dag.test(run_conf=conf).state
        except Exception as exc:  # a DAG that cannot even start: report it, go on with the others
            state = f"error: {type(exc).__name__}: {exc}"
        succeeded = state == DagRunState.SUCCESS
        print(f"dag {dag_id} {state} {time.monotonic() - started:.1f}s", file=sys.stderr, flush=True)
        ok &= succeeded
        if not succeeded and stop_on_failure:
            break
    return ok


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dag_ids", nargs="+")
    parser.add_argument("--conf", default="{}", help="the DagRun's conf, JSON")
    parser.add_argument("--stop-on-failure", action="store_true")
    args = parser.parse_args(argv)
    return 0 if run(args.dag_ids, json.loads(args.conf), args.stop_on_failure) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
