"""Memory of `make run`'s processes (docs/performance.md "Memory"): what keeps each one small.

Real Airflow metadata on the embedded PostgreSQL, real DAG files, real processes; no mocks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from include import airflow_env
from include.settings import REPO_ROOT

PYTHON = sys.executable


def test_runner_environment_caps_glibc_arenas():
    base = {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://u@127.0.0.1:1/airflow",
        "WAREHOUSE_URL": "postgresql://u@127.0.0.1:1/warehouse",
    }
    assert airflow_env.environment(base)["MALLOC_ARENA_MAX"] == "2"
    # An operator's own setting wins (e.g. 1 on a smaller machine).
    assert airflow_env.environment({**base, "MALLOC_ARENA_MAX": "1"})["MALLOC_ARENA_MAX"] == "1"


@pytest.fixture(scope="module")
def airflow_ready(postgres_server):
    """Airflow's metadata migrated and the DAGs serialized, as `make run` leaves them."""
    env = airflow_env.environment()
    airflow = str(Path(PYTHON).parent / "airflow")
    for args in (["db", "migrate"], ["dags", "reserialize"]):
        subprocess.run([airflow, *args], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    return env


def _in_runner_env(env: dict, code: str) -> dict:
    out = subprocess.run([PYTHON, "-c", code], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_runner_parses_only_the_file_of_its_dag(airflow_ready):
    found = _in_runner_env(
        airflow_ready,
        (
            "import json, sys\n"
            "from airflow.utils.cli import get_bagged_dag\n"
            "from include.dag_runner import dag_file\n"
            "path = dag_file('ingest_tax')\n"
            "dag = get_bagged_dag(None, 'ingest_tax', dagfile_path=path)\n"
            f"dags = {str(REPO_ROOT / 'dags')!r}\n"
            "files = sorted({m.__file__.rsplit('/', 1)[-1] for m in list(sys.modules.values())\n"
            "                if (getattr(m, '__file__', None) or '').startswith(dags)})\n"
            "print(json.dumps({'path': path, 'transform': dag_file('transform'), 'unknown': dag_file('no_such_dag'),\n"
            "                  'dag': dag.dag_id, 'files': files, 'dbt': 'dbt.cli.main' in sys.modules}))\n"
        ),
    )
    assert found["path"] == str(REPO_ROOT / "dags" / "ingest_feeds.py")
    assert found["transform"] == str(REPO_ROOT / "dags" / "transform.py")
    assert found["unknown"] is None  # a DAG Airflow does not know: the whole folder is parsed
    assert found["dag"] == "ingest_tax"
    assert found["files"] == ["ingest_feeds.py"], found["files"]  # not transform.py (Cosmos, dbt)
    assert not found["dbt"]


def test_transform_runs_dbt_in_process(airflow_ready):
    """In-process on purpose: a subprocess per dbt task saved ~100 MB of runner memory but cost
    ~3 s of start-up per task (docs/performance.md "Memory")."""
    found = _in_runner_env(
        airflow_ready,
        (
            "import json\n"
            "from airflow.utils.cli import get_bagged_dag\n"
            "from include.dag_runner import dag_file\n"
            "dag = get_bagged_dag(None, 'transform', dagfile_path=dag_file('transform'))\n"
            # an ephemeral model is an empty placeholder task: it runs no dbt
            "modes = {str(getattr(t, 'invocation_mode', None)) for t in dag.tasks\n"
            "         if t.task_id.startswith('dbt.') and type(t).__name__ != 'EmptyOperator'}\n"
            "print(json.dumps({'modes': sorted(modes), 'dbt_tasks': sum(t.task_id.startswith('dbt.') for t in dag.tasks)}))\n"
        ),
    )
    assert found["dbt_tasks"] > 10
    assert found["modes"] == ["InvocationMode.DBT_RUNNER"]


def test_the_pipeline_process_stays_lean_while_the_sample_is_written(tmp_path):
    """`make run`'s own process lives through the whole run: the sample is written by a child,
    and Airflow's version is read from its metadata, not by importing it."""
    landing = tmp_path / "landing"
    env = {**os.environ, "SAMPLE_SUBJECTS": "40", "LANDING_DIR": str(landing)}
    code = (
        "import datetime as dt, json, sys\nfrom pathlib import Path\nfrom include import pipeline\n"
        "pipeline.ensure_sample(Path(sys.argv[1]), dt.date(2026, 6, 30))\n"
        "heavy = [m for m in ('airflow', 'faker', 'openpyxl', 'pandas', 'include.sample_data.world') if m in sys.modules]\n"
        "print(json.dumps({'heavy': heavy}))\n"
    )
    out = subprocess.run(
        [PYTHON, "-c", code, str(landing)], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"heavy": []}
    written = [p for p in landing.rglob("*") if p.is_file()]
    assert any(p.parent.name == "subjects" for p in written) and len(written) > 10
