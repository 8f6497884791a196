"""DAG integrity: every DAG file imports, no cycles, owners, retries and tags set."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from include import airflow_env, feeds


@pytest.fixture(scope="module")
def dagbag(postgres_server):
    # A real Airflow: its metadata database migrated (Cosmos caches the dbt graph in it), the DAG
    # files parsed with the settings they get under the scheduler.
    env = airflow_env.environment()
    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    os.environ["WAREHOUSE_URL"] = env["WAREHOUSE_URL"]
    try:
        from airflow.dag_processing.dagbag import DagBag

        yield DagBag(dag_folder=str(airflow_env.settings.REPO_ROOT / "dags"))
    finally:
        os.environ.pop("WAREHOUSE_URL", None)


def test_every_dag_file_imports(dagbag):
    assert dagbag.import_errors == {}


def test_one_ingest_dag_per_feed_plus_transform_and_publish(dagbag):
    expected = {f"ingest_{f}" for f in feeds.load_contracts()} | {"transform", "publish"}
    assert expected <= set(dagbag.dag_ids)
    assert len(feeds.load_contracts()) == 11


def test_owner_retries_tags(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        for t in dag.tasks:
            assert t.owner == "credit-office-data", (dag_id, t.task_id)
            assert t.retries is not None, (dag_id, t.task_id)


def test_no_cycles(dagbag):
    for dag in dagbag.dags.values():
        dag.check_cycle()  # raises AirflowDagCycleException naming the cycle


def test_loads_are_bounded_by_a_pool_and_retried_with_backoff(dagbag):
    dag = dagbag.get_dag("ingest_penalties")
    load = dag.get_task("load")
    assert load.pool == "warehouse_loads"
    assert load.retries >= 1 and load.retry_exponential_backoff


def test_dbt_test_nodes_do_not_retry(dagbag):
    dag = dagbag.get_dag("transform")
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt.")]
    assert dbt_tasks, "the transform renders the dbt project as tasks"
    assert all(t.retries == 0 for t in dbt_tasks)
